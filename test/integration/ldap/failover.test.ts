// Failover between the replicas of one directory (several <uri> in one <ldapServer>),
// between separate directories, timeouts, and TLS (ldaps:// and StartTLS) of the LDAP login.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLdapAuthenticator } from '../../../service/src/ldap/login.ts';
import { startSlapd, type Slapd } from '../../harness/slapd.ts';
import { AD_COMPAT_SCHEMA, codeOf, DIRECTORY_LDIF, fixtureServerConfig, REFUSED_LDAP_URL, startFixtureSlapd } from '../../harness/ldap-fixture.ts';
import { startBlackhole, type Blackhole } from '../../harness/tcp-blackhole.ts';
import { makeTestPki, type TestPki } from '../../harness/tls.ts';
import { levelLogger } from '../../../service/src/ops/logger.ts';

const PATTERN = /^[A-Za-z0-9._@-]{1,256}$/;
const ALICE = 'uid=alice,ou=people,dc=example,dc=com';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One directory whose replicas are `urls`, in order. */
const replicas = (urls: string[], over: Parameters<typeof fixtureServerConfig>[1] = {}) => fixtureServerConfig(urls[0]!, { uris: urls, ...over });

describe('LDAP failover and timeouts', () => {
  let s1: Slapd;
  let s2: Slapd;
  let hole: Blackhole;

  beforeAll(async () => {
    // s2 is a "replica" where alice's password differs, so a login that
    // reached s2 with s2's password would visibly succeed.
    const ldif2 = (await readFile(DIRECTORY_LDIF, 'utf8')).replace('userPassword: alice-pw', 'userPassword: alice-pw-on-s2');
    [s1, s2, hole] = await Promise.all([
      startFixtureSlapd(),
      startSlapd({ schemas: [AD_COMPAT_SCHEMA], ldif: [ldif2] }),
      startBlackhole(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([s1?.destroy(), s2?.destroy(), hole?.close()]);
  });

  it('uses replica 2 when replica 1 refuses connections', async () => {
    const auth = createLdapAuthenticator([replicas([REFUSED_LDAP_URL, s1.url])], PATTERN);
    const u = await auth.authenticate('alice', 'alice-pw');
    expect(u.serverUri).toBe(s1.url);
  });

  it('searches the next directory when the first has no such user, and not after a wrong password', async () => {
    // Two directories: alice exists in both (s2's password differs), so the first one decides.
    const auth = createLdapAuthenticator([fixtureServerConfig(s1.url), fixtureServerConfig(s2.url, { userSearchBase: 'ou=people,dc=example,dc=com' })], PATTERN);
    expect(await codeOf(auth.authenticate('alice', 'alice-pw-on-s2'))).toBe('INVALID_CREDENTIALS');
    // A directory that does not know the user hands over to the next one.
    const only2 = createLdapAuthenticator([fixtureServerConfig(s1.url, { userFilter: '(&(uid={username})(uid=nobody-here))' }), fixtureServerConfig(s2.url)], PATTERN);
    expect((await only2.authenticate('alice', 'alice-pw-on-s2')).serverUri).toBe(s2.url);
    expect(await codeOf(only2.authenticate('nobody', 'x'))).toBe('INVALID_CREDENTIALS');
    // With the directory that might hold the user down, the answer is "unavailable", never "invalid".
    const firstDown = createLdapAuthenticator([fixtureServerConfig(REFUSED_LDAP_URL), fixtureServerConfig(s2.url)], PATTERN);
    expect(await codeOf(firstDown.authenticate('nobody', 'x'))).toBe('DIRECTORY_UNAVAILABLE');
    expect((await firstDown.authenticate('alice', 'alice-pw-on-s2')).serverUri).toBe(s2.url);
  });

  it('does not try replica 2 after a wrong password or an unknown user on replica 1', async () => {
    const before = (await s2.log()).length;
    const before1 = (await s1.log()).length;
    const auth = createLdapAuthenticator([replicas([s1.url, s2.url])], PATTERN);
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

  it('fails over when the service bind is refused on replica 1 (misconfigured replica)', async () => {
    // The service account's password is one setting per directory: replica 1's slapd has another one.
    const wrong = (await readFile(DIRECTORY_LDIF, 'utf8')).replace('userPassword: reader-secret', 'userPassword: other-secret');
    const misconfigured = await startSlapd({ schemas: [AD_COMPAT_SCHEMA], ldif: [wrong] });
    try {
      const auth = createLdapAuthenticator([replicas([misconfigured.url, s2.url])], PATTERN);
      expect((await auth.authenticate('alice', 'alice-pw-on-s2')).serverUri).toBe(s2.url);
    } finally {
      await misconfigured.destroy();
    }
  });

  it('skips a replica that went down, probes it in the background and uses it again when it answers', async () => {
    const auth = createLdapAuthenticator([replicas([s1.url, s2.url], { retryInitialMs: 100, retryMaxMs: 400 })], PATTERN);
    expect((await auth.authenticate('bob', 'bob-pw')).serverUri).toBe(s1.url);
    await s1.stop();
    try {
      expect((await auth.authenticate('bob', 'bob-pw')).serverUri).toBe(s2.url);
      expect(auth.replicaStatus()[0]).toMatchObject({ uri: s1.url, up: false, failures: 1 });
      expect((await auth.authenticate('bob', 'bob-pw')).serverUri).toBe(s2.url);
      // Background probes fail while it is down and the wait between them grows, up to retryMaxMs.
      await sleep(900);
      const st = auth.replicaStatus()[0]!;
      expect(st.up).toBe(false);
      expect(st.failures).toBeGreaterThanOrEqual(3);
      expect(st.retryInMs).toBeLessThanOrEqual(400);
    } finally {
      await s1.start();
    }
    for (let i = 0; i < 50 && !auth.replicaStatus()[0]!.up; i++) await sleep(50);
    expect(auth.replicaStatus()[0]).toMatchObject({ up: true, failures: 0 });
    expect((await auth.authenticate('bob', 'bob-pw')).serverUri).toBe(s1.url);
    await auth.close();
  });

  it('gives DIRECTORY_UNAVAILABLE with a retry time when every replica is down', async () => {
    const auth = createLdapAuthenticator([replicas([REFUSED_LDAP_URL, hole.url], { connectTimeoutMs: 300, retryInitialMs: 5000 })], PATTERN);
    const err = await auth.authenticate('alice', 'alice-pw').then(() => ({}) as { code?: string; retryAfterSeconds?: number }, (e: unknown) => e as { code?: string; retryAfterSeconds?: number });
    expect(err).toMatchObject({ code: 'DIRECTORY_UNAVAILABLE' });
    expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(err.retryAfterSeconds).toBeLessThanOrEqual(5);
    // Known down: the next login fails at once, without touching either server.
    const t0 = Date.now();
    const before = hole.connections();
    expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('DIRECTORY_UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(50);
    expect(hole.connections()).toBe(before);
    expect(await auth.ping()).toBe(false);
    await auth.close();
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
    // The login's connection, and the probe started when it stayed unanswered.
    expect(hole.connections()).toBeLessThanOrEqual(before + 2);

    const both = createLdapAuthenticator([replicas([hole.url, s1.url], { connectTimeoutMs: 400, operationTimeoutMs: opTimeout })], PATTERN);
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
      const auth = createLdapAuthenticator([s], PATTERN, levelLogger((_l, _m, f) => logs.push(JSON.stringify(f))));
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
