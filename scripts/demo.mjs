#!/usr/bin/env node
// `npm run demo`: the whole stack on this machine, no Docker. Installs what is
// missing (Debian packages through scripts/install-system-deps.sh when root,
// npm dependencies with npm ci), builds, then starts on 127.0.0.1:
//   slapd   with demo/directory.ldif (ephemeral port)
//   the login service   (dist/service/main.js --config demo/config.xml)   :9090
//   the demo upstream   (demo/upstream.mjs, shows the headers it got)     :8081
//   nginx   with nginx/examples/site-with-login.conf                      :8080
// and stops everything on Ctrl-C / SIGTERM.
// Ports: LJWT_DEMO_PORT, LJWT_DEMO_SERVICE_PORT, LJWT_DEMO_UPSTREAM_PORT.
// State (keys, logs, configs) lives in a temporary directory removed at exit
// (LJWT_DEMO_KEEP=1 keeps it).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NGINX = '/usr/sbin/nginx';
const JS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';
const INSTALLED_BUNDLE_DIR = '/usr/share/nginx-ldap-jwt/';
const port = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name} must be a TCP port, got ${JSON.stringify(v)}`);
  return n;
};

function log(msg) {
  process.stdout.write(`[demo] ${msg}\n`);
}

function fail(msg) {
  process.stderr.write(`[demo] ${msg}\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

// ---- 1. what is missing ----------------------------------------------------
const SITE_PORT = port('LJWT_DEMO_PORT', 8080);
const SERVICE_PORT = port('LJWT_DEMO_SERVICE_PORT', 9090);
const UPSTREAM_PORT = port('LJWT_DEMO_UPSTREAM_PORT', 8081);

const needed = [NGINX, JS_MODULE, '/usr/sbin/slapd', '/usr/sbin/slapadd'];
if (needed.some((f) => !existsSync(f))) {
  log(`missing: ${needed.filter((f) => !existsSync(f)).join(', ')}`);
  // As root it installs through apt; otherwise it prints the exact apt-get command and fails.
  const r = spawnSync('bash', [join(ROOT, 'scripts/install-system-deps.sh')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) fail('install the Debian packages above, then run `npm run demo` again');
}
if (!existsSync(join(ROOT, 'node_modules/esbuild'))) run('npm', ['ci', '--no-audit', '--no-fund']);
if (needsBuild()) run(process.execPath, ['scripts/build.mjs']);

/** dist/ missing or older than any source file (a rebuild would rewrite files that running tests read). */
function needsBuild() {
  const outputs = ['dist/njs/ljwt.js', 'dist/service/main.js'].map((f) => join(ROOT, f));
  if (!outputs.every(existsSync)) return true;
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const newest = (dir) => {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return t;
  };
  return Math.max(newest(join(ROOT, 'njs')), newest(join(ROOT, 'service/src')), statSync(join(ROOT, 'scripts/build.mjs')).mtimeMs) > built;
}

// ---- 2. state directory ----------------------------------------------------
const state = mkdtempSync(join(tmpdir(), 'ljwt-demo-'));
// nginx workers (www-data when root) read the configs and the bundle.
chmodSync(state, 0o755);
const children = [];
let stopping = false;

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  log('stopping');
  for (const c of children.slice().reverse()) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
  }
  await Promise.all(children.map((c) => c.exited));
  if (slapd) await slapd.destroy().catch(() => {});
  if (!process.env.LJWT_DEMO_KEEP) rmSync(state, { recursive: true, force: true });
  log('stopped');
  process.exit(code);
}
process.on('SIGINT', () => { void stopAll(0); });
process.on('SIGTERM', () => { void stopAll(0); });

function start(name, cmd, args, env = {}) {
  const out = join(state, `${name}.log`);
  const fd = openLog(out);
  // The service refuses unknown LJWT_* variables (typos must not go unnoticed): keep the demo's own out.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LJWT_DEMO_')));
  const proc = spawn(cmd, args, { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', fd, fd] });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`[demo] ${name} exited (${signal ?? code}); its log:\n${tail(out)}\n`);
      void stopAll(1);
    }
    resolve();
  }));
  children.push({ name, proc, exited });
  return proc;
}

function openLog(path) {
  writeFileSync(path, '');
  return openSync(path, 'a');
}

function tail(path) {
  try { return readFileSync(path, 'utf8').split('\n').slice(-30).join('\n'); } catch { return ''; }
}

