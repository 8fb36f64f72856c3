// The LDAP login's connection pools (service/src/ldap/pool.ts) against a real slapd: which
// operations run on which connection (read back from slapd's own log), size limits,
// replacement of broken connections, and that a closed connection is never reopened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLdapClient } from '../../../service/src/ldap/connect.ts';
import { createLdapAuthenticator } from '../../../service/src/ldap/login.ts';
import type { Slapd } from '../../harness/slapd.ts';
import { codeOf, FIXTURE_LOGIN_GROUP, FIXTURE_READER_DN, FIXTURE_READER_PASSWORD, fixtureServerConfig, startFixtureSlapd } from '../../harness/ldap-fixture.ts';
import { startRelay, type Relay } from '../../harness/tcp-relay.ts';
import { makeTestPki, type TestPki } from '../../harness/tls.ts';

const PATTERN = /^[A-Za-z0-9._@-]{1,256}$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ConnOps {
  binds: string[];
  searches: number;
  /** Operation kinds in order: BIND, SRCH, EXT (StartTLS), ... */
  ops: string[];
}

/** slapd `-d stats` requests per connection: "conn=N op=M BIND dn=... method=128" / "SRCH ..." / "EXT oid=...". */
function operationsByConnection(log: string): Map<string, ConnOps> {
  const out = new Map<string, ConnOps>();
  for (const line of log.split('\n')) {
    const m = /\bconn=(\d+) op=\d+ (BIND|SRCH|EXT)\b(.*)$/.exec(line);
    // A successful bind logs a second BIND line (mech=SIMPLE ...) after the request (method=128).
    if (!m || (m[2] === 'BIND' && !m[3]!.includes(' method='))) continue;
    const c = out.get(m[1]!) ?? { binds: [], searches: 0, ops: [] };
    out.set(m[1]!, c);
    c.ops.push(m[2]!);
    if (m[2] === 'BIND') c.binds.push(/dn="([^"]*)"/.exec(m[3]!)?.[1] ?? '');
    if (m[2] === 'SRCH') c.searches++;
  }
  return out;
}

/** Waits until slapd's log stops growing (it logs closes after the fact). */
async function settledLog(slapd: Slapd): Promise<string> {
  let before = (await slapd.log()).length;
  for (let stable = 0; stable < 3;) {
    await sleep(50);
    const now = (await slapd.log()).length;
    stable = now === before ? stable + 1 : 0;
    before = now;
  }
  return slapd.log();
}

