// Runs once before any test file: the Debian testing (nginx 1.30 + njs 1.0, both engines) and
// trixie (nginx 1.26 + njs 0.8.9) chroots are built by debootstrap when missing, one after the
// other (two debootstraps at once would compete for the same 2 cores and the mirror), so no
// test has to skip for want of them.
import { ensureDebianChroot } from './testing-chroot.ts';

export default async function setup(): Promise<void> {
  await ensureDebianChroot('testing');
  await ensureDebianChroot('trixie');
}
