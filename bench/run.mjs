#!/usr/bin/env node
// `npm run bench`: runs the benchmarks, each in its own process, one after the other.
//   npm run bench                         every benchmark with its defaults
//   npm run bench -- edge --quick         one benchmark; the flags after its name are its own
//   npm run bench -- groups edge          several, with their defaults
// Flags go to every benchmark named before them; each benchmark documents its own
// (node bench/<name>/run.mjs --help). Exits non-zero when any benchmark failed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// In the order "all" runs them. A benchmark whose script is not in the tree is skipped.
const BENCHES = {
  groups: 'bench/groups/run.mjs',
  service: 'bench/service/run.mjs',
  edge: 'bench/edge/run.mjs',
  'ldap-faults': 'bench/ldap-faults/run.mjs',
};

const args = process.argv.slice(2);
const names = [];
while (args.length > 0 && !args[0].startsWith('-')) names.push(args.shift());
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`);
  process.exit(2);
}
if (names.length === 0 && args.length > 0) {
  process.stderr.write(`name the benchmark the flags are for, e.g. npm run bench -- edge ${args.join(' ')}\n`);
  process.exit(2);
}
const missing = names.filter((n) => !existsSync(path.join(root, BENCHES[n])));
if (missing.length > 0) {
  process.stderr.write(`not in this tree: ${missing.map((n) => BENCHES[n]).join(', ')}\n`);
  process.exit(2);
}
const selected = names.length > 0 ? names : Object.keys(BENCHES).filter((n) => existsSync(path.join(root, BENCHES[n])));
// The command line each benchmark prints as "the exact command".
const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');

let failed = 0;
for (const name of selected) {
  process.stderr.write(`[bench] ${name}: node ${BENCHES[name]} ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [path.join(root, BENCHES[name]), ...args],
    { cwd: root, stdio: 'inherit', env: { ...process.env, BENCH_COMMAND: command } });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`[bench] ${name} failed (${r.signal ?? `exit ${r.status}`})\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
