// A lock between processes on one machine: a directory (mkdir is atomic) holding the owner's
// pid, so a lock left behind by a killed process is taken over instead of waited for.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function pidAlive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/**
 * Runs fn while holding the lock directory `lock`. Waits (polling every pollMs) while a live
 * process holds it, at most timeoutMs; resolves undefined without running fn when `done()`
 * turns true while waiting (another process did the work).
 */
export async function withDirLock(lock, { timeoutMs, pollMs = 1000, done = () => false }, fn) {
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      if (done()) return undefined;
      let owner = 0;
      try { owner = Number(readFileSync(join(lock, 'pid'), 'utf8')); } catch { /* being created */ }
      if (owner && !pidAlive(owner)) { rmSync(lock, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
