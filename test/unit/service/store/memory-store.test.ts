import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { Csrf } from '../../../../service/src/oauth/csrf.ts';
import { RefreshTokens } from '../../../../service/src/oauth/refresh-tokens.ts';
import type { Revocations } from '../../../../service/src/oauth/revocation.ts';
import { MemoryStore } from '../../../../service/src/store/memory-store.ts';
import { storeContract } from '../../../harness/store-contract.ts';

let clock = Date.now();
const stores: MemoryStore[] = [];
storeContract('memory', async () => {
  const s = new MemoryStore({ now: () => clock });
  stores.push(s);
  return s;
}, async (s) => { clock += s * 1000; });

afterAll(async () => { for (const s of stores) await s.close(); });

describe('MemoryStore bound', () => {
  it('at scale, drops a tenth of the evictable entries, those closest to expiry, without sorting them all', async () => {
    const s = new MemoryStore({ maxEntries: 10_000, evictable: (k) => k.startsWith('rt:'), now: () => 0 });
    await s.incr('thr:ip:x', 300);
    // TTLs 1..9999 s in a scrambled order; one protected entry expires first of all.
    for (let i = 0; i < 9_999; i++) await s.set(`rt:${(i * 7919) % 9_999 + 1}`, '{}', (i * 7919) % 9_999 + 1);
    await s.set('rt:new', '{}', 5000);
    expect(s.size()).toBe(9_001);
    expect((await s.incr('thr:ip:x', 300)).count).toBe(2);
    // The 1,000 dropped are those with the shortest TTLs (to within one histogram bucket, ~10 s here).
    for (const ttl of [1, 500, 980]) expect(await s.get(`rt:${ttl}`)).toBeNull();
    for (const ttl of [1020, 5000, 9999]) expect(await s.get(`rt:${ttl}`)).toBe('{}');
    expect(await s.get('rt:new')).toBe('{}');
    await s.close();
  });

  it('never holds more than maxEntries and, when full, refuses new keys instead of evicting live ones', async () => {
    let now = Date.now();
    const s = new MemoryStore({ maxEntries: 100, now: () => now });
    await s.incr('thr:u:victim', 300);
    await s.incr('thr:u:victim', 300);
    await s.set('famrev:f', '1', 3600);
    let refused = 0;
    for (let i = 0; i < 250; i++) {
      try {
        await s.set(`k${i}`, 'v', 10 + (i % 5));
      } catch {
        refused++;
      }
    }
    expect(s.size()).toBe(100);
    expect(refused).toBe(152);
    // Nothing live was dropped: the counter and the revocation survive the flood.
    expect((await s.incr('thr:u:victim', 300)).count).toBe(3);
    expect(await s.get('famrev:f')).toBe('1');
    // Existing keys can still be written while full; expired entries make room again.
    await s.set('k0', 'w', 10);
    expect(await s.get('k0')).toBe('w');
    now += 20_000;
    await s.set('new', 'v', 10);
    expect(await s.get('new')).toBe('v');
    await s.close();
  });

  it('when full, drops only evictable entries (those closest to expiry first), then refuses', async () => {
    const s = new MemoryStore({ maxEntries: 20, evictable: (k) => k.startsWith('rt:') });
    await s.incr('thr:u:victim', 300);
    await s.set('rtused:x', '{}', 60);
    await s.set('rt:long', '{}', 7200);
    for (let i = 0; i < 17; i++) await s.set(`rt:${i}`, '{}', 100 + i);
    for (let i = 0; i < 30; i++) await s.set(`rt:new${i}`, '{}', 3600);
    expect(s.size()).toBeLessThanOrEqual(20);
    expect((await s.incr('thr:u:victim', 300)).count).toBe(2);
    expect(await s.get('rtused:x')).toBe('{}');
    expect(await s.get('rt:long')).toBe('{}');
    expect(await s.get('rt:0')).toBeNull();
    // Only protected entries left to drop: refused.
    const full = new MemoryStore({ maxEntries: 3, evictable: (k) => k.startsWith('rt:') });
    for (let i = 0; i < 3; i++) await full.incr(`thr:ip:${i}`, 300);
    await expect(full.set('rt:a', '{}', 60)).rejects.toThrow(/full/);
    await s.close();
    await full.close();
  });
});