function answers(p) {
  return new Promise((resolve) => {
    const c = connect({ host: '127.0.0.1', port: p }, () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

async function waitFor(name, p, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(p))) {
    if (stopping) return;
    if (Date.now() > deadline) {
      process.stderr.write(`[demo] ${name} did not answer on 127.0.0.1:${p}\n${tail(join(state, `${name}.log`))}\n`);
      await stopAll(1);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const [name, p] of [['site', SITE_PORT], ['service', SERVICE_PORT], ['upstream', UPSTREAM_PORT]]) {
  if (await answers(p)) fail(`port ${p} (${name}) is in use; choose another with LJWT_DEMO_${name === 'site' ? '' : name.toUpperCase() + '_'}PORT`);
}

// ---- 3. slapd ----------------------------------------------------------------
// The one slapd starter (test/harness/slapd.ts), bundled for plain Node.
const { build } = await import(pathToFileURL(join(ROOT, 'node_modules/esbuild/lib/main.js')).href);
await build({
  entryPoints: [join(ROOT, 'test/harness/slapd.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20',
  outfile: join(state, 'slapd.mjs'), logLevel: 'warning',
});
const { startSlapd } = await import(pathToFileURL(join(state, 'slapd.mjs')).href);
// The demo runs the Debian package's slapd (checked above), also when started from a test run
// whose LDAP servers run in containers.
process.env.TEST_LDAP_BACKEND = 'host';
let slapd = null;
slapd = await startSlapd({ ldif: [readFileSync(join(ROOT, 'demo/directory.ldif'), 'utf8')] });
log(`slapd on ${slapd.url}`);

// ---- 4. the service ----------------------------------------------------------
const origin = `http://127.0.0.1:${SITE_PORT}`;
const config = readFileSync(join(ROOT, 'demo/config.xml'), 'utf8').split('http://127.0.0.1:8080').join(origin);
writeFileSync(join(state, 'config.xml'), config);
start('service', process.execPath, ['dist/service/main.js', '--config', join(state, 'config.xml')], {
  LJWT_LDAP_URI: slapd.url,
  LJWT_LISTEN: `127.0.0.1:${SERVICE_PORT}`,
  LJWT_KEY_DIRECTORY: join(state, 'keys'),
});

// ---- 5. the upstream ---------------------------------------------------------
start('upstream', process.execPath, ['demo/upstream.mjs'], { PORT: String(UPSTREAM_PORT), HOST: '127.0.0.1' });

// ---- 6. nginx ----------------------------------------------------------------
const { siteConfig } = await import(pathToFileURL(join(ROOT, 'scripts/lib/site-config.mjs')).href);
const ngx = join(state, 'nginx');
mkdirSync(ngx, { mode: 0o755 });
for (const d of ['temp/body', 'temp/proxy', 'temp/fastcgi', 'temp/uwsgi', 'temp/scgi']) {
  mkdirSync(join(ngx, d), { recursive: true });
}
for (const d of ['temp', 'temp/body', 'temp/proxy', 'temp/fastcgi', 'temp/uwsgi', 'temp/scgi']) chmodSync(join(ngx, d), 0o777);
for (const b of ['ljwt.js', 'ljwt-full.js']) copyFileSync(join(ROOT, 'dist/njs', b), join(ngx, b));
for (const f of ['http.conf', 'server.conf', 'protect.conf', 'protect-common.conf']) {
  let text = readFileSync(join(ROOT, 'nginx', f), 'utf8');
  text = text.split(INSTALLED_BUNDLE_DIR).join(ngx + '/').split('/etc/nginx/nginx-ldap-jwt/').join(ngx + '/');
  writeFileSync(join(ngx, f), text);
}
writeFileSync(join(ngx, 'nginx.conf'), siteConfig({
  dir: ngx, module: JS_MODULE, listen: SITE_PORT, upstreamPort: UPSTREAM_PORT, servicePort: SERVICE_PORT, origin,
}));
await waitFor('service', SERVICE_PORT);
await waitFor('upstream', UPSTREAM_PORT);
const check = spawnSync(NGINX, ['-t', '-p', ngx, '-c', join(ngx, 'nginx.conf')], { encoding: 'utf8' });
if (check.status !== 0) {
  process.stderr.write(check.stderr);
  await stopAll(1);
}
start('nginx', NGINX, ['-p', ngx, '-c', join(ngx, 'nginx.conf'), '-g', 'daemon off;']);
await waitFor('nginx', SITE_PORT);

if (!stopping) {
  // One write: whoever reads the output (a terminal, a pipe) gets the banner whole.
  process.stdout.write(['', `ready: open ${origin}/`,
    'sign in as alice / alice-demo (staff, site-admins), bob / bob-demo or carol / carol-demo (nested groups)',
    `logs and configs: ${state}`, 'Ctrl-C stops everything'].map((l) => `[demo] ${l}\n`).join(''));
}
