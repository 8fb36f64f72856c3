#!/usr/bin/env node
// Login throughput of the auth service. Not a test: a benchmark script.
// Starts a real slapd (test/harness/slapd.ts, bulk-loaded with `--users` people with {SSHA}
// passwords), the real built service (dist/service/main.js, XML config, memory store, group
// sync worker, logs to a file), then drives logins with wrk on 127.0.0.1, a different user
// per request, checking every response:
//   password  POST /token grant_type=password, scope "openid api" (200 with access, ID and refresh token)
//   password-api  the same with scope "api" (200 with access and refresh token, no ID token): the
//             ID token's share of a password login, measured in the same run
//   form      POST /authorize, the browser login form (303 to the client with a code); the
//             forms (single-use CSRF nonces) are fetched before the run, one per request
//   healthz   GET /healthz: the HTTP floor of the service, no login (reference row)
// Any failed check makes the run invalid. Writes bench/results/service.md and prints it.
//   node bench/service/run.mjs [--duration 20] [--connections 32] [--users 10000]
//        [--threads 1] [--modes healthz,password,password-api,form] [--rounds 1] [--quick] [--out FILE]
//        [--profile DIR]   (service runs with --cpu-prof, profile written to DIR at exit)
//        [--node-options=FLAGS]  (node flags for the service, space separated; default those of service/Dockerfile's
//                          CMD, read from it; --node-options= for none)
//        [--max-failures-per-ip N]  (throttle/maxFailuresPerIp; default max(20, 2 x connections))
//        [--baseline MAIN_JS]  (also measure another build of the service, e.g. of an older
//                          commit, against the same slapd, one service at a time; rows marked [baseline])
//        [--baseline-node-options=FLAGS]  (node flags for the baseline; default those of this build)
//        [--store memory|redis]  (the service's store; redis: a local redis-server, test/harness/redis.ts)
//        [--no-build]      (use dist/service as it is; default: npm run build's scripts/build.mjs first)
//   --quick: 4 s rows and 2000 users (a smoke run; the figures are not the goal's).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildTree, bundleHarness, firstLine, intOption, request, root, serviceXml, sleep, startBuiltService, usage } from '../lib/service.mjs';
import { BASE_DN, benchLdif, GROUPS, passwordOf } from './directory.mjs';

const cacheDir = path.join(root, 'node_modules/.cache/bench-service');
const LUA = path.join(root, 'bench/service/login.lua');
const REDIRECT = 'https://app.bench.example/callback';
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
const GOAL = { rate: 1000, p99Ms: 50 };
const RSS_SAMPLE_MS = 100;

/** The node flags of the container image's CMD (service/Dockerfile): `node <flags> dist/service/main.js …`. */
function imageNodeFlags() {
  const cmd = readFileSync(path.join(root, 'service/Dockerfile'), 'utf8').split('\n')
    .map((l) => /^CMD (\[.*"dist\/service\/main\.js".*\])\s*$/.exec(l)?.[1]).find((c) => c !== undefined);
  if (cmd === undefined) throw new Error('service/Dockerfile: no CMD running dist/service/main.js');
  const argv = JSON.parse(cmd);
  return argv.slice(1, argv.indexOf('dist/service/main.js'));
}

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      users: { type: 'string' },
      threads: { type: 'string' },
      modes: { type: 'string' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      quick: { type: 'boolean' },
      profile: { type: 'string' },
      'node-options': { type: 'string' },
      'max-failures-per-ip': { type: 'string' },
      baseline: { type: 'string' },
      'baseline-node-options': { type: 'string' },
      store: { type: 'string' },
      'no-build': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const num = (name, fallback) => intOption(values, name, fallback);
  if (values.store !== undefined && !['memory', 'redis'].includes(values.store)) throw new Error('--store is memory or redis');
  const modes = (values.modes ?? 'healthz,password,password-api,form').split(',').filter((m) => m !== '');
  for (const m of modes) if (!['healthz', 'password', 'password-api', 'form'].includes(m)) throw new Error(`unknown mode ${m}`);
  return {
    help: values.help === true,
    quick,
    duration: num('duration', quick ? 4 : 20),
    connections: num('connections', 32),
    users: num('users', quick ? 2000 : 10000),
    threads: num('threads', 1),
    rounds: num('rounds', 1),
    modes,
    out: values.out ?? path.join(root, 'bench/results/service.md'),
    build: values['no-build'] !== true,
    profile: values.profile,
    // The service as the container image runs it (service/Dockerfile CMD) unless told otherwise.
    nodeOptions: values['node-options'] !== undefined ? values['node-options'].split(' ').filter((x) => x !== '') : imageNodeFlags(),
    baseline: values.baseline !== undefined ? path.resolve(values.baseline) : undefined,
    baselineNodeOptions: values['baseline-node-options']?.split(' ').filter((x) => x !== ''),
    store: values.store ?? 'memory',
    maxFailuresPerIp: values['max-failures-per-ip'] !== undefined ? num('max-failures-per-ip', 20) : undefined,
  };
}

