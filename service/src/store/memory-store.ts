import { assertTtl, type Counter, type Store } from './store.ts';

/** An entry as read: the stored record is one flat string, `record()` below. */
interface Entry { value: string; expiresAt: number }

/**
 * A flat copy of a key or value. Keys are built by concatenation (`code:${hash}`) or cut out of a
 * larger string (a CSRF nonce out of its form token), values by JSON.stringify, which assembles
 * its result from pieces; V8 keeps such strings as ropes or slices that hold on to their parts for
 * as long as the entry lives. Measured (Node 20): a refresh token's value 409 -> 265 bytes, its
 * key 92 -> 64, a consumed CSRF nonce's key 120 bytes less (its slice kept the whole form token
 * alive). JSON round-trips any string exactly, lone surrogates included.
 */
function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** Base-36 digits of an expiry in milliseconds since the epoch: enough until the year 5000. */
const EXPIRY_DIGITS = 9;

/**
 * An entry's record: its expiry, then its value, in one flat string. An object per entry (value,
 * expiry and the expiry's boxed number) cost 52 bytes more, 5 MB of live heap at 100k entries.
 */
function record(expiresAt: number, value: string): string {
  return flat(expiryDigits(expiresAt) + value);
}

function expiryDigits(ms: number): string {
  const digits = Math.ceil(ms).toString(36).padStart(EXPIRY_DIGITS, '0');
  if (digits.length !== EXPIRY_DIGITS || ms < 0) throw new RangeError(`store expiry out of range: ${ms}`);
  return digits;
}

/** The expiry at the start of a record; read digit by digit, as sweeps read every record. */
function expiryOf(record: string): number {
  let ms = 0;
  for (let i = 0; i < EXPIRY_DIGITS; i++) {
    const c = record.charCodeAt(i);
    ms = ms * 36 + (c <= 57 ? c - 48 : c - 87); // '0'-'9', then 'a'-'z' (toString(36) writes lower case)
  }
  return ms;
}


export interface MemoryStoreOptions {
  /** Upper bound on live entries. */
  maxEntries?: number;
  /**
   * Keys whose loss fails closed (a dropped code or refresh token is merely invalid). When the
   * store is full, the evictable entries closest to expiry are dropped; when none is left,
   * new keys are refused (the write throws). Default: nothing is evictable.
   */
  evictable?: (key: string) => boolean;
  now?: () => number;
}

// Single-process store. Node runs handlers on one thread, so each method body
// is atomic with respect to other requests as long as it does not await.
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, string>();
  private readonly maxEntries: number;
  private readonly evictable: (key: string) => boolean;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.evictable = options.evictable ?? (() => false);
    this.now = options.now ?? Date.now;
    this.sweepTimer = setInterval(() => this.sweep(), 30_000);
    this.sweepTimer.unref();
  }

  private live(key: string): Entry | undefined {
    const r = this.entries.get(key);
    if (r === undefined) return undefined;
    const expiresAt = expiryOf(r);
    if (expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return { value: r.slice(EXPIRY_DIGITS), expiresAt };
  }

  private put(key: string, value: string, ttlSeconds: number): void {
    const r = record(this.now() + assertTtl(ttlSeconds) * 1000, value);
    if (!this.entries.delete(key) && this.entries.size >= this.maxEntries) this.makeRoom();
    this.entries.set(flat(key), r);
  }

  private sweep(): void {
    // Fixed-width lower-case base 36 sorts as the numbers do: a record whose digits come before
    // those of now + 1 ms expires at or before now. A string comparison, no decoding.
    const next = expiryDigits(this.now() + 1);
    for (const [k, r] of this.entries) if (r < next) this.entries.delete(k);
  }

  /**
   * Only evictable entries are ever dropped. Evicting any entry would let whoever can create
   * entries (failed logins, login forms) flush throttle counters and revocations, and each of
   * those losses fails open.
   */
  private makeRoom(): void {
    this.sweep();
    if (this.entries.size < this.maxEntries) return;
    this.dropClosestToExpiry(Math.max(1, Math.floor(this.maxEntries / 10)));
    if (this.entries.size >= this.maxEntries) throw new Error(`memory store is full (${this.maxEntries} live entries)`);
  }

  /**
   * Drops the `drop` evictable entries closest to expiry in linear time: a histogram of their
   * expiry times gives the cut-off. Sorting 100k entries instead stalled every request for
   * 40-90 ms each time the store filled up (measured by bench/service).
   */
  private dropClosestToExpiry(drop: number): void {
    // One pass over the store: the evictable keys and their expiries.
    const keys: string[] = [];
    const expiries: number[] = [];
    let min = Infinity;
    let max = -Infinity;
    for (const [k, r] of this.entries) {
      if (!this.evictable(k)) continue;
      const expiresAt = expiryOf(r);
      keys.push(k);
      expiries.push(expiresAt);
      if (expiresAt < min) min = expiresAt;
      if (expiresAt > max) max = expiresAt;
    }
    if (keys.length === 0) return;
    const buckets = 1024;
    const width = (max - min) / buckets || 1;
    const bucketOf = (expiresAt: number) => Math.min(buckets - 1, Math.floor((expiresAt - min) / width));
    const histogram = new Uint32Array(buckets);
    for (const e of expiries) histogram[bucketOf(e)]!++;
    // Every entry below bucket `cut` goes; from bucket `cut` itself, only as many as are still needed.
    let cut = 0;
    let below = 0;
    while (cut < buckets && below + histogram[cut]! < drop) below += histogram[cut++]!;
    let fromCut = drop - below;
    for (let i = 0; i < keys.length; i++) {
      const b = bucketOf(expiries[i]!);
      if (b < cut) this.entries.delete(keys[i]!);
      else if (b === cut && fromCut > 0) {
        this.entries.delete(keys[i]!);
        fromCut--;
      }
    }
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    if (this.live(key) !== undefined) return false;
    this.put(key, value, ttlSeconds);
    return true;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.put(key, value, ttlSeconds);
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async getDel(key: string): Promise<string | null> {
    const e = this.live(key);
    if (e === undefined) return null;
    this.entries.delete(key);
    return e.value;
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async incr(key: string, windowSeconds: number): Promise<Counter> {
    const e = this.live(key);
    if (e === undefined) {
      this.put(key, '1', windowSeconds);
      return { count: 1, ttlSeconds: assertTtl(windowSeconds) };
    }
    const count = Number(e.value) + 1;
    this.entries.set(key, record(e.expiresAt, String(count)));
    return { count, ttlSeconds: Math.max(1, Math.ceil((e.expiresAt - this.now()) / 1000)) };
  }

  async decr(key: string): Promise<void> {
    const e = this.live(key);
    if (e !== undefined) this.entries.set(key, record(e.expiresAt, String(Math.max(0, Number(e.value) - 1))));
  }

  async ttl(key: string): Promise<number | null> {
    const e = this.live(key);
    return e === undefined ? null : Math.max(1, Math.ceil((e.expiresAt - this.now()) / 1000));
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.entries.clear();
  }

  /** For tests and metrics. */
  size(): number {
    return this.entries.size;
  }
}
