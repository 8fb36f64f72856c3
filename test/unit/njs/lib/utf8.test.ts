import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { utf8DecodeStrict } from '#njs/lib/utf8.ts';

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function oracle(b: Uint8Array): string | null {
  try {
    return fatal.decode(b);
  } catch {
    return null;
  }
}

describe('strict UTF-8 decoder', () => {
  it('decodes valid text of every sequence length', () => {
    const text = 'A\u00e9\u0800\u20ac\uffff\ud800\udc00\ud83d\ude00\udbff\udfff\ufeff{"sub":"\u00fc"}';
    expect(utf8DecodeStrict(Buffer.from(text))).toBe(text);
    expect(utf8DecodeStrict(new Uint8Array(0))).toBe('');
  });

  it('rejects overlongs, surrogates, > U+10FFFF, truncated and stray bytes', () => {
    const bad = [
      [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf],
      [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80],
      [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff], [0xfe],
      [0x80], [0xbf], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0x41, 0xc3], [0xc3, 0x41], [0xe2, 0x41, 0x82],
    ];
    for (const b of bad) {
      expect(oracle(new Uint8Array(b)), b.join(',')).toBeNull();
      expect(utf8DecodeStrict(new Uint8Array(b)), b.join(',')).toBeNull();
    }
  });

  it('agrees with a fatal TextDecoder on 20000 random byte strings', () => {
    const pool = randomBytes(20000 * 6);
    for (let i = 0; i < 20000; i++) {
      const len = pool[i] % 7;
      const b = new Uint8Array(pool.subarray(i * 6, i * 6 + len));
      // Bias towards multi-byte lead/continuation bytes.
      for (let k = 0; k < b.length; k++) if (k % 2 === 1) b[k] = 0x80 | (b[k] & 0x3f);
      expect(utf8DecodeStrict(b)).toBe(oracle(b));
    }
  });

  it('decodes long input (chunked String.fromCharCode)', () => {
    const s = '\u00e9\ud83d\ude00x'.repeat(5000);
    expect(utf8DecodeStrict(Buffer.from(s))).toBe(s);
  });
});