/** utime+stime of a process, seconds (all threads). */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5); f[0] is field 3.
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

/** The slapd (or redis-server) the harness spawned from this process. */
function childPid(command = 'slapd') {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === command && ppid === process.pid) return Number(name);
    } catch { /* process gone */ }
  }
  throw new Error(`${command} process not found`);
}

const client = (id, grantTypes) => ({ id, redirectUri: REDIRECT, grantTypes, scopes: ['openid', 'api'] });
const CLIENTS = [client('cli', ['password', 'refresh_token']), client('web', ['authorization_code', 'refresh_token'])];

const get = (url, headers, agent) => request(agent, 'GET', url, headers);

const unescapeHtml = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/**
 * Fetches `count` login forms (GET /authorize) sharing one CSRF cookie and writes one POST
 * body per line, form j for user j % users. Each form's nonce is single use.
 */
async function fetchForms(base, count, users, file) {
  const q = new URLSearchParams({
    response_type: 'code', client_id: 'web', redirect_uri: REDIRECT, scope: 'openid api', state: 'bench-state',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
  });
  const url = `${base}/authorize?${q}`;
  const first = await get(url, {});
  const set = [first.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('ljwt_csrf='));
  if (first.status !== 200 || set === undefined) throw new Error(`GET /authorize: ${first.status}`);
  const cookie = set.split(';')[0];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const lines = new Array(count);
  let next = 0;
  async function worker() {
    for (;;) {
      const j = next++;
      if (j >= count) return;
      const r = await get(url, { cookie }, agent);
      if (r.status !== 200) throw new Error(`GET /authorize: ${r.status}`);
      const fields = new URLSearchParams();
      for (const m of r.text.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields.set(unescapeHtml(m[1]), unescapeHtml(m[2]));
      if (!fields.has('csrf_token')) throw new Error('login form without csrf_token');
      const u = j % users;
      fields.set('username', `u${u}`);
      fields.set('password', passwordOf(u));
      lines[j] = fields.toString();
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker));
  agent.destroy();
  writeFileSync(file, lines.join('\n') + '\n');
  return cookie;
}

/** Runs wrk under bash so `times` reports wrk's own CPU. */
function runWrk(args) {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', 'wrk "$@"; rc=$?; times; exit $rc', 'wrk', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) { reject(new Error(`wrk exited ${code}: ${err}${out}`)); return; }
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (line === undefined) { reject(new Error(`wrk printed no result:\n${out}${err}`)); return; }
      // `times`: shell user/sys, then children user/sys (e.g. "0m1.234s 0m0.567s").
      const t = out.trim().split('\n').pop().split(' ').map((s) => {
        const m = /^(\d+)m([\d.]+)s$/.exec(s);
        return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
      });
      resolve({ ...JSON.parse(line.slice('BENCH_JSON '.length)), wrkCpu: t[0] + t[1] });
    });
  });
}

