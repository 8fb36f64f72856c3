// The processes of the edge benchmark: the static upstream (host nginx), the nginx under
// test (one per runtime, the project's http.conf/server.conf/protect.conf through the test
// harness), the floor nginx (the same runtime with only bench/edge/floor/floor.js), and the
// real auth service (dist/service/main.js) with a local slapd for (c).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AUDIENCE, COOKIE, ISSUER } from './variants.mjs';

// Upstream and nginx under test keep their connections for the whole run: a reconnect
// every 1,000 requests (nginx's default keepalive_requests) would add noise, not auth cost.
const KEEPALIVE_REQUESTS = 10_000_000;

export function locationPath(name) {
  return `/v/${name}/`;
}

/** A host nginx answering 200 "ok\n" to everything (worker_processes 1). */
export async function startStaticUpstream(h, hostRuntime) {
  return h.startNginx({
    runtime: hostRuntime,
    ports: ['up'],
    errorLogLevel: 'error',
    http: `
  server {
    listen 127.0.0.1:{{PORT:up}} backlog=1024;
    keepalive_requests ${KEEPALIVE_REQUESTS};
    keepalive_timeout 300s;
    default_type text/plain;
    location / { return 200 "ok\\n"; }
  }`,
  });
}

function answers(port) {
  return new Promise((resolve) => {
    const c = connect({ host: '127.0.0.1', port }, () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

export function checkPath(name) {
  return `/check/${name}/`;
}

/** stub_status of every nginx under test: its request count divides the worker's CPU time. */
export const STATUS_PATH = '/_bench/status';
const STATUS_LOCATION = `
    location = ${STATUS_PATH} {
      stub_status;
    }`;

const PROTECT_INCLUDE = { auth_request: 'protect.conf', js_access: 'protect-access.conf', cached: 'protect-cached.conf' };

/**
 * The nginx under test: one server, one location per variant, and a twin of each under
 * /check/ that also reports $ljwt_cache_status (the pre-check reads it; the measured
 * location has nothing added). `proxy_set_header` in protect.conf stops inheritance, so
 * every location repeats `Connection ""` itself (keepalive to the upstream needs it).
 * nginx/http-shared.conf (shared decision cache) is included where the runtime has
 * js_shared_dict_zone, as the edge integration tests do.
 */
export async function startEdge(h, runtime, variants, { upstreamPort, servicePort, files, cacheStatus }) {
  const location = (prefix, v, extra) => {
    const lines = v.directives.slice();
    if (v.protect) lines.push(`include {{DIR}}/${PROTECT_INCLUDE[v.protect]};`);
    if (v.service) {
      // auth_request to the service's /auth/validate, as docs/operators/service.md shows it for nginx without njs.
      lines.push('auth_request /_bench/validate;',
        'auth_request_set $bench_user   $upstream_http_x_authenticated_user;',
        'auth_request_set $bench_groups $upstream_http_x_authenticated_group_dns;',
        'auth_request_set $bench_oids   $upstream_http_x_authenticated_oids;',
        'proxy_set_header X-Authenticated-User      $bench_user;',
        'proxy_set_header X-Authenticated-Group-DNs $bench_groups;',
        'proxy_set_header X-Authenticated-OIDs      $bench_oids;');
    }
    lines.push(...extra, 'proxy_set_header Connection "";', 'proxy_pass http://bench_static;');
    return `
    location ${prefix} {
      ${lines.join('\n      ')}
    }`;
  };
  // Rows may bring http-level and server-level lines (e.g. a proxy_cache_path and the internal
  // location it caches); each distinct line once.
  const unique = (key) => [...new Set(variants.flatMap((v) => v[key] ?? []))].join('\n    ');
  const httpExtra = unique('http');
  const serverExtra = unique('server');
  const twinExtra = cacheStatus ? ['add_header X-Bench-Cache $ljwt_cache_status always;'] : [];
  const locs = variants.map((v) => location(locationPath(v.name), v, []) + location(checkPath(v.name), v, twinExtra)).join('\n');
  // The nginx-native decision cache (protect-cached.conf) needs its http- and server-level parts.
  const nginxCache = variants.some((v) => v.protect === 'cached');
  const service = servicePort === null ? '' : `
  upstream bench_service {
    server 127.0.0.1:${servicePort};
    keepalive 32;
    keepalive_requests ${KEEPALIVE_REQUESTS};
  }`;
  const serviceLocation = servicePort === null ? '' : `
    location = /_bench/validate {
      internal;
      proxy_pass http://bench_service/auth/validate;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Connection "";
      proxy_set_header Authorization $http_authorization;
    }`;
  return h.startNginx({
    runtime,
    ports: ['main'],
    // nginx's default level: a refused token writes no log line, as in production.
    errorLogLevel: 'error',
    files: { ...files, 'noop.js': readFileSync(new URL('./noop.js', import.meta.url), 'utf8') },
    http: `
  include {{DIR}}/http.conf;
  js_import bench_noop from {{DIR}}/noop.js;${runtime.sharedDict === true ? '\n  include {{DIR}}/http-shared.conf;' : ''}${nginxCache ? '\n  include {{DIR}}/http-decision-cache.conf;' : ''}
  ${process.env.LJWT_BENCH_HTTP ?? ''}
  ${httpExtra}
  upstream bench_static {
    server 127.0.0.1:${upstreamPort};
    keepalive 32;
    keepalive_requests ${KEEPALIVE_REQUESTS};
  }${service}
  server {
    listen 127.0.0.1:{{PORT:main}} backlog=1024;
    keepalive_requests ${KEEPALIVE_REQUESTS};
    proxy_http_version 1.1;
    include {{DIR}}/server.conf;${nginxCache ? '\n    include {{DIR}}/server-decision-cache.conf;' : ''}${serviceLocation}
    ${serverExtra}
    location = /_bench/noop {
      internal;
      js_content bench_noop.ok;
    }${STATUS_LOCATION}
${locs}
  }`,
  });
}

/** floor.js's KEYS: base64 of the HMAC secret and of the SPKI DER of the public keys. */
export function floorKeys(keys) {
  const spki = (k) => k.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { HS256: keys.hs256.secret.toString('base64'), RS256: spki(keys.rsa), PS256: spki(keys.rsa), ES256: spki(keys.ec256) };
}

const FLOOR_KEYS_MARKER = '/* FLOOR_KEYS */ {}';

/**
 * The floor nginx: the same runtime as the nginx under test, with none of the project's
 * files, only floor.js (its keys written in). One location per floor variant: an
 * auth_request subrequest to floor.js's sub_<handler>, or js_access floor.access_<handler>;
 * the user it sets goes upstream as one header, as the project's identity headers do.
 */
export async function startFloor(h, runtime, variants, { upstreamPort, keys }) {
  const source = readFileSync(new URL('./floor/floor.js', import.meta.url), 'utf8');
  if (!source.includes(FLOOR_KEYS_MARKER)) throw new Error(`bench/edge/floor/floor.js lacks ${FLOOR_KEYS_MARKER}`);
  const js = source.replace(FLOOR_KEYS_MARKER, JSON.stringify(floorKeys(keys)));
  const locs = variants.map((v) => {
    const proxy = ['proxy_set_header Connection "";', 'proxy_pass http://bench_static;'];
    if (!v.floorCheck) return location(locationPath(v.name), proxy);
    const handler = `floor.${v.floorCheck.mode}_${v.floorCheck.handler}`;
    const user = 'proxy_set_header X-Authenticated-User $floor_user;';
    if (v.floorCheck.mode === 'access') return location(locationPath(v.name), [`js_access ${handler};`, user, ...proxy]);
    const sub = `/_floor/${v.name}`;
    return location(locationPath(v.name), [`auth_request ${sub};`, user, ...proxy]) +
      location(`= ${sub}`, ['internal;', `js_content ${handler};`]);
  }).join('\n');
  return h.startNginx({
    runtime,
    ports: ['main'],
    errorLogLevel: 'error',
    files: { 'floor.js': js },
    http: `
  js_import floor from {{DIR}}/floor.js;
  js_var $floor_user;${runtime.sharedDict === true ? '\n  js_shared_dict_zone zone=floor_decisions:10m timeout=3600s evict;' : ''}
  upstream bench_static {
    server 127.0.0.1:${upstreamPort};
    keepalive 32;
    keepalive_requests ${KEEPALIVE_REQUESTS};
  }
  server {
    listen 127.0.0.1:{{PORT:main}} backlog=1024;
    keepalive_requests ${KEEPALIVE_REQUESTS};
    proxy_http_version 1.1;${STATUS_LOCATION}
${locs}
  }`,
  });
}

function location(prefix, lines) {
  return `
    location ${prefix} {
      ${lines.join('\n      ')}
    }`;
}

/** RFC 7638 thumbprint of a public EC/RSA/OKP JWK: the kid the service's key manager expects. */
export function jwkThumbprint(jwk) {
  const members = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] }[jwk.kty];
  const canonical = '{' + members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',') + '}';
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * slapd (demo/directory.ldif) plus `node dist/service/main.js --config demo/config.xml` in
 * its own process, its key directory holding `ecKey` (the bench's ES256 key, kid = its
 * thumbprint) so that the service validates the same ES256 token as the edge.
 */
export async function startService(h, root, ecKey) {
  const state = mkdtempSync(path.join(tmpdir(), 'ljwt-bench-svc-'));
  const slapd = await h.startSlapd({ ldif: [readFileSync(path.join(root, 'demo/directory.ldif'), 'utf8')] });
  let proc = null;
  try {
    const keyDir = path.join(state, 'keys');
    mkdirSync(keyDir, { mode: 0o700 });
    const jwk = ecKey.privateKey.export({ format: 'jwk' });
    const kid = jwkThumbprint(jwk);
    if (kid !== ecKey.kid) throw new Error('the ES256 key must carry its thumbprint as kid');
    const file = path.join(keyDir, `signing-${kid}.json`);
    writeFileSync(file, JSON.stringify({ kid, alg: 'ES256', createdAt: Math.floor(Date.now() / 1000), serial: 1, jwk }), { mode: 0o600 });
    chmodSync(file, 0o600);
    const port = await h.freePort();
    // The service refuses unknown LJWT_* variables: pass only ours.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LJWT_')));
    Object.assign(env, {
      LJWT_LDAP_URI: slapd.url,
      LJWT_LISTEN: `127.0.0.1:${port}`,
      LJWT_KEY_DIRECTORY: keyDir,
      LJWT_ISSUER: ISSUER,
      LJWT_AUDIENCE: AUDIENCE,
      LJWT_ACCESS_TOKEN_COOKIE: COOKIE,
      LJWT_LOG_LEVEL: 'warn',
    });
    const logFile = path.join(state, 'service.log');
    let log = '';
    proc = spawn(process.execPath, [path.join(root, 'dist/service/main.js'), '--config', path.join(root, 'demo/config.xml')],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d) => { log = (log + d).slice(-20000); };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    let exited = false;
    const exit = new Promise((resolve) => proc.on('exit', () => { exited = true; resolve(); }));
    const deadline = Date.now() + 20_000;
    while (!(await answers(port))) {
      if (exited || Date.now() > deadline) throw new Error(`the service did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const child = proc;
    return {
      port,
      log: () => log,
      async stop() {
        if (!exited) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exit;
          clearTimeout(t);
        }
        writeFileSync(logFile, log);
        await slapd.destroy();
        rmSync(state, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await slapd.destroy();
    rmSync(state, { recursive: true, force: true });
    throw e;
  }
}

/** The pid of the (single) worker of an nginx instance started by the harness. */
export function workerPid(nginx) {
  const master = Number(readFileSync(path.join(nginx.hostDir, 'nginx.pid'), 'utf8').trim());
  let kids = [];
  try {
    kids = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === master) kids.push(Number(e));
      } catch { /* gone */ }
    }
  }
  const workers = kids.filter((pid) => {
    try { return /nginx: worker process/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')); } catch { return false; }
  });
  if (workers.length !== 1) throw new Error(`expected one nginx worker under master ${master}, found ${workers.length}`);
  return workers[0];
}

/**
 * CPU time a process (its main thread) has run so far, in µs: the first field of
 * /proc/<pid>/schedstat, in ns, exact where /proc/<pid>/stat counts clock ticks.
 * nginx workers are single-threaded.
 */
export function runMicros(pid) {
  const f = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/);
  return Number(f[0]) / 1000;
}

/** Requests the nginx has handled so far (stub_status), not counting this status request. */
export async function servedRequests(h, nginx) {
  const r = await h.rawRequest(nginx.ports.main, 'GET', STATUS_PATH, []);
  const m = /^\s*\d+\s+\d+\s+(\d+)\s*$/m.exec(r.body);
  if (r.status !== 200 || !m) throw new Error(`stub_status answered ${r.status}: ${r.body.slice(0, 200)}`);
  return Number(m[1]) - 1;
}

/** VmRSS of a process in KiB. */
export function rssKiB(pid) {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** `nginx -v` and the js module package version as the runtime's nginx sees them. */
export function runtimeVersions(h, rt) {
  const v = spawnSync(...argvSplit(h.runtimeArgv(rt, [rt.nginx, '-v'])), { encoding: 'utf8' });
  const nginx = `${v.stderr}${v.stdout}`.trim().replace(/^nginx version:\s*/, '');
  const d = spawnSync(...argvSplit(h.runtimeArgv(rt, ['dpkg-query', '-W', '-f', '${Version}', 'libnginx-mod-http-js'])), { encoding: 'utf8' });
  const njs = d.status === 0 ? d.stdout.trim() : 'unknown';
  return { nginx, njs, engine: rt.engine };
}

function argvSplit(argv) {
  return [argv[0], argv.slice(1)];
}
