import { MemoryStore } from './memory-store.ts';
import { RedisStore } from './redis-store.ts';
import type { Store } from './store.ts';

/** Redis when a URL is configured (config.redisUrl, which config loading fills from REDIS_URL), else memory. */
export function createStore(redisUrl: string | undefined): Store {
  if (redisUrl !== undefined && redisUrl !== '') return new RedisStore(redisUrl);
  // Evictable: entries whose loss only invalidates something (codes, refresh tokens, browser
  // refresh-loop counters); consumed CSRF nonces, whose loss lets that one form be posted again,
  // and only with the binding cookie of the browser it was issued to and before its expiry
  // (oauth/csrf.ts), kept evictable so that posting forms cannot fill the store and refuse every
  // login; and refresh reuse marks: rtused:<h> is written when
  // rt:<h> is rotated, so with the same TTL it always expires after rt:<h>, and eviction (closest
  // to expiry first) drops the token before its mark; a mark without its token guards nothing.
  // Throttle counters, revocations and code replay marks (thr:, famrev:, jtirev:, codeused:) are
  // never dropped: losing them fails open.
  return new MemoryStore({ evictable: (key) => /^(?:code|rt|rtused|csrf|bffloop|bffloopseen):/.test(key) });
}
