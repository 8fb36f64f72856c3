// Runs once before any test file: the Debian testing chroot (nginx 1.30 + njs 1.0, both
// engines) is built by debootstrap when missing, so no test has to skip for want of it.
import { ensureTestingChroot } from './testing-chroot.ts';

export default async function setup(): Promise<void> {
  await ensureTestingChroot();
}
