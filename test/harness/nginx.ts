// Starts a real nginx (host or chroot runtime) with a generated nginx.conf on 127.0.0.1
// ephemeral ports. The project's nginx/*.conf includes and the dist/njs/*.js bundles are
// copied into the instance directory unchanged except for the bundles' directory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeArgv, type Runtime } from './runtimes.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BUNDLE = join(REPO_ROOT, 'dist/njs/ljwt.js');
/** Where nginx/http.conf expects the bundle. */
export const INSTALLED_BUNDLE = '/usr/share/nginx-ldap-jwt/ljwt.js';
/** Where the include files expect every bundle; the harness rewrites this directory... */
export const INSTALLED_BUNDLE_DIR = '/usr/share/nginx-ldap-jwt/';
/** ...and this one, where protect.conf expects the include files it includes itself. */
export const INSTALLED_INCLUDE_DIR = '/etc/nginx/nginx-ldap-jwt/';
const PROJECT_INCLUDES = readdirSync(join(REPO_ROOT, 'nginx')).filter((f) => f.endsWith('.conf'));
const BUNDLES = join(REPO_ROOT, 'dist/njs');
/** Absolute paths in nginx/http-decision-cache.conf, moved into the instance directory. */
const DECISION_CACHE_PATHS: [string, string][] = [['/run/nginx-ldap-jwt-decisions', 'decisions'],
  ['/run/nginx-ldap-jwt-decider.sock', 'decider.sock']];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ host: '127.0.0.1', port }, () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

/** A scratch directory that the runtime's nginx can see: [host path, path inside the root]. */
export function runtimeTempDir(rt: Runtime, prefix = 'ljwt-test-'): { host: string; inside: string } {
  const root = rt.chroot ?? '/';
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const host = mkdtempSync(join(root, 'tmp', prefix));
  // nginx workers run as www-data: the directory and its files must be world-readable.
  chmodSync(host, 0o755);
  const inside = rt.chroot ? host.slice(rt.chroot.length) : host;
  return { host, inside };
}

export interface NginxOptions {
  runtime: Runtime;
  /** Names of ports to allocate; `{{PORT:name}}` in `http` is replaced by the number. */
  ports: string[];
  /** Content of the http{} block. `{{DIR}}` is the instance directory as nginx sees it. */
  http: string;
  /** Extra files written into the instance directory (relative names) before nginx starts. */
  files?: Record<string, string | Uint8Array>;
  /**
   * A complete nginx.conf (with the same placeholders) used instead of the generated main
   * configuration around `http`, e.g. nginx/examples/protected-site.conf templated.
   */
  mainConf?: string;
  /** error_log level; tests read `info` lines (the default), benchmarks use nginx's own default `error`. */
  errorLogLevel?: 'info' | 'notice' | 'warn' | 'error';
}

export interface NginxInstance {
  runtime: Runtime;
  ports: Record<string, number>;
  /** Instance directory on the host / as nginx sees it. */
  hostDir: string;
  dir: string;
  url(port: string, path: string): string;
  errorLog(): string;
  /** Current error log length; pass it to logSince() to read what a request logged. */
  logMark(): number;
  logSince(mark: number): string;
  writeFile(name: string, content: string | Uint8Array): void;
  stop(): Promise<void>;
}

function fill(template: string, dir: string, ports: Record<string, number>): string {
  return template
    .replace(/\{\{DIR\}\}/g, dir)
    .replace(/\{\{PORT:([\w-]+)\}\}/g, (_m, name: string) => {
      if (!(name in ports)) throw new Error(`nginx template uses unknown port ${name}`);
      return String(ports[name]);
    });
}

