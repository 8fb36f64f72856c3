// The slapd harness itself: fixture loads, ACLs hold, entryUUID is there,
// stop/start keeps data and ports, TLS listeners work.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminLimitExceededError, Client, InvalidCredentialsError, NoSuchObjectError, SizeLimitExceededError } from 'ldapts';
import { startSlapd, type Slapd } from '../../harness/slapd.ts';
import { makeTestPki, type TestPki } from '../../harness/tls.ts';

const FIXTURE = new URL('../../fixtures/directory.ldif', import.meta.url);
const AD_SCHEMA = new URL('../../fixtures/ad-compat.ldif', import.meta.url).pathname;
const READER = 'cn=ljwt-reader,ou=service-accounts,dc=example,dc=com';

describe('slapd harness', () => {
  let slapd: Slapd;
  let pki: TestPki;

  beforeAll(async () => {
    pki = await makeTestPki();
    slapd = await startSlapd({
      ldif: [await readFile(FIXTURE, 'utf8')],
      schemas: [AD_SCHEMA],
      sizeLimit: 3,
      tls: { certFile: pki.certFile, keyFile: pki.keyFile },
    });
  });
  afterAll(async () => {
    await slapd?.destroy();
    await pki?.destroy();
  });

  it('serves the fixture with entryUUID and binary objectGUID', async () => {
    const c = new Client({ url: slapd.url });
    try {
      await c.bind(READER, 'reader-secret');
      const { searchEntries } = await c.search('ou=ad,dc=example,dc=com', {
        filter: '(sAMAccountName=EEVANS)',
        attributes: ['objectGUID', 'entryUUID', 'userPrincipalName'],
        explicitBufferAttributes: ['objectGUID'],
      });
      expect(searchEntries).toHaveLength(1);
      const e = searchEntries[0]!;
      expect(e.userPrincipalName).toBe('eevans@ad.example.com');
      expect(Buffer.isBuffer(e.objectGUID)).toBe(true);
      expect((e.objectGUID as Buffer).toString('hex')).toBe('0102030405060708090a0b0c0d0e0f10');
      expect(String(e.entryUUID)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    } finally {
      await c.unbind();
    }
  });

  it('enforces sizeLimit for the service account and hides data from anonymous', async () => {
    const c = new Client({ url: slapd.url });
    try {
      // Anonymous: the base itself is hidden (slapd answers noSuchObject rather than disclose it).
      await expect(c.search('ou=people,dc=example,dc=com', { filter: '(objectClass=person)' })).rejects.toBeInstanceOf(
        NoSuchObjectError,
      );
      await c.bind(READER, 'reader-secret');
      await expect(c.search('ou=people,dc=example,dc=com', { filter: '(objectClass=person)' })).rejects.toBeInstanceOf(
        SizeLimitExceededError,
      );
      const paged = await c.search('ou=people,dc=example,dc=com', {
        filter: '(objectClass=person)',
        paged: { pageSize: 2 },
      });
      expect(paged.searchEntries.length).toBeGreaterThan(3);
      // slapd refuses a page size above size.pr (AD would cap it): callers must page at or below the limit.
      await expect(
        c.search('ou=people,dc=example,dc=com', { filter: '(objectClass=person)', paged: { pageSize: 100 } }),
      ).rejects.toBeInstanceOf(AdminLimitExceededError);
    } finally {
      await c.unbind();
    }
  });

  it('records successful binds and survives stop/start on the same port', async () => {
    const c = new Client({ url: slapd.url });
    await c.bind('uid=alice,ou=people,dc=example,dc=com', 'alice-pw');
    await expect(c.bind('uid=alice,ou=people,dc=example,dc=com', 'nope')).rejects.toBeInstanceOf(
      InvalidCredentialsError,
    );
    await c.unbind();
    const bound = await slapd.boundDns();
    expect(bound).toContain('uid=alice,ou=people,dc=example,dc=com');

    await slapd.stop();
    const down = new Client({ url: slapd.url, connectTimeout: 1000 });
    await expect(down.bind(READER, 'reader-secret')).rejects.toThrow();
    await down.unbind().catch(() => undefined);
    await slapd.start();
    const up = new Client({ url: slapd.url });
    await up.bind(slapd.adminDn, slapd.adminPassword);
    const { searchEntries } = await up.search('uid=bob,ou=people,dc=example,dc=com', { scope: 'base' });
    expect(searchEntries).toHaveLength(1);
    await up.unbind();
  });

  it('pause() hangs slapd with its port open; resume() makes it answer again', async () => {
    await slapd.pause();
    try {
      const hung = new Client({ url: slapd.url, timeout: 1000 });
      // The kernel still completes the TCP handshake; the bind is never answered.
      await expect(hung.bind(READER, 'reader-secret')).rejects.toThrow(/timed out/);
      await hung.unbind().catch(() => undefined);
    } finally {
      await slapd.resume();
    }
    const c = new Client({ url: slapd.url, timeout: 5000 });
    await c.bind(READER, 'reader-secret');
    await c.unbind();
  });

  it('runs on the backend the test run chose', () => {
    expect(slapd.backend).toBe(process.env.TEST_LDAP_BACKEND || 'host');
  });

  it('serves ldaps:// and StartTLS with the generated CA', async () => {
    const ca = await readFile(pki.caFile);
    const s = new Client({ url: slapd.ldapsUrl!, tlsOptions: { ca: [ca] } });
    await s.bind(READER, 'reader-secret');
    await s.unbind();
    const t = new Client({ url: slapd.url });
    await t.startTLS({ ca: [ca], servername: 'localhost' });
    await t.bind(READER, 'reader-secret');
    await t.unbind();
  });

  it('fails loudly on a broken fixture', async () => {
    await expect(startSlapd({ ldif: ['dn: uid=x,ou=missing-parent,dc=example,dc=com\nobjectClass: account\nuid: x\n'] })).rejects.toThrow(
      /slapadd \(data\) failed/,
    );
  });
});

describe('msuser.schema (why test/fixtures/ad-compat.ldif exists)', () => {
  it('loads, but its user class does not allow sAMAccountName', async () => {
    const entry = [
      'dn: cn=u,dc=example,dc=com', 'objectClass: user', 'cn: u', 'sn: u', 'sAMAccountName: u', 'instanceType: 4',
      'nTSecurityDescriptor:: AQ==', 'objectCategory: cn=Person,dc=example,dc=com',
    ].join('\n');
    const ok = await startSlapd({ schemas: ['msuser'] });
    await ok.destroy();
    await expect(startSlapd({ schemas: ['msuser'], ldif: [entry] })).rejects.toThrow(/sAMAccountName' not allowed/);
  });
});
