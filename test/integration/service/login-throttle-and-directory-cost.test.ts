// Attacks on the login throttle and the shared
// store, each proven against the real service, slapd and the memory store.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../service/src/store/memory-store.ts';
import { createLdapAuthenticator } from '../../../service/src/ldap/login.ts';
import {
  http, ldapServer, makeConfig, openLoginForm, PASSWORD_CLIENT, pkcePair, PUBLIC_CLIENT, serviceSuite, submitLogin, tokenRequest,
  type RunningService,
} from '../../harness/service-app.ts';

const suite = serviceSuite();

const service = (over: Parameters<typeof makeConfig>[2], store = new MemoryStore()) => suite.start(over, store);

/** Bind attempts (successful or not) slapd saw for a DN: its stats log has one "BIND dn=… method=128" line per simple bind. */
async function bindAttempts(dn: string): Promise<number> {
  const lines = (await suite.slapd.log()).split('\n');
  return lines.filter((l) => l.toLowerCase().includes(`bind dn="${dn.toLowerCase()}" method=128`)).length;
}

const CAROL_DN = 'uid=carol,ou=people,dc=example,dc=com';
const EEVANS_DN = 'CN=Erin Evans,OU=ad,DC=example,DC=com';
const xff = (ip: string) => ({ 'x-forwarded-for': ip });
const guess = (s: RunningService, username: string, password: string, ip: string) =>
  tokenRequest(s.base, { grant_type: 'password', username, password, client_id: PASSWORD_CLIENT }, xff(ip));

describe('throttle counters cannot be flushed out of the memory store', () => {
  it('a throttled client flooding random usernames does not evict the victim\'s counter', async () => {
    const store = new MemoryStore({ maxEntries: 60 });
    const s = await service({ throttle: { maxFailuresPerUsername: 3, maxFailuresPerIp: 5, windowSeconds: 300 }, trustedProxies: ['127.0.0.1'] }, store);
    for (let i = 0; i < 3; i++) expect((await guess(s, 'carol', `wrong-${i}`, '198.51.100.1')).status).toBe(400);
    expect((await guess(s, 'carol', 'wrong-x', '198.51.100.2')).status).toBe(429);
    // The attacker's own IP budget runs out after 5 failures; every further request is refused
    // before LDAP, but must not leave a new store entry behind either.
    for (let i = 0; i < 200; i++) await guess(s, `flood${i}`, 'x', '198.51.100.66');
    const calls = s.auth.calls;
    const binds = await bindAttempts(CAROL_DN);
    const r = await guess(s, 'carol', 'carol-pw', '198.51.100.3');
    expect(r.status).toBe(429);
    expect(s.auth.calls).toBe(calls);
    expect(await bindAttempts(CAROL_DN)).toBe(binds);
  });

  it('a throttled client posting valid login forms stores no CSRF nonces', async () => {
    const store = new MemoryStore();
    const s = await service({ throttle: { maxFailuresPerUsername: 100, maxFailuresPerIp: 2, windowSeconds: 300 } }, store);
    const p = pkcePair();
    for (let i = 0; i < 2; i++) {
      const f = await openLoginForm(s.base, { client_id: PUBLIC_CLIENT, code_challenge: p.challenge, code_challenge_method: 'S256' });
      expect((await submitLogin(s.base, f.cookie, f.fields, 'carol', 'bad')).status).toBe(401);
    }
    const size = store.size();
    for (let i = 0; i < 20; i++) {
      const f = await openLoginForm(s.base, { client_id: PUBLIC_CLIENT, code_challenge: p.challenge, code_challenge_method: 'S256' });
      expect((await submitLogin(s.base, f.cookie, f.fields, `user${i}`, 'bad')).status).toBe(429);
    }
    expect(store.size()).toBe(size);
  });

  it('the CSRF token stays single use', async () => {
    const s = await service({});
    const p = pkcePair();
    const f = await openLoginForm(s.base, { client_id: PUBLIC_CLIENT, code_challenge: p.challenge, code_challenge_method: 'S256' });
    expect((await submitLogin(s.base, f.cookie, f.fields, 'carol', 'bad')).status).toBe(401);
    const again = await submitLogin(s.base, f.cookie, f.fields, 'carol', 'carol-pw');
    expect(again.status).toBe(403);
    expect(again.headers.location).toBeUndefined();
  });
});

