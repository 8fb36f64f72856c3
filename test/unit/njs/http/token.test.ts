import { describe, expect, it } from 'vitest';
import { cookiesWithoutToken, extractToken, isTokenCookieName, parseCookies } from '#njs/http/token.ts';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';
const M = { error: 'ERR_JWT_MALFORMED' };

describe('Authorization: Bearer (RFC 6750 §2.1)', () => {
  it.each([
    ['Bearer ' + JWT, JWT],
    ['bearer ' + JWT, JWT],
    ['BEARER   ' + JWT, JWT],
    ['Bearer ' + JWT + '  ', JWT],
    ['Bearer abc~+/-._==', 'abc~+/-._=='],
  ])('accepts %j', (h, token) => {
    expect(extractToken(h, undefined, null)).toEqual({ token, source: 'header' });
  });
  it.each([
    'Bearer',
    'Bearer ',
    'Bearer\t' + JWT,
    'Bearer ' + JWT + ' ' + JWT,
    'Bearer ' + JWT + ',Bearer x',
    'Bearer a=b',
    'Bearer "' + JWT + '"',
    'Bearer ' + JWT + '\u00e9',
    'Bearer ==',
  ])('malformed %j', (h) => {
    expect(extractToken(h, undefined, null)).toEqual(M);
    // A broken Bearer header is not silently replaced by the cookie.
    expect(extractToken(h, 'at=' + JWT, 'at')).toEqual(M);
  });
  it('other schemes are no token, and fall through to the cookie', () => {
    expect(extractToken('Basic dXNlcjpwYXNz', undefined, null)).toBeNull();
    expect(extractToken('Basic dXNlcjpwYXNz', 'at=' + JWT, 'at')).toEqual({ token: JWT, source: 'cookie' });
    expect(extractToken('BearerX ' + JWT, undefined, null)).toBeNull();
    expect(extractToken('', undefined, null)).toBeNull();
    expect(extractToken(undefined, undefined, null)).toBeNull();
  });
  it('header wins over cookie', () => {
    expect(extractToken('Bearer abc', 'at=' + JWT, 'at')).toEqual({ token: 'abc', source: 'header' });
  });
});

describe('cookies (RFC 6265)', () => {
  it('parses a cookie-string', () => {
    expect(parseCookies('a=1; b="2";c=3 ;noeq; =x; a=4')).toEqual({ a: ['1', '4'], b: ['2'], c: ['3'] });
  });
  it('reads the named cookie', () => {
    expect(extractToken(undefined, 'x=1; at=' + JWT + '; y=2', 'at')).toEqual({ token: JWT, source: 'cookie' });
    expect(extractToken(undefined, 'at="' + JWT + '"', 'at')).toEqual({ token: JWT, source: 'cookie' });
    expect(extractToken(undefined, 'AT=' + JWT, 'at')).toBeNull();
    expect(extractToken(undefined, 'at=' + JWT, null)).toBeNull();
    expect(extractToken(undefined, 'other=' + JWT, 'at')).toBeNull();
    expect(extractToken(undefined, 'at=', 'at')).toBeNull();
  });
  it('duplicate cookie names are malformed (cookie tossing)', () => {
    expect(extractToken(undefined, 'at=' + JWT + '; at=' + JWT, 'at')).toEqual(M);
    expect(extractToken(undefined, 'at=a.b.c; x=1; at=d.e.f', 'at')).toEqual(M);
  });
  it('a cookie value outside b64token is malformed', () => {
    expect(extractToken(undefined, 'at=a b', 'at')).toEqual(M);
    expect(extractToken(undefined, 'at=a%2Eb', 'at')).toEqual(M);
  });
  describe('split cookies', () => {
    const parts = [JWT.slice(0, 10), JWT.slice(10, 25), JWT.slice(25)];
    it('concatenates <name>.0, .1, ... in index order', () => {
      const h = 'at.2=' + parts[2] + '; at.0=' + parts[0] + '; at.1=' + parts[1];
      expect(extractToken(undefined, h, 'at')).toEqual({ token: JWT, source: 'cookie' });
    });
    it('the unsplit cookie next to chunks is malformed (one form was planted)', () => {
      expect(extractToken(undefined, 'at.0=zzz; at=' + JWT, 'at')).toEqual(M);
    });
    it('accepts 8 chunks and refuses a 9th', () => {
      const eight = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => 'at.' + i + '=p' + i).join('; ');
      expect(extractToken(undefined, eight, 'at')).toEqual({ token: 'p0p1p2p3p4p5p6p7', source: 'cookie' });
      expect(extractToken(undefined, eight + '; at.8=p8', 'at')).toEqual(M);
    });
    it.each([
      ['at.0=a; at.2=c', 'gap'],
      ['at.1=b', 'no chunk 0'],
      ['at.0=a; at.1=b; at.1=b', 'duplicate chunk'],
      ['at.0=a; at.1=', 'empty chunk'],
      ['at.0=a; at.1=b c', 'bad characters'],
    ])('%j is malformed (%s)', (h) => {
      expect(extractToken(undefined, h, 'at')).toEqual(M);
    });
    it('ignores unrelated names that look similar', () => {
      expect(extractToken(undefined, 'at.0=a; at.01=x; at.x=y; att.1=z', 'at')).toEqual({ token: 'a', source: 'cookie' });
    });
  });
});