async function measure(label, mode, base, o, pids, extra = []) {
  const wrkArgs = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.duration}s`, '--latency', '--timeout', '10s',
    '-s', LUA, base, '--', mode, String(o.users), String(o.threads), ...extra];
  const before = { svc: cpuSeconds(pids.service), slapd: cpuSeconds(pids.slapd), redis: pids.redis !== undefined ? cpuSeconds(pids.redis) : NaN, t: performance.now() };
  // The row's peak, not its last value: RSS rises and falls with garbage collection.
  let rss = rssMiB(pids.service);
  const sampler = setInterval(() => { rss = Math.max(rss, rssMiB(pids.service)); }, RSS_SAMPLE_MS);
  const r = await runWrk(wrkArgs).finally(() => clearInterval(sampler));
  rss = Math.max(rss, rssMiB(pids.service));
  const wall = (performance.now() - before.t) / 1000;
  const svcCpu = (cpuSeconds(pids.service) - before.svc) / wall;
  const slapdCpu = (cpuSeconds(pids.slapd) - before.slapd) / wall;
  const redisCpu = pids.redis !== undefined ? (cpuSeconds(pids.redis) - before.redis) / wall : undefined;
  const seconds = r.duration_us / 1e6;
  const errors = r.bad + r.exhausted + r.connect_errors + r.read_errors + r.write_errors + r.timeouts;
  return {
    label, mode, rate: r.ok / seconds, requests: r.requests, ok: r.ok, errors, detail: r,
    p50: r.p50_us / 1000, p90: r.p90_us / 1000, p99: r.p99_us / 1000, max: r.max_us / 1000,
    svcCpu, slapdCpu, redisCpu, wrkCpu: r.wrkCpu / wall, rss,
    command: `wrk ${wrkArgs.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`,
  };
}

const pct = (x) => `${Math.round(x * 100)}%`;
const ms = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

function table(rows) {
  const redis = rows.some((r) => r.redisCpu !== undefined);
  const lines = [
    `| login | logins/s | p50 ms | p90 ms | p99 ms | max ms | ok | errors | CPU service | CPU slapd |${redis ? ' CPU redis |' : ''} CPU wrk | CPU µs per login: service / slapd${redis ? ' / redis' : ''} | service RSS (peak) | goal (≥ 1000/s, p99 ≤ 50 ms, 0 errors) |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${redis ? ' ---: |' : ''} ---: | ---: | ---: | --- |`,
  ];
  const us = (cpu, r) => Math.round(cpu / r.rate * 1e6);
  for (const r of rows) {
    const goal = r.mode === 'healthz' ? 'reference (no login)'
      : r.errors > 0 ? `**INVALID: ${r.errors} errors**`
      : r.rate >= GOAL.rate && r.p99 <= GOAL.p99Ms ? 'met'
      : `missed (${r.rate < GOAL.rate ? `${Math.round((1 - r.rate / GOAL.rate) * 100)}% short of the rate` : ''}${r.rate < GOAL.rate && r.p99 > GOAL.p99Ms ? ', ' : ''}${r.p99 > GOAL.p99Ms ? `p99 ${ms(r.p99)} ms` : ''})`;
    lines.push(`| ${r.label} | ${Math.round(r.rate)} | ${ms(r.p50)} | ${ms(r.p90)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.ok} | ${r.errors} | ` +
      `${pct(r.svcCpu)} | ${pct(r.slapdCpu)} |${redis ? ` ${pct(r.redisCpu ?? 0)} |` : ''} ${pct(r.wrkCpu)} | ` +
      `${us(r.svcCpu, r)} / ${us(r.slapdCpu, r)}${redis ? ` / ${us(r.redisCpu ?? 0, r)}` : ''} | ${r.rss} MiB | ${goal} |`);
  }
  return lines.join('\n');
}

/** Starts dist/service/main.js (or another build) on a free port with its own key directory. */
async function startService(mainJs, nodeOptions, slapd, dir, o, freePort, name) {
  const port = await freePort();
  const own = path.join(dir, name);
  const xml = serviceXml({
    uris: [slapd.url], port, dir: own,
    service: { jwksFile: `${own}/public/jwks.json`, ...(o.redisUrl !== undefined ? { redisUrl: o.redisUrl } : {}) },
    throttle: { maxFailuresPerIp: o.maxFailuresPerIp },
    clients: CLIENTS,
  });
  const nodeArgs = [...nodeOptions, ...(o.profile !== undefined ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(o.profile)] : [])];
  const svc = await startBuiltService({ mainJs, dir: own, port, xml, nodeArgs, env: { PATH: process.env.PATH } });
  return { base: svc.base, pids: { service: svc.child.pid, slapd: childPid('slapd'), ...(o.redisUrl !== undefined ? { redis: childPid('redis-server') } : {}) }, stop: svc.stop };
}

/** This build against the baseline build, per login kind (best row of each). */
function comparison(rows) {
  if (!rows.some((r) => r.baseline)) return [];
  const out = ['Side by side (this build / baseline, same run, same slapd):', ''];
  const kinds = [...new Set(rows.map((r) => r.mode))];
  for (const mode of kinds) {
    const best = (b) => rows.filter((r) => r.mode === mode && r.baseline === b).sort((x, y) => y.rate - x.rate)[0];
    const now = best(false);
    const before = best(true);
    if (now === undefined || before === undefined) continue;
    const perLogin = (r) => (r.svcCpu + r.slapdCpu) / r.rate * 1e6;
    const unit = mode === 'healthz' ? 'request' : 'login';
    out.push(`- ${now.label.replace(/ #\d+$/, '')}: ${(now.rate / before.rate).toFixed(2)}× the ${unit}s/s (${Math.round(now.rate)} vs ${Math.round(before.rate)}), ` +
      `p99 ${ms(now.p99)} vs ${ms(before.p99)} ms, service + slapd CPU per ${unit} ${Math.round(perLogin(now))} vs ${Math.round(perLogin(before))} µs`);
  }
  return [...out, ''];
}