export async function startNginx(opts: NginxOptions): Promise<NginxInstance> {
  const rt = opts.runtime;
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: run npm run build`);
  const { host, inside } = runtimeTempDir(rt);
  const ports: Record<string, number> = {};
  for (const name of opts.ports) ports[name] = await freePort();

  const write = (name: string, content: string | Uint8Array) => {
    const p = join(host, name);
    writeFileSync(p, content);
    chmodSync(p, 0o644);
  };
  for (const f of readdirSync(BUNDLES).filter((n) => n.endsWith('.js'))) {
    copyFileSync(join(BUNDLES, f), join(host, f));
    chmodSync(join(host, f), 0o644);
  }
  for (const f of PROJECT_INCLUDES) {
    let text = readFileSync(join(REPO_ROOT, 'nginx', f), 'utf8');
    if (f === 'http.conf' && text.indexOf(INSTALLED_BUNDLE) < 0) throw new Error(`nginx/http.conf no longer mentions ${INSTALLED_BUNDLE}`);
    text = text.split(INSTALLED_BUNDLE_DIR).join(`${inside}/`).split(INSTALLED_INCLUDE_DIR).join(`${inside}/`);
    if (f === 'http-decision-cache.conf') {
      for (const [from, to] of DECISION_CACHE_PATHS) {
        if (text.indexOf(from) < 0) throw new Error(`nginx/${f} no longer mentions ${from}`);
        text = text.split(from).join(`${inside}/${to}`);
      }
    }
    write(f, text);
  }
  for (const name of Object.keys(opts.files ?? {})) write(name, opts.files![name]);
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(host, 'temp', d), { recursive: true });

  const conf = `# generated by test/harness/nginx.ts for ${rt.id}
daemon off;
master_process on;
worker_processes 1;
user www-data;
pid ${inside}/nginx.pid;
error_log ${inside}/error.log ${opts.errorLogLevel ?? 'info'};
load_module ${rt.module};
events { worker_connections 512; }
http {
  ${rt.engine === 'qjs' ? 'js_engine qjs;' : ''}
  access_log off;
  default_type application/octet-stream;
  client_body_temp_path ${inside}/temp/body;
  proxy_temp_path ${inside}/temp/proxy;
  fastcgi_temp_path ${inside}/temp/fastcgi;
  uwsgi_temp_path ${inside}/temp/uwsgi;
  scgi_temp_path ${inside}/temp/scgi;
${fill(opts.http, inside, ports)}
}
`;
  write('nginx.conf', opts.mainConf !== undefined ? fill(opts.mainConf, inside, ports) : conf);
  for (const d of ['temp', 'temp/body', 'temp/proxy', 'temp/fastcgi', 'temp/uwsgi', 'temp/scgi']) {
    chmodSync(join(host, d), 0o777);
  }

  const base = [rt.nginx, '-p', inside, '-c', `${inside}/nginx.conf`];
  const t = runtimeArgv(rt, base.concat(['-t']));
  const check = spawnSync(t[0], t.slice(1), { encoding: 'utf8' });
  if (check.status !== 0) {
    rmSync(host, { recursive: true, force: true });
    throw new Error(`nginx -t failed on ${rt.id}:\n${check.stdout}${check.stderr}\n--- nginx.conf ---\n${conf}`);
  }

  // A supplied nginx.conf (an example meant for production) may daemonize; the harness
  // must own the master process.
  const argv = runtimeArgv(rt, opts.mainConf !== undefined ? base.concat(['-g', 'daemon off;']) : base);
  const child: ChildProcess = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.on('exit', () => { exited = true; resolve(); }));

  const logPath = join(host, 'error.log');
  const errorLog = () => { try { return readFileSync(logPath, 'utf8'); } catch { return ''; } };
  const deadline = Date.now() + 15_000;
  for (const name of opts.ports) {
    for (;;) {
      if (exited) throw new Error(`nginx (${rt.id}) exited at startup:\n${output}\n${errorLog()}`);
      if (await portAnswers(ports[name])) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nginx (${rt.id}) did not listen on ${name}:${ports[name]}:\n${output}\n${errorLog()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    runtime: rt,
    ports,
    hostDir: host,
    dir: inside,
    url: (port, path) => `http://127.0.0.1:${ports[port]}${path}`,
    errorLog,
    logMark: () => Buffer.byteLength(errorLog()),
    logSince: (mark) => Buffer.from(errorLog()).subarray(mark).toString('utf8'),
    writeFile: write,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5000);
        await exitPromise;
        clearTimeout(timer);
      }
      // LJWT_KEEP_NGINX=1 keeps the instance directory (config, error.log) for debugging.
      if (!process.env.LJWT_KEEP_NGINX) rmSync(host, { recursive: true, force: true });
    },
  };
}
