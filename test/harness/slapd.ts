// A real OpenLDAP server (Debian slapd 2.5) on 127.0.0.1 ephemeral ports for
// integration tests. cn=config is built offline with `slapadd -n0`, the data
// with `slapadd -n1` (no LDAP round trips, so a directory of hundreds of
// entries loads in milliseconds), then slapd runs in the foreground with
// `-d stats` so tests can read which DNs bound (log()).
//
// Two backends, one interface: 'container' runs slapadd and slapd in an
// OpenLDAP container (slapd-container.ts: Debian bookworm image, host network,
// the temp dir bind-mounted at the same path), 'host' runs the slapd of the
// Debian package on this machine. TEST_LDAP_BACKEND picks one; the test run's
// global setup sets it to 'container' when a Docker engine can be used
// (test/harness/global-setup.ts). Unset (benchmarks, npm run demo): host.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { closeSync, existsSync, openSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const execFileP = promisify(execFile);

export interface SlapdOptions {
  /** Default 'dc=example,dc=com'. */
  baseDn?: string;
  /** LDIF texts added (slapadd, offline) after the base entry. */
  ldif?: string[];
  /**
   * Extra schemas: a bare name is /etc/ldap/schema/<name>.ldif, anything with a
   * '/' is a path to a cn=config schema LDIF (e.g. test/fixtures/ad-compat.ldif).
   * core, cosine, inetorgperson and nis are always loaded.
   */
  schemas?: string[];
  /** olcSizeLimit for non-root identities (forces paging in tests); default unlimited. */
  sizeLimit?: number;
  /** Enables an ldaps:// listener on a second port and StartTLS on the plain one. */
  tls?: { certFile: string; keyFile: string };
  /**
   * For benchmark-sized directories (100k+ entries): a 4 GiB (sparse) mdb map instead of
   * the 10 MiB default, which would fail with MDB_MAP_FULL, and `slapadd -q`, which skips
   * per-entry consistency checks that make loading take minutes.
   */
  bulkLoad?: boolean;
  /** Extra olcDbIndex values (e.g. 'uid eq' for a login benchmark); objectClass eq is always indexed. */
  indexes?: string[];
  /**
   * olcLimits values of the data database, in order (slapd.conf(5) "limits"), e.g.
   * 'users size.pr=400' (a paged-results page limit below the client's page size) or
   * 'users size.pr=disabled' (the paged-results control refused).
   */
  limits?: string[];
}

export interface Slapd {
  url: string;
  ldapsUrl?: string;
  port: number;
  ldapsPort?: number;
  baseDn: string;
  /** The rootdn (cn=admin,<baseDn>); no entry exists for it, its password is olcRootPW. */
  adminDn: string;
  adminPassword: string;
  /** Temp dir holding slapd.d/, data/ and slapd.log. */
  dir: string;
  /** slapd's `-d stats` log so far (all runs since startSlapd). */
  log(): Promise<string>;
  /** DNs of successful simple binds seen in the log so far, in order. */
  boundDns(): Promise<string[]>;
  /** Which backend runs this server. */
  backend: SlapdBackend;
  /** Stop slapd: SIGTERM, SIGKILL after 5 s (container: docker stop). Data stays. */
  stop(): Promise<void>;
  /**
   * Freeze slapd without closing its sockets: connections and new TCP handshakes
   * succeed (the kernel completes them) but nothing is answered, as with a hung
   * server (host: SIGSTOP; container: docker pause).
   */
  pause(): Promise<void>;
  /** Undo pause() (host: SIGCONT; container: docker unpause); a no-op when not paused. */
  resume(): Promise<void>;
  /** Start again on the same ports with the same data. */
  start(): Promise<void>;
  /** stop + remove the temp dir. */
  destroy(): Promise<void>;
}

const BASE_SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis'];

export type SlapdBackend = 'host' | 'container';