/** What the ID token adds to a password grant: the two password rows of this build, side by side. */
function idTokenShare(rows) {
  const best = (mode) => rows.filter((r) => r.mode === mode && !r.baseline).sort((x, y) => y.rate - x.rate)[0];
  const withId = best('password');
  const without = best('password-api');
  if (withId === undefined || without === undefined) return [];
  const us = (r) => r.svcCpu / r.rate * 1e6;
  return [`ID token's share of a password grant (scope \`openid api\` against \`api\`, same run): ${Math.round(us(withId) - us(without))} µs of service CPU per login ` +
    `(${Math.round(us(withId))} against ${Math.round(us(without))} µs, ${Math.round((1 - us(without) / us(withId)) * 100)}%); ` +
    `${Math.round(withId.rate)} against ${Math.round(without.rate)} logins/s.`, ''];
}

export async function main(argv = process.argv.slice(2)) {
  const o = options(argv);
  if (o.help) {
    process.stdout.write(usage(import.meta.url));
    return 0;
  }
  // The throttle reserves a per-IP slot for every attempt in flight (successes give it back when
  // they finish), so one client address with N concurrent logins needs maxFailuresPerIp >= N.
  o.maxFailuresPerIp ??= Math.max(20, 2 * o.connections);
  if (o.build) buildTree();
  const serviceMain = path.join(root, 'dist/service/main.js');
  if (!existsSync(serviceMain)) throw new Error('dist/service/main.js is missing (npm run build)');

  const { startSlapd, freePort, startRedis } = await bundleHarness(cacheDir, ['slapd', 'redis']);
  const redis = o.store === 'redis' ? await startRedis() : undefined;
  o.redisUrl = redis?.url;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ljwt-bench-service-'));
  const t0 = performance.now();
  const slapd = await startSlapd({ baseDn: BASE_DN, ldif: [benchLdif(o.users)], bulkLoad: true, indexes: ['uid eq'] });
  const loadSeconds = (performance.now() - t0) / 1000;
  const rows = [];
  const services = [{ tag: '', main: serviceMain }];
  if (o.baseline !== undefined) services.push({ tag: ' [baseline]', main: o.baseline, nodeOptions: o.baselineNodeOptions });
  let running;
  try {
    for (let round = 1; round <= o.rounds; round++) {
      for (const svc of services) {
        const suffix = `${svc.tag}${o.rounds > 1 ? ` #${round}` : ''}`;
        running = await startService(svc.main, svc.nodeOptions ?? o.nodeOptions, slapd, dir, o, freePort, `svc${services.indexOf(svc)}-${round}`);
        const { base, pids } = running;
        // Warm-up (JIT, connection pools), not reported.
        const warm = await measure('warm-up', 'password', base, { ...o, duration: Math.min(3, o.duration) }, pids);
        if (warm.errors > 0) throw new Error(`warm-up failed: ${JSON.stringify(warm.detail)}`);
        let passwordRate = warm.rate;
        for (const mode of o.modes) {
          await sleep(1000);
          let r;
          if (mode === 'healthz') r = await measure(`GET /healthz (HTTP floor)${suffix}`, 'healthz', base, o, pids);
          else if (mode === 'password' || mode === 'password-api') {
            const label = mode === 'password' ? 'password grant, POST /token' : 'password grant, scope api (no ID token), POST /token';
            r = await measure(`${label}${suffix}`, mode, base, o, pids);
            passwordRate = Math.max(passwordRate, r.rate);
          } else {
            // One form per request, and a form login may be faster than the password grant (no
            // token to sign): three times the best password-grant rate of this service, plus margin.
            const count = Math.ceil(Math.max(passwordRate, 1000) * 3 * o.duration) + 2000;
            const formsFile = path.join(dir, 'forms.txt');
            const cookie = await fetchForms(base, count, o.users, formsFile);
            await sleep(1000);
            r = await measure(`login form, POST /authorize${suffix}`, 'form', base, o, pids, [formsFile, cookie]);
          }
          r.baseline = svc.tag !== '';
          rows.push(r);
          process.stderr.write(`${r.label}: ${Math.round(r.rate)}/s p50 ${ms(r.p50)} ms p99 ${ms(r.p99)} ms errors ${r.errors}` +
            `${r.errors > 0 ? ` (${JSON.stringify(r.detail)})` : ''} cpu service ${pct(r.svcCpu)} slapd ${pct(r.slapdCpu)} wrk ${pct(r.wrkCpu)}` +
            ` (${Math.round(r.svcCpu / r.rate * 1e6)} / ${Math.round(r.slapdCpu / r.rate * 1e6)} µs per request)\n`);
        }
        await running.stop();
        running = undefined;
      }
    }
  } finally {
    await running?.stop();
    await redis?.stop();
    await slapd.destroy();
    rmSync(dir, { recursive: true, force: true });
  }

  const git = firstLine('git', ['-C', root, 'describe', '--always', '--dirty']);
  const ldapts = JSON.parse(readFileSync(path.join(root, 'node_modules/ldapts/package.json'), 'utf8')).version;
  const md = [
    '# Service login throughput',
    '',
    `Command: \`${process.env.BENCH_COMMAND ?? `node bench/service/run.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`}\` (${new Date().toISOString()}, tree ${git})`,
    '',
    `Machine: ${os.availableParallelism()} CPUs (nproc), ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.type()} ${os.release()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB.`,
    `Versions: Node ${process.version}, ${firstLine('slapd', ['-VV']).replace(/^.*\$OpenLDAP: /, 'OpenLDAP ').replace(/ \(.*$/, '')}, ${firstLine('wrk', ['--version']).replace(/ Copyright.*$/, '')}, ldapts ${ldapts}.`,
    '',
    `Setup: slapd (mdb, \`uid eq\` index, \`-d stats\` logging) with ${o.users} users ({SSHA} passwords, 2 of ${GROUPS} groups each; loaded in ${loadSeconds.toFixed(1)} s), ` +
      `the built service (\`node ${o.nodeOptions.length ? `${o.nodeOptions.join(' ')} ` : ''}dist/service/main.js\`` +
      `${o.baselineNodeOptions !== undefined && o.baseline !== undefined ? `; the baseline with \`node ${o.baselineNodeOptions.join(' ')}\`` : ''}, ` +
      `${o.store === 'redis' ? 'Redis store (a local redis-server)' : 'memory store'}, group sync worker, ES256 signing, JSON logs at info to a file), ` +
      `wrk ${o.threads} thread(s), ${o.connections} connections, ${o.duration} s per row after a ${Math.min(3, o.duration)} s warm-up, all on 127.0.0.1. ` +
      'Every request logs in a different user (round robin); every response is checked: password grant = 200 with an access, a refresh and an ID token ' +
      '(scope `openid api`), password grant with scope `api` = 200 with an access and a refresh token and no ID token, ' +
      'login form = 303 to the client\'s redirect URI with a code. Anything else counts as an error and makes the row invalid. ' +
      'The forms are fetched (GET /authorize) before their row, one per request: their CSRF nonces are single use.',
    '',
    `Config change for the bench: \`throttle/maxFailuresPerIp\` = ${o.maxFailuresPerIp} (default 20): the throttle reserves a per-IP slot for each attempt in flight and a success returns it when it ends, ` +
      `so ${o.connections} concurrent logins from one address need more than 20. Everything else is the default.`,
    '',
    'CPU: share of one core during the row (/proc/<pid>/stat utime+stime, all threads; 200% = both cores), and that CPU time divided by the logins: ' +
      'the per-login cost, which other load on the machine disturbs less than the rate. Latency: wrk, per request. ' +
      `Service RSS: the highest VmRSS (/proc/<pid>/status, all threads) sampled every ${RSS_SAMPLE_MS} ms during the row.`,
    '',
    table(rows),
    '',
    ...idTokenShare(rows),
    ...comparison(rows),
    'wrk commands (URL and script arguments as run):',
    '',
    ...rows.map((r) => `- ${r.label}: \`${r.command.replace(root + '/', '')}\``),
    '',
  ].join('\n');
  mkdirSync(path.dirname(o.out), { recursive: true });
  writeFileSync(o.out, md);
  process.stdout.write(md);
  const valid = rows.every((r) => r.errors === 0);
  return valid ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
}
