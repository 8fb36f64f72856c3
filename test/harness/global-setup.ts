// Runs once per project before any of its test files: the Debian testing (nginx 1.30 + njs 1.0,
// both engines) and trixie (nginx 1.26 + njs 0.8.9) chroots are built by debootstrap when missing,
// one after the other (two debootstraps at once would compete for the same 2 cores and the
// mirror), so no test has to skip for want of them; the integration project also chooses the
// LDAP backend (containers or host slapd, ldap-backend-setup.ts).
import type { TestProject } from 'vitest/node';
import { ensureDebianChroot } from './testing-chroot.ts';
import { setupLdapBackend } from './ldap-backend-setup.ts';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  await ensureDebianChroot('testing');
  await ensureDebianChroot('trixie');
  if (project.name === 'integration') return setupLdapBackend();
}
