// Test watchdog: fails the run when a test file stops making progress, and leaves the stacks of
// the stuck processes. A worker blocked in native code (a deadlock) never runs vitest's own
// timeouts, because they live on its blocked event loop; this reporter runs in vitest's main
// process, whose event loop stays free.
//
// A file makes progress when it is queued in a worker, collected, or a test or hook starts or
// ends. When one of the running files has made none for LJWT_TEST_FILE_TIMEOUT_S seconds (default
// 300: more than the longest hook timeout), the reporter
//   1. names the file(s) on stderr;
//   2. asks every worker for a Node diagnostic report (SIGUSR2; workers run with
//      --report-on-signal, see workerExecArgv) and, when gdb is installed, takes the native stacks
//      of every thread. Node 20 writes a signalled report from its event loop, so a worker whose
//      event loop is blocked (a deadlock, an endless loop) gives none: gdb's stacks are what shows
//      where it hangs. A worker that still answers shows its open handles in the report;
//   3. writes <outputDir>/watchdog.json (test counts so far, the stuck files counted as failed)
//      for scripts/test-summary.mjs, kills the workers and whatever they started, and exits 1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const DEFAULT_FILE_TIMEOUT_S = 300;
const REPORT_WAIT_MS = 3000;
const GDB_TIMEOUT_MS = 30_000;

