// What the validator decides from the token's bytes alone, before any
// configuration is parsed (njs/http/token.ts): whether it can be a compact
// JWS at all, and what Authorization header the upstream gets.
import { describe, expect, it } from 'vitest';
import { extractToken, isCompactJwsShape, upstreamAuthorization } from '#njs/http/token.ts';
import { responseSettings } from '#njs/http/response-settings.ts';

describe('isCompactJwsShape', () => {
  it('accepts three base64url segments with a header and a signature (the payload may be empty)', () => {
    for (const t of ['a.b.c', 'eyJh-_.x.Zz09', 'a..c']) expect(isCompactJwsShape(t), t).toBe(true);
  });
  it('refuses anything else, before any decoding', () => {
    for (const t of ['', 'abc', 'a.b', '.b.c', 'a.b.', 'a.b.c.d', 'a.b.c=', 'a+b.c.d', 'a/b.c.d', 'a b.c.d', 'a~.b.c',
      'a.b.c\n', '\u00e9.b.c']) {
      expect(isCompactJwsShape(t), JSON.stringify(t)).toBe(false);
    }
  });
});

describe('extractToken without the character check', () => {
  it('returns the same token as the checked form for a well-formed header', () => {
    expect(extractToken('Bearer a.b.c', undefined, null, false)).toEqual(extractToken('Bearer a.b.c', undefined, null));
  });
  it('leaves characters to isCompactJwsShape, never turning a malformed header into a missing one', () => {
    expect(extractToken('Bearer a b', undefined, null, false)).toEqual({ token: 'a b', source: 'header' });
    expect(extractToken('Bearer', undefined, null, false)).toEqual({ error: 'ERR_JWT_MALFORMED' });
  });
});

describe('upstreamAuthorization', () => {
  it('removes a bearer header unless the location passes it on', () => {
    expect(upstreamAuthorization('Bearer a.b.c', false)).toBe('');
    expect(upstreamAuthorization('bearer   a.b.c', false)).toBe('');
    expect(upstreamAuthorization('Bearer a.b.c', true)).toBe('Bearer a.b.c');
  });
  it('passes another scheme unchanged and sends nothing when there was nothing', () => {
    expect(upstreamAuthorization('Basic YTpi', false)).toBe('Basic YTpi');
    expect(upstreamAuthorization(undefined, false)).toBe('');
  });
});

describe('responseSettings', () => {
  it('fills the defaults and keeps valid values', () => {
    expect(responseSettings('', undefined, '')).toEqual({ realm: 'nginx-ldap-jwt', loginUrl: null, returnParam: 'rd' });
    expect(responseSettings(' r ', 'https://login.test/x?a=1', 'next'))
      .toEqual({ realm: 'r', loginUrl: 'https://login.test/x?a=1', returnParam: 'next' });
  });
  it('gives up (null) on any value the configuration parse would refuse', () => {
    for (const bad of [['a"b', '', ''], ['', '//evil.test/', ''], ['', 'javascript:x', ''], ['', '', 'a b'], ['a\u0001', '', '']]) {
      expect(responseSettings(bad[0], bad[1], bad[2]), JSON.stringify(bad)).toBeNull();
    }
  });
});
