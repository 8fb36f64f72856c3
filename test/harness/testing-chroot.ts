// Debian chroots with nginx-light + libnginx-mod-http-js + njs, one per suite the test matrix
// covers: `testing` (nginx 1.30, njs 1.0.x, njs and QuickJS engines) and `trixie` (Debian 13,
// the current stable: nginx 1.26, njs 0.8.9, njs engine only). Built once with debootstrap and
// reused; parallel test files share one build per suite through a lock directory (mkdir is atomic).
import { existsSync, renameSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { debianMirror } from '../../scripts/lib/debian-images.mjs';
import { withDirLock } from '../../scripts/lib/dir-lock.mjs';

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

/** Returns the suite's chroot path, building it with debootstrap when missing. */
export async function ensureDebianChroot(suite: DebianSuite, dir = CHROOTS[suite]): Promise<string> {
  if (isComplete(dir)) return dir;
  const built = await withDirLock(dir + '.lock', { timeoutMs: BUILD_TIMEOUT_MS + 60_000, pollMs: 2000, done: () => isComplete(dir) }, async () => {
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
  });
  return built ?? dir;
}

/** The Debian testing chroot (nginx 1.30, njs 1.0.x). */
export function ensureTestingChroot(dir = TESTING_CHROOT): Promise<string> {
  return ensureDebianChroot('testing', dir);
}
