// The edge modules must give identical results on every runtime nginx runs
// them on. Runs a bundle of cross-runtime-entry.ts with the njs CLI: the
// host's njs 0.7.9, and njs 1.0 (njs engine and QuickJS) from the Debian
// testing chroot when it has been built (test/harness/testing-chroot.ts).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { TESTING_CHROOT } from '../../harness/testing-chroot.ts';
import { collect } from './cross-runtime-entry.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const OPTIONS_MODULE: string = '../../../scripts/njs-build-options.mjs';

async function bundle(): Promise<string> {
  const o = (await import(OPTIONS_MODULE)) as { NJS_SUPPORTED: Record<string, boolean>; NJS_EXTERNALS: string[] };
  const r = await build({
    stdin: {
      contents: "import { collect } from './cross-runtime-entry.ts'; console.log(JSON.stringify(collect()));",
      resolveDir: HERE,
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'neutral',
    supported: o.NJS_SUPPORTED,
    external: o.NJS_EXTERNALS,
    write: false,
  });
  return r.outputFiles[0].text;
}

function runIn(root: string | null, args: string[], code: string): unknown {
  const dir = mkdtempSync(join(root ? join(root, 'tmp') : '/tmp', 'ljwt-edge-'));
  try {
    const file = join(dir, 'entry.js');
    writeFileSync(file, code);
    const inner = root ? file.slice(root.length) : file;
    const argv = root ? ['chroot', root, 'njs'].concat(args, [inner]) : ['njs'].concat(args, [inner]);
    const out = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
    return JSON.parse(out.trim().split('\n').pop() as string);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const expected = JSON.parse(JSON.stringify(collect()));
const chroot = existsSync(join(TESTING_CHROOT, 'usr/bin/njs')) ? TESTING_CHROOT : null;
const hostNjs = existsSync('/usr/bin/njs');

describe('edge modules across runtimes', () => {
  it('Node results are the documented ones', () => {
    const r = expected as { enc: string[]; eq: boolean[]; tokens: unknown[] };
    expect(r.enc[6]).toBe('%F0%9F%98%80');
    expect(r.enc[8]).toBe('%EF%BF%BDz');
    expect(r.eq).toEqual([true, true, true]);
    expect(r.tokens[1]).toEqual({ token: 'abcd', source: 'cookie' });
  });
  it.skipIf(!hostNjs)('njs 0.7.9 (host)', async () => {
    expect(runIn(null, [], await bundle())).toEqual(expected);
  });
  it.skipIf(!chroot)('njs 1.0 njs engine (testing chroot)', async () => {
    expect(runIn(chroot, [], await bundle())).toEqual(expected);
  });
  it.skipIf(!chroot)('njs 1.0 QuickJS (testing chroot)', async () => {
    expect(runIn(chroot, ['-n', 'QuickJS'], await bundle())).toEqual(expected);
  });
});
