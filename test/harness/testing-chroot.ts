// Debian chroots with nginx-light + libnginx-mod-http-js + njs, one per suite the test matrix
// covers: `testing` (nginx 1.30, njs 1.0.x, njs and QuickJS engines) and `trixie` (Debian 13,
// the current stable: nginx 1.26, njs 0.8.9, njs engine only). Built once with debootstrap and
// reused; parallel test files share one build per suite through a lock directory (mkdir is atomic).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';

/** The Debian suites that get a chroot (debootstrap's suite names). */
export type DebianSuite = 'testing' | 'trixie';

/** Where each suite's chroot lives; LJWT_TESTING_CHROOT / LJWT_TRIXIE_CHROOT override. */
export const CHROOTS: Record<DebianSuite, string> = {
  testing: process.env.LJWT_TESTING_CHROOT || '/var/tmp/nginx-ldap-jwt/debian-testing',
  trixie: process.env.LJWT_TRIXIE_CHROOT || '/var/tmp/nginx-ldap-jwt/debian-trixie',
};
export const TESTING_CHROOT = CHROOTS.testing;
export const TRIXIE_CHROOT = CHROOTS.trixie;

const PACKAGES = 'nginx-light,libnginx-mod-http-js,njs';
const BUILD_TIMEOUT_MS = 15 * 60_000;

function isComplete(dir: string): boolean {
  return existsSync(join(dir, 'usr/sbin/nginx')) &&
    existsSync(join(dir, 'usr/lib/nginx/modules/ngx_http_js_module.so')) &&
    existsSync(join(dir, 'usr/bin/njs'));
}

/** The Debian mirror this machine already uses (first URIs line of the deb822 sources). */
export function debianMirror(): string {
  const text = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
  const m = /^URIs:\s*(\S+)/m.exec(text);
  if (!m) throw new Error('no URIs line in /etc/apt/sources.list.d/debian.sources');
  return m[1];
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function run(argv: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out = (out + d).slice(-8000); });
    p.stderr.on('data', (d) => { out = (out + d).slice(-8000); });
    const t = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(); else reject(new Error(`${argv.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Returns the suite's chroot path, building it with debootstrap when missing. */
export async function ensureDebianChroot(suite: DebianSuite, dir = CHROOTS[suite]): Promise<string> {
  if (isComplete(dir)) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  const lock = dir + '.lock';
  const deadline = Date.now() + BUILD_TIMEOUT_MS + 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      if (isComplete(dir)) return dir;
      let owner = 0;
      try { owner = Number(readFileSync(join(lock, 'pid'), 'utf8')); } catch { /* being created */ }
      if (owner && !pidAlive(owner)) { rmSync(lock, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await sleep(2000);
    }
  }
  try {
    if (isComplete(dir)) return dir;
    // Build next to the target and rename only when complete, so a killed build never
    // leaves a half chroot that looks usable.
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    await run(['debootstrap', '--variant=minbase', `--include=${PACKAGES}`, suite, tmp, debianMirror()],
      BUILD_TIMEOUT_MS);
    if (!isComplete(tmp)) throw new Error(`debootstrap ${suite} finished but ${tmp} lacks nginx/njs`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return dir;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The Debian testing chroot (nginx 1.30, njs 1.0.x). */
export function ensureTestingChroot(dir = TESTING_CHROOT): Promise<string> {
  return ensureDebianChroot('testing', dir);
}