/** Seconds from LJWT_TEST_FILE_TIMEOUT_S (a positive number), else the default. */
export function fileTimeoutSeconds(env = process.env) {
  const raw = env.LJWT_TEST_FILE_TIMEOUT_S;
  if (raw === undefined || raw === '') return DEFAULT_FILE_TIMEOUT_S;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) throw new Error(`LJWT_TEST_FILE_TIMEOUT_S must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  return s;
}

/** Node options for the workers: a diagnostic report on SIGUSR2, written into `outputDir`/reports. */
export function workerExecArgv(outputDir) {
  return ['--report-on-signal', `--report-directory=${resolve(outputDir, 'reports')}`];
}

/** Process ids of every descendant of `pid`, parents before children (Linux /proc). */
export function descendants(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try { stat = readFileSync(`/proc/${name}/stat`, 'utf8'); } catch { continue; }
    // Field 4 (ppid) follows the command name, which is in parentheses and may contain spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const walk = (p) => { for (const c of children.get(p) ?? []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

/** Child processes of `pid` that run this node binary (vitest's fork workers, for vitest's main process). */
export function nodeChildren(pid) {
  return descendants(pid).filter((c) => parentOf(c) === pid && exeOf(c) === process.execPath);
}

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch { return -1; }
}

function exeOf(pid) {
  try { return readlinkSync(`/proc/${pid}/exe`); } catch { return ''; }
}

function commandLine(pid) {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' '); } catch { return ''; }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `path` relative to the working directory when inside it, else absolute. */
function shortPath(path) {
  const r = relative(process.cwd(), path);
  return r.startsWith('..') ? path : r;
}

/**
 * Stacks of the node processes `pids`: with `reports`, a diagnostic report each (SIGUSR2: only for
 * processes started with workerExecArgv, SIGUSR2 ends any other; written only if the event loop
 * still turns), and gdb's native backtrace of every thread. Returns text lines for the console;
 * the full stacks stay in files under `outputDir`.
 */
export async function dumpStacks(pids, outputDir, { reports: signalReports = true } = {}) {
  const lines = [];
  const reportDir = resolve(outputDir, 'reports');
  mkdirSync(reportDir, { recursive: true });
  const before = new Set(readdirSync(reportDir));
  if (signalReports) {
    for (const pid of pids) { try { process.kill(pid, 'SIGUSR2'); } catch { /* already gone */ } }
    await sleep(REPORT_WAIT_MS);
  }
  const reports = readdirSync(reportDir).filter((f) => !before.has(f) && f.endsWith('.json'));
  const gdb = spawnSync('gdb', ['--version'], { stdio: 'ignore' }).status === 0;
  for (const pid of pids) {
    lines.push(`--- process ${pid}: ${commandLine(pid).slice(0, 200)}`);
    const report = reports.find((f) => f.split('.').includes(String(pid)));
    if (report !== undefined) {
      const path = join(reportDir, report);
      lines.push(`diagnostic report: ${shortPath(path)}`);
      try {
        const r = JSON.parse(readFileSync(path, 'utf8'));
        lines.push('JavaScript stack:', ...String(r.javascriptStack?.stack?.join?.('\n') ?? r.javascriptStack?.message ?? '').split('\n').slice(0, 15).map((l) => '  ' + l.trim()));
      } catch { /* a partly written report: the path is enough */ }
    } else if (signalReports) {
      lines.push('no diagnostic report (its event loop is blocked)');
    }
    if (!gdb) { lines.push('native stacks: gdb is not installed'); continue; }
    const bt = spawnSync('gdb', ['-batch', '-nx', '-p', String(pid), '-ex', 'thread apply all bt 40'],
      { encoding: 'utf8', timeout: GDB_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
    const text = `${bt.stdout ?? ''}${bt.stderr ?? ''}`;
    const file = join(outputDir, `native-stacks-${pid}.txt`);
    writeFileSync(file, text);
    // The main thread (LWP == pid) is the one that runs JavaScript; show its top frames.
    const threads = text.split(/\n(?=Thread \d+ )/);
    const main = threads.find((t) => t.startsWith('Thread ') && t.includes(`LWP ${pid})`)) ?? '';
    lines.push(`native stacks of all threads: ${shortPath(file)}`);
    if (main) lines.push('main thread:', ...main.split('\n').filter((l) => l.startsWith('#')).slice(0, 15).map((l) => '  ' + l.replace(/ \(\) from .*$/, '').slice(0, 220)));
  }
  return lines;
}

/** Kills `pids` (children listed after their parents, so parents go first and cannot respawn them). */
export function killAll(pids) {
  for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
}

/** vitest reporter: see the header of this file. Options: { limitSeconds?, outputDir? }. */
export default class FileWatchdog {
  constructor(options = {}) {
    this.limitMs = (options.limitSeconds ?? fileTimeoutSeconds()) * 1000;
    this.outputDir = resolve(options.outputDir ?? 'test-results');
    /** moduleId -> { name, last } for files queued in a worker and not finished. */
    this.running = new Map();
    this.counts = { passed: 0, failed: 0, skipped: 0 };
    this.firing = false;
    this.timer = undefined;
  }

  onInit(vitest) {
    this.root = vitest.config.root;
    this.timer = setInterval(() => this.check(), Math.min(1000, this.limitMs / 4));
    this.timer.unref();
  }

  touch(module) {
    const f = this.running.get(module.moduleId);
    if (f !== undefined) f.last = Date.now();
  }

  onTestModuleQueued(module) {
    this.running.set(module.moduleId, { name: relative(this.root ?? process.cwd(), module.moduleId), last: Date.now() });
  }

  onTestModuleCollected(module) { this.touch(module); }
  onTestCaseReady(test) { this.touch(test.module); }
  onHookStart(hook) { this.touch(hook.entity.type === 'module' ? hook.entity : hook.entity.module); }
  onHookEnd(hook) { this.touch(hook.entity.type === 'module' ? hook.entity : hook.entity.module); }

  onTestCaseResult(test) {
    this.touch(test.module);
    const state = test.result().state;
    if (state === 'passed') this.counts.passed++;
    else if (state === 'failed') this.counts.failed++;
    else this.counts.skipped++;
  }

  onTestModuleEnd(module) {
    this.running.delete(module.moduleId);
    // A file that failed to load counts as one failure (as in scripts/test-summary.mjs).
    if (module.state() === 'failed' && ![...module.children.allTests()].some((t) => t.result().state === 'failed')) this.counts.failed++;
  }

  onTestRunEnd() {
    clearInterval(this.timer);
  }

  check() {
    if (this.firing) return;
    const now = Date.now();
    const stuck = [...this.running.values()].filter((f) => now - f.last > this.limitMs);
    if (stuck.length > 0) void this.fire(stuck.map((f) => f.name));
  }

  async fire(names) {
    this.firing = true;
    const limitS = this.limitMs / 1000;
    const say = (line) => process.stderr.write(`[watchdog] ${line}\n`);
    for (const name of names) say(`FAIL ${name}: no progress for ${limitS} s (LJWT_TEST_FILE_TIMEOUT_S); the run is stopped`);
    mkdirSync(this.outputDir, { recursive: true });
    const workers = nodeChildren(process.pid);
    try {
      for (const line of await dumpStacks(workers, this.outputDir)) say(line);
    } catch (e) {
      say(`stacks unavailable: ${e instanceof Error ? e.message : String(e)}`);
    }
    const summary = { ...this.counts, failed: this.counts.failed + names.length, stuck: names, limitSeconds: limitS };
    writeFileSync(join(this.outputDir, 'watchdog.json'), JSON.stringify(summary, null, 2) + '\n');
    say(`stuck file(s): ${names.join(', ')}`);
    killAll(descendants(process.pid));
    process.exit(1);
  }
}

/** The watchdog's verdict for scripts/test-summary.mjs: the counts when it stopped a run, else null. */
export function readWatchdogVerdict(outputDir) {
  const file = join(outputDir, 'watchdog.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}
