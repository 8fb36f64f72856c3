import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64urlDecodeOrNull, base64urlEncode, isBase64url } from '#njs/lib/base64url.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('strict base64url', () => {
  it('round-trips every length 0..80 and agrees with Buffer', () => {
    for (let n = 0; n <= 80; n++) {
      const bytes = randomBytes(n);
      const s = base64urlEncode(bytes);
      expect(s).toBe(bytes.toString('base64url'));
      expect(isBase64url(s)).toBe(true);
      expect(Buffer.from(base64urlDecodeOrNull(s)!)).toEqual(bytes);
    }
  });

  it('accepts exactly the canonical final characters (oracle: re-encoding gives the same string)', () => {
    let canonical = 0;
    for (const prefix of ['A', 'AA', 'AAAAA', 'AAAAAA']) {
      for (const last of ALPHABET) {
        const s = prefix + last;
        const reencoded = Buffer.from(Buffer.from(s, 'base64url')).toString('base64url');
        expect(isBase64url(s), s).toBe(reencoded === s);
        if (reencoded === s) canonical++;
      }
    }
    // length%4==2: 4 of 64 last chars; %4==3: 16 of 64.
    expect(canonical).toBe(4 + 16 + 4 + 16);
  });

  it('rejects padding, the base64 alphabet, whitespace and other characters', () => {
    for (const s of ['AA==', 'AAA=', 'AAAA=', 'A+AA', 'A/AA', 'AA AA', ' AAAA', 'AAAA ', 'AAAA\n', 'AAAA\r\n', 'AA\tAA',
      'AAAA.', 'AAA\u00e9', 'AAA\u0000', '\uff21AAA', 'A', 'AAAAA']) {
      expect(isBase64url(s), JSON.stringify(s)).toBe(false);
      expect(base64urlDecodeOrNull(s)).toBeNull();
    }
  });

  it('rejects a trailing newline at every length (njs PCRE `$` matches before a final newline)', () => {
    for (let n = 0; n < 12; n++) {
      const s = base64urlEncode(randomBytes(n));
      for (const suffix of ['\n', '\r\n', '\nA', '\nAA', '\nAAA']) expect(isBase64url(s + suffix), JSON.stringify(s + suffix)).toBe(false);
    }
  });

  it('accepts the empty string (an empty JWS payload is legal, RFC 7515 §7.1)', () => {
    expect(isBase64url('')).toBe(true);
    expect(base64urlDecodeOrNull('')!.length).toBe(0);
  });

  it('rejects non-strings', () => {
    expect(isBase64url(undefined as unknown as string)).toBe(false);
    expect(isBase64url(42 as unknown as string)).toBe(false);
  });
});
