// Runs once per project before any of its test files: the Debian testing chroot
// (nginx 1.30 + njs 1.0, both engines) is built by debootstrap when missing, so
// no test has to skip for want of it; the integration project also chooses the
// LDAP backend (containers or host slapd, ldap-backend-setup.ts).
import type { TestProject } from 'vitest/node';
import { ensureTestingChroot } from './testing-chroot.ts';
import { setupLdapBackend } from './ldap-backend-setup.ts';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  await ensureTestingChroot();
  if (project.name === 'integration') return setupLdapBackend();
}
