// Failover between replicas, timeouts, and TLS (ldaps:// and StartTLS) of the LDAP login.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLdapAuthenticator } from '../../service/src/ldap/login.ts';
import { freePort, startSlapd, type Slapd } from '../harness/slapd.ts';
import { AD_COMPAT_SCHEMA, codeOf, DIRECTORY_LDIF, fixtureServerConfig, startFixtureSlapd } from '../harness/ldap-fixture.ts';
import { startBlackhole, type Blackhole } from '../harness/tcp-blackhole.ts';
import { makeTestPki, type TestPki } from '../harness/tls.ts';

const PATTERN = /^[A-Za-z0-9._@-]{1,256}$/;
const ALICE = 'uid=alice,ou=people,dc=example,dc=com';

describe('LDAP failover and timeouts', () => {
  let s1: Slapd;
  let s2: Slapd;
  let hole: Blackhole;
  let closedPort: number;

  beforeAll(async () => {
    // s2 is a "replica" where alice's password differs, so a login that
    // reached s2 with s2's password would visibly succeed.
    const ldif2 = (await readFile(DIRECTORY_LDIF, 'utf8')).replace('userPassword: alice-pw', 'userPassword: alice-pw-on-s2');
    [s1, s2, hole, closedPort] = await Promise.all([
      startFixtureSlapd(),
      startSlapd({ schemas: [AD_COMPAT_SCHEMA], ldif: [ldif2] }),
      startBlackhole(),
      freePort(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([s1?.destroy(), s2?.destroy(), hole?.close()]);
  });

  it('uses server 2 when server 1 refuses connections', async () => {
    const auth = createLdapAuthenticator(
      [fixtureServerConfig(`ldap://127.0.0.1:${closedPort}`), fixtureServerConfig(s1.url)],
      PATTERN,
    );
    const u = await auth.authenticate('alice', 'alice-pw');
    expect(u.serverUri).toBe(s1.url);
  });

  it('does not try server 2 after a wrong password on server 1', async () => {
    const before = (await s2.log()).length;
    const before1 = (await s1.log()).length;
    const auth = createLdapAuthenticator([fixtureServerConfig(s1.url), fixtureServerConfig(s2.url)], PATTERN);
    // s2 would accept this password: the login must still fail.
    expect(await codeOf(auth.authenticate('alice', 'alice-pw-on-s2'))).toBe('INVALID_CREDENTIALS');
    expect(await codeOf(auth.authenticate('nobody', 'x'))).toBe('INVALID_CREDENTIALS');
    const s2log = (await s2.log()).slice(before);
    expect(s2log).not.toMatch(/ACCEPT/);
    // s1 saw the user bind and refused it (49 invalidCredentials).
    const s1log = (await s1.log()).slice(before1);
    expect(s1log).toContain(`BIND dn="${ALICE}" method=128`);
    expect(s1log).toMatch(/RESULT tag=97 err=49/);
    // Sanity: s2 really has that password, and its log does show connections when used.
    const only2 = createLdapAuthenticator([fixtureServerConfig(s2.url)], PATTERN);
    expect((await only2.authenticate('alice', 'alice-pw-on-s2')).serverUri).toBe(s2.url);
    expect((await s2.log()).slice(before)).toMatch(/ACCEPT/);
  });

  it('fails over when the service bind is refused on server 1 (misconfigured replica)', async () => {
    const auth = createLdapAuthenticator(
      [fixtureServerConfig(s1.url, { bindPassword: 'wrong-service-pw' }), fixtureServerConfig(s2.url)],
      PATTERN,
    );
    expect((await auth.authenticate('alice', 'alice-pw-on-s2')).serverUri).toBe(s2.url);
  });

  it('follows a server that goes down and comes back', async () => {
    const auth = createLdapAuthenticator([fixtureServerConfig(s1.url), fixtureServerConfig(s2.url)], PATTERN);
    expect((await auth.authenticate('bob', 'bob-pw')).serverUri).toBe(s1.url);
    await s1.stop();
    try {
      expect((await auth.authenticate('bob', 'bob-pw')).serverUri).toBe(s2.url);
    } finally {
      await s1.start();
    }
    expect((await auth.authenticate('bob', 'bob-pw')).serverUri).toBe(s1.url);
  });

  it('gives DIRECTORY_UNAVAILABLE when every server is down', async () => {
    const auth = createLdapAuthenticator(
      [fixtureServerConfig(`ldap://127.0.0.1:${closedPort}`), fixtureServerConfig(`ldap://127.0.0.1:${closedPort}`)],
      PATTERN,
    );
    expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('DIRECTORY_UNAVAILABLE');
    expect(await auth.ping()).toBe(false);
  });

  it('times out on a server that accepts TCP and never answers, then fails over', async () => {
    const opTimeout = 400;
    const hung = fixtureServerConfig(hole.url, { connectTimeoutMs: 400, operationTimeoutMs: opTimeout });
    const only = createLdapAuthenticator([hung], PATTERN);
    const before = hole.connections();
    let t0 = Date.now();
    expect(await codeOf(only.authenticate('alice', 'alice-pw'))).toBe('DIRECTORY_UNAVAILABLE');
    let elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(opTimeout - 50);
    expect(elapsed).toBeLessThan(opTimeout + 1500);
    expect(hole.connections()).toBe(before + 1);

    const both = createLdapAuthenticator([hung, fixtureServerConfig(s1.url)], PATTERN);
    t0 = Date.now();
    expect((await both.authenticate('alice', 'alice-pw')).serverUri).toBe(s1.url);
    elapsed = Date.now() - t0;
    expect(elapsed).toBeLessThan(opTimeout + 1500);

    // ping() is bounded the same way.
    t0 = Date.now();
    expect(await only.ping()).toBe(false);
    expect(Date.now() - t0).toBeLessThan(opTimeout + 1500);
  });

  it('times out a hung TLS handshake (ldaps://) and a hung StartTLS', async () => {
    const ldaps = fixtureServerConfig(`ldaps://127.0.0.1:${hole.port}`, { connectTimeoutMs: 400, operationTimeoutMs: 400 });
    const starttls = fixtureServerConfig(hole.url, { startTls: true, connectTimeoutMs: 400, operationTimeoutMs: 400 });
    for (const server of [ldaps, starttls]) {
      const t0 = Date.now();
      expect(await codeOf(createLdapAuthenticator([server], PATTERN).authenticate('alice', 'alice-pw'))).toBe(
        'DIRECTORY_UNAVAILABLE',
      );
      expect(Date.now() - t0).toBeLessThan(2500);
    }
  });
});

describe('LDAP over TLS', () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let slapd: Slapd;
  beforeAll(async () => {
    [pki, otherPki] = await Promise.all([makeTestPki('ljwt test CA'), makeTestPki('unrelated CA')]);
    slapd = await startFixtureSlapd({ tls: { certFile: pki.certFile, keyFile: pki.keyFile } });
  });
  afterAll(async () => {
    await slapd?.destroy();
    await Promise.all([pki?.destroy(), otherPki?.destroy()]);
  });

  it('logs in over ldaps:// with the configured CA file', async () => {
    const auth = createLdapAuthenticator([fixtureServerConfig(slapd.ldapsUrl!, { caFile: pki.caFile })], PATTERN);
    expect((await auth.authenticate('alice', 'alice-pw')).username).toBe('alice');
    const byName = createLdapAuthenticator(
      [fixtureServerConfig(`ldaps://localhost:${slapd.ldapsPort}`, { caFile: pki.caFile })],
      PATTERN,
    );
    expect((await byName.authenticate('alice', 'alice-pw')).username).toBe('alice');
  });

  it('logs in with StartTLS and the configured CA file', async () => {
    const auth = createLdapAuthenticator([fixtureServerConfig(slapd.url, { startTls: true, caFile: pki.caFile })], PATTERN);
    expect((await auth.authenticate('alice', 'alice-pw')).username).toBe('alice');
    // The connection was really upgraded: slapd logs the StartTLS extended operation.
    expect(await slapd.log()).toMatch(/EXT oid=1\.3\.6\.1\.4\.1\.1466\.20037/);
  });

  it('refuses a server certificate from another CA (ldaps and StartTLS), and falls over to a trusted one', async () => {
    for (const s of [
      fixtureServerConfig(slapd.ldapsUrl!, { caFile: otherPki.caFile }),
      fixtureServerConfig(slapd.url, { startTls: true, caFile: otherPki.caFile }),
      // No caFile: system CAs, which do not know the test CA.
      fixtureServerConfig(slapd.ldapsUrl!),
    ]) {
      const logs: string[] = [];
      const auth = createLdapAuthenticator([s], PATTERN, (_l, _m, f) => logs.push(JSON.stringify(f)));
      expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('DIRECTORY_UNAVAILABLE');
      expect(logs.join('\n')).toMatch(/certificate|self.signed|issuer/i);
    }
    const auth = createLdapAuthenticator(
      [fixtureServerConfig(slapd.ldapsUrl!, { caFile: otherPki.caFile }), fixtureServerConfig(slapd.ldapsUrl!, { caFile: pki.caFile })],
      PATTERN,
    );
    expect((await auth.authenticate('alice', 'alice-pw')).username).toBe('alice');
  });
});