describe('MemoryStore sweep', () => {
  it('frees an entry from the millisecond it expires, not before', async () => {
    let now = 0;
    const s = new MemoryStore({ maxEntries: 2, now: () => now });
    await s.set('a', '1', 1);
    await s.set('b', '1', 5);
    now = 999;
    await expect(s.set('c', '1', 5)).rejects.toThrow(/full/);
    now = 1000;
    await s.set('c', '1', 5);
    expect(s.size()).toBe(2);
    expect(await s.get('b')).toBe('1');
    await s.close();
  });
});

describe('MemoryStore expiry range', () => {
  it('refuses a write whose expiry it cannot represent and keeps what the key held', async () => {
    let now = 0;
    const s = new MemoryStore({ now: () => now });
    await s.set('k', 'old', 60);
    now = 36 ** 9;
    await expect(s.set('k', 'new', 60)).rejects.toBeInstanceOf(RangeError);
    now = 0;
    expect(await s.get('k')).toBe('old');
    await s.close();
  });
});

describe('MemoryStore entry size', () => {
  // A full collection on demand, for heap figures that hold only live objects.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  /** Live heap bytes per entry after `fill` stored `n` entries. */
  async function bytesPerEntry(n: number, fill: (s: MemoryStore, i: number) => Promise<unknown>): Promise<number> {
    const s = new MemoryStore({ maxEntries: 2 * n });
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) await fill(s, i);
    gc();
    const bytes = (process.memoryUsage().heapUsed - before) / s.size();
    await s.close();
    return bytes;
  }

  it('keeps a consumed CSRF nonce in under 200 bytes: the key does not hold on to the form token it was cut from', async () => {
    const csrf = (s: MemoryStore) => new Csrf(Buffer.alloc(32, 7), s, 900);
    const scratch = new MemoryStore();
    const binding = csrf(scratch).newBinding();
    await scratch.close();
    const bytes = await bytesPerEntry(20_000, async (s) => {
      const c = csrf(s);
      // As authorizePost gets it: the token out of a decoded form body, the nonce out of the token.
      const token = new URLSearchParams(`csrf_token=${c.issue(binding, 1000)}&username=alice`).get('csrf_token')!;
      expect(await c.consume(c.check(binding, token, 1000)!, 1000)).toBe(true);
    });
    expect(bytes).toBeLessThan(200);
  });

  it('keeps an entry in one string with its expiry: a hashed key and a short value in under 125 bytes', async () => {
    const bytes = await bytesPerEntry(20_000, (s, i) => s.set(`thr:u:${createHash('sha256').update(String(i)).digest('base64url')}`, '1', 60));
    expect(bytes).toBeLessThan(125);
  });

  it('keeps a refresh token in under 500 bytes: its record is stored flat, not as the pieces JSON.stringify built it from', async () => {
    const revocations = { revokeFamily: async () => undefined, isFamilyRevoked: async () => false } as unknown as Revocations;
    const bytes = await bytesPerEntry(20_000, (s, i) => new RefreshTokens(s, 28_800, 10_000, revocations, () => 1_796_399_419).issue({
      clientId: 'web',
      subject: { username: `u${i}`, objectId: '218fe080-8446-1041-93c1-2f8c1e1e1e1e', dn: `uid=u${i},ou=people,dc=example,dc=com`, directory: 'ldap://127.0.0.1:389', displayName: `User ${i}`, email: `u${i}@example.com` },
      scope: ['openid', 'api'],
      authTime: 1_796_399_419,
      familyId: `family-${i}-of-a-refresh-token-0123456789abcd`,
    }));
    expect(bytes).toBeLessThan(500);
  });
});
