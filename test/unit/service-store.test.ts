import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../service/src/store/memory-store.ts';
import { storeContract } from '../harness/store-contract.ts';

let clock = Date.now();
const stores: MemoryStore[] = [];
storeContract('memory', async () => {
  const s = new MemoryStore({ now: () => clock });
  stores.push(s);
  return s;
}, async (s) => { clock += s * 1000; });

afterAll(async () => { for (const s of stores) await s.close(); });

describe('MemoryStore bound', () => {
  it('never holds more than maxEntries, dropping those that expire soonest', async () => {
    const s = new MemoryStore({ maxEntries: 100 });
    await s.set('keep', 'v', 3600);
    for (let i = 0; i < 250; i++) await s.set(`k${i}`, 'v', 10 + (i % 5));
    expect(s.size()).toBeLessThanOrEqual(100);
    expect(await s.get('keep')).toBe('v');
    await s.close();
  });
});
