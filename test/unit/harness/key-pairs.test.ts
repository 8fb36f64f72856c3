// Test key pairs are deadlock-free on Node 20: a JWK export with a garbage collection in the
// middle finishes for every key from test/harness/key-pairs.mjs, and no test, benchmark or script
// generates keys any other way (a synchronous keygen job destroyed by a collection while its own
// key is exported locks that key's mutex a second time and blocks the worker for good).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const helper = pathToFileURL(join(root, 'test/harness/key-pairs.mjs')).href;

/** Runs an ES module source in `node --expose-gc`; "done" within `limitMs` after "exporting", or "hung". */
function runExports(source: string, limitMs: number): Promise<'done' | 'hung' | string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    const onData = (d: Buffer): void => {
      out += d;
      // Bound only the exports: starting node on a loaded machine may take long.
      if (timer === undefined && out.includes('exporting')) timer = setTimeout(() => { child.kill('SIGKILL'); resolve('hung'); }, limitMs);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', () => { clearTimeout(timer); resolve(out.includes('exported') ? 'done' : out); });
  });
}

// A setter on Object.prototype runs a full collection when node:crypto's JWK export sets `kty`,
// which it does while holding the key's mutex (RSA, EC and OKP).
const COLLECT_INSIDE_EXPORTS = `Object.defineProperty(Object.prototype, 'kty', { configurable: true, set(v) {
  gc(); Object.defineProperty(this, 'kty', { value: v, writable: true, enumerable: true, configurable: true }); } });`;
const TYPES = `[['rsa', { modulusLength: 2048 }], ['ec', { namedCurve: 'P-256' }], ['ec', { namedCurve: 'P-521' }], ['ed25519']]`;

describe('test key pairs', () => {
  it('export as JWK with a garbage collection inside the export', async () => {
    const source = `import { newKeyPair } from ${JSON.stringify(helper)};
${COLLECT_INSIDE_EXPORTS}
const pairs = ${TYPES}.map(([t, o]) => newKeyPair(t, o));
console.log('exporting');
for (const p of pairs) { p.privateKey.export({ format: 'jwk' }); p.publicKey.export({ format: 'jwk' }); }
console.log('exported');`;
    expect(await runExports(source, 20_000)).toBe('done');
  }, 60_000);

  it('the hazard they avoid: a KeyObject straight from generateKeyPairSync deadlocks the same export', async () => {
    const source = `import { generateKeyPairSync } from 'node:crypto';
${COLLECT_INSIDE_EXPORTS}
console.log('exporting');
generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
console.log('exported');`;
    expect(await runExports(source, 3_000)).toBe('hung');
  }, 60_000);

  it('are the only key generation in tests, benchmarks and scripts', () => {
    // Async WebCrypto/jose generation is safe on its own, but keys made once are faster and one rule is simpler.
    const forbidden = /generateKeyPairSync\s*\(|generateKeyPair\s*\(|generateKey\s*\(|generateSecret\s*\(/;
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) { walk(path); continue; }
        if (!/\.(ts|mts|mjs|js)$/.test(name) || name.endsWith('.d.mts') || name.endsWith('.d.ts')) continue;
        const rel = relative(root, path);
        if (rel === 'test/harness/key-pairs.mjs' || rel === 'test/unit/harness/key-pairs.test.ts') continue;
        readFileSync(path, 'utf8').split('\n').forEach((line, i) => { if (forbidden.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`); });
      }
    };
    for (const dir of ['test', 'bench', 'scripts']) walk(join(root, dir));
    expect(offenders).toEqual([]);
  });
});