describe('LDAP connection pools', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startFixtureSlapd();
  });
  afterAll(async () => {
    await slapd?.destroy();
  });

  it('runs user binds only on bind connections and searches only on service-account connections', async () => {
    const before = (await settledLog(slapd)).length;
    const auth = createLdapAuthenticator([fixtureServerConfig(slapd.url, { loginGroupDn: FIXTURE_LOGIN_GROUP })], PATTERN);
    const attempts: Array<[string, string]> = [
      ['alice', 'alice-pw'], ['bob', 'bob-pw'], ['alice', 'wrong'], ['nobody', 'x'], ['dupe', 'dupe-pw'],
      ['tcontractor', 'tcontractor-pw'], ['eevans', 'eevans-pw'], ['bob', 'nope'],
    ];
    // Concurrently, several rounds: connections are shared and reused.
    for (let round = 0; round < 3; round++) await Promise.all(attempts.map(([u, p]) => codeOf(auth.authenticate(u, p))));
    expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('OK');
    expect(await codeOf(auth.authenticate('bob', 'bob-pw'))).toBe('NOT_IN_LOGIN_GROUP');
    await auth.close();

    const conns = operationsByConnection((await settledLog(slapd)).slice(before));
    let searchConns = 0;
    let bindConns = 0;
    for (const [id, c] of conns) {
      if (c.searches > 0) {
        searchConns++;
        // Bound once, as the service account, before its first search; never re-bound.
        expect(c.binds, `conn ${id}`).toEqual([FIXTURE_READER_DN]);
        expect(c.ops[0], `conn ${id}`).toBe('BIND');
      } else {
        bindConns++;
        expect(c.binds.length, `conn ${id}`).toBeGreaterThan(0);
        expect(c.binds, `conn ${id}`).not.toContain(FIXTURE_READER_DN);
      }
    }
    expect(searchConns).toBeGreaterThan(0);
    expect(searchConns).toBeLessThanOrEqual(2);
    expect(bindConns).toBeGreaterThan(0);
    expect(bindConns).toBeLessThanOrEqual(8);
  });

  it('never opens more connections than the limits, however many logins run at once', async () => {
    const before = (await settledLog(slapd)).length;
    const auth = createLdapAuthenticator([fixtureServerConfig(slapd.url)], PATTERN, undefined, { searchConnections: 1, bindConnections: 2 });
    const logins = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? auth.authenticate('alice', 'alice-pw') : auth.authenticate('bob', 'bob-pw')));
    await sleep(0);
    const during = auth.connections()[0]!;
    const users = await Promise.all(logins);
    expect(users.map((u) => u.username)).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'alice' : 'bob')));
    expect(during.bind).toBeLessThanOrEqual(2);
    expect(auth.connections()[0]).toMatchObject({ search: 1, bind: 2, waiting: 0 });
    await auth.close();
    const log = (await settledLog(slapd)).slice(before);
    // At most 3 connections open at any moment (a loaded machine may replace one that timed out,
    // so the total accepted can exceed 3; the number open at once cannot), and all closed at the end.
    let open = 0;
    let mostOpen = 0;
    for (const m of log.matchAll(/ ACCEPT from | fd=\d+ closed/g)) {
      open += m[0].includes('ACCEPT') ? 1 : -1;
      mostOpen = Math.max(mostOpen, open);
    }
    expect(mostOpen).toBe(3);
    expect(open).toBe(0);
  });

  it('a failed bind on a bind connection is a failure, whoever bound on it before', async () => {
    const auth = createLdapAuthenticator([fixtureServerConfig(slapd.url)], PATTERN, undefined, { bindConnections: 1 });
    expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('OK');
    expect(await codeOf(auth.authenticate('alice', 'wrong'))).toBe('INVALID_CREDENTIALS');
    expect(await codeOf(auth.authenticate('bob', 'bob-pw'))).toBe('OK');
    expect(await codeOf(auth.authenticate('bob', 'alice-pw'))).toBe('INVALID_CREDENTIALS');
    expect(await codeOf(auth.authenticate('nobody', 'bob-pw'))).toBe('INVALID_CREDENTIALS');
    expect(auth.connections()[0]!.bind).toBe(1);
    await auth.close();
  });

  it('replaces pooled connections after the server restarted, binding the new search connection first', async () => {
    const auth = createLdapAuthenticator([fixtureServerConfig(slapd.url)], PATTERN, undefined, { searchConnections: 1 });
    expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('OK');
    await slapd.stop();
    await slapd.start();
    const before = (await settledLog(slapd)).length;
    expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('OK');
    expect(await codeOf(auth.authenticate('bob', 'wrong'))).toBe('INVALID_CREDENTIALS');
    await auth.close();
    const conns = [...operationsByConnection((await settledLog(slapd)).slice(before)).values()];
    const search = conns.filter((c) => c.searches > 0);
    expect(search).toHaveLength(1);
    expect(search[0]!.ops[0]).toBe('BIND');
    expect(search[0]!.binds).toEqual([FIXTURE_READER_DN]);
  });

  it('retries a search once on a new connection when the pooled one broke unnoticed', async () => {
    const relay = await startRelay(slapd.port);
    try {
      const auth = createLdapAuthenticator([fixtureServerConfig(relay.url)], PATTERN, undefined, { searchConnections: 1, bindConnections: 1 });
      expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('OK');
      expect(relay.connections()).toBe(2);
      // Reset both connections and log in within the same tick: the pool has not seen the close yet.
      relay.cut();
      const user = await auth.authenticate('bob', 'bob-pw');
      expect(user.username).toBe('bob');
      // The broken search connection was replaced (retry) and the broken bind connection was
      // noticed as closed before use and replaced, not reconnected.
      expect(relay.connections()).toBe(4);
      expect(auth.connections()[0]).toMatchObject({ search: 1, bind: 1 });
      await auth.close();
    } finally {
      await relay.close();
    }
  });

  it('a client whose connection closed is never silently reconnected (anonymous or in plaintext)', async () => {
    const relay = await startRelay(slapd.port);
    try {
      const client = await openLdapClient(fixtureServerConfig(relay.url));
      await client.bind(FIXTURE_READER_DN, FIXTURE_READER_PASSWORD);
      expect((await client.search('ou=people,dc=example,dc=com', { filter: '(uid=alice)' })).searchEntries).toHaveLength(1);
      relay.cut();
      await sleep(100);
      expect(client.isConnected).toBe(false);
      // ldapts would open a new, anonymous connection here; the one-shot factory refuses.
      await expect(client.search('ou=people,dc=example,dc=com', { filter: '(uid=alice)' })).rejects.toThrow(/never reconnected/);
      await expect(client.bind('uid=alice,ou=people,dc=example,dc=com', 'alice-pw')).rejects.toThrow(/never reconnected/);
      expect(relay.connections()).toBe(1);
      await client.unbind().catch(() => undefined);
    } finally {
      await relay.close();
    }
  });

  it('close() closes every pooled connection; logins afterwards fail as DIRECTORY_UNAVAILABLE', async () => {
    const relay = await startRelay(slapd.port);
    try {
      const auth = createLdapAuthenticator([fixtureServerConfig(relay.url)], PATTERN);
      await Promise.all([auth.authenticate('alice', 'alice-pw'), auth.authenticate('bob', 'bob-pw'), auth.authenticate('carol', 'carol-pw')]);
      expect(relay.open()).toBeGreaterThanOrEqual(2);
      await auth.close();
      await sleep(100);
      expect(relay.open()).toBe(0);
      expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('DIRECTORY_UNAVAILABLE');
      expect(await auth.findUser('alice').then(() => 'OK', (e: { code?: string }) => e.code)).toBe('DIRECTORY_UNAVAILABLE');
    } finally {
      await relay.close();
    }
  });

  it('closes connections idle for longer than idleMs', async () => {
    const relay = await startRelay(slapd.port);
    try {
      const auth = createLdapAuthenticator([fixtureServerConfig(relay.url)], PATTERN, undefined, { idleMs: 200 });
      expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('OK');
      expect(relay.open()).toBe(2);
      await sleep(1600);
      expect(relay.open()).toBe(0);
      expect(auth.connections()[0]).toMatchObject({ search: 0, bind: 0 });
      // And opens new ones on demand.
      expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('OK');
      await auth.close();
    } finally {
      await relay.close();
    }
  });
});

