import { describe, expect, it } from 'vitest';
import { claimAt, encodeClaimValue, identityFromClaims } from '#njs/identity/headers.ts';
import { decodeHeaderList } from '#njs/identity/encode.ts';

const opts = { userClaim: 'sub', claimMap: [] as { varName: string; claimPath: string }[] };

describe('identityFromClaims', () => {
  it('encodes user, group DNs and OIDs', () => {
    const id = identityFromClaims({
      sub: 'jürgen\r\nX-Admin: 1',
      dns: ['cn=Smith\\, John,ou=people,dc=example,dc=com', 'cn=admins,dc=x'],
      oids: ['5c2b3e2a-0000-4000-8000-000000000001', 'S-1-5-21-1'],
    }, opts);
    expect(id.user).toBe('j%C3%BCrgen%0D%0AX-Admin:%201');
    expect(id.groupDns).toBe('cn=Smith\\%2C%20John%2Cou=people%2Cdc=example%2Cdc=com,cn=admins%2Cdc=x');
    expect(decodeHeaderList(id.groupDns)).toEqual(['cn=Smith\\, John,ou=people,dc=example,dc=com', 'cn=admins,dc=x']);
    expect(id.oids).toBe('5c2b3e2a-0000-4000-8000-000000000001,S-1-5-21-1');
    expect(id.extra).toEqual({});
  });
  it('gives empty strings (no header) without groups', () => {
    const id = identityFromClaims({ sub: 'u' }, opts);
    expect(id.groupDns).toBe('');
    expect(id.oids).toBe('');
    expect(identityFromClaims({ sub: 'u', dns: [], oids: [] }, opts).groupDns).toBe('');
  });
  it.each([
    [{ dns: ['cn=a', 3] }, 'dns'],
    [{ dns: 'cn=a' }, 'dns'],
    [{ dns: null }, 'dns'],
    [{ oids: [{}] }, 'oids'],
    [{ oids: {} }, 'oids'],
  ])('rejects %j', (extra, claim) => {
    expect(() => identityFromClaims(Object.assign({ sub: 'u' }, extra), opts))
      .toThrow(expect.objectContaining({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim }));
  });
  it.each([undefined, '', 5, ['u'], null])('requires a non-empty string user claim (%j)', (sub) => {
    expect(() => identityFromClaims({ sub }, opts))
      .toThrow(expect.objectContaining({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'sub' }));
  });
  it('uses the configured user claim, also nested', () => {
    expect(identityFromClaims({ sub: 'x', preferred_username: 'jdoe' }, { userClaim: 'preferred_username', claimMap: [] }).user)
      .toBe('jdoe');
    expect(identityFromClaims({ ext: { login: 'a b' } }, { userClaim: 'ext.login', claimMap: [] }).user).toBe('a%20b');
  });
  it('maps claims by type', () => {
    const id = identityFromClaims({
      sub: 'u',
      email: 'a+b@example.com',
      age: 42,
      admin: false,
      roles: ['r,1', 'r 2'],
      mixed: ['a', 1],
      obj: { k: 'v"' },
      realm_access: { roles: ['x', 'y'] },
      'https://example.com/tenant': 't1',
      nul: null,
    }, {
      userClaim: 'sub',
      claimMap: [
        { varName: 'ljwt_claim_email', claimPath: 'email' },
        { varName: 'ljwt_claim_age', claimPath: 'age' },
        { varName: 'ljwt_claim_admin', claimPath: 'admin' },
        { varName: 'ljwt_claim_roles', claimPath: 'roles' },
        { varName: 'ljwt_claim_mixed', claimPath: 'mixed' },
        { varName: 'ljwt_claim_obj', claimPath: 'obj' },
        { varName: 'ljwt_claim_realm', claimPath: 'realm_access.roles' },
        { varName: 'ljwt_claim_tenant', claimPath: 'https://example.com/tenant' },
        { varName: 'ljwt_claim_missing', claimPath: 'nope.deeper' },
        { varName: 'ljwt_claim_nul', claimPath: 'nul' },
      ],
    });
    expect(id.extra).toEqual({
      ljwt_claim_email: 'a%2Bb@example.com',
      ljwt_claim_age: '42',
      ljwt_claim_admin: 'false',
      ljwt_claim_roles: 'r%2C1,r%202',
      ljwt_claim_mixed: '[%22a%22%2C1]',
      ljwt_claim_obj: '{%22k%22:%22v\\%22%22}',
      ljwt_claim_realm: 'x,y',
      ljwt_claim_tenant: 't1',
      ljwt_claim_missing: '',
      ljwt_claim_nul: '',
    });
  });
});

describe('claimAt', () => {
  it('sees only own members', () => {
    expect(claimAt({}, 'constructor')).toBeUndefined();
    expect(claimAt({ a: {} }, 'a.constructor')).toBeUndefined();
    expect(claimAt({ a: {} }, '__proto__')).toBeUndefined();
    expect(claimAt({ a: ['x'] }, 'a.0')).toBeUndefined();
    expect(claimAt({ 'a.b': 1, a: { b: 2 } }, 'a.b')).toBe(1);
    expect(claimAt({ a: { b: { c: 3 } } }, 'a.b.c')).toBe(3);
  });
  it('encodeClaimValue: empty array is no header', () => {
    expect(encodeClaimValue([])).toBe('');
    expect(encodeClaimValue(1.5)).toBe('1.5');
    expect(encodeClaimValue(1e21)).toBe('1e%2B21');
    expect(encodeClaimValue(true)).toBe('true');
  });
});
