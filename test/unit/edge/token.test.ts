import { describe, expect, it } from 'vitest';
import { extractToken, parseCookies } from '../../../njs/http/token.ts';

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