describe('LDAP connection pools with StartTLS', () => {
  let pki: TestPki;
  let slapd: Slapd;
  beforeAll(async () => {
    pki = await makeTestPki('ljwt pool CA');
    slapd = await startFixtureSlapd({ tls: { certFile: pki.certFile, keyFile: pki.keyFile } });
  });
  afterAll(async () => {
    await slapd?.destroy();
    await pki?.destroy();
  });

  it('upgrades every pooled connection once, before its first bind, and reuses it', async () => {
    const auth = createLdapAuthenticator([fixtureServerConfig(slapd.url, { startTls: true, caFile: pki.caFile })], PATTERN);
    for (let i = 0; i < 4; i++) {
      await Promise.all([auth.authenticate('alice', 'alice-pw'), codeOf(auth.authenticate('bob', 'wrong')), auth.authenticate('carol', 'carol-pw')]);
    }
    await auth.close();
    const conns = [...operationsByConnection(await settledLog(slapd)).values()];
    expect(conns.length).toBeGreaterThan(0);
    expect(conns.length).toBeLessThanOrEqual(2 + 8);
    for (const c of conns) {
      expect(c.ops[0]).toBe('EXT');
      expect(c.ops.filter((o) => o === 'EXT')).toHaveLength(1);
    }
    // 12 logins over far fewer connections.
    expect(conns.reduce((n, c) => n + c.binds.length, 0)).toBeGreaterThan(conns.length);
  });
});

describe('LDAP bind pool under a directory that stops answering binds', () => {
  let slapd: Slapd;
  let relay: Relay;
  beforeAll(async () => {
    slapd = await startFixtureSlapd();
    relay = await startRelay(slapd.port, { muteAfter: 'uid=carol,' });
  });
  afterAll(async () => {
    await relay?.close();
    await slapd?.destroy();
  });

  it('a bind waits for a free connection only so long, and a timed-out bind connection is replaced', async () => {
    const auth = createLdapAuthenticator(
      [fixtureServerConfig(relay.url, { operationTimeoutMs: 600, retryInitialMs: 100 })],
      PATTERN, undefined, { searchConnections: 1, bindConnections: 1, acquireTimeoutMs: 150 },
    );
    expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('OK');
    const opened = relay.connections();
    // carol's bind reaches slapd and its answer never comes back: it holds the only bind connection.
    const hung = codeOf(auth.authenticate('carol', 'carol-pw'));
    await sleep(50);
    const t0 = Date.now();
    expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('DIRECTORY_UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(500);
    expect(await hung).toBe('DIRECTORY_UNAVAILABLE');
    // The timed-out bind marked the server down; its background probe brings it back.
    for (let i = 0; i < 50 && !auth.replicaStatus()[0]!.up; i++) await sleep(20);
    const probes = relay.connections() - opened;
    // The timed-out connection was closed, not reused: the next bind gets a new one and works.
    expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('OK');
    expect(relay.connections() - probes).toBe(opened + 1);
    expect(auth.connections()[0]).toMatchObject({ bind: 1, waiting: 0 });
    await auth.close();
  });
});
