// A real OpenLDAP server (Debian slapd 2.5) on 127.0.0.1 ephemeral ports for
// integration tests. cn=config is built offline with `slapadd -n0`, the data
// with `slapadd -n1` (no LDAP round trips, so a directory of hundreds of
// entries loads in milliseconds), then slapd runs in the foreground with
// `-d stats` so tests can read which DNs bound (log()).
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
  /** Kill slapd (data stays). */
  stop(): Promise<void>;
  /** Start again on the same ports with the same data. */
  start(): Promise<void>;
  /** stop + remove the temp dir. */
  destroy(): Promise<void>;
}

const BASE_SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis'];

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

async function configLdif(dir: string, baseDn: string, adminDn: string, adminPassword: string, opts: SlapdOptions): Promise<string> {
  const parts: string[] = [];
  const tls = opts.tls
    ? `olcTLSCertificateFile: ${path.resolve(opts.tls.certFile)}\nolcTLSCertificateKeyFile: ${path.resolve(opts.tls.keyFile)}\n`
    : '';
  parts.push(
    `dn: cn=config\nobjectClass: olcGlobal\ncn: config\nolcPidFile: ${dir}/slapd.pid\n${tls}`,
    'dn: cn=module{0},cn=config\nobjectClass: olcModuleList\ncn: module{0}\nolcModulePath: /usr/lib/ldap\nolcModuleLoad: back_mdb\n',
    'dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n',
  );
  for (const name of [...BASE_SCHEMAS, ...(opts.schemas ?? [])]) {
    const text = await readFile(schemaPath(name), 'utf8');
    // Comments would be harmless, but separating records needs exactly one blank line.
    parts.push(text.split('\n').filter((l) => !l.startsWith('#')).join('\n').trim() + '\n');
  }
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

class SlapdExited extends Error {
  constructor(
    readonly log: string,
    code: number | string | null,
  ) {
    super(`slapd exited (${code}) before it was ready:\n${log.slice(-3000)}`);
  }
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
async function waitReady(ports: number[], child: ChildProcess, logFile: string, logOffset: number, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const log = (await readFile(logFile, 'utf8').catch(() => '')).slice(logOffset);
    if (child.exitCode !== null || child.signalCode !== null) throw new SlapdExited(log, child.exitCode ?? child.signalCode);
    if (log.includes('slapd starting')) {
      let all = true;
      for (const p of ports) all &&= await canConnect(p);
      if (all) return;
    }
    if (Date.now() > end) throw new Error(`slapd not ready on 127.0.0.1:${ports.join(',')} within ${deadlineMs} ms:\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  const baseDn = opts.baseDn ?? 'dc=example,dc=com';
  const adminDn = `cn=admin,${baseDn}`;
  const adminPassword = `admin-${randomBytes(6).toString('hex')}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ljwt-slapd-'));
  const confDir = path.join(dir, 'slapd.d');
  await mkdir(confDir);
  await mkdir(path.join(dir, 'data'));

  try {
    const conf = path.join(dir, 'config.ldif');
    await writeFile(conf, await configLdif(dir, baseDn, adminDn, adminPassword, opts));
    await execFileP('slapadd', ['-n0', '-F', confDir, '-l', conf]).catch((e: { stderr?: string }) => {
      throw new Error(`slapadd -n0 failed: ${e.stderr ?? String(e)}`);
    });
    const data = path.join(dir, 'data.ldif');
    const ldif = [baseEntry(baseDn), ...(opts.ldif ?? []).map((t) => t.trim() + '\n')].join('\n');
    await writeFile(data, ldif);
    // -q would skip consistency checks; keep them so a broken fixture fails loudly here.
    await execFileP('slapadd', [...(opts.bulkLoad ? ['-q'] : []), '-F', confDir, '-b', baseDn, '-l', data]).catch((e: { stderr?: string }) => {
      throw new Error(`slapadd (data) failed: ${e.stderr ?? String(e)}`);
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  let port = await freePort();
  let ldapsPort = opts.tls ? await freePort() : undefined;
  const logFile = path.join(dir, 'slapd.log');
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    if (child) return;
    const urls = [`ldap://127.0.0.1:${port}/`];
    if (ldapsPort !== undefined) urls.push(`ldaps://127.0.0.1:${ldapsPort}/`);
    const logOffset = existsSync(logFile) ? (await readFile(logFile, 'utf8')).length : 0;
    const fd = openSync(logFile, 'a');
    const c = spawn('slapd', ['-h', urls.join(' '), '-F', confDir, '-d', 'stats'], {
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    child = c;
    c.on('exit', () => {
      if (child === c) child = undefined;
    });
    try {
      await waitReady(ldapsPort !== undefined ? [port, ldapsPort] : [port], c, logFile, logOffset, 10_000);
    } catch (e) {
      c.kill('SIGKILL');
      if (child === c) child = undefined;
      throw e;
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    child = undefined;
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
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
