#!/usr/bin/env node
// Group sync benchmark (not a test). For each scale, generates a directory of users and
// nested groups as LDIF, loads it into a local slapd with slapadd (test/harness/slapd.ts),
// runs a full sync in a separate "service" process (bench/groups/probe.ts, sync in the
// worker thread as in production) and reports full sync time, service RSS, snapshot size
// the cost of groupsOf() and the HTTP thread's max event-loop delay while a new generation
// arrives. Two directory shapes:
//   tree:      the easy shape (2 direct groups per user, a fan-out-10 tree, ~8 groups after nesting)
//   realistic: 1-20 direct groups per user, nesting up to 5 levels, a few groups with 10k+
//              direct members, some cycles (about 38 groups per user after nesting at 100k/10k)
// Usage:
//   node bench/groups/run.mjs                                   # both shapes at 10k/1k and 100k/10k
//   node bench/groups/run.mjs --scales 100000:10000 --shapes realistic
//   node bench/groups/run.mjs --scales 300000:30000 --shapes realistic --out bench/results/groups.jsonl
//   node bench/groups/run.mjs --scales 100000:10000 --shapes realistic --baseline 4c8aaac
//                                      # the group code of another commit too, same slapd, side by side
// Prints one JSON line per row and a summary table (and appends the rows to --out).
import { build } from 'esbuild';
import { spawn, spawnSync } from 'node:child_process';
import { appendFile, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.join(root, 'node_modules/.cache/bench-groups');
const BASE = 'dc=bench,dc=example';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const scales = arg('--scales', '10000:1000,100000:10000').split(',').map((s) => s.split(':').map(Number));
const shapes = arg('--shapes', 'tree,realistic').split(',');
const outFile = arg('--out', null);
const baseline = arg('--baseline', null);

const common = { bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' };

/** The probe and the sync worker built from `tree` into `dir`. */
async function bundleService(tree, dir) {
  await mkdir(dir, { recursive: true });
  await build({ ...common, entryPoints: [path.join(tree, 'bench/groups/probe.ts')], outfile: path.join(dir, 'probe.mjs') });
  await build({ ...common, entryPoints: [path.join(tree, 'service/src/groups/sync.worker.ts')], outfile: path.join(dir, 'sync.worker.js') });
}

async function bundle() {
  await mkdir(out, { recursive: true });
  await build({ ...common, entryPoints: [path.join(root, 'test/harness/slapd.ts')], outfile: path.join(out, 'slapd.mjs') });
  await bundleService(root, out);
}

/**
 * --baseline REF: the service's group code of another commit (git archive), with this tree's
 * probe, built next to the current one, so both run against the same slapd in one run.
 */
async function bundleBaseline(ref) {
  const tree = path.join(out, 'baseline-tree');
  await rm(tree, { recursive: true, force: true });
  await mkdir(tree, { recursive: true });
  const tar = spawnSync('sh', ['-c', `git -C "$0" archive "$1" service njs | tar -x -C "$2"`, root, ref, tree], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`git archive ${ref}: ${tar.stderr}`);
  await mkdir(path.join(tree, 'bench/groups'), { recursive: true });
  await copyFile(path.join(root, 'bench/groups/probe.ts'), path.join(tree, 'bench/groups/probe.ts'));
  await bundleService(tree, path.join(out, 'baseline'));
}

/**
 * Groups form a tree with fan-out 10 (group i's parent is floor(i/10)-1), so 10k groups
 * nest 4 levels deep under 10 roots; every 997th group also contains its root (a cycle).
 * Each user is a direct member of two groups (one leaf-level, one spread), so each user
 * ends up in ~8 groups after expansion. Deterministic.
 */
function generateTree(users, groups) {
  const members = Array.from({ length: groups }, () => []);
  for (let g = 10; g < groups; g++) members[Math.floor(g / 10) - 1].push(`cn=g${g},ou=groups,${BASE}`);
  for (let g = 997; g < groups; g += 997) {
    let r = g;
    while (r >= 10) r = Math.floor(r / 10) - 1;
    members[g].push(`cn=g${r},ou=groups,${BASE}`);
  }
  const firstLeaf = Math.min(1110, Math.floor(groups / 10));
  for (let u = 0; u < users; u++) {
    const dn = `uid=u${u},ou=people,${BASE}`;
    members[firstLeaf + (u % (groups - firstLeaf))].push(dn);
    members[(u * 7919) % groups].push(dn);
  }
  const parts = [
    `dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
  ];
  for (let u = 0; u < users; u++) parts.push(`dn: uid=u${u},ou=people,${BASE}\nobjectClass: inetOrgPerson\nuid: u${u}\ncn: User ${u}\nsn: ${u}\n`);
  for (let g = 0; g < groups; g++) {
    parts.push(`dn: cn=g${g},ou=groups,${BASE}\nobjectClass: groupOfNames\ncn: g${g}\n` + members[g].map((m) => `member: ${m}\n`).join(''));
  }
  return { ldif: parts.join('\n'), groupDns: Array.from({ length: groups }, (_, g) => `cn=g${g},ou=groups,${BASE}`), stats: expansionStats(members, users, groups) };
}

/** Deterministic PRNG (mulberry32). */
function prng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A directory shaped like an enterprise one. Groups sit on 5 levels (1%, 4%, 10%, 25%, 60%
 * of them, top to bottom); 75% of the groups below the top are members of one group of the
 * level above, 15% of those of a second one (nesting is a DAG, depth up to 5; the rest are
 * flat groups); the mix gives about 37 groups per user after nesting. Every 500th
 * bottom group also contains a top-level group that contains it: a cycle. Each user is a
 * direct member of 1-20 groups (uniform), 85% of them on the two lowest levels; three
 * "everyone"-style groups get 15k, 12k and 10k direct members on top (scaled with the
 * user count). Deterministic.
 */
/** Share of groups below the top level that are nested into another group (the rest are flat). */
const NESTED = 0.75;
/** Share of the nested ones that are in a second parent too. */
const SECOND_PARENT = 0.15;
function generateRealistic(users, groups) {
  const rand = prng(0x1d4a9);
  const pick = (a, b) => a + Math.floor(rand() * (b - a));
  const shares = [0.01, 0.04, 0.1, 0.25, 0.6];
  const levelStart = [];
  let at = 0;
  for (const sh of shares) {
    levelStart.push(at);
    at += Math.max(1, Math.round(groups * sh));
  }
  levelStart.push(groups);
  const levelOf = (g) => levelStart.findLastIndex((s, i) => i < 5 && g >= s);
  const members = Array.from({ length: groups }, () => []);
  const gdn = (g) => `cn=g${g},ou=groups,${BASE}`;
  const parentsOf = Array.from({ length: groups }, () => []);
  for (let g = levelStart[1]; g < groups; g++) {
    const L = levelOf(g);
    if (rand() >= NESTED) continue;
    const p1 = pick(levelStart[L - 1], levelStart[L]);
    parentsOf[g].push(p1);
    if (rand() < SECOND_PARENT) {
      const p2 = pick(levelStart[L - 1], levelStart[L]);
      if (p2 !== p1) parentsOf[g].push(p2);
    }
  }
  for (let g = 0; g < groups; g++) for (const p of parentsOf[g]) members[p].push(gdn(g));
  for (let g = levelStart[4]; g < groups; g += 500) {
    let top = g;
    while (parentsOf[top].length > 0) top = parentsOf[top][0];
    if (top !== g) members[g].push(gdn(top));
  }
  const big = [levelStart[4], levelStart[4] + 1, levelStart[4] + 2];
  const bigSizes = [15000, 12000, 10000].map((n) => Math.round((n * users) / 100000));
  for (let u = 0; u < users; u++) {
    const dn = `uid=u${u},ou=people,${BASE}`;
    const n = pick(1, 21);
    const mine = new Set();
    while (mine.size < n) {
      const low = rand() < 0.85;
      mine.add(low ? pick(levelStart[3], groups) : pick(0, levelStart[3]));
    }
    big.forEach((g, i) => {
      if (u < bigSizes[i]) mine.add(g);
    });
    for (const g of mine) members[g].push(dn);
  }
  const parts = [
    `dn: ou=people,${BASE}\nobjectClass: organizationalUnit\nou: people\n`,
    `dn: ou=groups,${BASE}\nobjectClass: organizationalUnit\nou: groups\n`,
  ];
  for (let u = 0; u < users; u++) parts.push(`dn: uid=u${u},ou=people,${BASE}\nobjectClass: inetOrgPerson\nuid: u${u}\ncn: User ${u}\nsn: ${u}\n`);
  for (let g = 0; g < groups; g++) {
    parts.push(`dn: ${gdn(g)}\nobjectClass: groupOfNames\ncn: g${g}\n` + members[g].map((m) => `member: ${m}\n`).join(''));
  }
  return { ldif: parts.join('\n'), groupDns: Array.from({ length: groups }, (_, g) => gdn(g)), stats: expansionStats(members, users, groups) };
}

/** Direct and nested memberships per user (the ground truth of the shape, computed here). */
function expansionStats(members, users, groups) {
  const prefix = 'cn=g';
  const parents = Array.from({ length: groups }, () => []);
  const direct = new Map();
  let directTotal = 0;
  let largest = 0;
  members.forEach((list, g) => {
    largest = Math.max(largest, list.length);
    for (const m of list) {
      if (m.startsWith(prefix)) parents[Number(m.slice(4, m.indexOf(',')))].push(g);
      else {
        const u = Number(m.slice(5, m.indexOf(',')));
        let d = direct.get(u);
        if (!d) direct.set(u, (d = []));
        d.push(g);
        directTotal++;
      }
    }
  });
  // Ancestors of each group (itself included), cycle-safe.
  const ancestors = new Array(groups);
  const up = (g) => {
    if (ancestors[g]) return ancestors[g];
    const seen = new Set([g]);
    const stack = [g];
    while (stack.length) for (const p of parents[stack.pop()]) if (!seen.has(p)) seen.add(p), stack.push(p);
    return (ancestors[g] = seen);
  };
  let nestedTotal = 0;
  for (const gs of direct.values()) {
    const all = new Set();
    for (const g of gs) for (const a of up(g)) all.add(a);
    nestedTotal += all.size;
  }
  return { directPerUser: +(directTotal / users).toFixed(1), nestedPerUser: +(nestedTotal / users).toFixed(1), memberships: nestedTotal, largestGroupDirect: largest };
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

const GENERATORS = { tree: generateTree, realistic: generateRealistic };

async function runProbe(input, dir = out) {
  // 10k group DNs are too big for the environment (E2BIG): pass a file.
  const inputFile = path.join(out, 'probe-input.json');
  await writeFile(inputFile, JSON.stringify(input));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', path.join(dir, 'probe.mjs')], {
      cwd: root,
      env: { ...process.env, PROBE_INPUT_FILE: inputFile },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text.trim().split('\n').pop())) : reject(new Error(`probe exited ${code}`))));
  });
}

if (process.argv.includes('--shape-only')) {
  // The shapes' statistics without slapd (to tune a generator).
  for (const [users, groups] of scales) for (const shape of shapes) {
    const { ldif, groupDns, stats } = GENERATORS[shape](users, groups);
    console.log(JSON.stringify({ users, groups, shape, ...stats, ldifBytes: ldif.length }));
    // --save DIR: the LDIF and the group DNs, to load into a long-running slapd while profiling.
    const save = arg('--save', null);
    if (save) {
      await mkdir(save, { recursive: true });
      await writeFile(path.join(save, `${shape}-${users}.ldif`), ldif);
      await writeFile(path.join(save, `${shape}-${users}.groups.json`), JSON.stringify(groupDns));
    }
  }
  process.exit(0);
}
await bundle();
if (baseline) await bundleBaseline(baseline);
const { startSlapd } = await import(pathToFileURL(path.join(out, 'slapd.mjs')).href);
const results = [];
for (const [users, groups] of scales) for (const shape of shapes) {
  const t0 = performance.now();
  const { ldif, groupDns, stats } = GENERATORS[shape](users, groups);
  const slapd = await startSlapd({ baseDn: BASE, ldif: [ldif], bulkLoad: true });
  const loadMs = Math.round(performance.now() - t0);
  // slapd's CPU during the probe (/proc/<pid>/stat utime + stime): the directory's share of the sync.
  const slapdPid = Number((await readFile(path.join(slapd.dir, 'slapd.pid'), 'utf8')).trim());
  try {
    // With --baseline: the baseline first, then this tree, against the same slapd.
    const variants = baseline ? [[`baseline ${baseline}`, path.join(out, 'baseline')], ['this tree', out]] : [['this tree', out]];
    for (const [code, dir] of variants) {
      const slapdCpu0 = cpuTicks(slapdPid);
      const r = await runProbe({
        url: slapd.url,
        baseDn: BASE,
        adminDn: slapd.adminDn,
        adminPassword: slapd.adminPassword,
        groupDns,
        workerFile: path.join(dir, 'sync.worker.js'),
        lookups: 2_000_000,
      }, dir);
      r.slapdCpuMs = Math.round(((cpuTicks(slapdPid) - slapdCpu0) * 1000) / CLK_TCK);
      const row = { scale: `${users} users / ${groups} groups`, shape, code, ...stats, ldifBytes: ldif.length, slapaddMs: loadMs, node: process.version, cpus: os.cpus().length, ...r };
      results.push(row);
      console.log(JSON.stringify(row));
      if (outFile) await appendFile(outFile, JSON.stringify({ at: new Date().toISOString(), ...row }) + '\n');
    }
  } finally {
    await slapd.destroy();
  }
}
console.log('\n| scale | shape | code | groups/user direct → nested | memberships | full sync (CPU: service / slapd) | service RSS after sync (peak) | snapshot (shared memory / file) | decode/generation | new generation: max event-loop delay / slowest lookup | groupsOf cold / hot |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.scale} | ${r.shape} | ${r.code} | ${r.directPerUser} → ${r.nestedPerUser} | ${r.memberships} | ${(r.firstSyncMs / 1000).toFixed(2)} s (${(r.syncCpuMs / 1000).toFixed(2)} s / ${(r.slapdCpuMs / 1000).toFixed(2)} s) | ${r.rssAfterSyncMB} MB (${r.maxRssMB} MB) | ${(r.snapshotBytes / 1048576).toFixed(2)} MiB / ${(r.snapshotFileBytes / 1048576).toFixed(2)} MiB | ${r.decodeMs} ms | ${r.loopDelayMaxMs} ms / ${r.maxLookupMs} ms | ${r.lookupNs} ns / ${r.lookupHotNs} ns |`);
}
if (baseline) {
  console.log('\nThis tree / baseline (same slapd, same run):');
  for (let i = 0; i + 1 < results.length; i += 2) {
    const [b, c] = [results[i], results[i + 1]];
    const ratio = (x, y) => (y > 0 ? (x / y).toFixed(2) : 'n/a');
    console.log(`- ${c.scale} ${c.shape}: full sync ${ratio(c.firstSyncMs, b.firstSyncMs)}x, service CPU ${ratio(c.syncCpuMs, b.syncCpuMs)}x, peak RSS ${ratio(c.maxRssMB, b.maxRssMB)}x, max event-loop delay on a new generation ${ratio(c.loopDelayMaxMs, b.loopDelayMaxMs)}x`);
  }
}
