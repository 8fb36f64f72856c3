// The shapes the HTTP service needs from the LDAP login (ldap/login.ts) and the
// group sync (groups/), derived from their types (type-only imports: nothing of
// ldapts or the sync worker is loaded) and narrowed to what the app uses, so it can
// be built with any implementation: the real slapd-backed ones in main.ts and
// tests, a fixed group map where a test is not about groups.
import type { Authenticator as LdapAuthenticator, LdapUser } from '../ldap/login.ts';
import type { LdapLoginErrorCode } from '../ldap/errors.ts';
import type { DirectoryStatus, GroupDirectory as SyncedGroupDirectory, GroupDirectoryStatus } from '../groups/directory.ts';

export type { LdapUser };

/** The LDAP login as ldap/login.ts implements it, with an optional close for other implementations. */
export interface Authenticator extends LdapAuthenticator {
  close?(): Promise<void>;
}

/** The code of an LdapLoginError (ldap/errors.ts), or null for anything else (treated as the directory being unavailable). */
export function ldapErrorCode(e: unknown): LdapLoginErrorCode | null {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return code === 'EMPTY_PASSWORD' || code === 'INVALID_USERNAME' || code === 'INVALID_CREDENTIALS' ||
    code === 'NOT_IN_LOGIN_GROUP' || code === 'THROTTLED' || code === 'DIRECTORY_UNAVAILABLE' ? code : null;
}

/** What the app reads of the group directory's status (groups/directory.ts). */
export type GroupStatus = Omit<GroupDirectoryStatus, 'lastError'>;

/** groupsOf as groups/directory.ts implements it; the sync result and close are not the app's business. */
export interface GroupDirectory extends Pick<SyncedGroupDirectory, 'groupsOf'> {
  status(): GroupStatus;
  /** Per directory (<ldapServer>): staleness and the replica that served its last sync (groups/directory.ts). */
  directoryStatus?(): DirectoryStatus[];
  syncNow(): Promise<unknown>;
  close?(): Promise<void>;
}