describe('per-IP limit and IPv6', () => {
  it('addresses of one IPv6 /64 share one budget', async () => {
    const s = await service({ throttle: { maxFailuresPerUsername: 100, maxFailuresPerIp: 3, windowSeconds: 300 }, trustedProxies: ['127.0.0.1'] });
    for (let i = 1; i <= 3; i++) expect((await guess(s, `user${i}`, 'x', `2001:db8:1:2::${i}`)).status).toBe(400);
    const calls = s.auth.calls;
    expect((await guess(s, 'alice', 'alice-pw', '2001:db8:1:2:ffff::9')).status).toBe(429);
    expect(s.auth.calls).toBe(calls);
    // Another /64 is another client.
    expect((await guess(s, 'alice', 'alice-pw', '2001:db8:1:3::1')).status).toBe(200);
  });
});

describe('per-account limit across login-name aliases', () => {
  /** Users found by `userFilter` in the whole fixture directory, names with "@" allowed, 3 failures per account. */
  const aliasService = (userFilter: string) => service({
    ldapServers: [{ ...ldapServer(suite.slapd), userSearchBase: 'dc=example,dc=com', userFilter }],
    usernamePattern: /^[A-Za-z0-9._@-]{1,256}$/,
    throttle: { maxFailuresPerUsername: 3, maxFailuresPerIp: 100, windowSeconds: 300 },
  });

  it('sAMAccountName and userPrincipalName of one account share the username budget; no bind once exceeded', async () => {
    const s = await aliasService('(&(|(objectClass=person)(objectClass=user))(|(uid={username})(sAMAccountName={username})(userPrincipalName={username})))');
    for (let i = 0; i < 3; i++) expect((await guess(s, 'eevans', `wrong-${i}`, '1')).status).toBe(400);
    expect((await guess(s, 'eevans', 'eevans-pw', '1')).status).toBe(429);
    const binds = await bindAttempts(EEVANS_DN);
    for (const alias of ['eevans@ad.example.com', 'EEVANS@AD.EXAMPLE.COM']) {
      const r = await guess(s, alias, 'wrong-alias', '1');
      expect(r.status).toBe(429);
      expect(r.headers['retry-after']).toBeDefined();
    }
    expect(await bindAttempts(EEVANS_DN)).toBe(binds);
    // Other accounts keep their own budget.
    expect((await guess(s, 'ffischer@ad.example.com', 'ffischer-pw', '1')).status).toBe(200);
  });

  it('a successful login through one alias clears the account budget', async () => {
    const s = await aliasService('(|(uid={username})(sAMAccountName={username})(userPrincipalName={username}))');
    for (let i = 0; i < 2; i++) expect((await guess(s, 'ffischer', 'bad', '1')).status).toBe(400);
    expect((await guess(s, 'ffischer@ad.example.com', 'ffischer-pw', '1')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await guess(s, 'ffischer@ad.example.com', 'bad', '1')).status).toBe(400);
    expect((await guess(s, 'ffischer', 'ffischer-pw', '1')).status).toBe(200);
  });
});

describe('/readyz cannot be used to flood the directory', () => {
  it('parallel and repeated probes share one LDAP check for a few seconds', async () => {
    const s = await service({});
    const reader = 'cn=ljwt-reader,ou=service-accounts,dc=example,dc=com';
    const before = await bindAttempts(reader);
    const results = await Promise.all(Array.from({ length: 20 }, () => http(`${s.base}/readyz`)));
    for (let i = 0; i < 10; i++) results.push(await http(`${s.base}/readyz`));
    expect(results.every((r) => r.json().checks.find((c: { name: string }) => c.name === 'ldap').ok === true)).toBe(true);
    expect((await bindAttempts(reader)) - before).toBeLessThanOrEqual(2);
  });
});

