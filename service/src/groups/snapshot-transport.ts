// The group snapshot carried through Redis from the sync lease holder to the other
// instances: the encoded snapshot bytes as the sync engine produced them (snapshot-codec,
// generation 0 and no time stamped in, so equal content is equal bytes), their SHA-256
// beside them, and a small JSON record of the sync (time, directories, who published).
//
// Publishing is one Lua script that first checks the lease token and fence
// (sync-lease.ts), then writes, counts the published generation up (INCR) and notifies
// the other instances (PUBLISH): a holder that lost its lease never overwrites a newer
// holder's snapshot. A loader reads generation, checksum, record and bytes in one MGET
// (one consistent state) and refuses bytes whose SHA-256 differs from the stored one.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DirectorySyncStatus } from './sync-engine.ts';
import { SYNC_KEY_PREFIX, SYNC_KEYS, type LeaseClaim } from './sync-lease.ts';

export const SNAPSHOT_KEYS = {
  generation: `${SYNC_KEY_PREFIX}snapshot:generation`,
  body: `${SYNC_KEY_PREFIX}snapshot:body`,
  sha256: `${SYNC_KEY_PREFIX}snapshot:sha256`,
  record: `${SYNC_KEY_PREFIX}snapshot:record`,
} as const;

/** Pub/sub channel: the published generation, after every publish. */
export const PUBLISHED_CHANNEL = `${SYNC_KEY_PREFIX}published`;

/** What loaders need besides the bytes: the sync's facts as the holder saw them. */
export interface PublishedRecord {
  /** The instance that published (its lease token's name). */
  instance: string;
  /** Fence of the publisher's lease acquisition. */
  fence: number;
  /** ms epoch of the publish. */
  publishedAt: number;
  /** ms epoch of the snapshot's data (its oldest directory part); null when unknown. */
  updatedAt: number | null;
  groupCount: number;
  memberCount: number;
  /** Per directory, in configured order. */
  directories: DirectorySyncStatus[];
}

export interface PublishedHead {
  generation: number;
  sha256: string;
  record: PublishedRecord;
}

export interface PublishedSnapshot extends PublishedHead {
  body: Uint8Array;
}

export class SnapshotChecksumError extends Error {
  readonly code = 'snapshot_checksum';
}

export type PublishOutcome =
  | { ok: true; generation: number }
  /** lease: the lease is not ours any more; fence: a newer acquisition exists; body: Redis lacks these bytes. */
  | { ok: false; refused: 'lease' | 'fence' | 'body' };

// KEYS: lease, fence, generation, body, sha256, record.
// ARGV: token, fence, body ('' = unchanged, keep the stored bytes), sha256, record JSON, channel.
const PUBLISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if tonumber(redis.call('GET', KEYS[2])) ~= tonumber(ARGV[2]) then return -2 end
if ARGV[3] == '' then
  if redis.call('GET', KEYS[5]) ~= ARGV[4] then return -3 end
else
  redis.call('SET', KEYS[4], ARGV[3])
  redis.call('SET', KEYS[5], ARGV[4])
end
local g = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[6], ARGV[5])
redis.call('PUBLISH', ARGV[6], g)
return g`;

// KEYS: sha256. ARGV: the checksum a loader found wrong. Deleted only when still that one.
const FORGET = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type TransportCommands = {
  ljwtSnapshotPublish(...args: Array<string | number | Buffer>): Promise<number>;
  ljwtSnapshotForget(key: string, sha256: string): Promise<number>;
};

export function defineTransportCommands(redis: Redis): void {
  redis.defineCommand('ljwtSnapshotPublish', { numberOfKeys: 6, lua: PUBLISH });
  redis.defineCommand('ljwtSnapshotForget', { numberOfKeys: 1, lua: FORGET });
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseRecord(text: string): PublishedRecord {
  const r = JSON.parse(text) as PublishedRecord;
  const num = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
  if (typeof r !== 'object' || r === null || typeof r.instance !== 'string' || !num(r.fence) || !num(r.publishedAt) ||
      !(r.updatedAt === null || num(r.updatedAt)) || !num(r.groupCount) || !num(r.memberCount) || !Array.isArray(r.directories)) {
    throw new SnapshotChecksumError('published snapshot record is malformed');
  }
  return r;
}

export class SnapshotTransport {
  readonly #redis: Redis & TransportCommands;

  /** `redis` must have had defineTransportCommands() applied. */
  constructor(redis: Redis) {
    this.#redis = redis as Redis & TransportCommands;
  }

  /**
   * Publishes `body` (null: the bytes Redis holds are unchanged, only the record is new)
   * under the holder's claim. Refused without writing anything when the claim is stale.
   */
  async publish(claim: LeaseClaim, body: Uint8Array | null, sha256: string, record: PublishedRecord): Promise<PublishOutcome> {
    const g = Number(await this.#redis.ljwtSnapshotPublish(
      SYNC_KEYS.lease, SYNC_KEYS.fence, SNAPSHOT_KEYS.generation, SNAPSHOT_KEYS.body, SNAPSHOT_KEYS.sha256, SNAPSHOT_KEYS.record,
      claim.token, claim.fence, body === null ? '' : Buffer.from(body.buffer, body.byteOffset, body.byteLength), sha256,
      JSON.stringify(record), PUBLISHED_CHANNEL,
    ));
    if (g > 0) return { ok: true, generation: g };
    return { ok: false, refused: g === -1 ? 'lease' : g === -2 ? 'fence' : 'body' };
  }

  /**
   * After a refused load: drops the stored checksum (when unchanged), so the holder's next
   * publish carries the bytes again instead of keeping the damaged ones as "unchanged".
   */
  async forgetChecksum(sha256: string): Promise<void> {
    await this.#redis.ljwtSnapshotForget(SNAPSHOT_KEYS.sha256, sha256);
  }

  /** Generation, checksum and record of what is published (small; no bytes); null when nothing is. */
  async head(): Promise<PublishedHead | null> {
    const [g, sha, record] = await this.#redis.mget(SNAPSHOT_KEYS.generation, SNAPSHOT_KEYS.sha256, SNAPSHOT_KEYS.record);
    if (g === null || sha === null || record === null) return null;
    return { generation: Number(g), sha256: sha, record: parseRecord(record) };
  }

  /** The published snapshot, its bytes checked against the stored SHA-256 (SnapshotChecksumError otherwise). */
  async load(): Promise<PublishedSnapshot | null> {
    const [g, sha, record, body] = await this.#redis.mgetBuffer(SNAPSHOT_KEYS.generation, SNAPSHOT_KEYS.sha256, SNAPSHOT_KEYS.record, SNAPSHOT_KEYS.body);
    if (g === null || sha === null || record === null || body === null) return null;
    const generation = Number(g.toString());
    const expected = sha.toString();
    const actual = sha256Hex(body);
    if (actual !== expected) {
      throw new SnapshotChecksumError(`published group snapshot generation ${generation} fails its checksum (sha256 ${actual}, expected ${expected})`);
    }
    return { generation, sha256: expected, record: parseRecord(record.toString()), body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
  }
}
