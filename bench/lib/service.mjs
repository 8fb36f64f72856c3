// What the service benchmarks share: the test harness bundled for plain node, the service's XML
// config for the bench directory (bench/service/directory.mjs), a small HTTP client, and the
// built service (dist/service/main.js) started on a free port and stopped again.
import { build } from 'esbuild';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serviceConfigXml } from '../../scripts/lib/service-xml.mjs';
import { GROUPS, groupDn, PEOPLE, READER_DN, READER_PASSWORD } from '../service/directory.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Bundles test/harness/<name>.ts for plain node into cacheDir and imports them all as one module. */
export async function bundleHarness(cacheDir, names) {
  mkdirSync(cacheDir, { recursive: true });
  await build({
    entryPoints: names.map((f) => path.join(root, `test/harness/${f}.ts`)),
    outdir: cacheDir, outExtension: { '.js': '.mjs' },
    bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning',
  });
  const mods = await Promise.all(names.map((f) => import(pathToFileURL(path.join(cacheDir, `${f}.mjs`)).href)));
  return Object.assign({}, ...mods);
}

/**
 * The service's XML config for the bench directory: one <ldapServer> listing `uris`, the service
 * on 127.0.0.1:port with keys under dir plus `service` (more <service> children, in schema
 * order), the group sync every 300 s, `throttle` and `clients` as serviceConfigXml takes them.
 */
export function serviceXml({ uris, port, dir, service = {}, throttle, clients }) {
  return serviceConfigXml({
    server: {
      uris, login: READER_DN, password: READER_PASSWORD, groupDns: Array.from({ length: GROUPS }, (_, g) => groupDn(g)),
      userSearchBase: PEOPLE, userFilter: '(uid={username})',
    },
    service: { listen: `127.0.0.1:${port}`, issuer: `http://127.0.0.1:${port}`, audience: 'https://app.bench.example', keyDirectory: `${dir}/keys`, ...service },
    throttle,
    groupSync: { intervalSeconds: 300 },
    clients,
  });
}

/** One HTTP request; resolves with the status, the headers and the body as text. */
export function request(agent, method, url, headers = {}, body = undefined) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Starts `mainJs` with dir/config.xml (written from `xml`), its output in dir/service.log, and
 * resolves once /readyz answers 200; stop() ends it (SIGTERM, SIGKILL after 10 s).
 */
export async function startBuiltService({ mainJs, dir, port, xml, nodeArgs = [], env }) {
  mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'config.xml');
  writeFileSync(config, xml);
  const logFile = path.join(dir, 'service.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, mainJs, '--config', config], { cwd: root, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    await waitReady(base, child, logFile);
  } catch (e) {
    await stop();
    throw e;
  }
  return { base, child, logFile, stop };
}

async function waitReady(base, child, logFile) {
  const end = Date.now() + 60_000;
  const agent = new http.Agent({ keepAlive: false });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited ${child.exitCode}:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    try {
      if ((await request(agent, 'GET', `${base}/readyz`)).status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > end) throw new Error(`service not ready:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    await sleep(100);
  }
}

/** The first line a command prints (slapd -VV and wrk --version print to stderr; wrk also exits 1). */
export function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0].trim() || 'unknown';
}

/** A bench script's usage: the `//` comment lines at the top of its file. */
export function usage(scriptUrl) {
  return readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n';
}

/** Builds dist/ (scripts/build.mjs, as `npm run build`). */
export function buildTree() {
  const b = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (b.status !== 0) throw new Error('build failed');
}

/** A command-line integer option: `fallback` when absent, else a positive integer up to max. */
export function intOption(values, name, fallback, max = Number.MAX_SAFE_INTEGER) {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be a positive integer`);
  return n;
}
