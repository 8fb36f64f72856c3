// The watchdog (scripts/test-watchdog.mjs) fails a run whose test file blocks its worker for good:
// a nested vitest run of test/fixtures/watchdog (one file blocks its main thread in a native wait,
// one passes) with a 3 s limit stops within seconds, names the stuck file, leaves its native stacks,
// kills the worker, and the closing line counts the stuck file as failed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'ljwt-watchdog-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** 'gone', or the state letter from /proc/<pid>/stat (Z: exited, not yet reaped). */
function processState(pid: number): string {
  if (!existsSync(`/proc/${pid}/stat`)) return 'gone';
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
}

function run(args: string[], env: NodeJS.ProcessEnv, limitMs: number): Promise<{ code: number | null; output: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no end within ${limitMs} ms:\n${output}`)); }, limitMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output, ms: Date.now() - started }); });
  });
}

describe('test file watchdog', () => {
  it('stops a run whose file blocks its worker, names the file, leaves stacks, and the summary counts it as failed', async () => {
    const r = await run([join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/fixtures/watchdog/vitest.config.ts'],
      { LJWT_TEST_FILE_TIMEOUT_S: '3', LJWT_WATCHDOG_FIXTURE_OUT: out }, 90_000);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('[watchdog] FAIL test/fixtures/watchdog/stuck.fixture.ts: no progress for 3 s');
    const verdict = JSON.parse(readFileSync(join(out, 'watchdog.json'), 'utf8'));
    expect(verdict).toMatchObject({ passed: 1, failed: 1, stuck: ['test/fixtures/watchdog/stuck.fixture.ts'], limitSeconds: 3 });

    // The worker's pid, then its native stacks where gdb is installed.
    const pid = Number(/\[watchdog\] --- process (\d+)/.exec(r.output)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(processState(pid), 'the stuck worker was killed').toMatch(/^(gone|Z)$/);
    if (spawnSync('gdb', ['--version'], { stdio: 'ignore' }).status === 0) {
      expect(readFileSync(join(out, `native-stacks-${pid}.txt`), 'utf8')).toMatch(/AtomicsWait|FutexEmulation/);
      expect(r.output).toMatch(/\[watchdog\] main thread:\n.*futex/);
    } else {
      expect(r.output).toContain('native stacks: gdb is not installed');
    }

    const summary = await run([join(root, 'scripts/test-summary.mjs'), join(out, 'results.json')], {}, 30_000);
    expect(summary.code).toBe(1);
    expect(summary.output.split('\n')[0]).toBe('1 passed, 1 failed');
  }, 120_000);

  it('rejects a limit that is not a positive number of seconds', async () => {
    const r = await run([join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/fixtures/watchdog/vitest.config.ts'],
      { LJWT_TEST_FILE_TIMEOUT_S: '5m', LJWT_WATCHDOG_FIXTURE_OUT: out }, 90_000);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('LJWT_TEST_FILE_TIMEOUT_S must be a positive number of seconds, got "5m"');
  }, 120_000);
});