describe('the Cookie header for the upstream (token cookies removed)', () => {
  it.each([
    ['a=1; at=' + JWT + '; b=2', 'a=1; b=2'],
    ['at=' + JWT + '; b=2', 'b=2'],
    ['a=1; at=' + JWT, 'a=1'],
    ['at=' + JWT, ''],
    ['at.0=x; a=1; at.1=y; at.2=z', 'a=1'],
    // Chunk names extractToken would refuse are removed too, and nothing else.
    ['at.8=x; at.01=y; at.x=1; att.1=2; at.=3; AT=4; xat=5; at.0.1=6', 'at.x=1; att.1=2; at.=3; AT=4; xat=5; at.0.1=6'],
    // Duplicates (cookie tossing), quoted and emptied values, spaces and tabs around names.
    ['at=a; at="b"; c=3;  at =; \tat.1\t=v', 'c=3'],
    // Other pairs keep their bytes: quotes, '=' inside values, UTF-8, nameless values.
    ['q="x y"; at=' + JWT + '; e=a=b==; u=caf\u00e9; nameless; ', 'q="x y"; e=a=b==; u=caf\u00e9; nameless'],
    // $http_cookie of two Cookie lines ("; "-joined by nginx).
    ['a=1;b=2; at=' + JWT + '; c=3', 'a=1; b=2; c=3'],
  ])('%j -> %j', (h, want) => {
    expect(cookiesWithoutToken(h, 'at')).toBe(want);
    // Nothing the validator could read a token from survives.
    expect(extractToken(undefined, cookiesWithoutToken(h, 'at'), 'at')).toBeNull();
  });
  it('a header without token cookies is returned byte for byte', () => {
    for (const h of ['a=1;b=2', 'a=1; b=2; ', ' x = y ;;z', 'att=1; at.x=2', 'nameless']) {
      expect(cookiesWithoutToken(h, 'at')).toBe(h);
    }
  });
  it('cookie names with regex metacharacters are compared literally', () => {
    expect(cookiesWithoutToken('a.b=1; aXb=2; a.b.0=3', 'a.b')).toBe('aXb=2');
    expect(isTokenCookieName('__Host-at.3', '__Host-at')).toBe(true);
    expect(isTokenCookieName('__Host-at.', '__Host-at')).toBe(false);
    expect(isTokenCookieName('__host-at', '__Host-at')).toBe(false);
  });
});
