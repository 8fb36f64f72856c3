#!/usr/bin/env node
// Logins and group syncs of the auth service while one replica of the directory misbehaves.
// Not a test: a benchmark script. Starts two real slapd replicas (test/harness/slapd.ts, the
// same entries and entryUUIDs), and for every row a fresh built service (dist/service/main.js)
// whose one <ldapServer> lists both replicas, replica 1 first. After one warm-up login (pooled
// connections open) the row's fault is applied, then:
//   first   one login, alone: the request that meets the fault first
//   logins  --logins password-grant logins (POST /token), --concurrency at a time, each user's
//           token checked: its `dns` claim must be exactly the user's groups (wrong groups = 0)
//   sync    POST /admin/sync: status, the replica that served it, duration
// Rows (faults on replica 1 unless said otherwise):
//   healthy           nothing wrong (reference row)
//   hung              slapd stopped with SIGSTOP: TCP connections are accepted, nothing answers
//   refused           slapd not running: connections refused
//   slow              every reply of replica 1 delayed by 500 ms (a delaying TCP relay in front)
//   all hung          both replicas stopped with SIGSTOP: every login must fail fast (503 + Retry-After)
//   all down          both replicas not running: every login must fail fast (503 + Retry-After)
//   restart mid-sync  replica 1 behind a 50 ms relay is restarted while the sync reads it;
//                     logins run at the same time
// Loopback only. Request counts and waits are bounded. Writes bench/results/ldap-faults.md.
//   node bench/ldap-faults/run.mjs [--users 2000] [--logins 200] [--concurrency 8]
//        [--slow-logins 40] [--rows healthy,hung,...] [--quick] [--out FILE] [--no-build]
//   --rows: only these rows (names as above, "-" for spaces: all-hung, restart-mid-sync).
//   --quick: 500 users, 50 logins per row (a smoke run).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildTree, bundleHarness, firstLine, intOption, request, root, serviceXml, sleep, startBuiltService, usage } from '../lib/service.mjs';
import { benchLdif, GROUPS, groupDn, passwordOf } from '../service/directory.mjs';

const cacheDir = path.join(root, 'node_modules/.cache/bench-ldap-faults');
const GOAL = { hungP99Ms: 100, allDownMs: 3000 };

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string' },
      logins: { type: 'string' },
      concurrency: { type: 'string' },
      'slow-logins': { type: 'string' },
      rows: { type: 'string' },
      quick: { type: 'boolean' },
      out: { type: 'string' },
      'no-build': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const num = (name, fallback) => intOption(values, name, fallback, 1_000_000);
  return {
    help: values.help === true,
    users: num('users', quick ? 500 : 2000),
    logins: num('logins', quick ? 50 : 200),
    concurrency: num('concurrency', 8),
    slowLogins: num('slow-logins', quick ? 16 : 40),
    out: values.out ?? path.join(root, 'bench/results/ldap-faults.md'),
    rows: values.rows === undefined ? null : values.rows.split(',').map((r) => r.trim().replace(/-/g, ' ')),
    build: values['no-build'] !== true,
  };
}

