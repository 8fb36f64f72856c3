import { afterAll, beforeAll } from 'vitest';
import { RedisStore } from '../../../service/src/store/redis-store.ts';
import { startRedis, type RedisHandle } from '../../harness/redis.ts';
import { storeContract } from '../../harness/store-contract.ts';

let redis: RedisHandle;
const stores: RedisStore[] = [];
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => {
  for (const s of stores) await s.close();
  await redis?.stop();
});

storeContract('redis', async () => {
  const s = new RedisStore(redis.url, { prefix: `c${stores.length}:` });
  stores.push(s);
  return s;
}, (s) => new Promise((r) => setTimeout(r, s * 1000)));
