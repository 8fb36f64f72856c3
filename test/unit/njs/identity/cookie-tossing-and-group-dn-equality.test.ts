// Edge hardening: the plain token cookie next to chunk cookies, claim-map names that would alias an input variable, and group DNs that must never compare equal.
import { describe, expect, it } from 'vitest';
import { extractToken } from '#njs/http/token.ts';
import { parseEdgeConfig } from '#njs/config.ts';
import { dnEquals } from '#njs/authz/dn.ts';
import { evaluatePolicy, emptyPolicy } from '#njs/authz/policy.ts';
import { normalizeDn } from '#njs/authz/dn.ts';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';
const OTHER = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2ln';
const M = { error: 'ERR_JWT_MALFORMED' };
const RT = { ed25519: false, version: '0.7.9' };
const BASE = { ljwt_issuer: 'https://idp', ljwt_audience: 'api', ljwt_jwks_file: '/k.jwks' };

describe('cookie tossing: the plain cookie next to chunk cookies', () => {
  // A sibling subdomain (or a plain-http response) can plant `at` for the
  // parent domain while the victim's own session lives in `at.0`, `at.1`:
  // the planted cookie must not silently become the session (login CSRF).
  it('is malformed, in either order', () => {
    const chunks = 'at.0=' + JWT.slice(0, 10) + '; at.1=' + JWT.slice(10);
    expect(extractToken(undefined, chunks + '; at=' + OTHER, 'at')).toEqual(M);
    expect(extractToken(undefined, 'at=' + OTHER + '; ' + chunks, 'at')).toEqual(M);
    expect(extractToken(undefined, 'at=' + OTHER + '; at.3=x', 'at')).toEqual(M);
  });
  it('still reads either form alone, and an emptied plain cookie stays no token', () => {
    expect(extractToken(undefined, 'at=' + JWT, 'at')).toEqual({ token: JWT, source: 'cookie' });
    expect(extractToken(undefined, 'at.0=' + JWT.slice(0, 10) + '; at.1=' + JWT.slice(10), 'at'))
      .toEqual({ token: JWT, source: 'cookie' });
    expect(extractToken(undefined, 'at=; at.x=1; at.01=2', 'at')).toBeNull();
    expect(extractToken(undefined, 'at=' + JWT + '; at.x=1; at.01=2', 'at')).toEqual({ token: JWT, source: 'cookie' });
  });
});

describe('$ljwt_claim_map names must not alias an input variable', () => {
  // `map=email` targets $ljwt_claim_map itself: the validator would overwrite
  // the claim map (and, on a later internal redirect, parse a token-supplied
  // claim value as configuration).
  it('rejects a name whose variable is an input', () => {
    expect(() => parseEdgeConfig(Object.assign({ ljwt_claim_map: 'map=email' }, BASE), RT))
      .toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
    expect(parseEdgeConfig(Object.assign({ ljwt_claim_map: 'maps=email' }, BASE), RT).claimMap)
      .toEqual([{ varName: 'ljwt_claim_maps', claimPath: 'email' }]);
  });
});

describe('group DNs: values a directory may keep apart never compare equal', () => {
  // Whoever may create a group next to a protected one (delegated group
  // management in Active Directory, whose name comparison does not apply the
  // RFC 4518 mappings) could otherwise name it so that it normalizes to the
  // protected group's DN.
  const ADMINS = 'cn=domain admins,cn=users,dc=example,dc=com';
  const lookalikes = [
    'cn=domain  admins,cn=users,dc=example,dc=com', // two spaces
    'cn=domain\\09admins,cn=users,dc=example,dc=com', // TAB
    'cn=domain\u00a0admins,cn=users,dc=example,dc=com', // NBSP
    'cn=domain\u3000admins,cn=users,dc=example,dc=com', // ideographic space
    'cn=domain ad\u200bmins,cn=users,dc=example,dc=com', // zero-width space
    'cn=domain ad\u00admins,cn=users,dc=example,dc=com', // soft hyphen
    'cn=domain admins\ufe0f,cn=users,dc=example,dc=com', // variation selector
    'cn=domain admins\\E2\\80\\8B,cn=users,dc=example,dc=com', // escaped ZWSP
  ];
  it.each(lookalikes)('%j is not the admins group', (dn) => {
    expect(dnEquals(dn, ADMINS)).toBe(false);
    const policy = emptyPolicy();
    policy.anyGroups = [normalizeDn(ADMINS)];
    expect(evaluatePolicy(policy, { dns: [dn] }).allowed).toBe(false);
  });
  it('case, escapes and spaces around separators and at value ends still match', () => {
    expect(dnEquals('CN=Domain Admins, CN=Users, DC=Example, DC=COM', ADMINS)).toBe(true);
    expect(dnEquals('cn = domain admins , cn=users,dc=example,dc=com', ADMINS)).toBe(true);
    expect(dnEquals('cn=\\ domain admins\\ ,cn=users,dc=example,dc=com', ADMINS)).toBe(true);
    expect(dnEquals('cn=domain\\20admins,cn=users,dc=example,dc=com', ADMINS)).toBe(true);
    expect(dnEquals('cn=J\\C3\\BCrgen', 'CN=JÜRGEN')).toBe(true);
  });
});
