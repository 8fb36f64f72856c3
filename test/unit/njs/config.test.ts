import { describe, expect, it } from 'vitest';
import { EDGE_VARIABLES, hasExplicitAlgorithms, parseEdgeConfig, SUPPORTED_ALGORITHMS } from '#njs/config.ts';

const OLD = { ed25519: false, version: '0.7.9' };
const NEW = { ed25519: true, version: '0.9.7' };
const base = { ljwt_jwks_file: '/etc/ljwt/jwks.json', ljwt_issuer: 'https://login.example.com', ljwt_audience: 'app' };

function errorOf(vars: { [k: string]: string | undefined }, runtime = OLD): { code: string; message: string } {
  try {
    parseEdgeConfig(vars, runtime);
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a config error');
}

describe('defaults', () => {
  it('fills every default', () => {
    const c = parseEdgeConfig(base, NEW);
    expect(c).toEqual({
      keys: { jwksFiles: ['/etc/ljwt/jwks.json'], pemFiles: [], jwksLocation: null },
      validate: {
        algorithms: ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'],
        maxTokenLength: 8192,
        issuers: ['https://login.example.com'],
        audiences: ['app'],
        leewaySeconds: 30,
        requiredTyp: 'at+jwt',
        requiredClaims: ['sub', 'exp'],
      },
      cookieName: null,
      userClaim: 'sub',
      claimMap: [],
      loginUrl: null,
      returnParam: 'rd',
      realm: 'nginx-ldap-jwt',
      policy: { anyGroups: [], allGroups: [], scopes: [], claims: [] },
      cacheMaxAge: 60,
      passAuthorization: false,
    });
  });
  it('drops EdDSA from the default list without Ed25519', () => {
    expect(parseEdgeConfig(base, OLD).validate.algorithms).toEqual(
      ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
  });
  it('treats empty and blank values as unset', () => {
    const c = parseEdgeConfig(Object.assign({ ljwt_leeway: '', ljwt_typ: '  ', ljwt_cookie: undefined }, base), OLD);
    expect(c.validate.leewaySeconds).toBe(30);
    expect(c.validate.requiredTyp).toBe('at+jwt');
    expect(c.cookieName).toBeNull();
  });
  it('EDGE_VARIABLES lists exactly the contract variables', () => {
    expect(EDGE_VARIABLES.slice().sort()).toEqual([
      'ljwt_algorithms', 'ljwt_audience', 'ljwt_cache_max_age', 'ljwt_claim_map', 'ljwt_cookie', 'ljwt_issuer', 'ljwt_jwks_file',
      'ljwt_jwks_location', 'ljwt_leeway', 'ljwt_login_url', 'ljwt_max_token_length', 'ljwt_pem_files', 'ljwt_realm',
      'ljwt_require_all_groups', 'ljwt_require_any_group', 'ljwt_require_claim', 'ljwt_require_scope',
      'ljwt_required_claims', 'ljwt_return_param', 'ljwt_typ', 'ljwt_user_claim', 'ljwt_pass_authorization',
    ].sort());
  });
});

describe('exp is always required (RFC 9068 §2.2)', () => {
  it.each([
    ['sub email', ['sub', 'email', 'exp']],
    ['email', ['email', 'exp']],
    ['exp', ['exp']],
    ['sub exp iat', ['sub', 'exp', 'iat']],
    ['  ', ['sub', 'exp']],
  ])('$ljwt_required_claims %j requires %j', (v, want) => {
    const c = parseEdgeConfig(Object.assign({ ljwt_required_claims: v }, base), OLD);
    expect(c.validate.requiredClaims).toEqual(want);
  });
  it('a second parse is not affected (the default list is not shared)', () => {
    parseEdgeConfig(Object.assign({ ljwt_required_claims: 'email' }, base), OLD);
    expect(parseEdgeConfig(base, OLD).validate.requiredClaims).toEqual(['sub', 'exp']);
  });
});

describe('hasExplicitAlgorithms', () => {
  it('is false for unset, empty and blank values', () => {
    expect(hasExplicitAlgorithms(base)).toBe(false);
    expect(hasExplicitAlgorithms(Object.assign({ ljwt_algorithms: '' }, base))).toBe(false);
    expect(hasExplicitAlgorithms(Object.assign({ ljwt_algorithms: ' \t' }, base))).toBe(false);
    expect(hasExplicitAlgorithms(Object.assign({ ljwt_algorithms: 'ES256' }, base))).toBe(true);
  });
});

describe('explicit values', () => {
  it('parses every variable', () => {
    const c = parseEdgeConfig({
      ljwt_jwks_file: '/a.json  /b.json',
      ljwt_pem_files: '/k1.pem /k2.pem',
      ljwt_jwks_location: '/_ljwt_jwks',
      ljwt_algorithms: 'HS256 EdDSA ES256',
      ljwt_issuer: 'https://a https://b',
      ljwt_audience: 'off',
      ljwt_leeway: '0',
      ljwt_typ: 'off',
      ljwt_required_claims: 'sub exp iat',
      ljwt_max_token_length: '16384',
      ljwt_cookie: '__Host-ljwt',
      ljwt_user_claim: 'preferred_username',
      ljwt_claim_map: 'email=email roles=realm_access.roles',
      ljwt_login_url: 'https://sso.example.com/login?x=1',
      ljwt_return_param: 'return_to',
      ljwt_realm: 'Example Corp',
      ljwt_require_any_group: 'CN=Admins,DC=example,DC=com | cn=ops\\2C eu,dc=example,dc=com',
      ljwt_require_all_groups: 'cn=staff,dc=example,dc=com',
      ljwt_require_scope: 'read write',
      ljwt_require_claim: 'tenant=acme mfa=true url=a=b',
    }, NEW);
    expect(c.keys).toEqual({ jwksFiles: ['/a.json', '/b.json'], pemFiles: ['/k1.pem', '/k2.pem'], jwksLocation: '/_ljwt_jwks' });
    expect(c.validate).toEqual({
      algorithms: ['HS256', 'EdDSA', 'ES256'],
      maxTokenLength: 16384,
      issuers: ['https://a', 'https://b'],
      audiences: [],
      leewaySeconds: 0,
      requiredTyp: null,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    expect(c.cookieName).toBe('__Host-ljwt');
    expect(c.userClaim).toBe('preferred_username');
    expect(c.claimMap).toEqual([
      { varName: 'ljwt_claim_email', claimPath: 'email' },
      { varName: 'ljwt_claim_roles', claimPath: 'realm_access.roles' },
    ]);
    expect(c.loginUrl).toBe('https://sso.example.com/login?x=1');
    expect(c.returnParam).toBe('return_to');
    expect(c.realm).toBe('Example Corp');
    expect(c.policy).toEqual({
      anyGroups: ['cn=admins,dc=example,dc=com', 'cn=ops\\, eu,dc=example,dc=com'],
      allGroups: ['cn=staff,dc=example,dc=com'],
      scopes: ['read', 'write'],
      claims: [{ name: 'tenant', value: 'acme' }, { name: 'mfa', value: 'true' }, { name: 'url', value: 'a=b' }],
    });
  });
  it('a PEM file or a JWKS location alone is a key source', () => {
    expect(parseEdgeConfig({ ljwt_pem_files: '/k.pem', ljwt_issuer: 'i', ljwt_audience: 'a' }, OLD).keys.pemFiles).toEqual(['/k.pem']);
    expect(parseEdgeConfig({ ljwt_jwks_location: '/jwks', ljwt_issuer: 'i', ljwt_audience: 'a' }, OLD).keys.jwksLocation).toBe('/jwks');
  });
  it('accepts a typ with application/ prefix, a path login URL, all algorithms', () => {
    const c = parseEdgeConfig(Object.assign({}, base, {
      ljwt_typ: 'application/at+jwt', ljwt_login_url: '/login', ljwt_algorithms: SUPPORTED_ALGORITHMS.join(' '),
    }), NEW);
    expect(c.validate.requiredTyp).toBe('application/at+jwt');
    expect(c.loginUrl).toBe('/login');
    expect(c.validate.algorithms).toEqual(SUPPORTED_ALGORITHMS);
  });
});

describe('errors name their variable', () => {
  it.each([
    [{ ljwt_jwks_file: 'relative/jwks.json' }, 'ljwt_jwks_file'],
    [{ ljwt_pem_files: '/ok.pem key.pem' }, 'ljwt_pem_files'],
    [{ ljwt_jwks_location: 'http://idp/jwks' }, 'ljwt_jwks_location'],
    [{ ljwt_jwks_location: '/a /b' }, 'ljwt_jwks_location'],
    [{ ljwt_algorithms: 'none' }, 'ljwt_algorithms'],
    [{ ljwt_algorithms: 'RS256 NONE' }, 'ljwt_algorithms'],
    [{ ljwt_algorithms: 'rs256' }, 'ljwt_algorithms'],
    [{ ljwt_algorithms: 'HS1' }, 'ljwt_algorithms'],
    [{ ljwt_issuer: '' }, 'ljwt_issuer'],
    [{ ljwt_issuer: undefined }, 'ljwt_issuer'],
    [{ ljwt_audience: ' ' }, 'ljwt_audience'],
    [{ ljwt_audience: 'app off' }, 'ljwt_audience'],
    [{ ljwt_leeway: 'abc' }, 'ljwt_leeway'],
    [{ ljwt_leeway: '-1' }, 'ljwt_leeway'],
    [{ ljwt_leeway: '1.5' }, 'ljwt_leeway'],
    [{ ljwt_leeway: '3601' }, 'ljwt_leeway'],
    [{ ljwt_typ: 'at jwt' }, 'ljwt_typ'],
    [{ ljwt_cache_max_age: '-1' }, 'ljwt_cache_max_age'],
    [{ ljwt_cache_max_age: '1m' }, 'ljwt_cache_max_age'],
    [{ ljwt_cache_max_age: '3601' }, 'ljwt_cache_max_age'],
    [{ ljwt_pass_authorization: 'yes' }, 'ljwt_pass_authorization'],
    [{ ljwt_pass_authorization: 'On' }, 'ljwt_pass_authorization'],
    [{ ljwt_required_claims: 'sub ex"p' }, 'ljwt_required_claims'],
    [{ ljwt_max_token_length: '0' }, 'ljwt_max_token_length'],
    [{ ljwt_max_token_length: '8k' }, 'ljwt_max_token_length'],
    [{ ljwt_max_token_length: '99999999' }, 'ljwt_max_token_length'],
    [{ ljwt_cookie: 'a;b' }, 'ljwt_cookie'],
    [{ ljwt_cookie: 'a b' }, 'ljwt_cookie'],
    [{ ljwt_user_claim: 'a b' }, 'ljwt_user_claim'],
    [{ ljwt_claim_map: 'email' }, 'ljwt_claim_map'],
    [{ ljwt_claim_map: 'e-mail=email' }, 'ljwt_claim_map'],
    [{ ljwt_claim_map: 'a=x a=y' }, 'ljwt_claim_map'],
    [{ ljwt_claim_map: 'a=' }, 'ljwt_claim_map'],
    [{ ljwt_login_url: '//evil.example/login' }, 'ljwt_login_url'],
    [{ ljwt_login_url: 'javascript:alert(1)' }, 'ljwt_login_url'],
    [{ ljwt_login_url: 'login' }, 'ljwt_login_url'],
    [{ ljwt_login_url: 'https:///x' }, 'ljwt_login_url'],
    [{ ljwt_return_param: 'r d' }, 'ljwt_return_param'],
    [{ ljwt_return_param: 'r&d' }, 'ljwt_return_param'],
    [{ ljwt_realm: 'a"b' }, 'ljwt_realm'],
    [{ ljwt_realm: 'a\\b' }, 'ljwt_realm'],
    [{ ljwt_realm: 'a\r\nb' }, 'ljwt_realm'],
    [{ ljwt_require_any_group: 'cn=a,dc=x;' }, 'ljwt_require_any_group'],
    [{ ljwt_require_any_group: 'cn=a,dc=x||cn=b' }, 'ljwt_require_any_group'],
    [{ ljwt_require_all_groups: 'cn=a|' }, 'ljwt_require_all_groups'],
    [{ ljwt_require_all_groups: 'just text' }, 'ljwt_require_all_groups'],
    [{ ljwt_require_scope: 'a"b' }, 'ljwt_require_scope'],
    [{ ljwt_require_scope: 'a\\b' }, 'ljwt_require_scope'],
    [{ ljwt_require_claim: 'tenant' }, 'ljwt_require_claim'],
    [{ ljwt_require_claim: '=x' }, 'ljwt_require_claim'],
    [{ ljwt_require_claim: 'x=' }, 'ljwt_require_claim'],
  ])('%j', (override, name) => {
    const e = errorOf(Object.assign({}, base, override));
    expect(e.code).toBe('ERR_CONFIG_INVALID');
    expect(e.message).toContain('$' + name + ' ');
  });
  it('quotes the bad value', () => {
    expect(errorOf(Object.assign({}, base, { ljwt_leeway: 'abc' })).message)
      .toBe('$ljwt_leeway must be a non-negative integer of seconds, got "abc"');
  });
  it('EdDSA listed on a runtime without Ed25519', () => {
    const e = errorOf(Object.assign({}, base, { ljwt_algorithms: 'ES256 EdDSA' }), OLD);
    expect(e.code).toBe('ERR_CONFIG_INVALID');
    expect(e.message).toBe('$ljwt_algorithms lists EdDSA, but EdDSA needs njs >= 0.9.7 (Ed25519); this runtime is njs 0.7.9');
  });
  it('EdDSA listed on a recent njs built without Ed25519 names the build, not the version', () => {
    const e = errorOf(Object.assign({}, base, { ljwt_algorithms: 'ES256 EdDSA' }), { ed25519: false, version: '1.0.2' });
    expect(e.code).toBe('ERR_CONFIG_INVALID');
    expect(e.message).toBe('$ljwt_algorithms lists EdDSA, but this build of njs (1.0.2) has no Ed25519 in WebCrypto');
  });
  it('$ljwt_pass_authorization is "on" or "off" (default off)', () => {
    expect(parseEdgeConfig(Object.assign({}, base, { ljwt_pass_authorization: 'on' }), NEW).passAuthorization).toBe(true);
    expect(parseEdgeConfig(Object.assign({}, base, { ljwt_pass_authorization: ' off ' }), NEW).passAuthorization).toBe(false);
    expect(parseEdgeConfig(base, NEW).passAuthorization).toBe(false);
  });
  it('requires a key source, naming the three variables', () => {
    const e = errorOf({ ljwt_issuer: 'i', ljwt_audience: 'a' });
    expect(e.code).toBe('ERR_CONFIG_INVALID');
    expect(e.message).toContain('$ljwt_jwks_file');
    expect(e.message).toContain('$ljwt_pem_files');
    expect(e.message).toContain('$ljwt_jwks_location');
  });
  it('rejects a non-string value', () => {
    expect(errorOf(Object.assign({}, base, { ljwt_leeway: 5 as unknown as string })).message).toContain('$ljwt_leeway');
  });
});
