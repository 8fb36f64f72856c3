// Builds dist/njs/ljwt.js (the one njs module nginx loads) and dist/service/*.js.
import { build } from 'esbuild';
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// Syntax the njs engine lacks up to 1.0.x and esbuild cannot lower: marking it
// unsupported makes any use a build error instead of a runtime SyntaxError in nginx.
// Optional chaining, logical assignment, object spread and optional catch
// binding are lowered by esbuild (njs < 0.9.6 lacks them).
export const NJS_SUPPORTED = {
  arrow: true, 'const-and-let': true, 'template-literal': true, 'async-await': true,
  'exponent-operator': true, 'rest-argument': true, 'nullish-coalescing': true,
  destructuring: false, 'for-of': false, 'array-spread': false, class: false, generator: false,
  'default-argument': false, 'optional-chain': false, 'object-rest-spread': false,
  'optional-catch-binding': false, 'logical-assignment': false, 'async-generator': false,
  'for-await': false, 'class-field': false, 'class-static-field': false,
  'class-private-field': false, 'class-private-method': false, 'class-static-blocks': false,
  bigint: false, 'new-target': false, 'top-level-await': false, 'regexp-named-capture-groups': false,
  'regexp-lookbehind-assertions': false, 'regexp-unicode-property-escapes': false,
  'regexp-sticky-and-unicode-flags': false, 'regexp-dot-all-flag': false,
  'regexp-match-indices': false, 'import-meta': false, 'dynamic-import': false,
};

// njs < 0.7.12 rejects `export { x as default }` ("Non-default export is not supported").
export function rewriteDefaultExport(code) {
  const re = /export\s*\{\s*([\w$]+)\s+as\s+default\s*\};?/;
  if (!re.test(code)) throw new Error('njs bundle: expected `export { x as default }` from esbuild');
  return code.replace(re, 'export default $1;');
}

async function buildNjs() {
  const outfile = join(root, 'dist/njs/ljwt.js');
  const result = await build({
    entryPoints: [join(root, 'njs/main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2017',
    supported: NJS_SUPPORTED,
    external: ['fs', 'crypto', 'querystring', 'xml', 'zlib'],
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

const njsOut = await buildNjs();
const serviceEntries = await buildService();
console.log(`built ${relative(root, njsOut)} (${readFileSync(njsOut).length} bytes)` +
  (serviceEntries.length ? `, service: ${serviceEntries.join(', ')}` : ''));
