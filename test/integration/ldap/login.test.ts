// LDAP login against a real slapd with test/fixtures/directory.ldif.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'ldapts';
import { createLdapAuthenticator } from '../../../service/src/ldap/login.ts';
import { isMemberOfGroup } from '../../../service/src/ldap/membership.ts';
import { escapeFilterValue } from '../../../service/src/ldap/filter.ts';
import { startSlapd, type Slapd } from '../../harness/slapd.ts';
import { codeOf, FIXTURE_BASE_DN, FIXTURE_LOGIN_GROUP, fixtureServerConfig, REFUSED_LDAP_URL, startFixtureSlapd } from '../../harness/ldap-fixture.ts';
import { levelLogger } from '../../../service/src/ops/logger.ts';

const BASE = FIXTURE_BASE_DN;
const LOGIN_GROUP = FIXTURE_LOGIN_GROUP;
const DEFAULT_PATTERN = /^[A-Za-z0-9._@-]{1,256}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const serverFor = fixtureServerConfig;

describe('LDAP login (OpenLDAP + AD-flavoured entries)', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startFixtureSlapd();
  });
  afterAll(async () => {
    await slapd?.destroy();
  });

  it('logs in an OpenLDAP user with entryUUID, display name and mail', async () => {
    const auth = createLdapAuthenticator([serverFor(slapd.url)], DEFAULT_PATTERN);
    const u = await auth.authenticate('alice', 'alice-pw');
    expect(u).toMatchObject({
      dn: `uid=alice,ou=people,${BASE}`,
      username: 'alice',
      displayName: 'Alice Anderson',
      email: 'alice@example.com',
      serverUri: slapd.url,
      directory: slapd.url,
    });
    expect(u.objectId).toMatch(UUID);
    // Same user, same id on the next login (stable `oids` claim).
    expect((await auth.authenticate('alice', 'alice-pw')).objectId).toBe(u.objectId);
  });

  it('refuses wrong passwords and unknown users with the same code', async () => {
    const auth = createLdapAuthenticator([serverFor(slapd.url)], DEFAULT_PATTERN);
    expect(await codeOf(auth.authenticate('alice', 'wrong'))).toBe('INVALID_CREDENTIALS');
    expect(await codeOf(auth.authenticate('nobody', 'alice-pw'))).toBe('INVALID_CREDENTIALS');
    // Password of another user.
    expect(await codeOf(auth.authenticate('alice', 'bob-pw'))).toBe('INVALID_CREDENTIALS');
  });

  it('refuses an empty password before any LDAP traffic (RFC 4513 §5.1.2 unauthenticated bind)', async () => {
    // slapd logs the close of the previous test's connections after they are gone: wait until
    // its log stops growing, or those late lines would count as traffic of this test.
    let before = (await slapd.log()).length;
    for (let stable = 0; stable < 3;) {
      await new Promise((r) => setTimeout(r, 50));
      const now = (await slapd.log()).length;
      stable = now === before ? stable + 1 : 0;
      before = now;
    }
    const auth = createLdapAuthenticator([serverFor(slapd.url)], DEFAULT_PATTERN);
    expect(await codeOf(auth.authenticate('alice', ''))).toBe('EMPTY_PASSWORD');
    expect(await codeOf(auth.authenticate('', ''))).toBe('EMPTY_PASSWORD');
    expect(await codeOf(auth.authenticate('alice\0', 'x'))).toBe('INVALID_USERNAME');
    expect((await slapd.log()).length).toBe(before);
  });

  it('never logs in through LDAP filter injection, with the default pattern or a permissive one', async () => {
    const injections = ['*)(uid=*', 'admin)(|(uid=*', '*', 'al*', '*)(objectClass=*', 'alice)(uid=bob', 'alice\0', '\0', 'alice\\', '(uid=alice)', 'a\uD800'];
    const strict = createLdapAuthenticator([serverFor(slapd.url)], DEFAULT_PATTERN);
    const permissive = createLdapAuthenticator([serverFor(slapd.url)], /^[\s\S]{1,256}$/);
    for (const name of injections) {
      for (const pw of ['alice-pw', 'dave-pw', '*)(uid=*)\\00 p@ss:w/rd%', 'x']) {
        expect(['INVALID_USERNAME', 'INVALID_CREDENTIALS']).toContain(await codeOf(strict.authenticate(name, pw)));
        expect(['INVALID_USERNAME', 'INVALID_CREDENTIALS']).toContain(await codeOf(permissive.authenticate(name, pw)));
      }
    }
    // The permissive pattern lets the injections reach the server: they were escaped, not merely blocked.
    const log = await slapd.log();
    expect(log).toContain('uid=\\2A\\29\\28uid=\\2A');
    // And a literal-metacharacter password still works for its owner.
    expect((await permissive.authenticate('dave', '*)(uid=*)\\00 p@ss:w/rd%')).username).toBe('dave');
  });

  it('logs in users whose DNs need escaping and non-ASCII users', async () => {
    const auth = createLdapAuthenticator([serverFor(slapd.url, { loginGroupDn: LOGIN_GROUP })], DEFAULT_PATTERN);
    const smith = await auth.authenticate('jsmith', 'jsmith-pw');
    expect(smith.displayName).toBe('Smith, John');
    expect(smith.dn.toLowerCase()).toMatch(/^cn=smith(\\,|\\2c) john,ou=people,dc=example,dc=com$/);
    const contractor = await auth.authenticate('tcontractor', 'tcontractor-pw');
    expect(contractor.displayName).toBe('Test (Contractor)');
    const juergen = await auth.authenticate('jmueller', 'Jürgen-pw');
    expect(juergen.displayName).toBe('Jürgen Müller');
    expect(juergen.dn).toContain('Jürgen Müller');
    const yamada = await auth.authenticate('tyamada', 'tyamada-pw');
    expect(yamada.displayName).toBe('山田太郎');
  });

  it('filters non-ASCII values correctly (escaping leaves UTF-8 intact)', async () => {
    const c = new Client({ url: slapd.url });
    try {
      await c.bind(`cn=ljwt-reader,ou=service-accounts,${BASE}`, 'reader-secret');
      for (const cn of ['Jürgen Müller', '山田太郎', 'Smith, John', 'Test (Contractor)']) {
        const { searchEntries } = await c.search(BASE, { filter: `(cn=${escapeFilterValue(cn)})` });
        expect(searchEntries.map((e) => e.cn)).toEqual([cn]);
      }
    } finally {
      await c.unbind();
    }
  });

  it('logs in AD-flavoured users by sAMAccountName and userPrincipalName with a canonical objectGUID', async () => {
    const auth = createLdapAuthenticator([serverFor(slapd.url, { objectIdAttribute: 'objectGUID' })], DEFAULT_PATTERN);
    const a = await auth.authenticate('eevans', 'eevans-pw');
    expect(a.objectId).toBe('04030201-0605-0807-090a-0b0c0d0e0f10');
    expect(a.username).toBe('eevans');
    const b = await auth.authenticate('EEvans@AD.example.com', 'eevans-pw');
    expect(b.objectId).toBe('04030201-0605-0807-090a-0b0c0d0e0f10');
    // One account, one username: the userPrincipalName login yields the sAMAccountName.
    expect(b.username).toBe('eevans');
    const f = await auth.authenticate('ffischer', 'ffischer-pw');
    expect(f.objectId).toBe('d4c2f1b3-e6a5-08f7-1920-a1b2c3d4e5f6');
    // An OpenLDAP user has no objectGUID: refused rather than issued without a stable id.
    expect(await codeOf(auth.authenticate('alice', 'alice-pw'))).toBe('INVALID_CREDENTIALS');
  });

  it('takes the username from the entry, not from what was typed, in the configured attribute order', async () => {
    const dflt = createLdapAuthenticator([serverFor(slapd.url)], DEFAULT_PATTERN);
    // Every login name of the account, in any case, gives the same username (default order uid, sAMAccountName, userPrincipalName).
    for (const typed of ['eevans', 'EEVANS', 'eevans@ad.example.com', 'EEvans@AD.Example.COM']) {
      expect((await dflt.authenticate(typed, 'eevans-pw')).username, typed).toBe('eevans');
    }
    expect((await dflt.authenticate('ALICE', 'alice-pw')).username).toBe('alice');
    expect((await dflt.findUser('eevans@ad.example.com'))?.username).toBe('eevans');

    // Configured: userPrincipalName first (forests where sAMAccountName repeats across domains).
    const upn = createLdapAuthenticator([serverFor(slapd.url, { usernameAttributes: ['userPrincipalName', 'sAMAccountName', 'uid'] })], DEFAULT_PATTERN);
    expect((await upn.authenticate('eevans', 'eevans-pw')).username).toBe('eevans@ad.example.com');
    expect((await upn.authenticate('EEvans@AD.example.com', 'eevans-pw')).username).toBe('eevans@ad.example.com');
    // uid users have no userPrincipalName: the next attribute in the list.
    expect((await upn.authenticate('alice', 'alice-pw')).username).toBe('alice');

    // An entry with none of the attributes is refused, never issued under the typed name.
    const logs: string[] = [];
    const uidOnly = createLdapAuthenticator([serverFor(slapd.url, { usernameAttributes: ['uid'] })], DEFAULT_PATTERN, levelLogger((_l, msg) => logs.push(msg)));
    expect((await uidOnly.authenticate('alice', 'alice-pw')).username).toBe('alice');
    expect(await codeOf(uidOnly.authenticate('eevans', 'eevans-pw'))).toBe('INVALID_CREDENTIALS');
    expect(logs).toContain('ldap login: user entry has none of the username attributes');
    expect(await uidOnly.findUser('eevans')).toBeNull();

    // Without uid among the username attributes, the login group's posixGroup memberUid check still gets it.
    const byCn = createLdapAuthenticator([serverFor(slapd.url, { usernameAttributes: ['cn'], loginGroupDn: `cn=engineering,ou=groups,${BASE}` })], DEFAULT_PATTERN);
    expect((await byCn.authenticate('carol', 'carol-pw')).username).toBe('Carol Clark');
  });

  it('refuses an ambiguous username', async () => {
    const logs: unknown[] = [];
    const auth = createLdapAuthenticator([serverFor(slapd.url)], DEFAULT_PATTERN, levelLogger((level, msg, fields) =>
      logs.push({ level, msg, fields }),
    ));
    expect(await codeOf(auth.authenticate('dupe', 'dupe-pw'))).toBe('INVALID_CREDENTIALS');
    expect(JSON.stringify(logs)).toContain('more than one entry');
  });

  it('enforces the login group with nested groupOfNames, groupOfUniqueNames and AD groups', async () => {
    const auth = createLdapAuthenticator([serverFor(slapd.url, { loginGroupDn: LOGIN_GROUP })], DEFAULT_PATTERN);
    await expect(auth.authenticate('alice', 'alice-pw')).resolves.toMatchObject({ username: 'alice' }); // direct
    await expect(auth.authenticate('tcontractor', 'tcontractor-pw')).resolves.toBeTruthy(); // via uniqueMember
    await expect(auth.authenticate('jmueller', 'Jürgen-pw')).resolves.toBeTruthy(); // 2 levels
    await expect(auth.authenticate('eevans', 'eevans-pw')).resolves.toBeTruthy(); // AD group
    await expect(auth.authenticate('tyamada', 'tyamada-pw')).resolves.toBeTruthy(); // AD group, inetOrgPerson member
    expect(await codeOf(auth.authenticate('bob', 'bob-pw'))).toBe('NOT_IN_LOGIN_GROUP');
    expect(await codeOf(auth.authenticate('ffischer', 'ffischer-pw'))).toBe('NOT_IN_LOGIN_GROUP');
    // The group check never runs for a wrong password: no membership oracle.
    expect(await codeOf(auth.authenticate('bob', 'wrong'))).toBe('INVALID_CREDENTIALS');
  });

  it('isMemberOfGroup: posixGroup memberUid, cycles, dangling members, other group', async () => {
    const c = new Client({ url: slapd.url });
    try {
      await c.bind(`cn=ljwt-reader,ou=service-accounts,${BASE}`, 'reader-secret');
      const g = (cn: string): string => `cn=${cn},ou=groups,${BASE}`;
      const carol = `uid=carol,ou=people,${BASE}`;
      const dave = `uid=dave,ou=people,${BASE}`;
      const bob = `uid=bob,ou=people,${BASE}`;
      expect(await isMemberOfGroup(c, g('developers'), carol, { uid: 'carol' })).toBe(true);
      expect(await isMemberOfGroup(c, g('developers'), carol)).toBe(false); // memberUid needs the uid
      expect(await isMemberOfGroup(c, g('engineering'), carol, { uid: 'carol' })).toBe(true); // posix nested in groupOfNames
      expect(await isMemberOfGroup(c, g('cycle-a'), dave)).toBe(true);
      expect(await isMemberOfGroup(c, g('cycle-a'), bob)).toBe(false); // terminates despite the cycle
      expect(await isMemberOfGroup(c, g('dangling'), bob)).toBe(false);
      // DN spelling differences do not matter.
      expect(await isMemberOfGroup(c, 'CN=Allowed-To-Login,OU=Groups,DC=Example,DC=Com', 'cn=Smith\\2C John,ou=people,dc=example,dc=com')).toBe(true);
    } finally {
      await c.unbind();
    }
  });

  it('never logs the password, also on failures', async () => {
    const logs: string[] = [];
    const secret = 'S3cret-Unique-Passw0rd';
    const auth = createLdapAuthenticator(
      [serverFor(REFUSED_LDAP_URL), serverFor(slapd.url, { loginGroupDn: LOGIN_GROUP })],
      DEFAULT_PATTERN,
      levelLogger((level, msg, fields) => logs.push(JSON.stringify({ level, msg, fields }))),
    );
    const errors: string[] = [];
    for (const [u, p] of [['alice', secret], ['bob', secret], ['nobody', secret], ['dupe', secret]] as const) {
      await auth.authenticate(u, p).catch((e: Error) => errors.push(`${e.message} ${String(e.cause ?? '')}`));
    }
    expect(logs.length).toBeGreaterThan(4);
    expect(errors).toHaveLength(4);
    expect(logs.join('\n')).not.toContain(secret);
    expect(errors.join('\n')).not.toContain(secret);
    // The service account password does not leak either.
    expect(logs.join('\n')).not.toContain('reader-secret');
  });

  it('reuses its pooled connections on success and on every failure path, and close() closes them all', async () => {
    const before = (await slapd.log()).length;
    const auth = createLdapAuthenticator([serverFor(slapd.url, { loginGroupDn: LOGIN_GROUP })], DEFAULT_PATTERN);
    await auth.authenticate('alice', 'alice-pw');
    for (const [u, p] of [['alice', 'wrong'], ['bob', 'bob-pw'], ['nobody', 'x'], ['dupe', 'dupe-pw']] as const) {
      await auth.authenticate(u, p).catch(() => undefined);
    }
    await auth.ping();
    await auth.close();
    await new Promise((r) => setTimeout(r, 200));
    const log = (await slapd.log()).slice(before);
    const accepted = log.match(/ ACCEPT from /g)?.length ?? 0;
    const closed = log.match(/ fd=\d+ closed/g)?.length ?? 0;
    // Five sequential logins: the two service-account search connections (used round robin),
    // one bind connection (also for the decoy binds of "nobody" and "dupe"), plus ping's own.
    expect(accepted).toBe(2 + 1 + 1);
    expect(closed).toBe(accepted);
  });

  it('ping() reports a reachable server with a working service bind', async () => {
    expect(await createLdapAuthenticator([serverFor(slapd.url)], DEFAULT_PATTERN).ping()).toBe(true);
    expect(await createLdapAuthenticator([serverFor(slapd.url, { bindPassword: 'nope' })], DEFAULT_PATTERN).ping()).toBe(false);
    expect(await createLdapAuthenticator([serverFor(REFUSED_LDAP_URL), serverFor(slapd.url)], DEFAULT_PATTERN).ping()).toBe(true);
  });
});

