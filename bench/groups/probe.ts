// The "service" side of the group benchmark, run as its own process so its RSS is the
// service's: starts the group directory (sync in the worker thread, as in production),
// waits for the first full sync, then measures memory and groupsOf() cost, and the
// event-loop delay while a second sync publishes a new generation.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { startGroupDirectory } from '../../service/src/groups/directory.ts';
import type { ServiceConfig } from '../../service/src/config/types.ts';
import { silentLogger } from '../../service/src/ops/logger.ts';

interface ProbeInput {
  url: string;
  baseDn: string;
  adminDn: string;
  adminPassword: string;
  groupDns: string[];
  workerFile: string;
  lookups: number;
}

const input = JSON.parse(readFileSync(process.env.PROBE_INPUT_FILE!, 'utf8')) as ProbeInput;
// Persisting is part of a production sync; the file's size is reported too.
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'bench-groups-'));
const snapshotFile = path.join(stateDir, 'groups.json');
const config = {
  ldapServers: [
    {
      uri: input.url,
      bindDn: input.adminDn,
      bindPassword: input.adminPassword,
      groupDns: input.groupDns,
      userSearchBase: `ou=people,${input.baseDn}`,
      userFilter: '(uid={username})',
      objectIdAttribute: 'entryUUID',
      startTls: false,
      connectTimeoutMs: 5000,
      operationTimeoutMs: 60_000,
    },
  ],
  groupSync: { intervalSeconds: 3600, maxStaleSeconds: 7200, snapshotFile },
} as unknown as ServiceConfig;

const rssBefore = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const dir = await startGroupDirectory(config, silentLogger, { mode: 'worker', workerFile: input.workerFile });
const startMs = performance.now() - t0;
// CPU of this process (all threads: the sync worker and this one), which a loaded machine
// inflates far less than wall time.
const cpu = process.cpuUsage(cpu0);
const status = dir.status();
if (status.generation < 1 || status.lastError) throw new Error(`sync failed: ${status.lastError}`);
// First groupsOf decodes the generation on this thread: the per-generation cost readers pay.
const d0 = performance.now();
dir.groupsOf('warm-up');
const decodeMs = performance.now() - d0;
(globalThis as { gc?: () => void }).gc?.();
const rssAfterSync = process.memoryUsage().rss;
const maxRssKb = process.resourceUsage().maxRSS;

// Ids to look up (read after the memory figures so they do not count).
const c = new Client({ url: input.url });
await c.bind(input.adminDn, input.adminPassword);
const ids: string[] = [];
for await (const page of c.searchPaginated(`ou=people,${input.baseDn}`, { scope: 'one', filter: '(uid=*)', attributes: ['entryUUID'], paged: { pageSize: 1000 } })) {
  for (const e of page.searchEntries) ids.push(String(e.entryUUID));
}
await c.unbind();
const probe: string[] = [];
let seed = 12345;
const rand = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed;
};
for (let i = 0; i < 100_000; i++) probe.push(i % 10 === 0 ? `00000000-0000-0000-0000-${String(i).padStart(12, '0')}` : ids[rand() % ids.length]!);
let hits = 0;
let found = 0;
for (let i = 0; i < 200_000; i++) found += dir.groupsOf(probe[i % probe.length]!).length; // warm up the JIT
/** ns per groupsOf over `set` (cycled), `n` calls. */
const measure = (set: string[], n: number): number => {
  const l0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const g = dir.groupsOf(set[i % set.length]!);
    if (g.length) hits++;
  }
  return Number(process.hrtime.bigint() - l0) / n;
};
// Cold: 100k distinct random ids, so nearly every lookup misses the CPU caches.
const lookupNs = measure(probe, input.lookups);
// Hot: 1,000 ids, the index entries stay cached: isolates the algorithmic cost.
const hotNs = measure(probe.slice(0, 1000), input.lookups);
hits = 0;
measure(probe, probe.length);
const newGeneration = await loopDelayWhileANewGenerationArrives();

/**
 * The HTTP thread's worst stall while a new generation arrives: one membership is added in
 * slapd, a sync publishes the changed snapshot, and meanwhile this thread answers a lookup
 * every millisecond (as under login load), the first of them after the publish loading the
 * new generation. Max event-loop delay (perf_hooks) from the sync's start to 200 ms after
 * it ended. The membership is removed again, so the next variant syncs the same directory.
 */
async function loopDelayWhileANewGenerationArrives(): Promise<{ loopDelayMaxMs: number; maxLookupMs: number; secondSyncMs: number }> {
  const admin = new Client({ url: input.url });
  await admin.bind(input.adminDn, input.adminPassword);
  const group = input.groupDns[input.groupDns.length - 1]!;
  let added: string | null = null;
  for (let u = 0; u < 50 && added === null; u++) {
    const member = `uid=u${u},ou=people,${input.baseDn}`;
    try {
      await admin.modify(group, [new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [member] }) })]);
      added = member;
    } catch {
      // already a member: try the next user
    }
  }
  if (added === null) throw new Error('could not add a member to change the directory');
  const before = dir.status().generation;
  const h = monitorEventLoopDelay({ resolution: 1 });
  let i = 0;
  // The slowest single lookup: the one that loads the new generation, without the machine's scheduling noise.
  let maxLookupMs = 0;
  const timer = setInterval(() => {
    const l0 = performance.now();
    dir.groupsOf(probe[i++ % probe.length]!);
    maxLookupMs = Math.max(maxLookupMs, performance.now() - l0);
  }, 1);
  h.enable();
  const s0 = performance.now();
  const result = await dir.syncNow();
  const secondSyncMs = performance.now() - s0;
  await new Promise((r) => setTimeout(r, 200));
  h.disable();
  clearInterval(timer);
  if (dir.status().generation === before || !(result as { published?: boolean }).published) throw new Error('the second sync published no new generation');
  await admin.modify(group, [new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [added] }) })]);
  await admin.unbind();
  return { loopDelayMaxMs: Math.round(h.max / 1e5) / 10, maxLookupMs: Math.round(maxLookupMs * 10) / 10, secondSyncMs: Math.round(secondSyncMs) };
}

const out = {
  users: ids.length,
  groups: status.groupCount,
  members: status.memberCount,
  firstSyncMs: Math.round(status.lastSyncDurationMs ?? -1),
  startMs: Math.round(startMs),
  syncCpuMs: Math.round((cpu.user + cpu.system) / 1000),
  decodeMs: Math.round(decodeMs * 10) / 10,
  snapshotBytes: dir.snapshotBytes(),
  snapshotFileBytes: statSync(snapshotFile).size,
  rssBeforeMB: Math.round(rssBefore / 1048576),
  rssAfterSyncMB: Math.round(rssAfterSync / 1048576),
  maxRssMB: Math.round(maxRssKb / 1024),
  lookupNs: Math.round(lookupNs),
  lookupHotNs: Math.round(hotNs),
  hitRate: Math.round((hits / probe.length) * 100) / 100,
  checksum: found,
  ...newGeneration,
};
await dir.close();
rmSync(stateDir, { recursive: true, force: true });
process.stdout.write(JSON.stringify(out) + '\n');
