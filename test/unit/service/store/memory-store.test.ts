import { afterAll, describe, expect, it } from 'vitest';
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
