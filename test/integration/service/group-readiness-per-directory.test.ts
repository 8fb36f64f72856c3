// Two <ldapServer> elements are two directories, each with its own groups. When one
// directory's groups have never been read (its first sync failed) while the other's have,
// its users get a retryable 503 (password grant, login form, refresh) instead of a token
// missing their groups; the other directory's users log in with their groups; /readyz
// names the directory. Once that directory's sync succeeds (retried on its own, no
// restart) its users log in with their groups. Real slapd (two servers), real group sync
// (in-thread), the app over HTTP.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LdapServerConfig } from '../../../service/src/config/types.ts';
import { startFixtureSlapd } from '../../harness/ldap-fixture.ts';
import { startSlapd, type Slapd } from '../../harness/slapd.ts';
import { decodeJwtParts, http, ldapServer, makeConfig, PASSWORD_CLIENT, passwordGrant, tokenRequest, type ServiceWithGroupSync } from '../../harness/service-app.ts';
import { loginFormOutcome, syncedServices, until } from '../../harness/synced-service.ts';

const ENG = 'cn=engineering,ou=groups,dc=example,dc=com';
const OTHER_BASE = 'dc=other,dc=test';
const OPS = `cn=ops,ou=groups,${OTHER_BASE}`;
const OTHER_READER = `cn=reader,${OTHER_BASE}`;

