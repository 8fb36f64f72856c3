import { describe, expect, it } from 'vitest';
import { emptyPolicy, evaluatePolicy, tokenScopes, type LocationPolicy } from '#njs/authz/policy.ts';
import { normalizeDn } from '#njs/authz/dn.ts';

function policy(p: Partial<LocationPolicy>): LocationPolicy {
  return Object.assign(emptyPolicy(), p);
}
const admins = normalizeDn('cn=Admins,ou=Groups,dc=example,dc=com');
const ops = normalizeDn('cn=Ops (EU),ou=Groups,dc=example,dc=com');
const user = {
  sub: 'u',
  dns: ['CN=admins, OU=groups,DC=Example,DC=com', 'cn=ops \\28EU\\29,ou=groups,dc=example,dc=com', 'not a dn;'],
};

describe('evaluatePolicy', () => {
  it('empty policy admits any authenticated user', () => {
    expect(evaluatePolicy(emptyPolicy(), {})).toEqual({ allowed: true });
  });
  it('any-of groups with DN semantics', () => {
    const other = normalizeDn('cn=other,dc=example,dc=com');
    expect(evaluatePolicy(policy({ anyGroups: [other, admins] }), user)).toEqual({ allowed: true });
    const r = evaluatePolicy(policy({ anyGroups: [other] }), user);
    expect(r.allowed).toBe(false);
    if (!r.allowed) expect(r.reason).toBe('group');
  });
  it('all-of groups', () => {
    expect(evaluatePolicy(policy({ allGroups: [admins, ops] }), user)).toEqual({ allowed: true });
    const r = evaluatePolicy(policy({ allGroups: [admins, normalizeDn('cn=x,dc=y')] }), user);
    expect(r).toEqual({ allowed: false, reason: 'group', detail: 'not a member of: cn=x,dc=y' });
  });
  it.each([
    [{}],
    [{ dns: 'cn=Admins,ou=Groups,dc=example,dc=com' }],
    [{ dns: [{ dn: 'cn=Admins,ou=Groups,dc=example,dc=com' }] }],
    [{ dns: ['cn=Admins,ou=Groups,dc=example,dc=com,'] }],
    [{ groups: ['cn=Admins,ou=Groups,dc=example,dc=com'] }],
  ])('no groups from %j', (claims) => {
    expect(evaluatePolicy(policy({ anyGroups: [admins] }), claims).allowed).toBe(false);
  });
  it('scope string (RFC 8693 §4.2) and scp array', () => {
    const p = policy({ scopes: ['read', 'write'] });
    expect(evaluatePolicy(p, { scope: 'openid read  write' })).toEqual({ allowed: true });
    expect(evaluatePolicy(p, { scp: ['write', 'read'] })).toEqual({ allowed: true });
    expect(evaluatePolicy(p, { scp: 'read write' })).toEqual({ allowed: true });
    expect(evaluatePolicy(p, { scope: 'read' })).toEqual({ allowed: false, reason: 'scope', detail: 'missing scope: write' });
    expect(evaluatePolicy(p, { scope: 'read', scp: ['write'] }).allowed).toBe(false);
    expect(evaluatePolicy(p, { scope: ['read', 'write'] }).allowed).toBe(true);
    expect(evaluatePolicy(p, { scope: 'readwrite' }).allowed).toBe(false);
    expect(evaluatePolicy(p, { scope: 5 }).allowed).toBe(false);
    expect(tokenScopes({ scp: ['a', 1, 'b'] })).toEqual(['a', 'b']);
  });
  it('claim values', () => {
    const p = policy({ claims: [{ name: 'tenant', value: 'acme' }, { name: 'mfa', value: 'true' }, { name: 'level', value: '3' }] });
    expect(evaluatePolicy(p, { tenant: 'acme', mfa: true, level: 3 })).toEqual({ allowed: true });
    expect(evaluatePolicy(p, { tenant: ['x', 'acme'], mfa: 'true', level: '3' })).toEqual({ allowed: true });
    expect(evaluatePolicy(p, { tenant: 'Acme', mfa: true, level: 3 }).allowed).toBe(false);
    expect(evaluatePolicy(p, { tenant: 'acme', mfa: 1, level: 3 }).allowed).toBe(false);
    expect(evaluatePolicy(p, { tenant: 'acme', mfa: true, level: 3.0001 }).allowed).toBe(false);
    expect(evaluatePolicy(p, { tenant: { v: 'acme' }, mfa: true, level: 3 })).toEqual({
      allowed: false, reason: 'claim', detail: 'claim tenant is not acme',
    });
    expect(evaluatePolicy(p, { mfa: true, level: 3 }).allowed).toBe(false);
    expect(evaluatePolicy(p, { tenant: [['acme']], mfa: true, level: 3 }).allowed).toBe(false);
  });
  it('nested claim path in a claim rule', () => {
    const p = policy({ claims: [{ name: 'realm_access.roles', value: 'admin' }] });
    expect(evaluatePolicy(p, { realm_access: { roles: ['user', 'admin'] } }).allowed).toBe(true);
    expect(evaluatePolicy(p, { realm_access: { roles: ['user'] } }).allowed).toBe(false);
  });
  it('checks groups, then scopes, then claims', () => {
    const p = policy({ anyGroups: [admins], scopes: ['s'], claims: [{ name: 'c', value: 'v' }] });
    expect(evaluatePolicy(p, {}).allowed === false && (evaluatePolicy(p, {}) as { reason: string }).reason).toBe('group');
    expect((evaluatePolicy(p, user) as { reason: string }).reason).toBe('scope');
    expect((evaluatePolicy(p, Object.assign({ scope: 's' }, user)) as { reason: string }).reason).toBe('claim');
    expect(evaluatePolicy(p, Object.assign({ scope: 's', c: 'v' }, user))).toEqual({ allowed: true });
  });
});