describe('an unknown username costs the directory what a wrong password costs', () => {
  it('both run one user bind on a pooled bind connection, so response times do not reveal which accounts exist', async () => {
    const auth = createLdapAuthenticator([ldapServer(suite.slapd)], /^[A-Za-z0-9._-]{1,64}$/);
    const binds = async () => (await suite.slapd.log()).split('\n').filter((l) => / BIND dn=".*" method=128/.test(l)).length;
    const connections = async () => (await suite.slapd.log()).split('\n').filter((l) => / ACCEPT from /.test(l)).length;
    const cost = async (username: string) => {
      const b = await binds();
      const c = await connections();
      await expect(auth.authenticate(username, 'not-the-password')).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
      return { binds: (await binds()) - b, connections: (await connections()) - c };
    };
    // Open the pools first (two search connections, used round robin, and a bind connection),
    // so that every measured attempt finds them open.
    for (let i = 0; i < 2; i++) await auth.authenticate('carol', 'carol-pw');
    const known = await cost('carol');
    expect(known).toEqual({ binds: 1, connections: 0 });
    expect(await cost('nosuchuser')).toEqual(known);
    expect(await cost('dupe')).toEqual(known); // ambiguous: also refused like a wrong password
    await auth.close();
  });
});

/**
 * A TCP relay to slapd that forwards every request but drops slapd's answers on
 * connections whose first request is a bind as `dn`: the user bind reaches the directory
 * (which counts a wrong password), the client sees only a timeout.
 */
async function relaySwallowingBindOf(dn: string): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(suite.slapd.port, '127.0.0.1');
    sockets.add(client).add(upstream);
    let swallow: boolean | undefined;
    client.on('data', (chunk) => {
      if (swallow === undefined) swallow = chunk.includes(Buffer.from(dn));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => { if (!swallow) client.write(chunk); });
    for (const s of [client, upstream]) {
      s.on('error', () => undefined);
      s.on('close', () => { client.destroy(); upstream.destroy(); });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `ldap://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

describe('a user bind that times out still counts', () => {
  it('the directory saw the password, so the throttle charges the attempt and stops the next ones before LDAP', async () => {
    const relay = await relaySwallowingBindOf(CAROL_DN);
    try {
      const s = await service({
        ldapServers: [{ ...ldapServer(suite.slapd), uri: relay.url, operationTimeoutMs: 300, retryInitialMs: 50 }],
        throttle: { maxFailuresPerUsername: 2, maxFailuresPerIp: 100, windowSeconds: 300 },
      });
      const before = await bindAttempts(CAROL_DN);
      for (let i = 0; i < 2; i++) {
        expect((await guess(s, 'carol', `guess-${i}`, '1')).status).toBe(503);
        // The timed-out bind marked the server down; its probe (which the relay lets through) brings it back.
        await new Promise((r) => setTimeout(r, 400));
      }
      expect((await bindAttempts(CAROL_DN)) - before).toBe(2);
      const r = await guess(s, 'carol', 'guess-2', '1');
      expect(r.status).toBe(429);
      expect((await bindAttempts(CAROL_DN)) - before).toBe(2);
    } finally {
      await relay.close();
    }
  });

  it('an outage before the user bind still costs nothing', async () => {
    const s = await service({
      ldapServers: [{ ...ldapServer(suite.slapd), bindPassword: 'wrong-service-password' }],
      throttle: { maxFailuresPerUsername: 2, maxFailuresPerIp: 100, windowSeconds: 300 },
    });
    for (let i = 0; i < 4; i++) expect((await guess(s, 'carol', 'carol-pw', '1')).status).toBe(503);
  });
});

describe('a refused refresh request loses nothing', () => {
  it('asking for a wider scope is invalid_scope and leaves the refresh token usable (no rotation, no reuse)', async () => {
    const s = await suite.start({}, new MemoryStore(), { tuning: { refreshReuseGraceSeconds: 0 } });
    const t0 = (await tokenRequest(s.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT })).json();
    const wide = await tokenRequest(s.base, { grant_type: 'refresh_token', refresh_token: t0.refresh_token, client_id: PASSWORD_CLIENT, scope: 'api admin' });
    expect(wide.json().error).toBe('invalid_scope');
    const again = await tokenRequest(s.base, { grant_type: 'refresh_token', refresh_token: t0.refresh_token, client_id: PASSWORD_CLIENT, scope: 'api' });
    expect(again.status).toBe(200);
    expect(again.json().scope).toBe('api');
    expect(s.app.context.metrics.refreshReuse.get({ outcome: 'family_revoked' })).toBe(0);
  });
});
