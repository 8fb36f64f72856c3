// `npm test`: everything a fresh Debian clone needs, then the whole suite.
// 1. Debian packages (nginx + njs, slapd, redis-server, chromium, debootstrap...) when missing;
// 2. node_modules via `npm ci` when missing or older than package-lock.json;
// 3. build (dist/njs/ljwt.js, dist/service) and typecheck (Node side and the njs-only lib);
// 4. vitest (unit + integration), then the closing line "N passed, N failed".
// Extra arguments go to vitest (e.g. `npm test -- --project unit`).
// A test file that stops making progress fails the run (scripts/test-watchdog.mjs,
// LJWT_TEST_FILE_TIMEOUT_S); as a last resort, a vitest run longer than LJWT_TEST_RUN_TIMEOUT_S
// (default 2400 s) is stopped here, with the stacks of its processes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync, rmSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { descendants, dumpStacks, fileTimeoutSeconds, killAll, nodeChildren } from './test-watchdog.mjs';

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
fileTimeoutSeconds(); // a malformed LJWT_TEST_FILE_TIMEOUT_S fails here, before the run
const vitest = await runVitest(process.argv.slice(2), runTimeoutSeconds());
const summary = run('node', ['scripts/test-summary.mjs', 'test-results/results.json']);
process.exit(vitest !== 0 || summary !== 0 ? 1 : 0);

function runTimeoutSeconds() {
  const raw = process.env.LJWT_TEST_RUN_TIMEOUT_S;
  const s = raw === undefined || raw === '' ? 2400 : Number(raw);
  if (!Number.isFinite(s) || s <= 0) fail(`LJWT_TEST_RUN_TIMEOUT_S=${JSON.stringify(raw)} (want seconds)`);
  return s;
}

/** vitest in its own process group, stopped with its stacks after `limitS` seconds; resolves with its exit status. */
function runVitest(args, limitS) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...args],
      { cwd: root, stdio: 'inherit', env: process.env, detached: true });
    const stopGroup = (sig = 'SIGKILL') => { try { process.kill(-child.pid, sig); } catch { /* gone */ } };
    // Ctrl-C or a CI cancel reaches the whole group (servers started by tests included): vitest
    // gets the signal to clean up, and what is left after 10 s is killed.
    for (const sig of ['SIGINT', 'SIGTERM']) {
      process.on(sig, () => {
        stopGroup(sig);
        setTimeout(() => { stopGroup(); process.exit(1); }, 10_000).unref();
        child.once('exit', () => { stopGroup(); process.exit(1); });
      });
    }
    let stopping = false;
    const timer = setTimeout(async () => {
      stopping = true;
      console.error(`npm test: vitest still running after ${limitS} s (LJWT_TEST_RUN_TIMEOUT_S): stopping it`);
      const dir = join(root, 'test-results');
      mkdirSync(dir, { recursive: true });
      const pids = [child.pid, ...nodeChildren(child.pid)];
      try {
        // No SIGUSR2 here: vitest's main process has no report handler, and the signal would end it.
        for (const line of await dumpStacks(pids, dir, { reports: false })) console.error(line);
      } catch (e) {
        console.error(`stacks unavailable: ${e instanceof Error ? e.message : String(e)}`);
      }
      killAll(descendants(child.pid));
      stopGroup();
      resolve(1);
    }, limitS * 1000);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      clearTimeout(timer);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}
