// The group sync lease in Redis: at most one service instance syncs the directories.
//
// The lease is a key holding the holder's random token with a PX expiry (SET NX PX);
// only the holder extends it (compare-and-extend in Lua, so a holder whose lease expired
// and was taken by another instance cannot extend the other's lease). Each acquisition
// also INCRs a fence counter in the same script: the holder's fence is the number of that
// acquisition. Publishing a snapshot (snapshot-transport.ts) checks token AND fence inside
// one script, so a holder that was paused or cut off past its lease (a newer acquisition
// exists) can never publish over what the newer holder published.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export const SYNC_KEY_PREFIX = 'ljwt:groups:';

export const SYNC_KEYS = {
  lease: `${SYNC_KEY_PREFIX}lease`,
  fence: `${SYNC_KEY_PREFIX}fence`,
} as const;

// KEYS: lease, fence. ARGV: token, lease ms. Returns the new fence, or 0 when held by another.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0`;

// KEYS: lease. ARGV: token, lease ms. 1 when extended, 0 when the lease is not (or no longer) ours.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

// KEYS: lease. ARGV: token. Deletes the lease only when it is ours.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** What a holder proves when publishing: its lease token and the fence of its acquisition. */
export interface LeaseClaim {
  token: string;
  fence: number;
}

type LeaseCommands = {
  ljwtLeaseAcquire(lease: string, fence: string, token: string, ms: number): Promise<number>;
  ljwtLeaseRenew(lease: string, token: string, ms: number): Promise<number>;
  ljwtLeaseRelease(lease: string, token: string): Promise<number>;
};

export function defineLeaseCommands(redis: Redis): void {
  redis.defineCommand('ljwtLeaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('ljwtLeaseRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('ljwtLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
}

export class SyncLease {
  readonly #redis: Redis & LeaseCommands;
  readonly #ms: number;
  readonly #instance: string;
  #claim: LeaseClaim | null = null;

  /** `redis` must have had defineLeaseCommands() applied. `instance` names this process in the token. */
  constructor(redis: Redis, leaseMs: number, instance: string) {
    this.#redis = redis as Redis & LeaseCommands;
    this.#ms = leaseMs;
    this.#instance = instance;
  }

  /** The claim while this instance believes it holds the lease (until a renewal fails). */
  get claim(): LeaseClaim | null {
    return this.#claim;
  }

  /** Takes the lease when free; true when this instance holds it afterwards. Redis errors reject. */
  async acquire(): Promise<boolean> {
    if (this.#claim) return this.renew();
    const token = `${this.#instance} ${randomBytes(12).toString('hex')}`;
    const fence = Number(await this.#redis.ljwtLeaseAcquire(SYNC_KEYS.lease, SYNC_KEYS.fence, token, this.#ms));
    if (fence > 0) this.#claim = { token, fence };
    return this.#claim !== null;
  }

  /** Extends the lease when still ours; false (and the claim dropped) when it expired or moved. */
  async renew(): Promise<boolean> {
    const claim = this.#claim;
    if (!claim) return false;
    const ok = Number(await this.#redis.ljwtLeaseRenew(SYNC_KEYS.lease, claim.token, this.#ms)) === 1;
    if (!ok && this.#claim === claim) this.#claim = null;
    return ok;
  }

  /** Gives the lease up (shutdown), so another instance takes over at once. */
  async release(): Promise<void> {
    const claim = this.#claim;
    this.#claim = null;
    if (claim) await this.#redis.ljwtLeaseRelease(SYNC_KEYS.lease, claim.token);
  }

  /** Forgets the claim without touching Redis (Redis unreachable: the lease expires by itself). */
  drop(): void {
    this.#claim = null;
  }

  /** The instance named in the current lease token, or null when nobody holds it. */
  async holder(): Promise<string | null> {
    const token = await this.#redis.get(SYNC_KEYS.lease);
    return token === null ? null : token.slice(0, token.lastIndexOf(' '));
  }
}
