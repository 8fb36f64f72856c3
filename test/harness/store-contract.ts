// The one contract both Store backends must pass (memory in test/unit, Redis in test/integration).
import { describe, expect, it } from 'vitest';
import type { Store } from '../../service/src/store/store.ts';

export function storeContract(name: string, make: () => Promise<Store>, waitSeconds: (s: number) => Promise<void>): void {
  describe(`Store contract: ${name}`, () => {
    const uniq = () => `t:${Math.random().toString(36).slice(2)}`;

    it('set/get/del', async () => {
      const s = await make();
      const k = uniq();
      expect(await s.get(k)).toBeNull();
      await s.set(k, 'v1', 60);
      expect(await s.get(k)).toBe('v1');
      await s.set(k, 'v2', 60);
      expect(await s.get(k)).toBe('v2');
      await s.del(k);
      expect(await s.get(k)).toBeNull();
    });

    it('setIfAbsent stores only once', async () => {
      const s = await make();
      const k = uniq();
      expect(await s.setIfAbsent(k, 'a', 60)).toBe(true);
      expect(await s.setIfAbsent(k, 'b', 60)).toBe(false);
      expect(await s.get(k)).toBe('a');
    });

    it('concurrent setIfAbsent: exactly one winner', async () => {
      const s = await make();
      const k = uniq();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.setIfAbsent(k, String(i), 60)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('getDel hands a value out exactly once, also under concurrency', async () => {
      const s = await make();
      const k = uniq();
      await s.set(k, 'code', 60);
      const results = await Promise.all(Array.from({ length: 20 }, () => s.getDel(k)));
      expect(results.filter((r) => r === 'code')).toHaveLength(1);
      expect(await s.get(k)).toBeNull();
      expect(await s.getDel(k)).toBeNull();
    });

    it('incr counts within a window and reports its remaining time', async () => {
      const s = await make();
      const k = uniq();
      const a = await s.incr(k, 30);
      expect(a.count).toBe(1);
      expect(a.ttlSeconds).toBeGreaterThan(0);
      expect(a.ttlSeconds).toBeLessThanOrEqual(30);
      const counts = await Promise.all(Array.from({ length: 10 }, () => s.incr(k, 30)));
      expect(counts.map((c) => c.count).sort((x, y) => x - y)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      await s.decr(k);
      expect(await s.get(k)).toBe('10');
      const t = await s.ttl(k);
      expect(t).not.toBeNull();
      expect(t!).toBeLessThanOrEqual(30);
    });

    it('decr never creates a key nor goes below zero', async () => {
      const s = await make();
      const k = uniq();
      await s.decr(k);
      expect(await s.get(k)).toBeNull();
      await s.incr(k, 30);
      await s.decr(k);
      await s.decr(k);
      expect(await s.get(k)).toBe('0');
    });

    it('values expire after their TTL; the incr window restarts', async () => {
      const s = await make();
      const k = uniq();
      const c = uniq();
      await s.set(k, 'x', 1);
      await s.incr(c, 1);
      await s.incr(c, 1);
      expect(await s.ttl(k)).toBe(1);
      await waitSeconds(2.1);
      expect(await s.get(k)).toBeNull();
      expect(await s.ttl(k)).toBeNull();
      expect(await s.getDel(k)).toBeNull();
      expect(await s.setIfAbsent(k, 'y', 60)).toBe(true);
      expect((await s.incr(c, 1)).count).toBe(1);
    });

    it('rejects a non-positive TTL instead of storing forever', async () => {
      const s = await make();
      await expect(s.set(uniq(), 'x', 0)).rejects.toThrow(RangeError);
      await expect(s.setIfAbsent(uniq(), 'x', -1)).rejects.toThrow(RangeError);
    });

    it('stores arbitrary UTF-8 and JSON text unchanged', async () => {
      const s = await make();
      const k = uniq();
      const v = JSON.stringify({ dn: 'cn=Smith\\, John,ou=people', u: 'ünïcødé ✓', n: 1 });
      await s.set(k, v, 60);
      expect(await s.get(k)).toBe(v);
    });

    it('ping reports reachability', async () => {
      const s = await make();
      expect(await s.ping()).toBe(true);
    });
  });
}
