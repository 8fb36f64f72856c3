// Two group directories in one process (the in-thread sync, as tests and embedders run
// it) sharing a real redis-server in front of a real slapd: one holds the lease, the other
// serves what it publishes, asks it for a sync now, and takes the lease at once when the
// holder closes (the lease is released, not left to expire).
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGroupDirectory } from '../../../service/src/groups/directory.ts';
import { silentLogger } from '../../../service/src/ops/logger.ts';
import type { Slapd } from '../../harness/slapd.ts';
import { startRedis, type RedisHandle } from '../../harness/redis.ts';
import { makeConfig, startDirectory, tempDir } from '../../harness/service-app.ts';

const ENGINEERING = 'cn=engineering,ou=groups,dc=example,dc=com';
let slapd: Slapd;
let redis: RedisHandle;
let dir: ReturnType<typeof tempDir>;

async function entryUuid(dn: string): Promise<string> {
  const c = new Client({ url: slapd.url });
  try {
    await c.bind(slapd.adminDn, slapd.adminPassword);
    const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['entryUUID'] });
    return String(searchEntries[0]!.entryUUID);
  } finally {
    await c.unbind();
  }
}

beforeAll(async () => {
  [slapd, redis] = await Promise.all([startDirectory(), startRedis()]);
  dir = tempDir('ljwt-shared-inproc-');
});

afterAll(async () => {
  await redis?.stop();
  await slapd?.destroy();
  dir?.remove();
});

describe('shared group sync, in-thread', () => {
  it('one holder, the same groups on both, sync-now through the holder, lease handed over on close', async () => {
    const config = makeConfig(slapd, `${dir.dir}/keys`, { redisUrl: redis.url, groupSync: { intervalSeconds: 60, maxStaleSeconds: 600, leaseSeconds: 1 } });
    const first = await startGroupDirectory(config, silentLogger);
    const second = await startGroupDirectory(config, silentLogger);
    try {
      expect(first.status().shared!.role).toBe('holder');
      expect(second.status().shared!.role).toBe('follower');
      const bob = await entryUuid('uid=bob,ou=people,dc=example,dc=com');
      expect(first.groupsOf(bob)).toEqual([ENGINEERING]);
      expect(second.groupsOf(bob)).toEqual([ENGINEERING]);
      expect(second.status().shared!.generation).toBe(first.status().shared!.generation);

      const result = (await second.syncNow()) as unknown as { syncedBy: { instance: string; role: string }; answeredBy: string; sharedGeneration: number };
      expect(result.syncedBy).toEqual({ instance: first.status().shared!.instance, role: 'holder' });
      expect(result.answeredBy).toBe(second.status().shared!.instance);
      expect(second.status().shared!.generation).toBeGreaterThanOrEqual(result.sharedGeneration);
    } finally {
      await first.close();
    }
    try {
      // Released on close: taken at the next tick (a tenth of the lease), not after the lease.
      const t0 = Date.now();
      while (second.status().shared!.role !== 'holder' && Date.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 20));
      expect(second.status().shared!.role).toBe('holder');
      expect(Date.now() - t0).toBeLessThan(500);
    } finally {
      await second.close();
    }
  });
});
