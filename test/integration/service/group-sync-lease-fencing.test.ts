// The group sync lease and the snapshot transport against a real redis-server: one
// holder at a time, renewal only by the holder, a holder whose lease expired (paused,
// cut off) cannot publish over a newer holder, and damaged bytes are refused by loaders.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineLeaseCommands, SYNC_KEYS, SyncLease } from '../../../service/src/groups/sync-lease.ts';
import { defineTransportCommands, sha256Hex, SNAPSHOT_KEYS, SnapshotChecksumError, SnapshotTransport, type PublishedRecord } from '../../../service/src/groups/snapshot-transport.ts';
import { encodeSnapshot } from '../../../service/src/groups/snapshot-codec.ts';
import { startRedis, type RedisHandle } from '../../harness/redis.ts';

let redis: RedisHandle;
const clients: Redis[] = [];

function client(): Redis {
  const c = new Redis(redis.url);
  defineLeaseCommands(c);
  defineTransportCommands(c);
  clients.push(c);
  return c;
}

function snapshot(members: string[]): Uint8Array {
  return encodeSnapshot({ groups: new Map([['cn=engineering,ou=groups,dc=example,dc=com', members]]), updatedAt: null }, 0);
}

function record(instance: string, fence: number): PublishedRecord {
  return { instance, fence, publishedAt: Date.now(), updatedAt: Date.now(), groupCount: 1, memberCount: 1, directories: [] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh lease (none held) taken by "a", with a transport on the same client. */
async function heldByA(): Promise<{ c: Redis; transport: SnapshotTransport; a: SyncLease }> {
  const c = client();
  await c.del(SYNC_KEYS.lease);
  const a = new SyncLease(c, 1000, 'a');
  expect(await a.acquire()).toBe(true);
  return { c, transport: new SnapshotTransport(c), a };
}

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

describe('group sync lease', () => {
  it('one holder; only the holder renews; a free lease goes to the next instance with a higher fence', async () => {
    const c = client();
    await c.del(SYNC_KEYS.lease);
    const a = new SyncLease(c, 300, 'a');
    const b = new SyncLease(client(), 300, 'b');
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    expect(await b.renew()).toBe(false);
    expect(await a.holder()).toBe('a');
    // Renewed by its holder, the lease outlives its first period.
    for (let i = 0; i < 4; i++) {
      await sleep(100);
      expect(await a.renew()).toBe(true);
    }
    expect(await b.acquire()).toBe(false);
    const fenceA = a.claim!.fence;
    // The holder stops renewing (dead or paused): the lease expires and moves.
    await sleep(400);
    expect(await b.acquire()).toBe(true);
    expect(b.claim!.fence).toBeGreaterThan(fenceA);
    expect(await a.renew()).toBe(false);
    expect(a.claim).toBeNull();
    await b.release();
    expect(await a.holder()).toBeNull();
  });

  it('a holder that lost its lease cannot publish over the newer holder', async () => {
    const c = client();
    await c.del(SYNC_KEYS.lease);
    const transport = new SnapshotTransport(c);
    const a = new SyncLease(c, 300, 'a');
    const b = new SyncLease(client(), 300, 'b');
    expect(await a.acquire()).toBe(true);
    const staleClaim = a.claim!;
    const first = snapshot(['u1']);
    const p1 = await transport.publish(staleClaim, first, sha256Hex(first), record('a', staleClaim.fence));
    expect(p1.ok).toBe(true);

    // "a" pauses past its lease; "b" takes over and publishes.
    await sleep(400);
    expect(await b.acquire()).toBe(true);
    const newer = snapshot(['u1', 'u2']);
    const p2 = await transport.publish(b.claim!, newer, sha256Hex(newer), record('b', b.claim!.fence));
    expect(p2).toEqual({ ok: true, generation: (p1 as { generation: number }).generation + 1 });

    // "a" wakes up and publishes with the claim it still holds in memory: refused.
    const old = snapshot(['u9']);
    expect(await transport.publish(staleClaim, old, sha256Hex(old), record('a', staleClaim.fence))).toEqual({ ok: false, refused: 'lease' });
    // Even holding the same token again, an older acquisition (fence) is refused.
    await c.set(SYNC_KEYS.lease, staleClaim.token, 'PX', 1000);
    expect(await transport.publish(staleClaim, old, sha256Hex(old), record('a', staleClaim.fence))).toEqual({ ok: false, refused: 'fence' });
    await c.del(SYNC_KEYS.lease);

    const loaded = await transport.load();
    expect(loaded!.record.instance).toBe('b');
    expect(loaded!.sha256).toBe(sha256Hex(newer));
    expect(Buffer.from(loaded!.body).equals(Buffer.from(newer))).toBe(true);
  });

  it('unchanged bytes are not sent again; a record-only publish needs the bytes Redis holds', async () => {
    const { transport, a } = await heldByA();
    const body = snapshot(['u1', 'u3']);
    const sha = sha256Hex(body);
    const p1 = await transport.publish(a.claim!, body, sha, record('a', a.claim!.fence));
    const p2 = await transport.publish(a.claim!, null, sha, record('a', a.claim!.fence));
    expect(p2).toEqual({ ok: true, generation: (p1 as { generation: number }).generation + 1 });
    const other = snapshot(['u4']);
    expect(await transport.publish(a.claim!, null, sha256Hex(other), record('a', a.claim!.fence))).toEqual({ ok: false, refused: 'body' });
    expect((await transport.head())!.generation).toBe((p2 as { generation: number }).generation);
    await a.release();
  });

  it('a loader refuses bytes that fail their SHA-256', async () => {
    const { c, transport, a } = await heldByA();
    const body = snapshot(['u1', 'u2', 'u3']);
    await transport.publish(a.claim!, body, sha256Hex(body), record('a', a.claim!.fence));
    // One byte flipped at rest.
    const stored = await c.getBuffer(SNAPSHOT_KEYS.body);
    stored![stored!.length - 1]! ^= 0xff;
    await c.set(SNAPSHOT_KEYS.body, stored!);
    await expect(transport.load()).rejects.toBeInstanceOf(SnapshotChecksumError);
    // The refusing loader drops the checksum: the holder's next publish sends the bytes.
    await transport.forgetChecksum(sha256Hex(body));
    expect(await transport.publish(a.claim!, null, sha256Hex(body), record('a', a.claim!.fence))).toEqual({ ok: false, refused: 'body' });
    expect((await transport.publish(a.claim!, body, sha256Hex(body), record('a', a.claim!.fence))).ok).toBe(true);
    expect((await transport.load())!.sha256).toBe(sha256Hex(body));
    await a.release();
  });
});
