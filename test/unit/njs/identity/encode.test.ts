import { describe, expect, it } from 'vitest';
import { decodeHeaderList, decodeHeaderValue, encodeHeaderList, encodeHeaderValue } from '#njs/identity/encode.ts';
import { codePoints, utf8DecodeStrict, utf8Encode } from '#njs/lib/utf8.ts';

describe('encodeHeaderValue', () => {
  it.each([
    ['a\r\nX-Admin: true', 'a%0D%0AX-Admin:%20true'],
    ['nul\u0000', 'nul%00'],
    ['del\u007f', 'del%7F'],
    ['tab\t', 'tab%09'],
    ['é', '%C3%A9'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
    ['😀', '%F0%9F%98%80'],
    ['100%', '100%25'],
    ['a,b', 'a%2Cb'],
    ['a+b', 'a%2Bb'],
    ['say "hi"', 'say%20%22hi%22'],
    ["!#$&'()*-./:;<=>?@[\\]^_`{|}~", "!#$&'()*-./:;<=>?@[\\]^_`{|}~"],
    ['', ''],
  ])('%j -> %s', (input, expected) => {
    expect(encodeHeaderValue(input)).toBe(expected);
    expect(decodeURIComponent(expected)).toBe(input);
  });
  it('encodes lone surrogates as U+FFFD', () => {
    expect(encodeHeaderValue('a\ud800b')).toBe('a%EF%BF%BDb');
    expect(encodeHeaderValue('\udc00')).toBe('%EF%BF%BD');
    expect(encodeHeaderValue('\ud83d')).toBe('%EF%BF%BD');
  });
  it('matches Node UTF-8 for every code point class', () => {
    const s = 'a\u007f\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}';
    expect(utf8Encode(s)).toEqual(Array.prototype.slice.call(Buffer.from(s, 'utf8')));
  });
});

describe('lists', () => {
  it('joins encoded items with a bare comma', () => {
    expect(encodeHeaderList(['cn=a,dc=x', 'cn=b c'])).toBe('cn=a%2Cdc=x,cn=b%20c');
    expect(encodeHeaderList([])).toBe('');
    expect(decodeHeaderList('')).toEqual([]);
    expect(decodeHeaderList('cn=a%2Cdc=x,cn=b%20c')).toEqual(['cn=a,dc=x', 'cn=b c']);
  });
  it('decodes the way the README tells upstreams to', () => {
    const v = encodeHeaderList(['x,y', 'ü+ %']);
    expect(v.split(',').map(decodeURIComponent)).toEqual(['x,y', 'ü+ %']);
  });
});

describe('strict decoding', () => {
  it.each(['%', '%4', '%zz', '%C3', '%C0%AF', '%ED%A0%80', 'é'])('rejects %j', (v) => {
    expect(() => decodeHeaderValue(v)).toThrow();
  });
  it('utf8DecodeStrict rejects out of range code points', () => {
    const d = (b: number[]) => utf8DecodeStrict(new Uint8Array(b));
    expect(d([0xf4, 0x90, 0x80, 0x80])).toBeNull();
    expect(d([0xf5, 0x80, 0x80, 0x80])).toBeNull();
    expect(d([0xe0, 0x80, 0x80])).toBeNull();
    expect(d([0x80])).toBeNull();
    expect(d([0xf0, 0x9f, 0x98, 0x80])).toBe('😀');
  });
  it('codePoints pairs surrogates', () => {
    expect(codePoints('a😀\ud800')).toEqual([0x61, 0x1f600, 0xfffd]);
  });
});

// Deterministic PRNG (mulberry32) so a failure is reproducible.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = ' %,+"\r\n\u0000\u007f\t';

function randomString(r: () => number): string {
  const len = Math.floor(r() * 24);
  let s = '';
  for (let i = 0; i < len; i++) {
    const k = r();
    let cp: number;
    if (k < 0.4) cp = Math.floor(r() * 0x80);
    else if (k < 0.6) cp = SPECIAL.charCodeAt(Math.floor(r() * SPECIAL.length));
    else if (k < 0.75) cp = 0x80 + Math.floor(r() * 0x780);
    else if (k < 0.9) {
      do cp = 0x800 + Math.floor(r() * 0xf800); while (cp >= 0xd800 && cp <= 0xdfff);
    } else cp = 0x10000 + Math.floor(r() * 0x100000);
    s += String.fromCodePoint(cp);
  }
  return s;
}

describe('round-trip property', () => {
  it('decode(encode(x)) === x and output is printable ASCII without space', () => {
    const r = rng(20261123);
    for (let n = 0; n < 3000; n++) {
      const s = randomString(r);
      const e = encodeHeaderValue(s);
      expect(e).toMatch(/^[\x21-\x7e]*$/);
      expect(e).not.toMatch(/[,+"]/);
      expect(decodeHeaderValue(e)).toBe(s);
      expect(decodeURIComponent(e)).toBe(s);
      expect(Buffer.from(utf8Encode(s)).toString('utf8')).toBe(s);
    }
  });
  it('lists round-trip', () => {
    const r = rng(7);
    for (let n = 0; n < 500; n++) {
      const items: string[] = [];
      const k = 1 + Math.floor(r() * 5);
      for (let i = 0; i < k; i++) items.push(randomString(r) + 'x');
      expect(decodeHeaderList(encodeHeaderList(items))).toEqual(items);
    }
  });
});

describe('encodeHeaderValue fast paths agree with the byte-by-byte definition', () => {
  // The file comment's definition, written independently: every UTF-8 byte that is
  // < 0x21, >= 0x7F or one of '"', '%', '+', ',' becomes %XX.
  const reference = (s: string): string => Array.from(Buffer.from(s, 'utf8'), (b) =>
    b <= 0x20 || b >= 0x7f || b === 0x22 || b === 0x25 || b === 0x2b || b === 0x2c
      ? '%' + b.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(b)).join('');
  const alphabet = ['a', 'Z', '0', '=', ' ', ',', '+', '%', '"', '\\', '~', '\t', '\n', '\r', '\x00', '\x7f', 'é', '中',
    '😀', ':', ';', '/', '#', '$', '&', "'", '(', '*', '-', '.'];
  it('on 5,000 random strings over ASCII, delimiters, controls and non-ASCII', () => {
    let seed = 42;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    for (let i = 0; i < 5000; i++) {
      let s = '';
      const len = rnd(40);
      // Half of the strings stay within printable ASCII so the ASCII fast path is exercised too.
      const pool = i % 2 === 0 ? alphabet.slice(0, 11).concat([':', ';', '/', '#', '$', '&', "'", '(', '*', '-', '.'])
        : alphabet;
      for (let j = 0; j < len; j++) s += pool[rnd(pool.length)];
      expect(encodeHeaderValue(s)).toBe(reference(s));
    }
  });
});
