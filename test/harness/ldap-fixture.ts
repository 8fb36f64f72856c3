// The shared test directory (test/fixtures/directory.ldif) and an
// LdapServerConfig pointing at it, for tests of the login and the group sync.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { LdapServerConfig } from '../../service/src/config/types.ts';
import { LdapLoginError, type LdapLoginErrorCode } from '../../service/src/ldap/errors.ts';
import { startSlapd, type Slapd, type SlapdOptions } from './slapd.ts';

export const FIXTURE_BASE_DN = 'dc=example,dc=com';
export const FIXTURE_READER_DN = 'cn=ljwt-reader,ou=service-accounts,dc=example,dc=com';
export const FIXTURE_READER_PASSWORD = 'reader-secret';
export const FIXTURE_LOGIN_GROUP = 'cn=allowed-to-login,ou=groups,dc=example,dc=com';
export const AD_COMPAT_SCHEMA = fileURLToPath(new URL('../fixtures/ad-compat.ldif', import.meta.url));
/**
 * A directory address that refuses connections. Port 1 lies below the ephemeral range from
 * which every harness server takes its port, so no parallel test can start listening there;
 * a port that was merely free a moment ago can (and did) become another test's slapd.
 */
export const REFUSED_LDAP_URL = 'ldap://127.0.0.1:1';
export const DIRECTORY_LDIF = fileURLToPath(new URL('../fixtures/directory.ldif', import.meta.url));
/** The service's default user filter (service/src/config/defaults). */
export const DEFAULT_USER_FILTER =
  '(&(|(objectClass=person)(objectClass=user))(|(uid={username})(sAMAccountName={username})(userPrincipalName={username})))';

/** slapd loaded with directory.ldif (+ AD-compat schema); extra options pass through. */
export async function startFixtureSlapd(opts: Omit<SlapdOptions, 'baseDn'> = {}): Promise<Slapd> {
  return startSlapd({
    ...opts,
    schemas: [AD_COMPAT_SCHEMA, ...(opts.schemas ?? [])],
    ldif: [await readFile(DIRECTORY_LDIF, 'utf8'), ...(opts.ldif ?? [])],
  });
}

/** A complete LdapServerConfig for the fixture directory at `url`. */
export function fixtureServerConfig(url: string, over: Partial<LdapServerConfig> = {}): LdapServerConfig {
  return {
    uri: url,
    bindDn: FIXTURE_READER_DN,
    bindPassword: FIXTURE_READER_PASSWORD,
    groupDns: [],
    userSearchBase: FIXTURE_BASE_DN,
    userFilter: DEFAULT_USER_FILTER,
    objectIdAttribute: 'entryUUID',
    startTls: false,
    connectTimeoutMs: 2000,
    operationTimeoutMs: 3000,
    ...over,
  };
}

/** The LdapLoginError code a login promise rejects with, or 'OK'; any other error is rethrown. */
export async function codeOf(p: Promise<unknown>): Promise<LdapLoginErrorCode | 'OK'> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    if (e instanceof LdapLoginError) return e.code;
    throw e;
  }
}
