// Before the first group snapshot exists (first start, no snapshot file) the service
// listens at once, /healthz is up and /readyz says why it is not ready; whatever needs
// the user's groups (login, token, userinfo, operator check) answers a retryable 503
// with Retry-After, never a token with an empty `dns` claim and never a 403 decided on
// nothing. Real slapd, real group sync (in-thread), the app over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'ldapts';
import type { LdapServerConfig } from '../../../service/src/config/types.ts';
import { closeLdapClient, openLdapClient } from '../../../service/src/ldap/connect.ts';
import { issueAccessToken } from '../../../service/src/tokens/access-token.ts';
import { startFixtureSlapd } from '../../harness/ldap-fixture.ts';
import type { Slapd } from '../../harness/slapd.ts';
import { decodeJwtParts, http, makeConfig, PASSWORD_CLIENT, passwordGrant, type ServiceWithGroupSync } from '../../harness/service-app.ts';
import { loginFormOutcome, syncedServices, until } from '../../harness/synced-service.ts';
import { groupDn, groupOfNames, userDn } from '../ldap/groups-fixtures.ts';

const ENG = groupDn('engineering');
const ADMINS = groupDn('ljwt-admins');
const ADMIN_LDIF = groupOfNames('ljwt-admins', [userDn('bob')]);

const services = syncedServices('ljwt-first-snapshot-');
afterAll(() => services.closeAll());

function start(slapd: Slapd, connect?: (server: LdapServerConfig) => Promise<Client>): Promise<ServiceWithGroupSync> {
  return services.start(makeConfig(slapd, services.keyDirectory(), { adminGroupDn: ADMINS }), connect);
}

/** An access token for bob signed by the service's own keys, as if issued before a restart. */
async function bobToken(r: ServiceWithGroupSync, oid: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const { token } = await issueAccessToken(r.app.context.keys, {
    issuer: r.config.issuer, audience: r.config.audience, ttlSeconds: 300, subject: { username: 'bob', objectId: oid, dn: 'uid=bob,ou=people,dc=example,dc=com' },
    clientId: PASSWORD_CLIENT, scope: 'openid api', authTime: now, groupDns: [], sid: 'sid-before-restart', now,
  });
  return token;
}

describe('first group sync failing (the server caps every search of the bulk scan)', () => {
  let svc: ServiceWithGroupSync;
  beforeAll(async () => {
    // Paging refused and unpaged results capped at 5 entries: the bulk scan cannot complete,
    // while a login (one entry per search) works.
    const slapd = services.adopt(await startFixtureSlapd({ ldif: [ADMIN_LDIF], limits: ['users size.soft=5 size.hard=5 size.prtotal=disabled'] }));
    svc = await start(slapd);
    await until('the first sync to end', () => svc.groups.status().lastSyncDurationMs !== null);
  });

  it('listens: /healthz 200, /readyz 503 naming the failed first sync', async () => {
    expect((await http(`${svc.base}/healthz`)).status).toBe(200);
    const r = await http(`${svc.base}/readyz`);
    expect(r.status).toBe(503);
    expect(r.json().status).toBe('not_ready');
    expect(r.json().reason).toMatch(/groups: no group snapshot yet: first group sync failed/);
    expect(r.json().checks.find((c: { name: string }) => c.name === 'ldap').ok).toBe(true);
  });

  it('password grant: 503 temporarily_unavailable with Retry-After, no token', async () => {
    const r = await passwordGrant(svc.base, 'bob', 'bob-pw');
    expect(r.status).toBe(503);
    expect(r.json().error).toBe('temporarily_unavailable');
    expect(r.json().access_token).toBeUndefined();
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('login form: 503 page saying sign-in is not available yet, with Retry-After, no code', async () => {
    expect(await loginFormOutcome(svc.base, 'bob', 'bob-pw')).toEqual({ status: 503, redirected: false, notAvailableYet: true, retryAfter: 5 });
  });

  it('an operator with a valid token gets 503, not 403; userinfo gets 503, not an empty dns', async () => {
    const t = await bobToken(svc, 'oid-of-bob');
    const sync = await http(`${svc.base}/admin/sync`, { method: 'POST', headers: { authorization: `Bearer ${t}` } });
    expect(sync.status).toBe(503);
    expect(sync.json().error).toBe('temporarily_unavailable');
    expect(sync.headers['retry-after']).toBeDefined();
    const info = await http(`${svc.base}/userinfo`, { headers: { authorization: `Bearer ${t}` } });
    expect(info.status).toBe(503);
    expect(info.json().dns).toBeUndefined();
  });
});

describe('slow first group sync', () => {
  let svc: ServiceWithGroupSync;
  let release: () => void = () => undefined;
  beforeAll(async () => {
    const slapd = services.adopt(await startFixtureSlapd({ ldif: [ADMIN_LDIF] }));
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The sync's connection waits for the test: a directory answering slowly.
    svc = await start(slapd, async (server) => {
      await gate;
      const c = await openLdapClient(server);
      try {
        await c.bind(server.bindDn, server.bindPassword);
      } catch (e) {
        await closeLdapClient(c);
        throw e;
      }
      return c;
    });
  });
  afterAll(() => release());

  it('listens while the sync runs, /readyz 503 with the reason, then 200 and tokens carry the groups', async () => {
    expect((await http(`${svc.base}/healthz`)).status).toBe(200);
    const before = await http(`${svc.base}/readyz`);
    expect(before.status).toBe(503);
    expect(before.json().reason).toMatch(/first group sync running/);
    const refused = await passwordGrant(svc.base, 'bob', 'bob-pw');
    expect(refused.status).toBe(503);
    expect(refused.json().error).toBe('temporarily_unavailable');

    release();
    await until('/readyz 200', async () => (await http(`${svc.base}/readyz`)).status === 200);
    const ready = (await http(`${svc.base}/readyz`)).json();
    expect(ready.reason).toBeUndefined();
    const t = await passwordGrant(svc.base, 'bob', 'bob-pw');
    expect(t.status).toBe(200);
    const claims = decodeJwtParts(t.json().access_token).payload;
    expect([...claims.dns].sort()).toEqual([ADMINS, ENG].sort());
    const oid = claims.oids[0] as string;
    // The operator check now has an answer: bob is in the admin group.
    const sync = await http(`${svc.base}/admin/sync`, { method: 'POST', headers: { authorization: `Bearer ${await bobToken(svc, oid)}` } });
    expect(sync.status).toBe(200);
  });
});
