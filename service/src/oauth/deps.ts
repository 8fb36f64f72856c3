// The shapes the HTTP service needs from the LDAP login (ldap/login.ts) and the
// group sync (groups/). Declared structurally here so the app can be built
// with any implementation: the real slapd-backed ones in main.ts and tests, a
// fixed group map where a test is not about groups.

export interface LdapUser {
  dn: string;
  username: string;
  objectId: string;
  displayName?: string;
  email?: string;
  serverUri: string;
}

export interface Authenticator {
  /** beforeBind gets the DN the username resolved to before the password is sent; false refuses (code THROTTLED). */
  authenticate(username: string, password: string, beforeBind?: (dn: string) => Promise<boolean>): Promise<LdapUser>;
  /** The entry a login with this name would use, without a password (operator endpoints); null when none or ambiguous. */
  findUser(username: string): Promise<LdapUser | null>;
  ping(): Promise<boolean>;
  close?(): Promise<void>;
}

export type LdapLoginErrorCode = 'EMPTY_PASSWORD' | 'INVALID_USERNAME' | 'INVALID_CREDENTIALS' | 'NOT_IN_LOGIN_GROUP' | 'THROTTLED' | 'DIRECTORY_UNAVAILABLE';

/** The code of an LdapLoginError (ldap/errors.ts), or null for anything else (treated as the directory being unavailable). */
export function ldapErrorCode(e: unknown): LdapLoginErrorCode | null {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return code === 'EMPTY_PASSWORD' || code === 'INVALID_USERNAME' || code === 'INVALID_CREDENTIALS' ||
    code === 'NOT_IN_LOGIN_GROUP' || code === 'THROTTLED' || code === 'DIRECTORY_UNAVAILABLE' ? code : null;
}

export interface GroupStatus {
  generation: number;
  /** ms since the epoch of the snapshot's sync (its oldest server part); null without a snapshot. */
  updatedAt: number | null;
  ageSeconds: number | null;
  stale: boolean;
  groupCount: number;
  memberCount: number;
  /** Duration of the last sync (successful or not); null before the first one ends. */
  lastSyncDurationMs: number | null;
  /** Failed server syncs since start (a counter). */
  syncErrors: number;
}

export interface GroupDirectory {
  groupsOf(objectId: string): string[];
  status(): GroupStatus;
  syncNow(): Promise<unknown>;
  close?(): Promise<void>;
}
