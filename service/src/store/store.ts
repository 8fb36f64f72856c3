// The one storage contract for everything that must be shared between service
// instances: authorization codes, refresh tokens, revocations, CSRF nonces and
// throttling counters. Values are opaque strings; keys are namespaced by callers.
// Every operation that decides a security outcome is atomic in both backends.

export interface Counter {
  /** Value after the increment. */
  count: number;
  /** Seconds until the window (started by the first increment) ends. */
  ttlSeconds: number;
}

export interface Store {
  readonly kind: 'memory' | 'redis';
  /** Stores value only when the key does not exist; true when this call stored it. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  get(key: string): Promise<string | null>;
  /** Returns and deletes in one step: a single-use value is handed out at most once. */
  getDel(key: string): Promise<string | null>;
  del(key: string): Promise<void>;
  /** Increments a counter; the first increment starts a fixed window of windowSeconds. */
  incr(key: string, windowSeconds: number): Promise<Counter>;
  /** Decrements a counter that exists (never below zero, never creates it). */
  decr(key: string): Promise<void>;
  /** Remaining lifetime in seconds, or null when the key does not exist. */
  ttl(key: string): Promise<number | null>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export function assertTtl(ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`store TTL must be positive, got ${ttlSeconds}`);
  return Math.ceil(ttlSeconds);
}
