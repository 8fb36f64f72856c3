// Operator endpoints (POST /admin/sync, GET /admin/groups) and the group metrics, over
// real HTTP against createApp with a real slapd and a real GroupDirectory (in-thread sync).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attribute, Change, Client } from 'ldapts';
import type { ServiceConfig } from '../../../service/src/config/types.ts';
import { normalizeDn } from '#njs/authz/dn.ts';
import { REFUSED_LDAP_URL, startFixtureSlapd } from '../../harness/ldap-fixture.ts';
import type { Slapd } from '../../harness/slapd.ts';
import {
  decodeJwtParts, http, ldapServer, makeConfig, PASSWORD_CLIENT, passwordGrant, startWithGroupSync, tempDir, type HttpResult, type ServiceWithGroupSync,
} from '../../harness/service-app.ts';
import { groupOfNames, userDn } from '../ldap/groups-fixtures.ts';

const ENG = 'cn=engineering,ou=groups,dc=example,dc=com';
const DEV = 'cn=developers,ou=groups,dc=example,dc=com';
const ADMINS = 'cn=ljwt-admins,ou=groups,dc=example,dc=com';
const OPS = 'cn=ops-team,ou=groups,dc=example,dc=com';
// The same DN as ADMINS in another spelling: the configured value is compared with DN semantics.
const ADMINS_CONFIGURED = 'CN=LJWT-Admins, OU=Groups,DC=Example,DC=com';
const JSMITH_DN = 'cn=Smith\\, John,ou=people,dc=example,dc=com';

// bob is a direct member of the admin group, alice a nested one (through ops-team), carol none.
const ADMIN_LDIF = `${groupOfNames('ops-team', [userDn('alice')])}\n${groupOfNames('ljwt-admins', [OPS, userDn('bob')])}`;

let slapd: Slapd;
let dir: ReturnType<typeof tempDir>;
const running: ServiceWithGroupSync[] = [];

async function start(over: Partial<ServiceConfig>, tuning?: { accessTokenCookie: string }): Promise<ServiceWithGroupSync> {
  const config = makeConfig(slapd, `${dir.dir}/keys`, {
    // The admin group is NOT in the <dnList>: the group sync must add it by itself.
    ldapServers: [{ ...ldapServer(slapd), groupDns: [ENG, DEV] }],
    ...over,
  });
  const r = await startWithGroupSync(config, tuning ? { tuning } : {});
  running.push(r);
  return r;
}

async function accessToken(base: string, username: string, password: string): Promise<string> {
  const r = await passwordGrant(base, username, password);
  expect(r.status).toBe(200);
  return r.json().access_token as string;
}

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const sync = (base: string, headers: Record<string, string> = {}): Promise<HttpResult> => http(`${base}/admin/sync`, { method: 'POST', headers });
const groupsOf = (base: string, query: string, headers: Record<string, string> = {}): Promise<HttpResult> => http(`${base}/admin/groups?${query}`, { headers });

/** The value of an unlabelled series in a Prometheus text exposition (NaN when absent). */
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

beforeAll(async () => {
  slapd = await startFixtureSlapd({ ldif: [ADMIN_LDIF] });
  dir = tempDir('ljwt-admin-');
});

afterAll(async () => {
  for (const r of running.reverse()) await r.close();
  await slapd?.destroy();
  dir?.remove();
});

