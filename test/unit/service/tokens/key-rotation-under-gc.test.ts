// Key creation and rotation never deadlock under garbage collection (Node 20: a collected key
// generation job locks its key's mutex, which a JWK export of that key already holds). A child
// process (node --expose-gc) rotates keys for every algorithm many times in a row, collecting
// garbage between the steps and inside every JWK export; a deadlock blocks the child's event loop
// for good, so the parent bounds it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../../fixtures/key-rotation/rotate-under-gc.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ljwt-rotate-gc-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `node <flags> bundle args`; resolves with the exit code and output, or null once `limitMs` passed (child killed). */
function runNode(flags: string[], file: string, args: string[], limitMs: number): Promise<{ code: number | null; out: string } | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...flags, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, limitMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

describe('signing key rotation under garbage collection', () => {
  it('creates and rotates keys for every algorithm many times in a row and finishes', async () => {
    const { outputFiles } = await build({ entryPoints: [script], bundle: true, format: 'esm', platform: 'node', write: false });
    const bundle = join(dir, 'rotate-under-gc.mjs');
    writeFileSync(bundle, outputFiles[0]!.text);
    // 20 rotations for ES256, EdDSA and HS256, 1 for RS256 and PS256 (slow to generate). It takes
    // seconds; the bound is generous for a loaded 2-core machine.
    const r = await runNode(['--expose-gc'], bundle, ['20', '1'], 90_000);
    expect(r, 'the rotation process hung (deadlock)').not.toBeNull();
    expect(r!.out).toMatch(/rotated 62 keys/);
    expect(r!.code).toBe(0);
  }, 120_000);
});
