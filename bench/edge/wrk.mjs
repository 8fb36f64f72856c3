// Runs wrk (Debian package) with bench/edge/wrk.lua and returns its done() summary.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./wrk.lua', import.meta.url));
export const WRK = '/usr/bin/wrk';

export function wrkVersion() {
  const r = spawnSync(WRK, ['-v'], { encoding: 'utf8' });
  const m = /wrk (\S+)/.exec(`${r.stdout}${r.stderr}`);
  return m ? m[1] : 'unknown';
}

function scriptArgs(mode, request) {
  if (request.kind === 'none') return [mode, 'static', 'X-Bench', '1'];
  if (request.kind === 'static') return [mode, 'static', request.header, request.value];
  if (request.kind === 'garbage') return [mode, 'garbage', request.header, request.prefix];
  if (request.kind === 'forged') return [mode, 'forged', request.header, request.prefix, String(request.bytes)];
  throw new Error(`unknown request kind ${request.kind}`);
}

/**
 * One wrk run. mode "check" counts every response status (slower: wrk parses headers);
 * mode "measure" does not. Resolves { requests, rps, p50Ms, p99Ms, statusErrors,
 * socketErrors, statuses, ... }; rejects when wrk fails or prints no summary.
 */
export function runWrk({ url, threads, connections, seconds, mode, request }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', SCRIPT, url, '--',
    ...scriptArgs(mode, request)];
  return new Promise((resolve, reject) => {
    const p = spawn(WRK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), (seconds + 60) * 1000);
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk exited ${code}: ${err.trim() || out.trim()}`));
        return;
      }
      const r = JSON.parse(line.slice('BENCH_RESULT '.length));
      const seconds = r.durationUs / 1e6;
      resolve({
        ...r,
        rps: r.requests / seconds,
        p50Ms: r.p50Us / 1000,
        p90Ms: r.p90Us / 1000,
        p99Ms: r.p99Us / 1000,
        socketErrors: r.connectErrors + r.readErrors + r.writeErrors + r.timeouts,
      });
    });
  });
}

/**
 * Why a run's responses are not what the variant expects, or null. "check" runs must have
 * only the expected status; "measure" runs (no per-status counts) must have no status
 * >= 400 for 2xx variants and only statuses >= 400 for rejection variants.
 */
export function statusProblem(r, expect) {
  if (r.requests === 0) return 'no request completed';
  if (r.socketErrors > 0) {
    return `socket errors (connect ${r.connectErrors}, read ${r.readErrors}, write ${r.writeErrors}, timeout ${r.timeouts})`;
  }
  const seen = Object.keys(r.statuses);
  if (seen.length > 0) {
    const wrong = seen.filter((s) => Number(s) !== expect);
    if (wrong.length > 0) return `expected only ${expect}, got ${seen.map((s) => `${s}×${r.statuses[s]}`).join(', ')}`;
    return null;
  }
  if (expect < 400 && r.statusErrors > 0) return `${r.statusErrors} of ${r.requests} responses had status >= 400`;
  if (expect >= 400 && r.statusErrors !== r.requests) return `${r.requests - r.statusErrors} of ${r.requests} responses were not refused`;
  return null;
}
