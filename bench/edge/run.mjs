#!/usr/bin/env node
// Edge benchmark (a script, not a test): nginx-side throughput and latency of in-nginx
// token validation on every runtime of the test matrix, against a plain proxy_pass
// baseline, auth_request to the service's /auth/validate (the setup for nginx without
// njs) and the rejection path.
// Per runtime: one nginx under test (the project's nginx/*.conf via test/harness/nginx.ts),
// one floor nginx of the same runtime (bench/edge/floor/floor.js: the least work any njs
// validator must do), a static upstream (host nginx), wrk on 127.0.0.1; the service (for c)
// once per run. Every project row is reported as a multiple of its floor's added cost.
//   node bench/edge/run.mjs [--runtimes bookworm-njs,testing-qjs] [--variants rs256,d2] [--all]
//     [--duration 3] [--warmup 1] [--rounds 3] [--quick] [--threads 2] [--connections 32]
//     [--memory] [--memory-requests 1000000] [--cache-rows | --no-cache-rows] [--no-build]
// Writes bench/results/edge.md (also printed) and bench/results/edge.jsonl.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildVariants, keyFiles, ALGS, AUDIENCE, CACHE_VARIABLE, ISSUER, MEMORY_VARIANTS } from './variants.mjs';
import { checkPath, jwkThumbprint, locationPath, rssKiB, runMicros, runtimeVersions, servedRequests, startEdge, startFloor, startService,
  startStaticUpstream, workerPid } from './stack.mjs';
import { runWrk, statusProblem, wrkVersion } from './wrk.mjs';
import { attachFloors, document, summarize, BASELINE_SUFFIX } from './report.mjs';