/** The built service with `uris` as the replicas of its one directory; resolves once it is ready. */
async function startService(h, uris) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ljwt-bench-faults-'));
  const port = await h.freePort();
  const xml = serviceXml({
    uris, port, dir, service: { adminGroup: groupDn(0) },
    throttle: { maxFailuresPerUsername: 1_000_000, maxFailuresPerIp: 1_000_000 },
    clients: [{ id: 'cli', redirectUri: 'https://app.bench.example/callback', grantTypes: ['password'], scopes: ['openid', 'api'] }],
  });
  const svc = await startBuiltService({ mainJs: path.join(root, 'dist/service/main.js'), dir, port, xml });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return {
    base: svc.base, agent, logFile: svc.logFile,
    async stop() {
      agent.destroy();
      await svc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const expectedGroups = (i) => [...new Set([groupDn(i % GROUPS), groupDn((i * 7 + 3) % GROUPS)])].sort();

/** One password-grant login of user i: latency, status, and whether the token's groups are exactly the user's. */
async function login(svc, i) {
  const body = new URLSearchParams({ grant_type: 'password', username: `u${i}`, password: passwordOf(i), client_id: 'cli', scope: 'openid api' }).toString();
  const t0 = performance.now();
  const r = await request(svc.agent, 'POST', `${svc.base}/token`, { 'content-type': 'application/x-www-form-urlencoded' }, body);
  const ms = performance.now() - t0;
  let wrongGroups = false;
  let token = null;
  if (r.status === 200) {
    token = JSON.parse(r.text).access_token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    const got = [...(claims.dns ?? [])].sort();
    wrongGroups = JSON.stringify(got) !== JSON.stringify(expectedGroups(i));
  }
  return { ms, status: r.status, retryAfter: r.headers['retry-after'], wrongGroups, token };
}

async function loginBatch(svc, count, concurrency, users) {
  const results = [];
  let next = 0;
  async function worker() {
    for (;;) {
      const k = next++;
      if (k >= count) return;
      // Users 1..users-1 in turn (u0 is the operator).
      results.push(await login(svc, 1 + (k % (users - 1))));
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

async function adminSync(svc, token) {
  const t0 = performance.now();
  const r = await request(svc.agent, 'POST', `${svc.base}/admin/sync`, { authorization: `Bearer ${token}` });
  const ms = performance.now() - t0;
  let body = {};
  try { body = JSON.parse(r.text); } catch { /* not JSON */ }
  const part = body.servers?.[0];
  return { status: r.status, ms, servedBy: part?.servedBy ?? null, ok: body.ok === true };
}

async function metricSample(svc, name, label) {
  const text = (await request(svc.agent, 'GET', `${svc.base}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(name) && (label === undefined || l.includes(label)));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function summarize(name, what, first, batch, sync, replica1Up, stale) {
  const ms = batch.map((r) => r.ms).sort((a, b) => a - b);
  const statuses = {};
  for (const r of [first, ...batch]) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const errors = Object.entries(statuses).filter(([s]) => s !== '200').map(([s, n]) => `${n} x ${s}`).join(', ') || '0';
  const retryAfter = [first, ...batch].filter((r) => r.status === 503).every((r) => Number(r.retryAfter) >= 1);
  return {
    name, what,
    firstMs: first.ms,
    p50: pct(ms, 0.5), p99: pct(ms, 0.99), max: ms[ms.length - 1],
    ok: [first, ...batch].filter((r) => r.status === 200).length,
    total: batch.length + 1,
    errors, retryAfter,
    wrongGroups: [first, ...batch].filter((r) => r.wrongGroups).length,
    sync, replica1Up, stale,
  };
}

const fmt = (v) => (Number.isNaN(v) ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));

function report(rows, o, seconds) {
  const cpu = os.cpus();
  const hung = rows.find((r) => r.name === 'hung');
  const healthy = rows.find((r) => r.name === 'healthy');
  const downRows = rows.filter((r) => r.name === 'all down' || r.name === 'all hung');
  const lines = [
    '# LDAP fault benchmark',
    '',
    `Command: \`${process.env.BENCH_COMMAND ?? `node bench/ldap-faults/run.mjs ${process.argv.slice(2).join(' ')}`.trim()}\``,
    '',
    `Machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${os.platform()} ${os.release()}; node ${process.version}; ${firstLine('slapd', ['-VV'])}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}.`,
    `Directory: ${o.users} users, ${GROUPS} groups, two slapd replicas on 127.0.0.1 (same entries and entryUUIDs).`,
    `Service: dist/service/main.js, one <ldapServer> with both replicas (replica 1 first), default timeouts (connect 2 s, operation 10 s), retry 1 s doubling to 30 s.`,
    `Per row: a fresh service, one warm-up login, the fault, then one login alone ("first"), ${o.logins} logins (${o.slowLogins} in the slow row) at concurrency ${o.concurrency}, and POST /admin/sync. Run time ${seconds.toFixed(0)} s.`,
    '',
    '| row | fault | first login ms | p50 ms | p99 ms | p99 / healthy p99 | max ms | logins ok | errors | wrong groups | sync | replica 1 up after | snapshot stale after |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.what} | ${fmt(r.firstMs)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${healthy ? (r.p99 / healthy.p99).toFixed(2) : '-'} | ${fmt(r.max)} | ${r.ok}/${r.total} | ${r.errors}${r.errors !== '0' ? (r.retryAfter ? ' (all with Retry-After)' : ' (Retry-After missing)') : ''} | ${r.wrongGroups} | ${r.sync.status}${r.sync.ok ? ' ok' : ''}, ${r.sync.servedBy ?? 'no replica'}, ${fmt(r.sync.ms)} ms | ${r.replica1Up === 1 ? 'yes' : r.replica1Up === 0 ? 'no' : '-'} | ${r.stale === 1 ? 'yes' : r.stale === 0 ? 'no' : '-'} |`),
    '',
    'Goals: with replica 1 hung, login p99 after the first failure ≤ 100 ms; with every replica down, logins fail with 503 + Retry-After within 3 s; 0 wrong groups in every row.',
    `- hung: p99 ${hung ? fmt(hung.p99) : '-'} ms (${hung && hung.p99 <= GOAL.hungP99Ms ? 'met' : 'not met'}; healthy row in the same run: ${healthy ? fmt(healthy.p99) : '-'} ms); first login ${hung ? fmt(hung.firstMs) : '-'} ms.`,
    ...downRows.map((down) => `- ${down.name}: slowest answer ${fmt(Math.max(down.firstMs, down.max))} ms (${Math.max(down.firstMs, down.max) <= GOAL.allDownMs && down.retryAfter && down.ok === 0 ? 'met' : 'not met'}).`),
    `- wrong groups: ${rows.reduce((n, r) => n + r.wrongGroups, 0)} in all rows.`,
    '',
    '"first login" is the request that meets the fault first: for a hung replica it waits until the replica counts as down',
    '(its pooled search gets no answer; a probe after a quarter of the connect timeout fails after the connect timeout),',
    'then goes to replica 2. Later logins skip replica 1 until a background probe succeeds. In the slow row replica 1 still',
    'answers, so it stays in use: each login pays its round trips at 500 ms each. "replica 1 up after" is read from',
    '/metrics (ljwt_ldap_replica_up) before the fault is lifted.',
    '',
  ];
  return lines.join('\n');
}

async function main() {
  const o = options(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(usage(import.meta.url));
    return;
  }
  const t0 = performance.now();
  if (o.build) buildTree();
  const h = await bundleHarness(cacheDir, ['slapd', 'tcp-relay', 'ldap-replicas']);
  const ldif = h.withStableEntryUuids(benchLdif(o.users));
  const [s1, s2] = await Promise.all([0, 1].map(() => h.startSlapd({ baseDn: 'dc=bench,dc=example', ldif: [ldif], indexes: ['uid eq', 'member eq'] })));
  const rows = [];
  const scenario = async (name, what, fault, opts = {}) => {
    if (o.rows !== null && !o.rows.includes(name)) return;
    process.stderr.write(`[ldap-faults] ${name}\n`);
    const relay = opts.delayMs !== undefined ? await h.startRelay(s1.port, { delayMs: opts.delayMs }) : null;
    const svc = await startService(h, [relay ? relay.url : s1.url, s2.url]);
    try {
      const warm = await login(svc, 1);
      const admin = await login(svc, 0);
      if (warm.status !== 200 || admin.status !== 200) throw new Error(`warm-up login failed: ${warm.status}, ${admin.status}`);
      const lift = await fault({ relay, svc, admin: admin.token });
      try {
        const first = await login(svc, 2);
        let batch;
        let sync;
        if (opts.restartDuringSync) {
          [batch, sync] = await Promise.all([loginBatch(svc, opts.logins ?? o.logins, o.concurrency, o.users), opts.restartDuringSync(svc, admin.token, relay)]);
        } else {
          batch = await loginBatch(svc, opts.logins ?? o.logins, o.concurrency, o.users);
          sync = await adminSync(svc, admin.token);
        }
        const up = await metricSample(svc, 'ljwt_ldap_replica_up', `uri="${relay ? relay.url : s1.url}"`);
        const stale = await metricSample(svc, 'ljwt_group_snapshot_stale');
        rows.push(summarize(name, what, first, batch, sync, up, stale));
      } finally {
        await lift?.();
      }
    } finally {
      if (process.env.LDAP_FAULTS_KEEP_LOG) writeFileSync(`${process.env.LDAP_FAULTS_KEEP_LOG}.${name.replace(/ /g, '-')}.log`, readFileSync(svc.logFile));
      await svc.stop();
      await relay?.close();
    }
  };
  try {
    await scenario('healthy', 'none', async () => undefined);
    await scenario('hung', 'replica 1 SIGSTOP', async () => {
      await s1.pause();
      return () => s1.resume();
    });
    await scenario('refused', 'replica 1 not running', async () => {
      await s1.stop();
      return () => s1.start();
    });
    await scenario('slow', 'replica 1 replies +500 ms', async () => undefined, { delayMs: 500, logins: o.slowLogins });
    await scenario('all hung', 'both SIGSTOP', async () => {
      await Promise.all([s1.pause(), s2.pause()]);
      return () => Promise.all([s1.resume(), s2.resume()]);
    });
    await scenario('all down', 'both not running', async () => {
      await Promise.all([s1.stop(), s2.stop()]);
      return () => Promise.all([s1.start(), s2.start()]);
    });
    await scenario('restart mid-sync', 'replica 1 (+50 ms relay) restarted during the sync', async () => undefined, {
      delayMs: 50,
      restartDuringSync: async (svc, token, relay) => {
        const before = relay.connections();
        const pending = adminSync(svc, token);
        // The sync opened its connection to replica 1 and is reading: restart slapd under it.
        for (let i = 0; i < 200 && relay.connections() === before; i++) await sleep(5);
        await sleep(150);
        await s1.stop();
        const result = await pending;
        await s1.start();
        return result;
      },
    });
  } finally {
    await Promise.all([s1.destroy(), s2.destroy()]);
  }
  const md = report(rows, o, (performance.now() - t0) / 1000);
  mkdirSync(path.dirname(o.out), { recursive: true });
  writeFileSync(o.out, md);
  process.stdout.write(md);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
