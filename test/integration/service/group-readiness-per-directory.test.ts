// Two <ldapServer> elements are two directories, each with its own groups. When one
// directory's groups have never been read (its first sync failed) while the other's have,
// its users get a retryable 503 (password grant, login form, refresh) instead of a token
// missing their groups; the other directory's users log in with their groups; /readyz
// names the directory. Once that directory's sync succeeds (retried on its own, no
// restart) its users log in with their groups. Real slapd (two servers), real group sync
// (in-thread), the app over HTTP.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../../service/src/app.ts';
import type { LdapServerConfig, ServiceConfig } from '../../../service/src/config/types.ts';
import { startGroupDirectory, type GroupDirectory, type GroupDirectoryExtras } from '../../../service/src/groups/directory.ts';
import { createLdapAuthenticator } from '../../../service/src/ldap/login.ts';
import { jsonLogger } from '../../../service/src/ops/logger.ts';
import { MemoryStore } from '../../../service/src/store/memory-store.ts';
import { startFixtureSlapd } from '../../harness/ldap-fixture.ts';
import { startSlapd, type Slapd } from '../../harness/slapd.ts';
import { authorize, decodeJwtParts, http, ldapServer, makeConfig, PASSWORD_CLIENT, PUBLIC_CLIENT, pkcePair, tempDir, tokenRequest } from '../../harness/service-app.ts';
import { captureLog } from '../ldap/groups-fixtures.ts';

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

interface Running {
  app: App;
  base: string;
  groups: GroupDirectory & GroupDirectoryExtras;
  config: ServiceConfig;
}

let dir: ReturnType<typeof tempDir>;
const running: Running[] = [];
const slapds: Slapd[] = [];

beforeAll(() => {
  dir = tempDir('ljwt-dir-readiness-');
});

afterAll(async () => {
  for (const r of running.reverse()) {
    await r.app.close();
    await r.groups.close();
  }
  for (const s of slapds) await s.destroy();
  dir?.remove();
});

async function start(first: Slapd, other: Slapd): Promise<Running> {
  const config = makeConfig(first, `${dir.dir}/keys-${running.length}`, { ldapServers: [ldapServer(first), otherServer(other)] });
  // bulk: one paged subtree scan per directory, what a large directory gets.
  const groups = await startGroupDirectory(config, captureLog(), { mode: 'in-thread', awaitFirstSync: false, expand: { mode: 'bulk' } });
  const app = await createApp(config, {
    store: new MemoryStore(),
    authenticator: createLdapAuthenticator(config.ldapServers, config.usernamePattern),
    groups,
    logger: jsonLogger(() => undefined, 'error'),
  });
  const { port } = await app.listen();
  const r = { app, base: `http://127.0.0.1:${port}`, groups, config };
  running.push(r);
  return r;
}

const passwordGrant = (base: string, username: string, password: string) =>
  tokenRequest(base, { grant_type: 'password', username, password, client_id: PASSWORD_CLIENT, scope: 'openid api' });

const dnsOf = (accessToken: string): string[] => [...decodeJwtParts(accessToken).payload.dns].sort();

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('second directory caps every search, so its group sync never completes (logins still work there)', () => {
  let svc: Running;
  let other: Slapd;
  beforeAll(async () => {
    const first = await startFixtureSlapd();
    slapds.push(first);
    // Paging refused and unpaged results capped at 5 entries: the scan fails, one-entry login searches do not.
    other = await startSlapd({ baseDn: OTHER_BASE, ldif: OTHER_LDIF, limits: ['users size.soft=5 size.hard=5 size.prtotal=disabled'] });
    slapds.push(other);
    svc = await start(first, other);
    await until('the first sync to end', () => svc.groups.status().lastSyncDurationMs !== null);
  });

  it('the first directory\'s users get tokens with their groups', async () => {
    const r = await passwordGrant(svc.base, 'bob', 'bob-pw');
    expect(r.status).toBe(200);
    expect(dnsOf(r.json().access_token)).toEqual([ENG]);
  });

  it('the second directory\'s users get 503 temporarily_unavailable with Retry-After naming it, no token', async () => {
    const r = await passwordGrant(svc.base, 'zoe', 'zoe-pw');
    expect(r.status).toBe(503);
    expect(r.json().error).toBe('temporarily_unavailable');
    expect(r.json().access_token).toBeUndefined();
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    // A wrong password is still just wrong: nothing about groups is said before the bind.
    expect((await passwordGrant(svc.base, 'zoe', 'not-zoe-pw')).status).toBe(400);
  });

  it('login form: the 503 page saying sign-in is not available yet, with Retry-After, no code', async () => {
    const { challenge } = pkcePair();
    const { res, location } = await authorize(svc.base, { client_id: PUBLIC_CLIENT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: 's' }, 'zoe', 'zoe-pw');
    expect(res.status).toBe(503);
    expect(location).toBeUndefined();
    expect(res.text).toContain('not available yet');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
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
  let svc: Running;
  let other: Slapd;
  beforeAll(async () => {
    const first = await startFixtureSlapd();
    slapds.push(first);
    other = await startSlapd({ baseDn: OTHER_BASE, ldif: OTHER_LDIF });
    slapds.push(other);
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
