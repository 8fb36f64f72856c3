// What the validator decides from the token's bytes alone, before any
// configuration is parsed (njs/http/token.ts): whether it can be a compact
// JWS at all, and what Authorization header the upstream gets.
import { describe, expect, it } from 'vitest';
import { extractToken, hasOuterSegments, isCompactJwsShape, upstreamAuthorization } from '#njs/http/token.ts';
import { responseSettings } from '#njs/http/response-settings.ts';

describe('isCompactJwsShape', () => {
  it('accepts three canonical base64url segments with a header and a signature (the payload may be empty)', () => {
    for (const t of ['YQ.YQ.YQ', 'eyJh-w.YWJj.Zz09', 'YWJj..YQ', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln']) expect(isCompactJwsShape(t), t).toBe(true);
  });
  it('refuses anything else, before any decoding', () => {
    for (const t of ['', 'abc', 'YQ.YQ', '.YQ.YQ', 'YQ.YQ.', 'YQ.YQ.YQ.YQ', 'YQ.YQ.YQ=', 'YQ==.YQ.YQ', 'Y+Q.YQ.YQ', 'Y/Q.YQ.YQ',
      'Y Q.YQ.YQ', 'YQ~.YQ.YQ', 'YQ.YQ.YQ\n', '\u00e9YQ.YQ.YQ', 'a.YQ.YQ', 'YQ.YQ.YR', 'YQ.a.YQ']) {
      expect(isCompactJwsShape(t), JSON.stringify(t)).toBe(false);
    }
  });
});

describe('hasOuterSegments', () => {
  it('accepts a header segment and a signature segment around at least one more dot', () => {
    for (const t of ['a.b.c', 'a..c', 'a.b.c.d', 'a.b.c=']) expect(hasOuterSegments(t), t).toBe(true);
  });
  it('refuses a token without three segments, or with an empty header or signature', () => {
    for (const t of ['', 'abc', 'a.b', '.b.c', 'a.b.', '.', '..', 'a.']) expect(hasOuterSegments(t), JSON.stringify(t)).toBe(false);
  });
});

describe('extractToken from the Authorization header', () => {
  const MALFORMED = { error: 'ERR_JWT_MALFORMED' };
  const header = (token: string) => ({ token, source: 'header' });
  // Around the edges of the "Bearer <token>" shortcut: one space, a second
  // space, trailing spaces and tabs, a tab after the scheme, another case.
  const cases: [string, unknown, unknown][] = [
    ['Bearer a.b.c', header('a.b.c'), header('a.b.c')],
    ['Bearer  a.b.c', header('a.b.c'), header('a.b.c')],
    ['Bearer a.b.c ', header('a.b.c'), header('a.b.c')],
    ['Bearer a.b.c\t \t', header('a.b.c'), header('a.b.c')],
    ['  Bearer a.b.c', header('a.b.c'), header('a.b.c')],
    ['bearer a.b.c', header('a.b.c'), header('a.b.c')],
    ['BEARER a.b.c', header('a.b.c'), header('a.b.c')],
    ['Bearer\ta.b.c', MALFORMED, MALFORMED],
    ['Bearer \ta.b.c', MALFORMED, header('\ta.b.c')],
    ['Bearer a b', MALFORMED, header('a b')],
    ['Bearer a.b.c\n', MALFORMED, header('a.b.c\n')],
    ['Bearer a%b.c', MALFORMED, header('a%b.c')],
    ['Bearer abc==', header('abc=='), header('abc==')],
    ['Bearer =abc', MALFORMED, header('=abc')],
    ['Bearer ', MALFORMED, MALFORMED],
    ['Bearer', MALFORMED, MALFORMED],
    ['Bearerx a.b.c', null, null],
    ['Basic YTpi', null, null],
  ];
  it('gives the same token with and without the character check where it is well formed, and never guesses', () => {
    for (const [h, checked, unchecked] of cases) {
      expect(extractToken(h, undefined, null), JSON.stringify(h)).toEqual(checked);
      expect(extractToken(h, undefined, null, false), JSON.stringify(h)).toEqual(unchecked);
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
