import { MemoryStore } from './memory-store.ts';
import { RedisStore } from './redis-store.ts';
import type { Store } from './store.ts';

/** Redis when a URL is configured (config.redisUrl, which config loading fills from REDIS_URL), else memory. */
export function createStore(redisUrl: string | undefined): Store {
  if (redisUrl !== undefined && redisUrl !== '') return new RedisStore(redisUrl);
  return new MemoryStore();
}