/** The second directory: zoe in cn=ops, and enough entries that a 5-entry search limit stops its scan. */
const OTHER_LDIF = [
  `dn: ou=people,${OTHER_BASE}\nobjectClass: organizationalUnit\nou: people\n`,
  `dn: ou=groups,${OTHER_BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
  `dn: ${OTHER_READER}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: reader-other\n`,
  ...['zoe', 'yves', 'xena', 'walt'].map((u) => `dn: uid=${u},ou=people,${OTHER_BASE}\nobjectClass: inetOrgPerson\nuid: ${u}\ncn: ${u}\nsn: ${u}\nuserPassword: ${u}-pw\n`),
  `dn: ${OPS}\nobjectClass: groupOfNames\ncn: ops\nmember: uid=zoe,ou=people,${OTHER_BASE}\n`,
];

function otherServer(slapd: Slapd): LdapServerConfig {
  return {
    uri: slapd.url,
    bindDn: OTHER_READER,
    bindPassword: 'reader-other',
    groupDns: [OPS],
    userSearchBase: `ou=people,${OTHER_BASE}`,
    userFilter: '(uid={username})',
    objectIdAttribute: 'entryUUID',
    startTls: false,
    connectTimeoutMs: 2000,
    operationTimeoutMs: 3000,
  };
}

const services = syncedServices('ljwt-dir-readiness-');
afterAll(() => services.closeAll());

function start(first: Slapd, other: Slapd): Promise<ServiceWithGroupSync> {
  return services.start(makeConfig(first, services.keyDirectory(), { ldapServers: [ldapServer(first), otherServer(other)] }));
}

const dnsOf = (accessToken: string): string[] => [...decodeJwtParts(accessToken).payload.dns].sort();

describe('second directory caps every search, so its group sync never completes (logins still work there)', () => {
  let svc: ServiceWithGroupSync;
  let other: Slapd;
  beforeAll(async () => {
    const first = services.adopt(await startFixtureSlapd());
    // Paging refused and unpaged results capped at 5 entries: the scan fails, one-entry login searches do not.
    other = services.adopt(await startSlapd({ baseDn: OTHER_BASE, ldif: OTHER_LDIF, limits: ['users size.soft=5 size.hard=5 size.prtotal=disabled'] }));
    svc = await start(first, other);
    await until('the first sync to end', () => svc.groups.status().lastSyncDurationMs !== null);
  });

  it('the first directory\'s users get tokens with their groups', async () => {
    const r = await passwordGrant(svc.base, 'bob', 'bob-pw');
    expect(r.status).toBe(200);
    expect(dnsOf(r.json().access_token)).toEqual([ENG]);
  });

  it('the second directory\'s users get 503 temporarily_unavailable with Retry-After, no token', async () => {
    const r = await passwordGrant(svc.base, 'zoe', 'zoe-pw');
    expect({ status: r.status, retryAfter: r.headers['retry-after'], ...r.json() }).toMatchObject({ status: 503, retryAfter: '5', error: 'temporarily_unavailable' });
    expect(r.json().error_description).toContain('not loaded yet');
    expect(r.json().error_description).not.toContain(other.url); // servers are named by /readyz and the logs only
    expect(r.json().access_token).toBeUndefined();
    // A wrong password is still just wrong: nothing about groups is said before the bind.
    expect((await passwordGrant(svc.base, 'zoe', 'not-zoe-pw')).status).toBe(400);
  });

  it('login form: the 503 page saying sign-in is not available yet, with Retry-After, no code', async () => {
    expect(await loginFormOutcome(svc.base, 'zoe', 'zoe-pw')).toEqual({ status: 503, redirected: false, notAvailableYet: true, retryAfter: 5 });
  });

  it('/readyz: 503 naming the directory whose groups were never read; the other directory is fine', async () => {
    const r = await http(`${svc.base}/readyz`);
    expect(r.status).toBe(503);
    const groups = r.json().checks.find((c: { name: string }) => c.name === 'groups');
    expect(groups.ok).toBe(false);
    expect(groups.detail).toContain(`${other.url}: groups not read yet (first group sync failed`);
    expect(groups.detail).toMatch(new RegExp(`${svc.config.ldapServers[0]!.uri}: age \\d+s`));
  });
});

describe('second directory down during the first sync, back before the next', () => {
  let svc: ServiceWithGroupSync;
  let other: Slapd;
  beforeAll(async () => {
    const first = services.adopt(await startFixtureSlapd());
    other = services.adopt(await startSlapd({ baseDn: OTHER_BASE, ldif: OTHER_LDIF }));
    await other.stop();
    svc = await start(first, other);
    await until('the first sync to end', () => svc.groups.status().lastSyncDurationMs !== null);
    await other.start();
  });
  afterEach(async () => {
    await other.start();
  });

  it('refuses its users (login and refresh, the refresh token unspent) until its groups are read, then serves them without a restart', async () => {
    expect(svc.groups.directoryStatus().map((d) => d.syncedAt !== null)).toEqual([true, false]);
    // Its login works again at once (LDAP answers), but its groups are not in the snapshot.
    const refused = await passwordGrant(svc.base, 'zoe', 'zoe-pw');
    expect(refused.status).toBe(503);
    expect(refused.json().error).toBe('temporarily_unavailable');
    // A refresh token of zoe's, as if issued before a restart (shared store): refused, not spent.
    const zoeGrant = { clientId: PASSWORD_CLIENT, subject: { username: 'zoe', objectId: 'oid-zoe', dn: `uid=zoe,ou=people,${OTHER_BASE}`, directory: other.url },
      scope: ['openid', 'api'], authTime: Math.floor(Date.now() / 1000), familyId: 'family-of-zoe' };
    const refreshTokenOfZoe = await svc.app.context.refreshTokens.issue(zoeGrant);
    const refresh = () => tokenRequest(svc.base, { grant_type: 'refresh_token', refresh_token: refreshTokenOfZoe, client_id: PASSWORD_CLIENT });
    const early = await refresh();
    expect(early.status).toBe(503);
    expect(Number(early.headers['retry-after'])).toBeGreaterThan(0);
    // bob's directory was read: his login is not held up.
    expect((await passwordGrant(svc.base, 'bob', 'bob-pw')).status).toBe(200);

    // The sync retries a directory without groups soon (not after the full interval).
    await until('/readyz 200', async () => (await http(`${svc.base}/readyz`)).status === 200);
    const ok = await passwordGrant(svc.base, 'zoe', 'zoe-pw');
    expect(ok.status).toBe(200);
    expect(dnsOf(ok.json().access_token)).toEqual([OPS]);
    const later = await refresh();
    expect(later.status).toBe(200);
    expect(decodeJwtParts(later.json().access_token).payload.oids).toEqual(['oid-zoe']);
  });
});
