// Builds the njs modules nginx loads (dist/njs/ljwt.js: the per-request
// validator; dist/njs/ljwt-full.js: the 403 page, the revocation endpoint and
// the core the njs CLI tests drive) and dist/service/*.js.
import { build } from 'esbuild';
import { NJS_SUPPORTED, NJS_EXTERNALS, rewriteDefaultExport } from './njs-build-options.mjs';
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every njs bundle: [entry, output file]. */
export const NJS_BUNDLES = [['njs/main.ts', 'dist/njs/ljwt.js'], ['njs/full.ts', 'dist/njs/ljwt-full.js']];

async function buildNjs(entry, output) {
  const outfile = join(root, output);
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2017',
    supported: NJS_SUPPORTED,
    external: NJS_EXTERNALS,
    write: false,
    legalComments: 'none',
    charset: 'ascii',
    logLevel: 'warning',
  });
  const code = rewriteDefaultExport(result.outputFiles[0].text);
  mkdirSync(join(root, 'dist/njs'), { recursive: true });
  writeFileSync(outfile, code);
  return outfile;
}

function listEntries(dir, suffix) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listEntries(p, suffix));
    else if (name.endsWith(suffix)) out.push(p);
  }
  return out;
}

async function buildService() {
  const src = join(root, 'service/src');
  // main.ts plus every worker_threads entry (*.worker.ts) becomes its own file.
  const entryPoints = [join(src, 'main.ts'), ...listEntries(src, '.worker.ts')].filter(existsSync);
  if (entryPoints.length === 0) return [];
  await build({
    entryPoints,
    outdir: join(root, 'dist/service'),
    outbase: src,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  });
  return entryPoints.map((p) => relative(root, p));
}

const njsOut = [];
for (const [entry, output] of NJS_BUNDLES) njsOut.push(await buildNjs(entry, output));
const serviceEntries = await buildService();
console.log(`built ${njsOut.map((f) => `${relative(root, f)} (${readFileSync(f).length} bytes)`).join(', ')}` +
  (serviceEntries.length ? `, service: ${serviceEntries.join(', ')}` : ''));