describe('operator endpoints', () => {
  let svc: ServiceWithGroupSync;
  let alice: string;
  let bob: string;
  let carol: string;

  beforeAll(async () => {
    svc = await start({ adminGroupDn: ADMINS_CONFIGURED }, { accessTokenCookie: 'ljwt_at' });
    [alice, bob, carol] = await Promise.all([
      accessToken(svc.base, 'alice', 'alice-pw'),
      accessToken(svc.base, 'bob', 'bob-pw'),
      accessToken(svc.base, 'carol', 'carol-pw'),
    ]);
  });

  it('syncs the admin group without it being listed in any <dnList>', () => {
    const server = svc.config.ldapServers[0]!;
    expect(server.groupDns).toEqual([ENG, DEV]);
    const aliceOid = decodeJwtParts(alice).payload.oids[0] as string;
    // Reported in the configured spelling, next to the <dnList> groups reached through developers.
    expect(svc.groups.groupsOf(aliceOid).sort()).toEqual([ADMINS_CONFIGURED, DEV, ENG].sort());
  });

  it('lets a nested admin-group member trigger a sync and reports every server', async () => {
    const before = svc.groups.status();
    const r = await sync(svc.base, bearer(alice));
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const b = r.json();
    expect(b.ok).toBe(true);
    expect(b.error).toBeNull();
    expect(typeof b.durationMs).toBe('number');
    expect(b.generation).toBe(before.generation); // nothing changed in LDAP: no new generation
    expect(b.published).toBe(false);
    expect(b.servers).toHaveLength(1);
    expect(b.servers[0]).toMatchObject({ uri: slapd.url, ok: true, error: null, groupCount: 3, memberCount: 3 });
    expect(svc.logs.some((l) => l.includes('"event":"admin_sync_requested"') && l.includes('"sub":"alice"'))).toBe(true);
  });

  it('shows the groups of a user looked up in LDAP, and of an object id', async () => {
    const carolOid = decodeJwtParts(carol).payload.oids[0] as string;
    const byUser = await groupsOf(svc.base, 'user=carol', bearer(bob));
    expect(byUser.status).toBe(200);
    const u = byUser.json();
    expect(u.user).toEqual({ username: 'carol', dn: 'uid=carol,ou=people,dc=example,dc=com' });
    expect(u.objectId).toBe(carolOid);
    // carol is in developers by memberUid, and through it in engineering (nested).
    expect(u.groups.sort()).toEqual([DEV, ENG].sort());
    const s = svc.groups.status();
    expect(u.snapshot).toEqual({
      generation: s.generation,
      updatedAt: new Date(s.updatedAt!).toISOString(),
      ageSeconds: expect.any(Number),
      stale: false,
    });
    expect(s.generation).toBeGreaterThanOrEqual(1);

    const byOid = await groupsOf(svc.base, `oid=${encodeURIComponent(carolOid)}`, bearer(bob));
    expect(byOid.status).toBe(200);
    expect(byOid.json()).toMatchObject({ objectId: carolOid, snapshot: { generation: s.generation, stale: false } });
    expect(byOid.json().groups.sort()).toEqual([DEV, ENG].sort());
    expect(byOid.json().user).toBeUndefined();

    const unknown = await groupsOf(svc.base, 'oid=00000000-0000-0000-0000-000000000000', bearer(bob));
    expect(unknown.status).toBe(200);
    expect(unknown.json().groups).toEqual([]);
  });

  it('answers 404 for a username with no single entry, 400 for bad queries', async () => {
    const none = await groupsOf(svc.base, 'user=nobody', bearer(alice));
    expect(none.status).toBe(404);
    expect(none.json().error).toBe('not_found');
    const dupe = await groupsOf(svc.base, 'user=dupe', bearer(alice)); // two entries share uid=dupe
    expect(dupe.status).toBe(404);
    for (const q of ['', 'user=carol&oid=x', 'user=carol&user=bob', 'user=carol&extra=1', 'user=', 'oid=', 'user=a%20b*']) {
      const r = await groupsOf(svc.base, q, bearer(alice));
      expect(r.status, q).toBe(400);
      expect(r.json().error, q).toBe('invalid_request');
    }
    expect((await http(`${svc.base}/admin/sync`, { headers: bearer(alice) })).status).toBe(405);
    expect((await http(`${svc.base}/admin/groups?user=carol`, { method: 'POST', headers: bearer(alice) })).status).toBe(405);
  });

  it('refuses a valid token of a user outside the admin group with 403', async () => {
    for (const r of [await sync(svc.base, bearer(carol)), await groupsOf(svc.base, 'user=alice', bearer(carol))]) {
      expect(r.status).toBe(403);
      expect(r.json().error).toBe('insufficient_scope');
      expect(r.headers['www-authenticate']).toMatch(/^Bearer realm="nginx-ldap-jwt", error="insufficient_scope"/);
    }
    expect(svc.logs.some((l) => l.includes('"event":"admin_denied"') && l.includes('"sub":"carol"'))).toBe(true);
  });

  it('answers 401 with an RFC 6750 challenge without a token, with a bad one, and for cookies', async () => {
    const none = await sync(svc.base);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="nginx-ldap-jwt"');
    const noneGet = await groupsOf(svc.base, 'user=carol');
    expect(noneGet.status).toBe(401);
    expect(noneGet.headers['www-authenticate']).toBe('Bearer realm="nginx-ldap-jwt"');

    const forged = `${alice.slice(0, -4)}AAAA`;
    const bad = await sync(svc.base, bearer(forged));
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toContain('error="invalid_token"');

    // The access token cookie authenticates at /auth/validate, never at the operator endpoints.
    const cookie = { cookie: `ljwt_at=${alice}` };
    expect((await http(`${svc.base}/auth/validate`, { headers: cookie })).status).toBe(204);
    const viaCookie = await sync(svc.base, cookie);
    expect(viaCookie.status).toBe(401);
    expect(viaCookie.headers['www-authenticate']).toBe('Bearer realm="nginx-ldap-jwt"');
    expect((await groupsOf(svc.base, 'user=carol', cookie)).status).toBe(401);
  });

  it('refuses a revoked token', async () => {
    const t = await accessToken(svc.base, 'bob', 'bob-pw');
    expect((await groupsOf(svc.base, 'user=carol', bearer(t))).status).toBe(200);
    const revoke = await http(`${svc.base}/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: t, token_type_hint: 'access_token', client_id: PASSWORD_CLIENT }).toString(),
    });
    expect(revoke.status).toBe(200);
    for (const r of [await groupsOf(svc.base, 'user=carol', bearer(t)), await sync(svc.base, bearer(t))]) {
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toContain('error="invalid_token"');
    }
  });

  it('a sync picks up a membership change made in LDAP: the new member becomes an operator', async () => {
    const jsmith = await accessToken(svc.base, 'jsmith', 'jsmith-pw');
    expect((await sync(svc.base, bearer(jsmith))).status).toBe(403);
    const before = svc.groups.status().generation;

    const admin = new Client({ url: slapd.url });
    try {
      await admin.bind(slapd.adminDn, slapd.adminPassword);
      await admin.modify(OPS, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [JSMITH_DN] }) }));
    } finally {
      await admin.unbind();
    }
    const r = await sync(svc.base, bearer(alice));
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, published: true, generation: before + 1 });

    // The same token, unchanged: membership is read from the snapshot on every request.
    const g = await groupsOf(svc.base, 'user=jsmith', bearer(jsmith));
    expect(g.status).toBe(200);
    expect(g.json()).toMatchObject({ user: { username: 'jsmith' }, groups: [ADMINS_CONFIGURED], snapshot: { generation: before + 1 } });
    // slapd spells the DN its own way (cn=Smith\2C John); the same DN.
    expect(normalizeDn(g.json().user.dn)).toBe(normalizeDn(JSMITH_DN));
  });

  it('/metrics exposes the group snapshot and sync figures', async () => {
    const text = (await http(`${svc.base}/metrics`)).text;
    const s = svc.groups.status();
    expect(metric(text, 'ljwt_group_snapshot_generation')).toBe(s.generation);
    expect(metric(text, 'ljwt_group_snapshot_groups')).toBe(3);
    expect(metric(text, 'ljwt_group_snapshot_members')).toBe(4); // alice, bob, carol, jsmith
    expect(metric(text, 'ljwt_group_snapshot_stale')).toBe(0);
    const age = metric(text, 'ljwt_group_snapshot_age_seconds');
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);
    const duration = metric(text, 'ljwt_group_sync_last_duration_seconds');
    expect(duration).toBeGreaterThan(0);
    expect(duration).toBeCloseTo(s.lastSyncDurationMs! / 1000, 6);
    expect(text).toContain('# TYPE ljwt_group_sync_errors_total counter\nljwt_group_sync_errors_total 0\n');
    expect(text).toContain('# TYPE ljwt_group_snapshot_age_seconds gauge\n');
  });
});

describe('a failing server', () => {
  it('reports the failed server with 502, keeps serving, and counts the error in /metrics', async () => {
    const dead = { ...ldapServer(slapd), uri: REFUSED_LDAP_URL, groupDns: [ENG], connectTimeoutMs: 1000 };
    const svc = await start({
      adminGroupDn: ADMINS,
      ldapServers: [{ ...ldapServer(slapd), groupDns: [ENG, DEV] }, dead],
    });
    const errorsAtStart = svc.groups.status().syncErrors;
    expect(errorsAtStart).toBe(1);
    const bob = await accessToken(svc.base, 'bob', 'bob-pw');
    const r = await sync(svc.base, bearer(bob));
    expect(r.status).toBe(502);
    const b = r.json();
    expect(b.ok).toBe(false);
    expect(b.servers.map((x: { ok: boolean }) => x.ok)).toEqual([true, false]);
    expect(b.servers[1].uri).toBe(REFUSED_LDAP_URL);
    expect(typeof b.servers[1].error).toBe('string');

    const text = (await http(`${svc.base}/metrics`)).text;
    expect(metric(text, 'ljwt_group_sync_errors_total')).toBe(errorsAtStart + 1);
    expect(metric(text, 'ljwt_group_snapshot_stale')).toBe(1);
    const g = await groupsOf(svc.base, 'user=bob', bearer(bob));
    expect(g.json()).toMatchObject({ groups: expect.arrayContaining([ADMINS, ENG]), snapshot: { stale: true } });
    const bobOid = g.json().objectId as string;

    // LDAP down: a username cannot be resolved (503); object ids still answer from the snapshot.
    await slapd.stop();
    try {
      const byUser = await groupsOf(svc.base, 'user=bob', bearer(bob));
      expect(byUser.status).toBe(503);
      expect(byUser.json().error).toBe('temporarily_unavailable');
      const byOid = await groupsOf(svc.base, `oid=${encodeURIComponent(bobOid)}`, bearer(bob));
      expect(byOid.status).toBe(200);
      expect(byOid.json().groups).toEqual(expect.arrayContaining([ADMINS, ENG]));
      const down = await sync(svc.base, bearer(bob));
      expect(down.status).toBe(502);
      expect(down.json()).toMatchObject({ ok: false, published: false });
      expect(down.json().servers.map((x: { ok: boolean }) => x.ok)).toEqual([false, false]);
    } finally {
      await slapd.start();
    }
  });
});

describe('without service/adminGroup', () => {
  it('the operator endpoints do not exist (404), whoever asks', async () => {
    const svc = await start({});
    expect(svc.config.adminGroupDn).toBeUndefined();
    const alice = await accessToken(svc.base, 'alice', 'alice-pw');
    for (const r of [await sync(svc.base, bearer(alice)), await groupsOf(svc.base, 'user=carol', bearer(alice)), await sync(svc.base)]) {
      expect(r.status).toBe(404);
    }
  });
});