/** The backend startSlapd uses: TEST_LDAP_BACKEND ('host' | 'container'), host when unset. */
export function slapdBackend(): SlapdBackend {
  const v = process.env.TEST_LDAP_BACKEND;
  if (v === undefined || v === '' || v === 'host') return 'host';
  if (v === 'container') return 'container';
  throw new Error(`TEST_LDAP_BACKEND=${v}: expected host or container`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function schemaPath(name: string): string {
  return name.includes('/') ? path.resolve(name) : `/etc/ldap/schema/${name}.ldif`;
}

/** The first RDN decides the base entry's object classes. */
function baseEntry(baseDn: string): string {
  const first = baseDn.split(',')[0]!;
  const eq = first.indexOf('=');
  const attr = first.slice(0, eq).trim().toLowerCase();
  const value = first.slice(eq + 1).trim();
  switch (attr) {
    case 'dc':
      return `dn: ${baseDn}\nobjectClass: dcObject\nobjectClass: organization\ndc: ${value}\no: ${value}\n`;
    case 'o':
      return `dn: ${baseDn}\nobjectClass: organization\no: ${value}\n`;
    case 'ou':
      return `dn: ${baseDn}\nobjectClass: organizationalUnit\nou: ${value}\n`;
    default:
      throw new Error(`startSlapd: unsupported base DN ${baseDn} (first RDN must be dc=, o= or ou=)`);
  }
}

/**
 * A schema as a cn=config record: inlined from a file here, or (container) an
 * `include:` of the image's own /etc/ldap/schema file, which slapadd resolves.
 */
async function schemaRecord(name: string, backend: SlapdBackend): Promise<string> {
  if (backend === 'container' && !name.includes('/')) return `include: file:///etc/ldap/schema/${name}.ldif\n`;
  const text = await readFile(schemaPath(name), 'utf8');
  // Comments would be harmless, but separating records needs exactly one blank line.
  return text.split('\n').filter((l) => !l.startsWith('#')).join('\n').trim() + '\n';
}

async function configLdif(
  dir: string,
  baseDn: string,
  adminDn: string,
  adminPassword: string,
  opts: SlapdOptions,
  backend: SlapdBackend = 'host',
): Promise<string> {
  const parts: string[] = [];
  const tls = opts.tls
    ? `olcTLSCertificateFile: ${path.resolve(opts.tls.certFile)}\nolcTLSCertificateKeyFile: ${path.resolve(opts.tls.keyFile)}\n`
    : '';
  parts.push(
    `dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: ${dir}/slapd.pid\n${tls}`,
    'dn: cn=module{0},cn=config\nobjectClass: olcModuleList\ncn: module{0}\nolcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\n',
    'dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n',
  );
  for (const name of [...BASE_SCHEMAS, ...(opts.schemas ?? [])]) parts.push(await schemaRecord(name, backend));
  // Like AD's MaxPageSize: a plain search stops at the limit, a paged search
  // (RFC 2696) may fetch everything in pages of at most that size.
  const limit =
    opts.sizeLimit === undefined
      ? 'unlimited'
      : `size.soft=${opts.sizeLimit} size.hard=${opts.sizeLimit} size.pr=${opts.sizeLimit} size.prtotal=unlimited`;
  parts.push(
    'dn: olcDatabase={-1}frontend,cn=config\nobjectClass: olcDatabaseConfig\nobjectClass: olcFrontendConfig\nolcDatabase: {-1}frontend\n',
    'dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\nolcDatabase: {0}config\nolcAccess: {0}to * by * none\n',
    [
      'dn: olcDatabase={1}mdb,cn=config',
      'objectClass: olcDatabaseConfig',
      'objectClass: olcMdbConfig',
      'olcDatabase: {1}mdb',
      `olcDbDirectory: ${dir}/data`,
      `olcSuffix: ${baseDn}`,
      `olcRootDN: ${adminDn}`,
      `olcRootPW: ${adminPassword}`,
      `olcSizeLimit: ${limit}`,
      ...(opts.limits ?? []).map((l, i) => `olcLimits: {${i}}${l}`),
      ...(opts.bulkLoad ? ['olcDbMaxSize: 4294967296'] : []),
      'olcDbIndex: objectClass eq',
      ...(opts.indexes ?? []).map((i) => `olcDbIndex: ${i}`),
      // Users (and service accounts) bind with their password but never read it;
      // any authenticated identity reads the rest; anonymous sees nothing
      // (RFC 4513 §5.1.1: anonymous bind must not expose the directory).
      'olcAccess: {0}to attrs=userPassword by anonymous auth by self =x by * none',
      'olcAccess: {1}to * by users read by * none',
      '',
    ].join('\n'),
  );
  return parts.join('\n');
}

export class SlapdExited extends Error {
  constructor(
    readonly log: string,
    code: number | string | null,
  ) {
    super(`slapd exited (${code}) before it was ready:\n${log.slice(-3000)}`);
  }
}

/** One running slapd (a host process or a container), as startSlapd drives it. */
export interface SlapdProcess {
  /** Undefined while running; the exit code or signal once it has exited. */
  exitStatus(): Promise<number | string | undefined>;
  /** Why it exited before being ready (a SlapdExited when slapd itself failed). */
  failure(log: string, status: number | string): Promise<Error>;
  /** SIGTERM, SIGKILL after 5 s; resolves once it has exited. */
  terminate(): Promise<void>;
  /** SIGKILL, at once (a start that failed). */
  kill(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/** Where startSlapd runs slapadd and slapd. */
export interface SlapdRunner {
  backend: SlapdBackend;
  /** Load cn=config and the data (files already in dir); throws "slapadd ... failed: <stderr>". */
  load(dir: string, baseDn: string, bulkLoad: boolean): Promise<void>;
  /** Start slapd on `urls` with the loaded dir; stdout/stderr appended to dir/slapd.log. */
  launch(dir: string, urls: string[]): Promise<SlapdProcess>;
  /** Remove what launch left behind (containers); the dir is removed by the caller. */
  dispose(): Promise<void>;
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * Ready = this run's log says "slapd starting" (so the listeners are ours:
 * a port taken by someone else makes slapd exit with "bind failed") and
 * every port accepts connections.
 */
async function waitReady(ports: number[], proc: SlapdProcess, logFile: string, logOffset: number, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const log = (await readFile(logFile, 'utf8').catch(() => '')).slice(logOffset);
    const status = await proc.exitStatus();
    if (status !== undefined) throw await proc.failure(log, status);
    if (log.includes('slapd starting')) {
      let all = true;
      for (const p of ports) all &&= await canConnect(p);
      if (all) return;
    }
    if (Date.now() > end) throw new Error(`slapd not ready on 127.0.0.1:${ports.join(',')} within ${deadlineMs} ms:\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The Debian package's slapd and slapadd on this machine. */
function hostRunner(): SlapdRunner {
  return {
    backend: 'host',
    async load(dir, baseDn, bulkLoad) {
      const confDir = path.join(dir, 'slapd.d');
      await execFileP('slapadd', ['-n0', '-F', confDir, '-l', path.join(dir, 'config.ldif')]).catch((e: { stderr?: string }) => {
        throw new Error(`slapadd -n0 failed: ${e.stderr ?? String(e)}`);
      });
      // -q would skip consistency checks; keep them so a broken fixture fails loudly here.
      await execFileP('slapadd', [...(bulkLoad ? ['-q'] : []), '-F', confDir, '-b', baseDn, '-l', path.join(dir, 'data.ldif')]).catch(
        (e: { stderr?: string }) => {
          throw new Error(`slapadd (data) failed: ${e.stderr ?? String(e)}`);
        },
      );
    },
    async launch(dir, urls) {
      const fd = openSync(path.join(dir, 'slapd.log'), 'a');
      const c: ChildProcess = spawn('slapd', ['-h', urls.join(' '), '-F', path.join(dir, 'slapd.d'), '-d', 'stats'], {
        stdio: ['ignore', fd, fd],
      });
      closeSync(fd);
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      let paused = false;
      return {
        async exitStatus() {
          return c.exitCode ?? c.signalCode ?? undefined;
        },
        async failure(log, status) {
          return new SlapdExited(log, status);
        },
        async terminate() {
          if (c.exitCode !== null || c.signalCode !== null) return;
          c.kill('SIGTERM');
          // A stopped process only acts on SIGTERM once continued.
          if (paused) c.kill('SIGCONT');
          const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        },
        async kill() {
          if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
          await exited;
        },
        async pause() {
          c.kill('SIGSTOP');
          paused = true;
        },
        async resume() {
          c.kill('SIGCONT');
          paused = false;
        },
      };
    },
    async dispose() {},
  };
}

async function runnerFor(backend: SlapdBackend, opts: SlapdOptions): Promise<SlapdRunner> {
  if (backend === 'host') return hostRunner();
  const { containerRunner } = await import('./slapd-container.ts');
  return containerRunner(opts.tls ? [opts.tls.certFile, opts.tls.keyFile] : []);
}

export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  const backend = slapdBackend();
  const runner = await runnerFor(backend, opts);
  const baseDn = opts.baseDn ?? 'dc=example,dc=com';
  const adminDn = `cn=admin,${baseDn}`;
  const adminPassword = `admin-${randomBytes(6).toString('hex')}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ljwt-slapd-'));
  await mkdir(path.join(dir, 'slapd.d'));
  await mkdir(path.join(dir, 'data'));

  try {
    await writeFile(path.join(dir, 'config.ldif'), await configLdif(dir, baseDn, adminDn, adminPassword, opts, backend));
    const ldif = [baseEntry(baseDn), ...(opts.ldif ?? []).map((t) => t.trim() + '\n')].join('\n');
    await writeFile(path.join(dir, 'data.ldif'), ldif);
    await runner.load(dir, baseDn, opts.bulkLoad ?? false);
  } catch (e) {
    await runner.dispose();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  let port = await freePort();
  let ldapsPort = opts.tls ? await freePort() : undefined;
  const logFile = path.join(dir, 'slapd.log');
  let proc: SlapdProcess | undefined;

  const start = async (): Promise<void> => {
    if (proc) return;
    const urls = [`ldap://127.0.0.1:${port}/`];
    if (ldapsPort !== undefined) urls.push(`ldaps://127.0.0.1:${ldapsPort}/`);
    const logOffset = existsSync(logFile) ? (await readFile(logFile, 'utf8')).length : 0;
    const p = await runner.launch(dir, urls);
    proc = p;
    try {
      await waitReady(ldapsPort !== undefined ? [port, ldapsPort] : [port], p, logFile, logOffset, backend === 'host' ? 10_000 : 60_000);
    } catch (e) {
      await p.kill().catch(() => undefined);
      proc = undefined;
      throw e;
    }
  };

  const stop = async (): Promise<void> => {
    const p = proc;
    if (!p) return;
    await p.terminate();
    proc = undefined;
  };

  const log = async (): Promise<string> => (existsSync(logFile) ? readFile(logFile, 'utf8') : '');

  // Another process may grab a port between freePort() and slapd's bind: retry
  // the first start on fresh ports (later restarts must keep theirs).
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (e) {
      if (!(e instanceof SlapdExited && /Address already in use/.test(e.log)) || attempt >= 5) {
        await runner.dispose();
        await rm(dir, { recursive: true, force: true });
        throw e;
      }
      port = await freePort();
      ldapsPort = opts.tls ? await freePort() : undefined;
    }
  }
  return {
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: ldapsPort !== undefined ? `ldaps://127.0.0.1:${ldapsPort}` : undefined,
    port,
    ldapsPort,
    baseDn,
    adminDn,
    adminPassword,
    dir,
    backend,
    log,
    async boundDns() {
      // slapd logs "conn=C op=O BIND dn=..." then "conn=C op=O RESULT tag=97 err=0".
      const lines = (await log()).split('\n');
      const pending = new Map<string, string>();
      const ok: string[] = [];
      for (const line of lines) {
        const bind = /(conn=\d+ op=\d+) BIND dn="(.*)" mech=SIMPLE/.exec(line);
        if (bind) {
          pending.set(bind[1]!, bind[2]!);
          continue;
        }
        const res = /(conn=\d+ op=\d+) RESULT tag=97 err=(\d+)/.exec(line);
        if (res && pending.has(res[1]!)) {
          if (res[2] === '0') ok.push(pending.get(res[1]!)!);
          pending.delete(res[1]!);
        }
      }
      return ok;
    },
    start,
    stop,
    async pause() {
      if (!proc) throw new Error('slapd is not running');
      await proc.pause();
    },
    async resume() {
      // Like SIGCONT: a no-op on a server that is not paused (or not running), so cleanup can call it freely.
      if (!proc) return;
      await proc.resume();
    },
    async destroy() {
      await stop();
      await runner.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
