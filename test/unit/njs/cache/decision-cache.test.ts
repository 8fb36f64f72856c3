// The verified-token cache core (njs/cache/): when a verdict may be reused,
// for how long, and that anything unexpected in the store is a miss.
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry, entryExpiry, MAX_CACHE_AGE_SECONDS, type Decision } from '#njs/cache/decision-entry.ts';
import { createMemoryCache } from '#njs/cache/memory-cache.ts';

const NOW = 1_800_000_000;

describe('entryExpiry', () => {
  it('never outlives exp + leeway (the moment validation would refuse the token)', () => {
    expect(entryExpiry({ exp: NOW + 10 }, NOW, 30, 60)).toBe(NOW + 40);
    expect(entryExpiry({ exp: NOW + 10 }, NOW, 0, 60)).toBe(NOW + 10);
  });
  it('never outlives the configured cap, nor the hard cap', () => {
    expect(entryExpiry({ exp: NOW + 7200 }, NOW, 30, 60)).toBe(NOW + 60);
    expect(entryExpiry({ exp: NOW + 999999 }, NOW, 0, 999999)).toBe(NOW + MAX_CACHE_AGE_SECONDS);
  });
  it('does not cache when the cache is off, exp is missing or not a number, or the token is already expired', () => {
    expect(entryExpiry({ exp: NOW + 100 }, NOW, 0, 0)).toBeNull();
    expect(entryExpiry({}, NOW, 30, 60)).toBeNull();
    expect(entryExpiry({ exp: String(NOW + 100) }, NOW, 30, 60)).toBeNull();
    expect(entryExpiry({ exp: NOW - 5 }, NOW, 0, 60)).toBeNull();
  });
});

describe('encodeEntry / decodeEntry', () => {
  const d: Decision = { user: 'alice', groupDns: 'cn%3Da,dc%3Dx', oids: '1,2', extra: { ljwt_claim_email: 'a%40x' },
    revocationKeys: ['sid:s1', 'jti:j1'] };
  const seen = { stamps: '/k.jwks@12:100:1.5:1.5 ', checkedAt: NOW - 3 };
  it('round-trips the decision and the key files it was reached with until the entry expires', () => {
    const text = encodeEntry(NOW + 60, d, seen);
    expect(decodeEntry(text, NOW)).toEqual({ decision: d, expiresAt: NOW + 60, keyFiles: seen });
    expect(decodeEntry(text, NOW + 59.9)?.decision).toEqual(d);
    expect(decodeEntry(text, NOW + 60)).toBeNull();
  });
  it('treats anything it did not write as a miss', () => {
    const later = String(NOW + 60) + '\n' + String(NOW) + '\n\n';
    for (const bad of [undefined, null, 42, '', '\n[]', 'abc\n1\n\n["a","","",{},[]]', later + 'not json', later + '[1]',
      later + 'null', later + '{}', later + '["","","",{},[]]', later + '["a","","",{"x":1},[]]', later + '["a","","",{},[1]]',
      later + '["a","","",[],[]]', later + '["a","","",{},[],"extra"]', String(NOW + 60) + '\nsoon\n\n["a","","",{},[]]',
      String(NOW + 60) + '\n["a","","",{},[]]']) {
      expect(decodeEntry(bad, NOW)).toBeNull();
    }
    expect(decodeEntry(later + '["a","","",{},[]]', NOW)).not.toBeNull();
  });
  it('refuses an entry that would last longer than the hard cap (never written by entryExpiry)', () => {
    expect(decodeEntry(encodeEntry(NOW + MAX_CACHE_AGE_SECONDS + 1, d, seen), NOW)).toBeNull();
    expect(decodeEntry(encodeEntry(NOW + MAX_CACHE_AGE_SECONDS, d, seen), NOW)?.decision).toEqual(d);
  });
});

describe('createMemoryCache', () => {
  it('returns values until they expire', () => {
    const c = createMemoryCache(10, 10_000);
    c.set('k', 'v', NOW + 5);
    expect(c.get('k', NOW)).toBe('v');
    expect(c.get('k', NOW + 5)).toBeNull();
    expect(c.size()).toBe(0);
  });
  it('is bounded by entries, dropping the oldest first', () => {
    const c = createMemoryCache(3, 10_000);
    for (let i = 0; i < 5; i++) c.set('k' + i, 'v' + i, NOW + 100);
    expect(c.size()).toBe(3);
    expect(c.get('k0', NOW)).toBeNull();
    expect(c.get('k1', NOW)).toBeNull();
    expect(c.get('k4', NOW)).toBe('v4');
  });
  it('is bounded by bytes and ignores a value larger than the bound', () => {
    const c = createMemoryCache(100, 50);
    c.set('a', 'x'.repeat(20), NOW + 100);
    c.set('b', 'x'.repeat(20), NOW + 100);
    c.set('c', 'x'.repeat(20), NOW + 100);
    expect(c.get('a', NOW)).toBeNull();
    expect(c.get('c', NOW)).not.toBeNull();
    c.set('huge', 'x'.repeat(100), NOW + 100);
    expect(c.get('huge', NOW)).toBeNull();
  });
  it('counts a key set again as new: it outlives entries set after its first insertion', () => {
    const c = createMemoryCache(3, 10_000);
    c.set('a', '1', NOW + 100);
    c.set('b', '2', NOW + 100);
    c.set('c', '3', NOW + 100);
    c.set('a', '1bis', NOW + 100);
    c.set('d', '4', NOW + 100);
    expect(c.get('b', NOW)).toBeNull();
    expect(c.get('a', NOW)).toBe('1bis');
    expect(c.get('c', NOW)).toBe('3');
    expect(c.get('d', NOW)).toBe('4');
  });
  it('keeps its bookkeeping bounded when the same keys are set again and again', () => {
    const c = createMemoryCache(4, 100_000);
    for (let i = 0; i < 10_000; i++) c.set('k' + (i % 4), 'v' + i, NOW + 100);
    expect(c.size()).toBe(4);
    expect(c.get('k3', NOW)).toBe('v9999');
  });
});