describe('LDAP login on a plain OpenLDAP schema (no AD attributes defined)', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd({
      ldif: [
        [
          'dn: ou=people,dc=example,dc=com', 'objectClass: organizationalUnit', 'ou: people', '',
          'dn: ou=service-accounts,dc=example,dc=com', 'objectClass: organizationalUnit', 'ou: service-accounts', '',
          'dn: cn=ljwt-reader,ou=service-accounts,dc=example,dc=com', 'objectClass: organizationalRole',
          'objectClass: simpleSecurityObject', 'cn: ljwt-reader', 'userPassword: reader-secret', '',
          'dn: uid=alice,ou=people,dc=example,dc=com', 'objectClass: inetOrgPerson', 'uid: alice', 'cn: Alice', 'sn: A',
          'userPassword: alice-pw', '',
          'dn: cn=login,dc=example,dc=com', 'objectClass: groupOfNames', 'cn: login',
          'member: uid=alice,ou=people,dc=example,dc=com', '',
        ].join('\n'),
      ],
    });
  });
  afterAll(async () => {
    await slapd?.destroy();
  });

  it('the default filter (which names sAMAccountName/userPrincipalName) still finds uid users', async () => {
    const auth = createLdapAuthenticator([serverFor(slapd.url, { loginGroupDn: 'cn=login,dc=example,dc=com' })], DEFAULT_PATTERN);
    const u = await auth.authenticate('alice', 'alice-pw');
    expect(u.objectId).toMatch(UUID);
    expect(await codeOf(auth.authenticate('alice', 'nope'))).toBe('INVALID_CREDENTIALS');
  });
});
