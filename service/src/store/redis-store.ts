import { Redis } from 'ioredis';
import { assertTtl, type Counter, type Store } from './store.ts';

// INCR and EXPIRE in one script so a crash between them can never leave a
// counter without a window (which would throttle a user forever).
const INCR_WINDOW = `
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('TTL', KEYS[1])
if t < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
return {c, t}`;

const DECR_EXISTING = `
local v = redis.call('GET', KEYS[1])
if v and tonumber(v) > 0 then redis.call('DECR', KEYS[1]) end
return 0`;

export interface RedisStoreOptions {
  /** Prefix for every key, so one Redis can serve other applications too. */
  prefix?: string;
  connectTimeoutMs?: number;
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(url: string, options: RedisStoreOptions = {}) {
    this.prefix = options.prefix ?? 'ljwt:';
    this.redis = new Redis(url, {
      connectTimeout: options.connectTimeoutMs ?? 5000,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
      lazyConnect: false,
    });
    // ioredis emits 'error' on connection problems; without a listener Node would crash.
    // Request-level failures still reject, and /readyz reports the store as unreachable.
    this.redis.on('error', () => {});
    this.redis.defineCommand('ljwtIncrWindow', { numberOfKeys: 1, lua: INCR_WINDOW });
    this.redis.defineCommand('ljwtDecrExisting', { numberOfKeys: 1, lua: DECR_EXISTING });
  }

  private k(key: string): string {
    return this.prefix + key;
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    const r = await this.redis.set(this.k(key), value, 'EX', assertTtl(ttlSeconds), 'NX');
    return r === 'OK';
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.k(key), value, 'EX', assertTtl(ttlSeconds));
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.k(key));
  }

  async getDel(key: string): Promise<string | null> {
    // GETDEL (Redis >= 6.2) is atomic: two instances can never both receive a code.
    return this.redis.getdel(this.k(key));
  }

  async del(key: string): Promise<void> {
    await this.redis.del(this.k(key));
  }

  async incr(key: string, windowSeconds: number): Promise<Counter> {
    const cmd = (this.redis as unknown as { ljwtIncrWindow(k: string, ttl: number): Promise<[number, number]> });
    const [count, ttl] = await cmd.ljwtIncrWindow(this.k(key), assertTtl(windowSeconds));
    return { count: Number(count), ttlSeconds: Math.max(1, Number(ttl)) };
  }

  async decr(key: string): Promise<void> {
    const cmd = (this.redis as unknown as { ljwtDecrExisting(k: string): Promise<number> });
    await cmd.ljwtDecrExisting(this.k(key));
  }

  async ttl(key: string): Promise<number | null> {
    const t = await this.redis.ttl(this.k(key));
    return t < 0 ? null : Math.max(1, t);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
