// The edge modules must give identical results on every runtime nginx runs
// them on. Runs a bundle of cross-runtime-entry.ts with the njs CLI: the
// host's njs 0.7.9, njs 0.8.9 from the Debian trixie chroot and njs 1.0 (njs
// engine and QuickJS) from the Debian testing chroot (test/harness/testing-chroot.ts).
// Includes the trailing-newline cases (trailing-newline-cases.ts): njs 0.7.9
// is the runtime where a regex `$` matches before a final "\n".
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { TESTING_CHROOT, TRIXIE_CHROOT } from '../../harness/testing-chroot.ts';
import { collect } from './cross-runtime-entry.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const OPTIONS_MODULE: string = '../../../scripts/njs-build-options.mjs';

async function bundle(): Promise<string> {
  const o = (await import(OPTIONS_MODULE)) as { NJS_SUPPORTED: Record<string, boolean>; NJS_EXTERNALS: string[] };
  const r = await build({
    stdin: {
      // njs 0.7.9's console.log cuts a line at 2048 bytes: print the JSON in
      // lines of at most 400 characters (1600 UTF-8 bytes), each split after
      // an ASCII character so no runtime breaks a code point.
      contents: "import { collect } from './cross-runtime-entry.ts';\n" +
        'const s = JSON.stringify(collect());\n' +
        'let i = 0;\n' +
        'while (i < s.length) {\n' +
        '  let e = Math.min(i + 400, s.length);\n' +
        '  while (e < s.length && s.charCodeAt(e - 1) >= 0x80) e--;\n' +
        "  if (e === i) e = Math.min(i + 400, s.length);\n" +
        "  console.log('@' + s.substring(i, e));\n" +
        '  i = e;\n' +
        '}\n',
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
    const lines = out.split('\n').filter((l) => l.charAt(0) === '@');
    return JSON.parse(lines.map((l) => l.slice(1)).join(''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const expected = JSON.parse(JSON.stringify(collect()));
// The chroots are built by test/harness/global-setup.ts; Debian's njs by scripts/install-system-deps.sh.
const chroot = TESTING_CHROOT;

describe('edge modules across runtimes', () => {
  it('Node results are the documented ones', () => {
    const r = expected as { enc: string[]; eq: boolean[]; tokens: unknown[]; long: unknown[]; newline: object };
    expect(r.enc[6]).toBe('%F0%9F%98%80');
    expect(r.enc[8]).toBe('%EF%BF%BDz');
    expect(r.eq).toEqual([true, true, true]);
    expect(r.tokens[1]).toEqual({ token: 'abcd', source: 'cookie' });
    expect(r.long).toEqual([4900, true, true, 703, null]);
    // Per-case expectations: trailing-newline.test.ts.
    expect(Object.keys(r.newline).length).toBeGreaterThan(20);
  });
  it('njs 0.7.9 (host)', async () => {
    expect(runIn(null, [], await bundle())).toEqual(expected);
  });
  it('njs 0.8.9 (trixie chroot)', async () => {
    expect(runIn(TRIXIE_CHROOT, [], await bundle())).toEqual(expected);
  });
  it('njs 1.0 njs engine (testing chroot)', async () => {
    expect(runIn(chroot, [], await bundle())).toEqual(expected);
  });
  it('njs 1.0 QuickJS (testing chroot)', async () => {
    expect(runIn(chroot, ['-n', 'QuickJS'], await bundle())).toEqual(expected);
  });
});