/** The njs bundles of a --baseline directory, as files for the harness (they replace dist/njs's). */
function baselineBundles(dir) {
  const names = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.js')) : [];
  if (!names.includes('ljwt.js')) throw new Error(`--baseline ${dir}: no ljwt.js there`);
  return Object.fromEntries(names.map((f) => [f, readFileSync(path.join(dir, f), 'utf8')]));
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cache = path.join(root, 'node_modules/.cache/bench-edge');
const results = path.join(root, 'bench/results');

const USAGE = `usage: node bench/edge/run.mjs [options]   (npm run bench -- edge [options])
  --runtimes LIST        comma-separated runtime ids (default: all: bookworm-njs,trixie-njs,testing-njs,testing-qjs)
  --variants LIST        comma-separated name fragments; a variant runs when its name contains one
                         (a fragment ending in "$" names one variant exactly)
                         (a-proxy and f-proxy, the baselines, and the floors of the chosen rows always run)
  --all                  also the rows left out by default (cookie, 1key, d2-forged, a2-njs-noop)
  --duration S           seconds measured per cell (default 3)
  --warmup S             seconds of warm-up per cell, statuses checked (default 1)
  --rounds N             rounds, every variant once per round, alternating order (default 3)
  --quick                1 round of 2 s
  --threads N            wrk -t (default 2)
  --connections N        wrk -c (default 32)
  --memory               worker RSS over --memory-requests requests of ${MEMORY_VARIANTS.join(' and ')}:
                         after the first 100,000, before and after the last 100,000
  --memory-requests N    default 1000000
  --memory-variants LIST the variants measured by --memory (default: ${MEMORY_VARIANTS.join(',')})
  --out NAME             results go to bench/results/NAME.md and NAME.jsonl (default: edge)
  --cache-rows           add the "-nocache" rows ($${CACHE_VARIABLE} 0) even if njs/config.ts lacks the variable
  --no-cache-rows        never add them
  --no-build             use dist/ as it is (default: npm run build when dist/ is older than the sources)
  --baseline DIR         also run every chosen project row (as <row>${BASELINE_SUFFIX}) in a third nginx whose
                         bundles are DIR/*.js (e.g. another commit's dist/njs): before/after in one run
`;

function options() {
  let a;
  try {
    a = parseArgs({
      options: {
        runtimes: { type: 'string' }, variants: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' },
        rounds: { type: 'string' }, quick: { type: 'boolean' }, threads: { type: 'string' }, connections: { type: 'string' },
        memory: { type: 'boolean' }, 'memory-requests': { type: 'string' }, 'memory-variants': { type: 'string' },
        out: { type: 'string' }, 'cache-rows': { type: 'boolean' }, all: { type: 'boolean' },
        'no-cache-rows': { type: 'boolean' }, 'no-build': { type: 'boolean' }, baseline: { type: 'string' }, help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (a.help) { process.stdout.write(USAGE); process.exit(0); }
  const num = (name, v, dflt, min) => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || (name !== 'duration' && name !== 'warmup' && !Number.isInteger(n))) {
      process.stderr.write(`--${name} must be a number >= ${min}, got ${JSON.stringify(v)}\n`);
      process.exit(2);
    }
    return n;
  };
  const list = (v) => (v === undefined ? null : v.split(',').map((s) => s.trim()).filter(Boolean));
  return {
    runtimes: list(a.runtimes),
    variants: list(a.variants),
    all: Boolean(a.all),
    seconds: num('duration', a.duration, a.quick ? 2 : 3, 1),
    warmup: num('warmup', a.warmup, 1, 0),
    rounds: num('rounds', a.rounds, a.quick ? 1 : 3, 1),
    threads: num('threads', a.threads, 2, 1),
    connections: num('connections', a.connections, 32, 1),
    memory: Boolean(a.memory),
    memoryRequests: num('memory-requests', a['memory-requests'], 1_000_000, 1),
    memoryVariants: list(a['memory-variants']) ?? MEMORY_VARIANTS,
    out: a.out ?? 'edge',
    cacheRows: a['no-cache-rows'] ? false : a['cache-rows'] ? true : null,
    build: !a['no-build'],
    baseline: a.baseline === undefined ? null : path.resolve(a.baseline),
  };
}

/** dist/ missing or older than any njs/service source (as scripts/demo.mjs decides). */
function needsBuild() {
  const outputs = ['dist/njs/ljwt.js', 'dist/service/main.js'].map((f) => path.join(root, f));
  if (!outputs.every((f) => existsSync(f))) return true;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const newest = (dir) => {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return t;
  };
  return Math.max(newest(path.join(root, 'njs')), newest(path.join(root, 'service/src'))) > built;
}

/** Whether the edge reads $ljwt_cache_max_age (a setting of EDGE_SETTINGS in njs/config.ts). */
function edgeHasCacheVariable() {
  const text = readFileSync(path.join(root, 'njs/config.ts'), 'utf8');
  return text.includes(`name: '${CACHE_VARIABLE}'`);
}

async function bundleHarness() {
  mkdirSync(cache, { recursive: true });
  await build({
    entryPoints: [path.join(root, 'bench/edge/harness.ts')], outfile: path.join(cache, 'harness.mjs'),
    bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning',
    // The harness finds the repository (and dist/) relative to its own file.
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(path.join(root, 'test/harness/nginx.ts')).href) },
  });
  return import(pathToFileURL(path.join(cache, 'harness.mjs')).href);
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo);
  const nproc = spawnSync('nproc', { encoding: 'utf8' }).stdout.trim();
  const git = (args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  const dirty = git(['status', '--porcelain', '--', 'njs', 'nginx', 'service/src']).split('\n').filter(Boolean).length;
  const code = `commit ${git(['rev-parse', '--short', 'HEAD']) || 'unknown'}` +
    (dirty > 0 ? ` + ${dirty} uncommitted file(s) in njs/, nginx/, service/src/` : '');
  return { nproc, cpu: model ? model[1].trim() : 'unknown', kernel: os.release(), node: process.versions.node, code,
    loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
}

/** Tokens shared by every runtime: same claims, one per algorithm (RS256 and PS256 share the RSA key). */
function mintTokens(h, keys) {
  const now = h.nowSeconds();
  const payload = {
    iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now, nbf: now - 5, exp: now + 6 * 3600,
    jti: randomBytes(12).toString('base64url'), scope: 'openid profile',
    dns: ['cn=staff,ou=groups,dc=example,dc=com', 'cn=developers,ou=groups,dc=example,dc=com', 'cn=backend,ou=groups,dc=example,dc=com'],
    oids: ['3f2b9c1e-8d4a-4b7e-9a61-2c5d7e8f9012'],
  };
  const tokens = {};
  const forgedPrefix = {};
  for (const alg of ALGS) {
    tokens[alg] = h.signJwt(keys, alg, payload);
    forgedPrefix[alg] = tokens[alg].split('.').slice(0, 2).join('.') + '.';
  }
  return { tokens, forgedPrefix };
}

/** One sample request as wrk would send it (random parts drawn in Node). */
function sampleHeaders(request) {
  if (request.kind === 'none') return [];
  if (request.kind === 'static') return [[request.header, request.value]];
  if (request.kind === 'garbage') {
    const n = 8 + Math.floor(Math.random() * 392);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
    return [[request.header, request.prefix + s]];
  }
  return [[request.header, request.prefix + randomBytes(request.bytes).toString('base64url')]];
}

/** Whether nginx/http.conf declares $ljwt_cache_status (HIT, MISS or OFF per request). */
function edgeHasCacheStatus() {
  return /^\s*js_var\s+\$ljwt_cache_status\s*;/m.test(readFileSync(path.join(root, 'nginx/http.conf'), 'utf8'));
}

/** $ljwt_cache_status of the second of two requests with the same credential (the /check/ twin). */
async function cacheState(h, port, v) {
  const headers = sampleHeaders(v.request);
  await h.rawRequest(port, 'GET', checkPath(v.name), headers);
  const r = await h.rawRequest(port, 'GET', checkPath(v.name), headers);
  return r.header('x-bench-cache') || '-';
}

/** Before load: the variant answers as expected, and a protected one refuses a request without token. */
async function precheck(h, port, v) {
  const r = await h.rawRequest(port, 'GET', locationPath(v.name), sampleHeaders(v.request));
  if (r.status !== v.expect) return `pre-check: expected ${v.expect}, got ${r.status} ${r.header('x-ljwt-error') ?? ''}`.trim();
  if (v.expect === 200 && r.body !== 'ok\n') return `pre-check: the answer did not come from the upstream: ${JSON.stringify(r.body.slice(0, 80))}`;
  const verifies = v.floorCheck && v.floorCheck.handler !== 'noop';
  if (v.protect || v.service || verifies) {
    const none = await h.rawRequest(port, 'GET', locationPath(v.name), []);
    if (none.status !== 401) return `pre-check: a request without token got ${none.status}, not 401`;
  }
  if (verifies && v.expect === 200) {
    // The floor really checks the signature: one changed signature character is refused.
    const value = v.request.value;
    const i = value.lastIndexOf('.') + 6;
    const tampered = value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1);
    const bad = await h.rawRequest(port, 'GET', locationPath(v.name), [[v.request.header, tampered]]);
    if (bad.status !== 401) return `pre-check: a token with a changed signature got ${bad.status}, not 401`;
  }
  return null;
}

/** The span in which worker memory is watched: the first and the last MEMORY_WINDOW requests. */
const MEMORY_WINDOW = 100_000;

/**
 * Sends o.memoryRequests requests of variant v to the nginx under test, in wrk runs sized to
 * reach each checkpoint, and reads the worker's VmRSS at the start, after the first
 * MEMORY_WINDOW requests, when the last MEMORY_WINDOW begin and at the end. Counts come from
 * stub_status; every response must have the variant's status.
 */
async function memoryRun(nginx, v, rps, log) {
  const pid = workerPid(nginx);
  const total = o.memoryRequests;
  const start = await servedRequests(h, nginx);
  const out = { startKiB: rssKiB(pid) };
  const checkpoints = [
    ['first', Math.min(MEMORY_WINDOW, total)],
    ['lastStart', Math.max(Math.min(MEMORY_WINDOW, total), total - MEMORY_WINDOW)],
    ['end', total],
  ];
  let done = 0;
  for (const [label, at] of checkpoints) {
    while (done < at) {
      const seconds = Math.max(1, Math.min(300, Math.ceil((at - done) / Math.max(1, rps))));
      const r = await runWrk({ url: `http://127.0.0.1:${nginx.ports.main}${locationPath(v.name)}`, threads: o.threads,
        connections: o.connections, seconds, mode: 'measure', request: v.request });
      const p = statusProblem(r, v.expect);
      if (p) throw new Error(p);
      done = (await servedRequests(h, nginx)) - start;
      rps = r.rps;
      log(`${done} requests, RSS ${rssKiB(pid)} KiB`);
    }
    if (label === 'end') { out.requests = done; out.endKiB = rssKiB(pid); } else { out[`${label}At`] = done; out[`${label}KiB`] = rssKiB(pid); }
  }
  if (workerPid(nginx) !== pid) throw new Error('the nginx worker was replaced during the run');
  return out;
}

const o = options();
const cleanups = [];
let stopping = false;
async function cleanup() {
  while (cleanups.length > 0) {
    const f = cleanups.pop();
    try { await f(); } catch (e) { process.stderr.write(`cleanup: ${e.message}\n`); }
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${sig}: stopping\n`);
    void cleanup().then(() => process.exit(130));
  });
}
const say = (s) => process.stderr.write(`[bench edge] ${s}\n`);

if (o.build && needsBuild()) {
  say('dist/ is older than the sources: npm run build');
  // Build output goes to stderr: stdout carries only the table.
  const b = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (b.status !== 0) process.exit(1);
}
const h = await bundleHarness();
const runtimeIds = o.runtimes ?? h.RUNTIME_IDS;
for (const id of runtimeIds) {
  if (!h.RUNTIME_IDS.includes(id)) { process.stderr.write(`unknown runtime ${id} (known: ${h.RUNTIME_IDS.join(', ')})\n`); process.exit(2); }
}

const keys = h.generateTestKeys();
// The service's key manager names keys by their RFC 7638 thumbprint: the same ES256 key
// and token serve the edge (b) and the service (c).
keys.ec256.kid = jwkThumbprint(keys.ec256.publicKey.export({ format: 'jwk' }));
const { tokens, forgedPrefix } = mintTokens(h, keys);
const cacheRows = o.cacheRows ?? edgeHasCacheVariable();
const cacheStatus = edgeHasCacheStatus();
let variants = buildVariants({ tokens, forgedPrefix, cacheRows });
{
  const all = variants;
  // A fragment ending in "$" names one variant exactly.
  const picks = (v, f) => (f.endsWith('$') ? v.name === f.slice(0, -1) : v.name.includes(f));
  if (o.variants) {
    const unknown = o.variants.filter((f) => !all.some((v) => picks(v, f)));
    if (unknown.length > 0) { process.stderr.write(`no variant matches ${unknown.join(', ')}\n`); process.exit(2); }
  }
  const chosen = all.filter((v) => (o.variants ? o.variants.some((f) => picks(v, f)) : o.all || !v.extra));
  // The baselines, and the floor rows the chosen rows are held against (a hit's and a full check's).
  const keep = new Set(['a-proxy', 'f-proxy', ...chosen.map((v) => v.name)]);
  for (const v of chosen) if (v.floor) for (const c of ['HIT', '']) { const f = v.floor(c); if (f) keep.add(f); }
  variants = all.filter((v) => keep.has(v.name));
  if (o.baseline) {
    const twins = chosen.filter((v) => v.instance !== 'floor' && (v.group !== 'a' || v.name === 'a2-njs-noop') && !v.service)
      .map((v) => ({ ...v, name: v.name + BASELINE_SUFFIX, instance: 'baseline', what: `${v.what} (bundles from --baseline)`,
        target: undefined }));
    variants = variants.concat(twins, [{ ...all.find((v) => v.name === 'a-proxy'), name: `a-proxy${BASELINE_SUFFIX}`, instance: 'baseline',
      what: 'plain proxy_pass in the --baseline nginx (its baseline)' }]);
  }
}
const command = process.env.BENCH_COMMAND || ['node', 'bench/edge/run.mjs', ...process.argv.slice(2)].join(' ');
const run = {
  type: 'run', date: new Date().toISOString(), command, ...machine(), wrk: wrkVersion(), threads: o.threads,
  connections: o.connections, seconds: o.seconds, warmup: o.warmup, rounds: o.rounds, cacheRows, memoryRequests: o.memory ? o.memoryRequests : null,
};
mkdirSync(results, { recursive: true });
run.bundleBuilt = statSync(path.join(root, 'dist/njs/ljwt.js')).mtime.toISOString();
const jsonl = [JSON.stringify(run)];
const perRuntime = [];
const memoryRows = [];

try {
  let service = null;
  if (variants.some((v) => v.service)) {
    say('starting slapd and the service (dist/service/main.js)');
    service = await startService(h, root, keys.ec256);
    cleanups.push(() => service.stop());
  }
  const host = await h.getRuntime('bookworm-njs');
  for (const id of runtimeIds) {
    const rt = await h.getRuntime(id);
    const versions = runtimeVersions(h, rt);
    versions.shared = rt.sharedDict === true;
    const entry = { id, versions, rows: [] };
    perRuntime.push(entry);
    say(`${id}: nginx ${versions.nginx}, njs ${versions.njs}, engine ${versions.engine}`);
    const na = {};
    for (const v of variants) if (v.needs && v.needs(rt)) na[v.name] = v.needs(rt);
    const active = variants.filter((v) => !na[v.name]);
    let upstream = null;
    let edge = null;
    let floor = null;
    let baseline = null;
    try {
      upstream = await startStaticUpstream(h, host);
      cleanups.push(upstream.stop);
      const inProject = active.filter((v) => v.instance !== 'floor' && v.instance !== 'baseline');
      const inBaseline = active.filter((v) => v.instance === 'baseline');
      const inFloor = active.filter((v) => v.instance === 'floor');
      edge = await startEdge(h, rt, inProject, {
        upstreamPort: upstream.ports.up,
        servicePort: service ? service.port : null,
        files: keyFiles(h, keys),
        cacheStatus,
      });
      cleanups.push(edge.stop);
      if (inFloor.length > 0) {
        floor = await startFloor(h, rt, inFloor, { upstreamPort: upstream.ports.up, keys });
        cleanups.push(floor.stop);
      }
      if (inBaseline.length > 0) {
        baseline = await startEdge(h, rt, inBaseline, {
          upstreamPort: upstream.ports.up,
          servicePort: null,
          files: { ...keyFiles(h, keys), ...baselineBundles(o.baseline) },
          cacheStatus,
        });
        cleanups.push(baseline.stop);
      }
      const instanceOf = (v) => (v.instance === 'floor' ? floor : v.instance === 'baseline' ? baseline : edge);
      const errors = {};
      const cacheSeen = {};
      for (const v of active) {
        const port = instanceOf(v).ports.main;
        const p = await precheck(h, port, v);
        if (p) { errors[v.name] = p; say(`${id} ${v.name}: ${p}`); }
        if (cacheStatus && v.protect && v.expect === 200) cacheSeen[v.name] = await cacheState(h, port, v);
      }
      const measured = active.filter((v) => !errors[v.name]);
      // The worker's CPU time per request is the cost figure least disturbed by other load on
      // the machine; its busy share shows whether nginx (not wrk or the upstream) was the limit.
      // Run time from /proc/<pid>/schedstat, requests from stub_status, both read around the
      // measured part: the requests the worker served, not the ones wrk saw complete.
      const workers = new Map([[edge, workerPid(edge)]]);
      if (floor) workers.set(floor, workerPid(floor));
      if (baseline) workers.set(baseline, workerPid(baseline));
      const cells = [];
      for (let round = 0; round < o.rounds; round++) {
        const order = round % 2 === 0 ? measured : measured.slice().reverse();
        for (const v of order) {
          const inst = instanceOf(v);
          const worker = workers.get(inst);
          const url = `http://127.0.0.1:${inst.ports.main}${locationPath(v.name)}`;
          const base = { url, threads: o.threads, connections: o.connections, request: v.request };
          const cell = { type: 'cell', runtime: id, variant: v.name, round };
          try {
            let problem = null;
            if (o.warmup > 0) {
              const w = await runWrk({ ...base, seconds: o.warmup, mode: 'check' });
              problem = statusProblem(w, v.expect);
              if (problem) problem = `warm-up: ${problem}`;
            }
            if (!problem) {
              const served0 = await servedRequests(h, inst);
              const run0 = runMicros(worker);
              const r = await runWrk({ ...base, seconds: o.seconds, mode: 'measure' });
              const busyUs = runMicros(worker) - run0;
              const served = (await servedRequests(h, inst)) - served0;
              Object.assign(cell, { workerUsPerRequest: busyUs / Math.max(1, served), workerBusy: busyUs / r.durationUs, served,
                rps: r.rps, p50Ms: r.p50Ms, p90Ms: r.p90Ms, p99Ms: r.p99Ms, maxMs: r.maxUs / 1000, requests: r.requests,
                statusErrors: r.statusErrors, socketErrors: r.socketErrors });
              problem = statusProblem(r, v.expect);
            }
            if (problem) cell.error = problem;
          } catch (e) {
            cell.error = e.message;
          }
          cells.push(cell);
          jsonl.push(JSON.stringify(cell));
          say(`${id} round ${round + 1}/${o.rounds} ${v.name}: ${cell.error ? `ERROR ${cell.error}` : `${Math.round(cell.rps)} req/s, worker ${cell.workerUsPerRequest.toFixed(1)} µs/req (${Math.round(cell.workerBusy * 100)}% busy), p50 ${cell.p50Ms.toFixed(2)} ms, p99 ${cell.p99Ms.toFixed(2)} ms`}`);
        }
      }
      entry.rows = attachFloors(summarize(variants, cells, na, errors).map((r) => ({ ...r, cache: cacheSeen[r.name] ?? '' })), variants);
      for (const r of entry.rows) jsonl.push(JSON.stringify({ type: 'summary', runtime: id, ...r }));

      if (o.memory) {
        for (const name of o.memoryVariants) {
          const v = measured.find((x) => x.name === name);
          const row = { type: 'memory', runtime: id, variant: name, cache: cacheSeen[name] ?? '' };
          if (!v) row.error = 'variant not measured in this run';
          else {
            try {
              Object.assign(row, await memoryRun(edge, v, entry.rows.find((r) => r.name === name)?.rps ?? 1000, (s) => say(`${id} memory ${name}: ${s}`)));
            } catch (e) {
              row.error = e.message;
            }
          }
          memoryRows.push(row);
          jsonl.push(JSON.stringify(row));
          say(`${id} memory ${name}: ${row.error ? `ERROR ${row.error}` : `RSS ${row.startKiB} KiB at start, ${row.firstKiB} after ${row.firstAt}, ` +
            `${row.lastStartKiB} at ${row.lastStartAt}, ${row.endKiB} after ${row.requests} requests`}`);
        }
      }
      for (const inst of [edge, floor, baseline]) {
        if (!inst) continue;
        const alerts = inst.errorLog().split('\n').filter((l) => /\[(alert|emerg|crit)\]/.test(l));
        if (alerts.length > 0) say(`${id}: nginx error.log has ${alerts.length} alert/crit lines, e.g. ${alerts[0]}`);
      }
    } catch (e) {
      entry.error = e.message;
      say(`${id}: ${e.stack}`);
    } finally {
      for (const inst of [edge, floor, baseline, upstream]) {
        if (!inst) continue;
        const i = cleanups.indexOf(inst.stop);
        if (i >= 0) cleanups.splice(i, 1);
        await inst.stop();
      }
    }
  }
} finally {
  await cleanup();
}

run.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const md = document(run, perRuntime, memoryRows, variants);
writeFileSync(path.join(results, `${o.out}.md`), md);
writeFileSync(path.join(results, `${o.out}.jsonl`), jsonl.join('\n') + '\n');
process.stdout.write(md);
process.exit(perRuntime.some((r) => r.error || r.rows.some((x) => x.error)) ? 1 : 0);
