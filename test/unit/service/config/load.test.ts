// loadConfig: the original XML format as written, every extension element, defaults,
// environment overrides, *_FILE secrets and the JDBC-like LDAP URL.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, loadConfigFromString, DEFAULTS } from '../../../../service/src/config/load.ts';
import { ConfigError } from '../../../../service/src/config/errors.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../../../fixtures/config/${name}`, import.meta.url));
const ISSUER = { LJWT_ISSUER: 'https://login.example.com' };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ljwt-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tmpFile = (name: string, content: string): string => {
  const p = path.join(tmp, name);
  writeFileSync(p, content);
  return p;
};

describe('loadConfig: the original configuration format', () => {
  it('accepts the original XML exactly as the original XSD describes it, with documented defaults', () => {
    const cfg = loadConfig({ file: fixture('original-format.xml'), env: ISSUER });
    expect(cfg.ldapServers).toEqual([
      {
        uri: 'ldap://example.com:389',
        uris: ['ldap://example.com:389'],
        bindDn: 'cn=admin,dc=example,dc=com',
        bindPassword: 'password',
        groupDns: ['cn=group1,dc=example,dc=com', 'cn=group2,dc=example,dc=com'],
        userSearchBase: 'dc=example,dc=com',
        userFilter:
          '(&(|(objectClass=person)(objectClass=user))(|(uid={username})(sAMAccountName={username})(userPrincipalName={username})))',
        objectIdAttribute: 'entryUUID',
        startTls: false,
        connectTimeoutMs: 2000,
        operationTimeoutMs: 10000,
        retryInitialMs: 1000,
        retryMaxMs: 30000,
      },
    ]);
    expect(cfg.issuer).toBe('https://login.example.com');
    expect(cfg.audience).toEqual(['https://login.example.com']);
    expect(cfg.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(cfg.accessTokenTtlSeconds).toBe(300);
    expect(cfg.refreshTokenTtlSeconds).toBe(28800);
    expect(cfg.authorizationCodeTtlSeconds).toBe(60);
    expect(cfg.signingAlgorithm).toBe('ES256');
    expect(cfg.keyDirectory).toBe('/var/lib/nginx-ldap-jwt/keys');
    expect(cfg.usernamePattern.source).toBe('^[A-Za-z0-9._@-]{1,256}$');
    expect(cfg.usernamePattern.test('alice@example.com')).toBe(true);
    expect(cfg.usernamePattern.test('*)(uid=*')).toBe(false);
    expect(cfg.clients).toEqual([]);
    expect(cfg.throttle).toEqual({ maxFailuresPerUsername: 5, maxFailuresPerIp: 20, windowSeconds: 300 });
    expect(cfg.groupSync).toEqual({ intervalSeconds: 300, maxStaleSeconds: 900 });
    expect(cfg.trustedProxies).toEqual([]);
    expect(cfg.logLevel).toBe('info');
    expect(cfg.redisUrl).toBeUndefined();
    expect(cfg.jwksFile).toBeUndefined();
    expect(cfg.adminGroupDn).toBeUndefined();
    expect(cfg.logoutRedirectUrl).toBeUndefined();
    // Tuning left to the service's own defaults.
    for (const k of ['keyRotationSeconds', 'refreshReuseGraceSeconds', 'leewaySeconds', 'accessTokenCookie', 'refreshTokenCookie'] as const) {
      expect(cfg[k], k).toBeUndefined();
    }
    expect(DEFAULTS.connectTimeoutMs).toBe(2000);
  });

  it('reads the file named by LJWT_CONFIG', () => {
    const cfg = loadConfig({ env: { ...ISSUER, LJWT_CONFIG: fixture('original-format.xml') } });
    expect(cfg.ldapServers[0]!.uri).toBe('ldap://example.com:389');
  });
});

describe('loadConfig: every extension', () => {
  const cfg = loadConfig({ file: fixture('full.xml'), env: {} });

  it('server 1: AD over ldaps with every optional element', () => {
    expect(cfg.ldapServers[0]).toEqual({
      uri: 'ldaps://dc1.ad.example.com:636',
      // Two <uri>: replicas of one directory, in order.
      uris: ['ldaps://dc1.ad.example.com:636', 'ldaps://dc3.ad.example.com:636'],
      bindDn: 'CN=svc-ljwt,OU=Service Accounts,DC=ad,DC=example,DC=com',
      // CDATA keeps markup characters and surrounding spaces (xs:string preserves whitespace).
      bindPassword: ' p<a>ss&word ',
      groupDns: ['CN=Staff,OU=Groups,DC=ad,DC=example,DC=com', "CN=Smith\\, John's Team,OU=Groups,DC=ad,DC=example,DC=com"],
      userSearchBase: 'OU=People,DC=ad,DC=example,DC=com',
      userFilter: '(&(objectClass=user)(sAMAccountName={username}))',
      objectIdAttribute: 'objectGUID',
      usernameAttributes: ['userPrincipalName', 'sAMAccountName'],
      startTls: false,
      caFile: '/etc/ssl/certs/ca-certificates.crt',
      connectTimeoutMs: 2500,
      operationTimeoutMs: 7000,
      retryInitialMs: 1000,
      retryMaxMs: 30000,
      loginGroupDn: 'CN=allowed_to_login,OU=Groups,DC=ad,DC=example,DC=com',
    });
  });

  it('server 2: JDBC-like URL with percent-encoded DN and password, StartTLS, derived search base', () => {
    expect(cfg.ldapServers[1]).toMatchObject({
      uri: 'ldap://dc2.ad.example.com:389',
      bindDn: 'cn=svc-ljwt,OU=Service Accounts,DC=ad,DC=example,DC=com',
      bindPassword: 'p@ss:w/rd%',
      startTls: true,
      userSearchBase: 'DC=ad,DC=example,DC=com',
    });
    expect(cfg.ldapServers[1]!.uri).not.toContain('@');
  });

  it('service, throttle, groupSync and clients', () => {
    expect(cfg.listen).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(cfg.issuer).toBe('https://login.example.com');
    expect(cfg.audience).toEqual(['https://app.example.com', 'https://api.example.com']);
    expect([cfg.accessTokenTtlSeconds, cfg.refreshTokenTtlSeconds, cfg.authorizationCodeTtlSeconds]).toEqual([600, 86400, 30]);
    expect(cfg.signingAlgorithm).toBe('EdDSA');
    expect(cfg.keyDirectory).toBe('/etc/ljwt/keys');
    expect(cfg.jwksFile).toBe('/etc/nginx/ljwt-jwks.json');
    expect(cfg.usernamePattern.test('alice')).toBe(true);
    expect(cfg.usernamePattern.test('Alice')).toBe(false);
    expect(cfg.redisUrl).toBe('redis://127.0.0.1:6379/2');
    expect(cfg.trustedProxies).toEqual(['127.0.0.1', '10.0.0.0/8', '::1']);
    expect(cfg.logoutRedirectUrl).toBe('https://www.example.com/bye');
    expect(cfg.adminGroupDn).toBe('CN=ljwt-admins,OU=Groups,DC=ad,DC=example,DC=com');
    expect(cfg.logLevel).toBe('debug');
    expect(cfg.keyRotationSeconds).toBe(2592000);
    expect(cfg.refreshReuseGraceSeconds).toBe(0);
    expect(cfg.leewaySeconds).toBe(5);
    expect(cfg.accessTokenCookie).toBe('ljwt_at');
    expect(cfg.refreshTokenCookie).toBe('__Host-ljwt_rt');
    expect(cfg.throttle).toEqual({ maxFailuresPerUsername: 3, maxFailuresPerIp: 50, windowSeconds: 900 });
    expect(cfg.groupSync).toEqual({ intervalSeconds: 120, maxStaleSeconds: 600, snapshotFile: '/var/lib/ljwt/groups.json', pageSize: 1000 });
    expect(cfg.clients).toEqual([
      {
        clientId: 'wiki',
        clientSecret: 'wiki-secret-0123456789',
        redirectUris: ['https://wiki.example.com/oauth/callback', 'https://wiki.example.com/oauth/callback2'],
        postLogoutRedirectUris: ['https://wiki.example.com/'],
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['openid', 'groups'],
        idTokenSignedResponseAlg: 'ES256',
      },
      {
        clientId: 'cli.tool',
        redirectUris: ['http://127.0.0.1:8765/cb'],
        postLogoutRedirectUris: [],
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
        idTokenSignedResponseAlg: 'RS256',
      },
    ]);
  });
});

describe('loadConfig: environment', () => {
  it('overrides file values (env wins) with the same type checks', () => {
    const cfg = loadConfig({
      file: fixture('original-format.xml'),
      env: {
        LJWT_ISSUER: 'http://127.0.0.1:9999',
        LJWT_LISTEN: ':7000',
        LJWT_AUDIENCE: 'a, b,a',
        LJWT_LDAP_URI: 'ldaps://replica.example.com',
        LJWT_LDAP_LOGIN: 'cn=reader,ou=svc,dc=example,dc=com',
        LJWT_LDAP_PASSWORD: 'from-env',
        LJWT_LDAP_GROUP_DNS: 'cn=a\\;b,dc=example,dc=com; cn=c,dc=example,dc=com',
        LJWT_LDAP_LOGIN_GROUP: 'cn=allowed,dc=example,dc=com',
        LJWT_LDAP_TIMEOUT_MS: '1234',
        LJWT_LDAP_USERNAME_ATTRIBUTES: 'sAMAccountName, uid',
        LJWT_SIGNING_ALGORITHM: 'RS256',
        REDIS_URL: 'rediss://:pw@redis.example.com:6380',
        LJWT_THROTTLE_WINDOW_SECONDS: '60',
        LJWT_GROUP_SYNC_INTERVAL_SECONDS: '30',
        LJWT_GROUP_SYNC_PAGE_SIZE: '250',
        LJWT_LOG_LEVEL: 'warn',
        LJWT_TRUSTED_PROXIES: '192.168.0.0/16',
        LJWT_REFRESH_REUSE_GRACE_SECONDS: '0',
        LJWT_ACCESS_TOKEN_COOKIE: 'at',
        UNRELATED_VARIABLE: 'ignored',
        PATH: '/usr/bin',
      },
    });
    expect(cfg.issuer).toBe('http://127.0.0.1:9999');
    expect(cfg.listen).toEqual({ host: '127.0.0.1', port: 7000 });
    expect(cfg.audience).toEqual(['a', 'b']);
    expect(cfg.ldapServers[0]).toMatchObject({
      uri: 'ldaps://replica.example.com',
      bindDn: 'cn=reader,ou=svc,dc=example,dc=com',
      bindPassword: 'from-env',
      groupDns: ['cn=a\\;b,dc=example,dc=com', 'cn=c,dc=example,dc=com'],
      loginGroupDn: 'cn=allowed,dc=example,dc=com',
      operationTimeoutMs: 1234,
      connectTimeoutMs: 2000,
      usernameAttributes: ['sAMAccountName', 'uid'],
    });
    expect(cfg.signingAlgorithm).toBe('RS256');
    expect(cfg.redisUrl).toBe('rediss://:pw@redis.example.com:6380');
    expect(cfg.throttle.windowSeconds).toBe(60);
    expect(cfg.groupSync).toEqual({ intervalSeconds: 30, maxStaleSeconds: 90, pageSize: 250 });
    expect(cfg.logLevel).toBe('warn');
    expect(cfg.trustedProxies).toEqual(['192.168.0.0/16']);
    expect(cfg.refreshReuseGraceSeconds).toBe(0);
    expect(cfg.accessTokenCookie).toBe('at');
  });

  it('LJWT_ISSUER wins over <issuer>, LJWT_LDAP_URI with credentials wins over <login>/<password>', () => {
    const cfg = loadConfig({
      file: fixture('full.xml'),
      env: { LJWT_ISSUER: 'https://other.example.com', LJWT_LDAP_URI: 'ldap://cn%3Dx%2Cdc%3Dy:z@h.example.com' },
    });
    expect(cfg.issuer).toBe('https://other.example.com');
    expect(cfg.ldapServers[0]).toMatchObject({ uri: 'ldap://h.example.com', bindDn: 'cn=x,dc=y', bindPassword: 'z' });
  });

  it('LJWT_LDAP_URI lists the replicas of one directory, comma separated, replacing the file\'s <uri> elements', () => {
    const cfg = loadConfig({
      file: fixture('full.xml'),
      env: { LJWT_ISSUER: 'https://x.example.com', LJWT_LDAP_URI: 'ldaps://r1.example.com, ldaps://r2.example.com:1636', LJWT_LDAP_RETRY_INITIAL_MS: '50', LJWT_LDAP_RETRY_MAX_MS: '400' },
    });
    expect(cfg.ldapServers[0]).toMatchObject({
      uri: 'ldaps://r1.example.com', uris: ['ldaps://r1.example.com', 'ldaps://r2.example.com:1636'], retryInitialMs: 50, retryMaxMs: 400,
    });
    expect(() => loadConfig({ file: fixture('full.xml'), env: { LJWT_ISSUER: 'https://x.example.com', LJWT_LDAP_RETRY_INITIAL_MS: '500', LJWT_LDAP_RETRY_MAX_MS: '400' } }))
      .toThrow(/LJWT_LDAP_RETRY_MAX_MS: must be at least retryInitialMs/);
  });

  it('configures everything from the environment alone, including a second server', () => {
    const cfg = loadConfig({
      env: {
        ...ISSUER,
        LJWT_LDAP_URI: 'ldap://cn%3Dreader%2Cdc%3Dexample%2Cdc%3Dcom:p%40ss@ldap1.example.com:389',
        LJWT_LDAP_GROUP_DNS: 'cn=staff,ou=groups,dc=example,dc=com',
        LJWT_LDAP_2_URI: 'ldap://ldap2.example.com',
        LJWT_LDAP_2_LOGIN: 'cn=reader,dc=example,dc=com',
        LJWT_LDAP_2_PASSWORD: 'p@ss',
        LJWT_LDAP_2_START_TLS: 'true',
      },
    });
    expect(cfg.ldapServers).toHaveLength(2);
    expect(cfg.ldapServers[0]).toMatchObject({
      uri: 'ldap://ldap1.example.com:389',
      bindDn: 'cn=reader,dc=example,dc=com',
      bindPassword: 'p@ss',
      groupDns: ['cn=staff,ou=groups,dc=example,dc=com'],
      userSearchBase: 'dc=example,dc=com',
    });
    expect(cfg.ldapServers[1]).toMatchObject({ uri: 'ldap://ldap2.example.com', startTls: true, groupDns: [] });
  });

  it('reads every variable from NAME_FILE, trimming trailing newlines only', () => {
    const pw = tmpFile('ldap-pw', '  spaced secret \n\n');
    const uri = tmpFile('uri', 'ldap://cn%3Dr%2Cdc%3Dexample%2Cdc%3Dcom:x%3Ay@h.example.com\n');
    const issuer = tmpFile('issuer', 'https://sso.example.com\r\n');
    const redis = tmpFile('redis', 'redis://:secret@127.0.0.1:6379\n');
    const jwks = tmpFile('jwks-path', '/srv/jwks.json\n');
    const cfg = loadConfig({
      env: {
        LJWT_ISSUER_FILE: issuer,
        LJWT_LDAP_URI_FILE: uri,
        LJWT_LDAP_PASSWORD_FILE: pw,
        REDIS_URL_FILE: redis,
        LJWT_JWKS_FILE_FILE: jwks,
        LJWT_JWKS_FILE: '',
      },
    });
    expect(cfg.issuer).toBe('https://sso.example.com');
    expect(cfg.ldapServers[0]!.bindPassword).toBe('  spaced secret ');
    expect(cfg.ldapServers[0]!.bindDn).toBe('cn=r,dc=example,dc=com');
    expect(cfg.ldapServers[0]!.uri).toBe('ldap://h.example.com');
    expect(cfg.redisUrl).toBe('redis://:secret@127.0.0.1:6379');
    expect(cfg.jwksFile).toBe('/srv/jwks.json');
  });

  it('takes LJWT_JWKS_FILE and LJWT_LDAP_CA_FILE as plain values (their names end in _FILE)', () => {
    const cfg = loadConfig({
      file: fixture('original-format.xml'),
      env: { ...ISSUER, LJWT_JWKS_FILE: '/srv/jwks.json', LJWT_LDAP_CA_FILE: '/etc/ssl/certs/ca-certificates.crt' },
    });
    expect(cfg.jwksFile).toBe('/srv/jwks.json');
    expect(cfg.ldapServers[0]!.caFile).toBe('/etc/ssl/certs/ca-certificates.crt');
  });

  it('overrides a client secret with LJWT_CLIENT_SECRET_<ID>(_FILE)', () => {
    const secretFile = tmpFile('cli-secret', 'cli-secret-from-a-file-0123\n');
    const cfg = loadConfig({
      file: fixture('full.xml'),
      env: { LJWT_CLIENT_SECRET_WIKI: 'wiki-secret-from-env-000', LJWT_CLIENT_SECRET_CLI_TOOL_FILE: secretFile },
    });
    expect(cfg.clients.map((c) => c.clientSecret)).toEqual(['wiki-secret-from-env-000', 'cli-secret-from-a-file-0123']);
  });

  it("takes a JDBC-like URL apart: percent-decoded login and password, clean URI", () => {
    const cfg = loadConfig({
      env: { ...ISSUER, LJWT_LDAP_URI: 'ldap://cn%3Dadmin%2Cdc%3Dexample%2Cdc%3Dcom:p%40ss@host:389' },
    });
    expect(cfg.ldapServers[0]).toMatchObject({
      uri: 'ldap://host:389',
      bindDn: 'cn=admin,dc=example,dc=com',
      bindPassword: 'p@ss',
      userSearchBase: 'dc=example,dc=com',
    });
  });

  it('treats empty variables as unset', () => {
    const cfg = loadConfig({ file: fixture('original-format.xml'), env: { ...ISSUER, LJWT_LISTEN: '', LJWT_LDAP_PASSWORD: '' } });
    expect(cfg.listen.port).toBe(8080);
    expect(cfg.ldapServers[0]!.bindPassword).toBe('password');
  });
});

describe('loadConfigFromString', () => {
  it('parses entities, character references and CDATA exactly once', () => {
    const xml = `<ldapConfig><ldapServer><uri>ldap://h</uri><login>cn=a&amp;b,dc=x</login>
      <password>&amp;amp;&#x41;&#66;<![CDATA[&amp;]]></password><dnList><dn>cn=g,dc=x</dn></dnList></ldapServer></ldapConfig>`;
    const cfg = loadConfigFromString(xml, ISSUER);
    expect(cfg.ldapServers[0]!.bindDn).toBe('cn=a&b,dc=x');
    expect(cfg.ldapServers[0]!.bindPassword).toBe('&amp;AB&amp;');
  });

  it('throws ConfigError with a stable code', () => {
    try {
      loadConfigFromString('<ldapConfig/>', ISSUER);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).code).toBe('CONFIG_INVALID');
      expect((e as ConfigError).where).toBe('ldapConfig');
    }
  });
});
