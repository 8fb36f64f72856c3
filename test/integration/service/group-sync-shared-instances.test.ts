// Three built services (dist/service/main.js) sharing one real redis-server in front of one
// real slapd: one instance holds the sync lease and syncs, the others load what it
// publishes. Counted from slapd's own log: the directory sees one group sync per period,
// not one per instance.
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Slapd } from '../../harness/slapd.ts';
import { startRedis, type RedisHandle } from '../../harness/redis.ts';
import { http, startDirectory, tempDir, tokenRequest } from '../../harness/service-app.ts';
import { ensureBuilt, serviceXml, spawnService, type ServiceProcess } from '../../harness/service-process.ts';
import { SNAPSHOT_KEYS, PUBLISHED_CHANNEL } from '../../../service/src/groups/snapshot-transport.ts';
const ENGINEERING = 'cn=engineering,ou=groups,dc=example,dc=com';
const INTERVAL_S = 5;
const LEASE_S = 2;

interface Instance extends ServiceProcess {
  name: string;
}

let slapd: Slapd;
let redis: RedisHandle;
let dir: ReturnType<typeof tempDir>;
const instances: Instance[] = [];

async function startInstance(name: string): Promise<Instance> {
  const port = await freePort();
  const xml = serviceXml({
    ldapUrl: slapd.url, port, keyDirectory: `${dir.dir}/${name}/keys`, groupDn: ENGINEERING,
    service: { redisUrl: redis.url, adminGroup: ENGINEERING, logLevel: 'debug' },
    groupSync: { intervalSeconds: INTERVAL_S, leaseSeconds: LEASE_S },
    grantTypes: ['password'],
  });
  const inst = { name, ...spawnService(join(dir.dir, `${name}.xml`), xml, port) };
  instances.push(inst);
  return inst;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, ms: number, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms; output:\n${instances.map((i) => `--- ${i.name}\n${i.output().slice(-1500)}`).join('\n')}`);
    await sleep(50);
  }
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

async function metrics(i: Instance): Promise<string> {
  return (await http(`${i.base}/metrics`)).text;
}

/** Instances frozen with SIGSTOP (their HTTP does not answer meanwhile). */
const frozen = new Set<Instance>();
const alive = () => instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null && !frozen.has(i));

async function holders(): Promise<Instance[]> {
  const list = alive();
  const flags = await Promise.all(list.map(async (i) => metric(await metrics(i), 'ljwt_group_sync_lease_holder')));
  return list.filter((_, k) => flags[k] === 1);
}

const PASSWORDS: Record<string, string> = { bob: 'bob-pw', dave: '*)(uid=*)\\00 p@ss:w/rd%' };
const DAVE = 'uid=dave,ou=people,dc=example,dc=com';

/** The `dns` claim of a fresh token for the user, from the instance. */
async function groupsAt(i: Instance, user: string): Promise<string[]> {
  const t = await tokenRequest(i.base, { grant_type: 'password', username: user, password: PASSWORDS[user]!, client_id: 'cli' });
  if (t.status !== 200) throw new Error(`token at ${i.name}: ${t.status} ${t.text}`);
  return JSON.parse(Buffer.from(t.json().access_token.split('.')[1], 'base64url').toString()).dns ?? [];
}

/** Group syncs slapd has served so far: every sync reads the configured group's entry (one base search). */
async function syncsSeenBySlapd(): Promise<number> {
  const log = await slapd.log();
  return log.match(new RegExp(`SRCH base="${ENGINEERING}" scope=0`, 'gi'))?.length ?? 0;
}

async function setMember(op: 'add' | 'delete', dn: string): Promise<void> {
  const admin = new Client({ url: slapd.url });
  try {
    await admin.bind(slapd.adminDn, slapd.adminPassword);
    await admin.modify(ENGINEERING, new Change({ operation: op, modification: new Attribute({ type: 'member', values: [dn] }) }));
  } finally {
    await admin.unbind();
  }
}

beforeAll(async () => {
  ensureBuilt();
  [slapd, redis] = await Promise.all([startDirectory(), startRedis()]);
  dir = tempDir('ljwt-shared-sync-');
  await Promise.all(['a', 'b', 'c'].map(startInstance));
  await Promise.all(instances.map((i) => until(`${i.name} ready`, 40_000, async () => (await http(`${i.base}/readyz`)).status === 200)));
});

afterAll(async () => {
  for (const i of instances) if (i.child.exitCode === null) i.child.kill('SIGKILL');
  await redis?.stop();
  await slapd?.destroy();
  dir?.remove();
});

describe('three instances, one group sync', () => {
  it('one instance holds the lease; the directory sees one sync per period', async () => {
    expect(await holders()).toHaveLength(1);
    const before = await syncsSeenBySlapd();
    const t0 = Date.now();
    await sleep(1.5 * INTERVAL_S * 1000 + 500);
    const periods = (Date.now() - t0) / (INTERVAL_S * 1000);
    const syncs = (await syncsSeenBySlapd()) - before;
    // Each instance syncing for itself would be ~3 per period.
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThanOrEqual(Math.ceil(periods));
    const [holder] = await holders();
    for (const i of instances.filter((x) => x !== holder)) {
      const m = await metrics(i);
      expect(metric(m, 'ljwt_group_sync_loads_total')).toBeGreaterThanOrEqual(1);
      expect(metric(m, 'ljwt_group_sync_shared_generation')).toBe(metric(await metrics(holder!), 'ljwt_group_sync_shared_generation'));
    }
  });

  it('every instance answers the same groups; a change in LDAP reaches all three after one sync', async () => {
    for (const i of instances) expect(await groupsAt(i, 'bob')).toEqual([ENGINEERING]);
    for (const i of instances) expect(await groupsAt(i, 'dave')).toEqual([]);
    await setMember('add', DAVE);
    const before = await syncsSeenBySlapd();
    await until('dave in engineering everywhere', INTERVAL_S * 1000 + 3000, async () => {
      const all = await Promise.all(instances.map((i) => groupsAt(i, 'dave')));
      return all.every((g) => g.length === 1 && g[0] === ENGINEERING);
    });
    expect((await syncsSeenBySlapd()) - before).toBe(1);
  });

  it('POST /admin/sync on an instance without the lease is run by the holder and says so', async () => {
    const [holder] = await holders();
    const other = instances.find((i) => i !== holder)!;
    const token = (await tokenRequest(other.base, { grant_type: 'password', username: 'bob', password: 'bob-pw', client_id: 'cli' })).json().access_token;
    await setMember('delete', DAVE);
    const before = await syncsSeenBySlapd();
    const r = await http(`${other.base}/admin/sync`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body.syncedBy.role).toBe('holder');
    expect(body.syncedBy.instance).not.toBe('');
    expect(body.answeredBy).not.toBe(body.syncedBy.instance);
    expect(holder!.output()).toContain(body.syncedBy.instance);
    expect(body.servers[0].servedBy).toBe(slapd.url);
    expect(metric(await metrics(other), 'ljwt_group_sync_shared_generation')).toBeGreaterThanOrEqual(body.sharedGeneration);
    expect((await syncsSeenBySlapd()) - before).toBe(1);
    // Answered after this instance loaded the result: the change is visible here at once.
    expect(await groupsAt(other, 'dave')).toEqual([]);
  });

  it('a corrupted published snapshot is refused and the current one kept', async () => {
    const [holder] = await holders();
    const followers = alive().filter((i) => i !== holder);
    const r = new Redis(redis.url);
    try {
      // A new generation whose bytes do not match their checksum (damaged in transit or at rest).
      const body = await r.getBuffer(SNAPSHOT_KEYS.body);
      body![body!.length - 1]! ^= 0xff;
      await r.set(SNAPSHOT_KEYS.body, body!);
      await r.set(SNAPSHOT_KEYS.sha256, 'f'.repeat(64));
      const g = await r.incr(SNAPSHOT_KEYS.generation);
      await r.publish(PUBLISHED_CHANNEL, String(g));
    } finally {
      r.disconnect();
    }
    // The first follower to refuse it drops the stored checksum (so the holder sends the bytes
    // again); the other one may then find nothing to load. Either way no follower serves it.
    const loadErrors = async (i: Instance) => metric(await metrics(i), 'ljwt_group_sync_load_errors_total');
    const follower = await until('refusal counted', 3000, async () => {
      for (const f of followers) if ((await loadErrors(f)) === 1) return f;
      return undefined;
    });
    expect(follower.output()).toContain('published group snapshot refused; keeping the current one');
    for (const f of followers) expect(await groupsAt(f, 'bob')).toEqual([ENGINEERING]);
    // The holder's next sync sends the bytes again; the follower loads them.
    const refusedAt = metric(await metrics(follower), 'ljwt_group_sync_shared_generation');
    await until('follower caught up', INTERVAL_S * 1000 + 3000, async () =>
      metric(await metrics(follower), 'ljwt_group_sync_shared_generation') > refusedAt);
    expect(metric(await metrics(follower), 'ljwt_group_sync_load_errors_total')).toBe(1);
  });

  it('a holder paused past its lease loses it: it publishes nothing more and loads the new holder\'s snapshot', async () => {
    const [paused] = await holders();
    paused!.child.kill('SIGSTOP');
    frozen.add(paused!);
    try {
      const next = await until('a holder while the old one is paused', 3 * LEASE_S * 1000, async () => (await holders())[0]);
      expect(next).not.toBe(paused);
      await setMember('add', DAVE);
      await until('the change published by the new holder', INTERVAL_S * 1000 + 3000, async () =>
        (await Promise.all(alive().map((i) => groupsAt(i, 'dave')))).every((g) => g.length === 1));
    } finally {
      paused!.child.kill('SIGCONT');
      frozen.delete(paused!);
    }
    // Resumed, it learns it lost the lease at its next renewal and follows the new holder.
    await until('the paused instance follows', 3000, async () =>
      metric(await metrics(paused!), 'ljwt_group_sync_lease_holder') === 0 && (await groupsAt(paused!, 'dave')).length === 1);
    expect(paused!.output()).toContain('group sync lease lost');
    expect(await holders()).toHaveLength(1);
    const r = new Redis(redis.url);
    try {
      expect(JSON.parse((await r.get(SNAPSHOT_KEYS.record))!).instance).not.toContain(`/${paused!.child.pid}/`);
    } finally {
      r.disconnect();
    }
  });

  it('SIGKILL of the holder moves the lease within one lease period', async () => {
    const [holder] = await holders();
    holder!.child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((r) => holder!.child.once('exit', r));
    const next = await until('a new holder', 3 * LEASE_S * 1000, async () => {
      const h = await holders();
      return h.length === 1 ? h[0] : null;
    });
    const movedMs = Date.now() - killedAt;
    expect(next).not.toBe(holder);
    // Lease period plus the tick (lease/10) at which the others try to take it, plus polling slack.
    expect(movedMs).toBeLessThanOrEqual(LEASE_S * 1000 * 1.1 + 700);
    // The new holder keeps syncing: a change reaches the survivors.
    await setMember('delete', DAVE);
    await until('dave out of engineering on the survivors', INTERVAL_S * 1000 + 3000, async () => {
      const all = await Promise.all(alive().map((i) => groupsAt(i, 'dave')));
      return all.every((g) => g.length === 0);
    });
  });

  it('Redis unreachable: each instance syncs on its own and says so', async () => {
    const survivors = alive();
    await redis.stop();
    await until('every survivor alone', 3 * LEASE_S * 1000, async () => {
      const flags = await Promise.all(survivors.map(async (i) => metric(await metrics(i), 'ljwt_group_sync_alone')));
      return flags.every((f) => f === 1);
    });
    for (const i of survivors) {
      expect(i.output()).toContain('redis unreachable; this instance syncs the groups on its own until it answers');
      expect(metric(await metrics(i), 'ljwt_group_sync_lease_holder')).toBe(0);
    }
    // Each reads the directory now: a change reaches each of them by its own sync. (No
    // tokens without the store: the snapshot's member count tells what each one serves.)
    for (const i of survivors) expect(metric(await metrics(i), 'ljwt_group_snapshot_members')).toBe(3);
    const before = await syncsSeenBySlapd();
    await setMember('add', DAVE);
    await until('dave in engineering on the survivors', INTERVAL_S * 1000 + 3000, async () => {
      const members = await Promise.all(survivors.map(async (i) => metric(await metrics(i), 'ljwt_group_snapshot_members')));
      return members.every((m) => m === 4);
    });
    expect((await syncsSeenBySlapd()) - before).toBeGreaterThanOrEqual(survivors.length);
  });
});
