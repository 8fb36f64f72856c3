// Every configuration error names the element path or the variable, says
// what is wrong, and never echoes a secret.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, loadConfigFromString } from '../../../../service/src/config/load.ts';
import { ConfigError } from '../../../../service/src/config/errors.ts';

const ISSUER = { LJWT_ISSUER: 'https://login.example.com' };
const SERVER = `<uri>ldap://h:389</uri><login>cn=r,dc=example,dc=com</login><password>pw</password><dnList><dn>cn=g,dc=example,dc=com</dn></dnList>`;
const doc = (servers: string[], rest = ''): string =>
  `<?xml version="1.0"?>\n<ldapConfig>${servers.map((s) => `<ldapServer>${s}</ldapServer>`).join('')}${rest}</ldapConfig>`;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}
const fromXml = (xml: string, env: NodeJS.ProcessEnv = ISSUER): ConfigError => errorOf(() => loadConfigFromString(xml, env));

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ljwt-config-err-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('structural errors name the element', () => {
  it('missing uri', () => {
    const e = fromXml(doc([SERVER, SERVER.replace('<uri>ldap://h:389</uri>', '')]));
    expect(e.where).toBe('ldapConfig/ldapServer[2]');
    expect(e.message).toMatch(/^ldapConfig\/ldapServer\[2\]: missing required element <uri>/);
  });

  it('wrong order (login before uri)', () => {
    const e = fromXml(doc([`<login>cn=r,dc=x</login><uri>ldap://h</uri><password>pw</password><dnList><dn>cn=g,dc=x</dn></dnList>`]));
    expect(e.message).toMatch(/^ldapConfig\/ldapServer\[1\]: missing required element <uri> before <login> \(order: uri, login, password, dnList/);
  });

  it('wrong order (extension element before the original elements end)', () => {
    const e = fromXml(doc([SERVER.replace('<dnList>', '<startTls>true</startTls><dnList>')]));
    expect(e.message).toMatch(/^ldapConfig\/ldapServer\[1\]: missing required element <dnList> before <startTls>/);
  });

  it('wrong order (optional elements swapped)', () => {
    const e = fromXml(doc([`${SERVER}<caFile>/x</caFile><startTls>true</startTls>`]));
    expect(e.where).toBe('ldapConfig/ldapServer[1]/startTls');
    expect(e.message).toMatch(/out of order or repeated; order in <ldapServer>: uri, login, password, dnList, userSearchBase/);
  });

  it('unknown element, at any depth', () => {
    expect(fromXml(doc([`${SERVER}<bogus/>`])).message).toMatch(/^ldapConfig\/ldapServer\[1\]\/bogus: unknown element; allowed in <ldapServer>: uri, login/);
    expect(fromXml(doc([SERVER], '<service><issuer>https://x</issuer><colour>red</colour></service>')).where).toBe('ldapConfig/service/colour');
    expect(fromXml(doc([SERVER.replace('<dn>', '<group>').replace('</dn>', '</group>')])).message).toMatch(
      /^ldapConfig\/ldapServer\[1\]\/dnList\/group: unknown element; allowed in <dnList>: dn/,
    );
    expect(fromXml(doc([SERVER], '<extra/>')).where).toBe('ldapConfig/extra');
  });

  it('repeated single element', () => {
    const e = fromXml(doc([SERVER.replace('<password>', '<login>cn=other,dc=x</login><password>')]));
    expect(e.message).toMatch(/^ldapConfig\/ldapServer\[1\]\/login: /);
  });

  it('replica URIs that carry different service accounts', () => {
    const e = fromXml(doc([SERVER.replace('<login>', '<uri>ldap://cn%3Da%2Cdc%3Dx:p1@h2</uri><uri>ldap://cn%3Db%2Cdc%3Dx:p1@h3</uri><login>').replace(/<login>[^<]*<\/login>/, '<login></login>')]));
    expect(e.message).toMatch(/^ldapConfig\/ldapServer\[1\]\/uri: replica URIs carry different service accounts/);
  });

  it('empty dnList, no server, wrong root, attributes, text, DOCTYPE, malformed XML', () => {
    expect(fromXml(doc([SERVER.replace(/<dnList>.*<\/dnList>/, '<dnList></dnList>')])).message).toBe(
      'ldapConfig/ldapServer[1]/dnList: missing required element <dn>',
    );
    expect(fromXml('<ldapConfig></ldapConfig>').message).toBe('ldapConfig: missing required element <ldapServer>');
    expect(fromXml('<config/>').message).toMatch(/root element must be <ldapConfig>, got <config>/);
    expect(fromXml(doc([SERVER.replace('<uri>', '<uri secure="yes">')])).message).toBe(
      'ldapConfig/ldapServer[1]/uri[1]: attribute "secure" is not allowed',
    );
    expect(fromXml('<ldapConfig xmlns="urn:x"><ldapServer>' + SERVER + '</ldapServer></ldapConfig>').message).toMatch(/default namespace/);
    expect(fromXml(doc([SERVER + 'stray text'])).message).toMatch(/^ldapConfig\/ldapServer\[1\]: unexpected text "stray text"/);
    expect(fromXml(doc([SERVER.replace('<uri>ldap://h:389</uri>', '<uri><b>ldap://h</b></uri>')])).where).toBe('ldapConfig/ldapServer[1]/uri[1]/b');
    expect(fromXml('<!DOCTYPE x [<!ENTITY a "b">]>' + doc([SERVER])).message).toMatch(/DOCTYPE declarations are not allowed/);
    expect(fromXml('<ldapConfig><ldapServer></ldapConfig>').message).toMatch(/^config: not well-formed XML at line 1, column \d+/);
    expect(fromXml(doc([SERVER.replace('pw', 'a&nbsp;b')])).message).toBe('ldapConfig/ldapServer[1]/password: undefined entity &nbsp;');
  });
});

describe('value errors name the element', () => {
  it('bad URL', () => {
    expect(fromXml(doc([SERVER, SERVER, SERVER.replace('ldap://h:389', 'http://x')])).message).toBe(
      'ldapConfig/ldapServer[3]/uri[1]: expected ldap:// or ldaps:// URL, got "http://x"',
    );
    expect(fromXml(doc([SERVER.replace('ldap://h:389', 'ldap://h/dc=x??sub')])).message).toMatch(/^ldapConfig\/ldapServer\[1\]\/uri\[1\]: LDAP URL must be scheme:\/\/host\[:port\]/);
    expect(fromXml(doc([SERVER.replace('ldap://h:389', 'not a url')])).where).toBe('ldapConfig/ldapServer[1]/uri[1]');
  });

  it('bad URL does not echo the password in it', () => {
    const e = fromXml(doc([SERVER.replace('ldap://h:389', 'ftp://user:hunter2@h')]));
    expect(e.message).not.toContain('hunter2');
    expect(e.message).toContain('***@');
  });

  it('bad numbers and booleans', () => {
    expect(fromXml(doc([`${SERVER}<connectTimeoutMs>5s</connectTimeoutMs>`])).message).toBe(
      'ldapConfig/ldapServer[1]/connectTimeoutMs: expected a whole number, got "5s"',
    );
    expect(fromXml(doc([`${SERVER}<timeoutMs>0</timeoutMs>`])).message).toBe('ldapConfig/ldapServer[1]/timeoutMs: must be at least 1, got 0');
    expect(fromXml(doc([SERVER], '<service><issuer>https://x</issuer><authorizationCodeTtl>3600</authorizationCodeTtl></service>')).message).toBe(
      'ldapConfig/service/authorizationCodeTtl: must be at most 600, got 3600',
    );
    expect(fromXml(doc([`${SERVER}<startTls>yes</startTls>`])).message).toBe('ldapConfig/ldapServer[1]/startTls: expected true or false, got "yes"');
    expect(fromXml(doc([SERVER], '<throttle><windowSeconds>-5</windowSeconds></throttle>')).where).toBe('ldapConfig/throttle/windowSeconds');
  });

  it('bad DNs, filters, patterns, enums, URLs, addresses', () => {
    expect(fromXml(doc([SERVER.replace('cn=g,dc=example,dc=com', 'not a dn')])).where).toBe('ldapConfig/ldapServer[1]/dnList/dn[1]');
    expect(fromXml(doc([`${SERVER}<userFilter>(uid=x)</userFilter>`])).message).toBe('ldapConfig/ldapServer[1]/userFilter: filter must contain {username}');
    expect(fromXml(doc([`${SERVER}<userFilter>(&amp;(uid={username})</userFilter>`])).message).toMatch(/userFilter: invalid LDAP filter/);
    expect(fromXml(doc([SERVER], '<service><issuer>https://x</issuer><usernamePattern>[a-z]+</usernamePattern></service>')).message).toMatch(
      /^ldapConfig\/service\/usernamePattern: regular expression must be anchored/,
    );
    expect(fromXml(doc([SERVER], '<service><issuer>https://x</issuer><usernamePattern>^([a-z]$</usernamePattern></service>')).message).toMatch(
      /usernamePattern: invalid regular expression/,
    );
    expect(fromXml(doc([SERVER], '<service><issuer>https://x</issuer><signingAlgorithm>none</signingAlgorithm></service>')).message).toBe(
      'ldapConfig/service/signingAlgorithm: expected one of ES256, RS256, PS256, EdDSA, HS256, got "none"',
    );
    // ID tokens: asymmetric algorithms only (an HS256 ID token would need the client secret as its key, OIDC Core §10.1).
    for (const alg of ['HS256', 'none', 'rs256']) {
      expect(fromXml(doc([SERVER], `<clients><client><id>a</id><redirectUri>https://a.example/cb</redirectUri><idTokenSignedResponseAlg>${alg}</idTokenSignedResponseAlg></client></clients>`)).message).toBe(
        `ldapConfig/clients/client[1]/idTokenSignedResponseAlg: expected one of RS256, PS256, ES256, EdDSA, got "${alg}"`,
      );
    }
    expect(fromXml(doc([SERVER], '<service><issuer>http://login.example.com</issuer></service>'), {}).message).toMatch(/issuer: issuer must use https/);
    expect(fromXml(doc([SERVER], '<service><issuer>https://x/?a=b</issuer></service>'), {}).message).toMatch(/issuer: issuer must not contain a query/);
    expect(fromXml(doc([SERVER], '<service><issuer>https://x</issuer><listen>host:99999</listen></service>')).where).toBe('ldapConfig/service/listen');
    expect(fromXml(doc([SERVER], '<service><issuer>https://x</issuer><trustedProxies>10.0.0.0/33</trustedProxies></service>')).message).toMatch(
      /trustedProxies: bad prefix length/,
    );
    expect(fromXml(doc([SERVER], '<service><issuer>https://x</issuer><redisUrl>http://r</redisUrl></service>')).where).toBe('ldapConfig/service/redisUrl');
    expect(fromXml(doc([SERVER], '<service><accessTokenCookie>a b</accessTokenCookie></service>')).message).toBe(
      'ldapConfig/service/accessTokenCookie: not a cookie name (RFC 6265 §4.1.1 token): "a b"',
    );
  });

  it('cross-field checks', () => {
    expect(fromXml(doc([SERVER]), {}).message).toBe('ldapConfig/service/issuer: required (or set LJWT_ISSUER)');
    expect(fromXml(doc([SERVER.replace('ldap://h:389', 'ldaps://h') + '<startTls>true</startTls>'])).message).toBe(
      'ldapConfig/ldapServer[1]/startTls: StartTLS cannot be used with ldaps:// (already TLS)',
    );
    expect(fromXml(doc([`${SERVER}<caFile>/nonexistent/ca.pem</caFile>`])).message).toBe(
      'ldapConfig/ldapServer[1]/caFile: cannot read "/nonexistent/ca.pem": ENOENT',
    );
    expect(fromXml(doc([SERVER.replace('<password>pw</password>', '<password/>')])).message).toMatch(
      /^ldapConfig\/ldapServer\[1\]\/password: service account password is empty/,
    );
    expect(fromXml(doc([SERVER.replace('cn=r,dc=example,dc=com', '')])).message).toMatch(/^ldapConfig\/ldapServer\[1\]\/login: service account DN is empty/);
    expect(fromXml(doc([SERVER.replace('cn=r,dc=example,dc=com', 'cn=r,o=corp')])).message).toMatch(
      /^ldapConfig\/ldapServer\[1\]\/userSearchBase: required/,
    );
    expect(fromXml(doc([SERVER.replace('ldap://h:389', 'ldap://cn%3Dother%2Cdc%3Dx:pw@h')])).message).toBe(
      'ldapConfig/ldapServer[1]/login: differs from the user given in the uri; give it in one place',
    );
    expect(fromXml(doc([SERVER], '<groupSync><intervalSeconds>600</intervalSeconds><maxStaleSeconds>60</maxStaleSeconds></groupSync>')).message).toBe(
      'ldapConfig/groupSync/maxStaleSeconds: must be at least intervalSeconds (600)',
    );
  });

  it('duplicate client id, bad client fields', () => {
    const client = (id: string, extra = ''): string => `<client><id>${id}</id>${extra}<redirectUri>https://a.example/cb</redirectUri></client>`;
    expect(fromXml(doc([SERVER], `<clients>${client('app')}${client('other')}${client('app')}</clients>`)).message).toBe(
      'ldapConfig/clients/client[3]/id: duplicate client id "app" (also in ldapConfig/clients/client[1])',
    );
    expect(fromXml(doc([SERVER], `<clients>${client('bad id')}</clients>`)).where).toBe('ldapConfig/clients/client[1]/id');
    expect(fromXml(doc([SERVER], `<clients>${client('app', '<secret>short</secret>')}</clients>`)).message).toMatch(
      /client\[1\]\/secret: client secret must be at least 16 characters/,
    );
    expect(fromXml(doc([SERVER], `<clients><client><id>a</id></client></clients>`)).message).toBe(
      'ldapConfig/clients/client[1]: missing required element <redirectUri>',
    );
    expect(fromXml(doc([SERVER], `<clients><client><id>a</id><redirectUri>https://a/cb#frag</redirectUri></client></clients>`)).message).toMatch(
      /redirectUri\[1\]: URL must not contain a fragment/,
    );
    expect(fromXml(doc([SERVER], `<clients><client><id>a</id><redirectUri>https://a/cb</redirectUri><grantType>implicit</grantType></client></clients>`)).where).toBe(
      'ldapConfig/clients/client[1]/grantType[1]',
    );
  });
});

describe('environment errors name the variable', () => {
  const configFile = (): string => {
    const p = path.join(tmp, 'original-format.xml');
    writeFileSync(p, doc([SERVER]));
    return p;
  };
  /** The error of loading a valid file with ISSUER plus `env` set. */
  const envError = (env: NodeJS.ProcessEnv): ConfigError => errorOf(() => loadConfig({ file: configFile(), env: { ...ISSUER, ...env } }));

  it('NAME and NAME_FILE both set', () => {
    const f = path.join(tmp, 'pw');
    writeFileSync(f, 'x');
    const e = envError({ LJWT_LDAP_PASSWORD: 'a', LJWT_LDAP_PASSWORD_FILE: f });
    expect(e.message).toBe('LJWT_LDAP_PASSWORD: both LJWT_LDAP_PASSWORD and LJWT_LDAP_PASSWORD_FILE are set; set only one');
    const e2 = errorOf(() => loadConfig({ file: configFile(), env: { LJWT_ISSUER_FILE: f, LJWT_ISSUER: 'https://x' } }));
    expect(e2.where).toBe('LJWT_ISSUER');
  });

  it('unreadable or empty NAME_FILE', () => {
    expect(envError({ LJWT_LDAP_PASSWORD_FILE: '/nonexistent/pw' }).message).toBe(
      'LJWT_LDAP_PASSWORD_FILE: cannot read "/nonexistent/pw": ENOENT',
    );
    const empty = path.join(tmp, 'empty');
    writeFileSync(empty, '\n');
    expect(envError({ LJWT_LDAP_PASSWORD_FILE: empty }).message).toMatch(
      /^LJWT_LDAP_PASSWORD_FILE: file ".*" is empty$/,
    );
  });

  it('bad values name the variable (or the file variable they came from)', () => {
    expect(envError({ LJWT_LDAP_URI: 'http://x' }).message).toBe(
      'LJWT_LDAP_URI: expected ldap:// or ldaps:// URL, got "http://x"',
    );
    const f = path.join(tmp, 'ttl');
    writeFileSync(f, 'ten\n');
    expect(envError({ LJWT_ACCESS_TOKEN_TTL_FILE: f }).message).toBe(
      'LJWT_ACCESS_TOKEN_TTL_FILE: expected a whole number, got "ten"',
    );
    expect(envError({ LJWT_LDAP_GROUP_DNS: 'cn=a,dc=x;garbage' }).where).toBe(
      'LJWT_LDAP_GROUP_DNS[2]',
    );
    expect(envError({ LJWT_LDAP_USERNAME_ATTRIBUTES: 'uid, (uid=*)' }).where).toBe(
      'LJWT_LDAP_USERNAME_ATTRIBUTES[2]',
    );
  });

  it('unknown LJWT_ variables (typos) and bad server indexes', () => {
    expect(envError({ LJWT_ISUER: 'x' }).message).toBe(
      'LJWT_ISUER: unknown configuration variable (see the README for the list)',
    );
    expect(envError({ LJWT_LDAP_1_URI: 'ldap://h' }).where).toBe('LJWT_LDAP_1_URI');
    expect(envError({ LJWT_CONFIG_FILE: '/x' }).message).toMatch(/LJWT_CONFIG/);
    // Server 3 without server 2 and without a URI.
    expect(envError({ LJWT_LDAP_3_PASSWORD: 'x' }).message).toBe(
      'LJWT_LDAP_2_URI: required for LDAP server 2',
    );
    expect(errorOf(() => loadConfig({ env: { ...ISSUER } })).message).toMatch(/^ldapConfig\/ldapServer: at least one LDAP server is required/);
  });

  it('client secret variables must match a client', () => {
    const p = path.join(tmp, 'clients.xml');
    writeFileSync(p, doc([SERVER], '<clients><client><id>app</id><redirectUri>https://a/cb</redirectUri></client></clients>'));
    expect(errorOf(() => loadConfig({ file: p, env: { ...ISSUER, LJWT_CLIENT_SECRET_OTHER: 'x'.repeat(20) } })).message).toMatch(
      /^LJWT_CLIENT_SECRET_OTHER: no configured client maps to this variable/,
    );
    expect(errorOf(() => loadConfig({ file: p, env: { ...ISSUER, LJWT_CLIENT_SECRET_APP: 'short' } })).message).toMatch(
      /^LJWT_CLIENT_SECRET_APP: client secret must be at least 16 characters/,
    );
  });

  it('missing or unreadable configuration file', () => {
    expect(errorOf(() => loadConfig({ file: '/nonexistent.xml', env: ISSUER })).message).toBe(
      '/nonexistent.xml: cannot read configuration file "/nonexistent.xml": ENOENT',
    );
    expect(errorOf(() => loadConfig({ env: { ...ISSUER, LJWT_CONFIG: '/nonexistent.xml' } })).where).toBe('LJWT_CONFIG');
  });
});
