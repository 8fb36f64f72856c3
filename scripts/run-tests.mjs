// `npm test`: everything a fresh Debian clone needs, then the whole suite.
// 1. Debian packages (nginx + njs, slapd, redis-server, chromium, debootstrap...) when missing;
// 2. node_modules via `npm ci` when missing or older than package-lock.json;
// 3. build (dist/njs/ljwt.js, dist/service) and typecheck (Node side and the njs-only lib);
// 4. vitest (unit + integration), then the closing line "N passed, N failed".
// Extra arguments go to vitest (e.g. `npm test -- --project unit`).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env }).status ?? 1;
const fail = (what) => { console.error(`npm test: ${what} failed`); console.log('0 passed, 1 failed'); process.exit(1); };

if (run('bash', ['scripts/install-system-deps.sh']) !== 0) fail('installing Debian packages');
const lock = join(root, 'package-lock.json');
const marker = join(root, 'node_modules/.package-lock.json');
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  if (run('npm', ['ci', '--no-audit', '--no-fund']) !== 0) fail('npm ci');
}
if (run('node', ['scripts/build.mjs']) !== 0) fail('build');
if (run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']) !== 0) fail('typecheck (tsconfig.json)');
if (run('npx', ['tsc', '-p', 'njs/tsconfig.json', '--noEmit']) !== 0) fail('typecheck (njs/tsconfig.json)');
rmSync(join(root, 'test-results'), { recursive: true, force: true });
const vitest = run('npx', ['vitest', 'run', ...process.argv.slice(2)]);
const summary = run('node', ['scripts/test-summary.mjs', 'test-results/results.json']);
process.exit(vitest !== 0 || summary !== 0 ? 1 : 0);
