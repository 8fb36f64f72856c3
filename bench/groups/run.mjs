#!/usr/bin/env node
// Group sync benchmark (not a test). For each scale, generates a directory of users and
// nested groups as LDIF, loads it into a local slapd with slapadd (test/harness/slapd.ts),
// runs a full sync in a separate "service" process (bench/groups/probe.ts, sync in the
// worker thread as in production) and reports full sync time, service RSS, snapshot size
// and the cost of groupsOf(). Usage:
//   node bench/groups/run.mjs                 # 10k users/1k groups and 100k users/10k groups
//   node bench/groups/run.mjs --scales 100000:10000
// Prints one JSON line per scale and a summary table.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.join(root, 'node_modules/.cache/bench-groups');
const BASE = 'dc=bench,dc=example';

const argScales = process.argv.indexOf('--scales');
const scales = (argScales > 0 ? process.argv[argScales + 1] : '10000:1000,100000:10000').split(',').map((s) => s.split(':').map(Number));

async function bundle() {
  await mkdir(out, { recursive: true });
  const common = { bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' };
  await build({ ...common, entryPoints: [path.join(root, 'test/harness/slapd.ts')], outfile: path.join(out, 'slapd.mjs') });
  await build({ ...common, entryPoints: [path.join(root, 'bench/groups/probe.ts')], outfile: path.join(out, 'probe.mjs') });
  await build({ ...common, entryPoints: [path.join(root, 'service/src/groups/sync.worker.ts')], outfile: path.join(out, 'sync.worker.js') });
}

/**
 * Groups form a tree with fan-out 10 (group i's parent is floor(i/10)-1), so 10k groups
 * nest 4 levels deep under 10 roots; every 997th group also contains its root (a cycle).
 * Each user is a direct member of two groups (one leaf-level, one spread), so each user
 * ends up in ~8 groups after expansion. Deterministic.
 */
function generate(users, groups) {
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
  return { ldif: parts.join('\n'), groupDns: Array.from({ length: groups }, (_, g) => `cn=g${g},ou=groups,${BASE}`) };
}

async function runProbe(input) {
  // 10k group DNs are too big for the environment (E2BIG): pass a file.
  const inputFile = path.join(out, 'probe-input.json');
  await writeFile(inputFile, JSON.stringify(input));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', path.join(out, 'probe.mjs')], {
      cwd: root,
      env: { ...process.env, PROBE_INPUT_FILE: inputFile },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text.trim().split('\n').pop())) : reject(new Error(`probe exited ${code}`))));
  });
}

await bundle();
const { startSlapd } = await import(pathToFileURL(path.join(out, 'slapd.mjs')).href);
const results = [];
for (const [users, groups] of scales) {
  const t0 = performance.now();
  const { ldif, groupDns } = generate(users, groups);
  const slapd = await startSlapd({ baseDn: BASE, ldif: [ldif], bulkLoad: true });
  const loadMs = Math.round(performance.now() - t0);
  try {
    const r = await runProbe({
      url: slapd.url,
      baseDn: BASE,
      adminDn: slapd.adminDn,
      adminPassword: slapd.adminPassword,
      groupDns,
      workerFile: path.join(out, 'sync.worker.js'),
      lookups: 2_000_000,
    });
    const row = { scale: `${users} users / ${groups} groups`, ldifBytes: ldif.length, slapaddMs: loadMs, ...r };
    results.push(row);
    console.log(JSON.stringify(row));
  } finally {
    await slapd.destroy();
  }
}
console.log('\n| scale | full sync | service RSS after sync (peak) | snapshot (shared memory / file) | decode/generation | groupsOf cold / hot |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.scale} | ${(r.firstSyncMs / 1000).toFixed(2)} s | ${r.rssAfterSyncMB} MB (${r.maxRssMB} MB) | ${(r.snapshotBytes / 1048576).toFixed(2)} MiB / ${(r.snapshotFileBytes / 1048576).toFixed(2)} MiB | ${r.decodeMs} ms | ${r.lookupNs} ns / ${r.lookupHotNs} ns |`);
}
