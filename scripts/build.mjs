// Builds the njs modules nginx loads (dist/njs/ljwt.js: the per-request
// validator; dist/njs/ljwt-full.js: the 403 page, the revocation endpoint and
// the core the njs CLI tests drive) and dist/service/*.js.
import { build } from 'esbuild';
import { NJS_SUPPORTED, NJS_EXTERNALS, rewriteDefaultExport } from './njs-build-options.mjs';
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every njs bundle: [entry, output file]. */
export const NJS_BUNDLES = [['njs/main.ts', 'dist/njs/ljwt.js'], ['njs/full.ts', 'dist/njs/ljwt-full.js']];

/**
 * Modules the per-request bundle instantiates only when called: [loader, module].
 * The sources import the loader (a function returning the module); the bundle
 * gets instead a loader whose function holds the whole module, bundled (see
 * njs/nginx/full-check-loader.ts for why).
 */
export const LAZY_MODULES = [
  ['njs/nginx/full-check-loader.ts', 'njs/nginx/full-check.ts'],
  ['njs/nginx/refusal-loader.ts', 'njs/nginx/refusal.ts'],
  ['njs/nginx/settings-by-name-loader.ts', 'njs/nginx/settings-by-name.ts'],
  ['njs/nginx/decision-cache-nginx-loader.ts', 'njs/nginx/decision-cache-nginx.ts'],
];

/**
 * An identity of the njs sources, compiled into the bundles as LJWT_BUILD_ID:
 * what a bundle keeps in shared memory, which outlives a reload, is read back
 * only by the same code (njs/nginx/config-store.ts).
 */
function njsBuildId() {
  const hash = createHash('sha256');
  for (const file of listEntries(join(root, 'njs'), '.ts').sort()) hash.update(relative(root, file) + '\n' + readFileSync(file, 'utf8') + '\n');
  return hash.digest('hex').slice(0, 16);
}

const NJS_OPTIONS = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2017',
  supported: NJS_SUPPORTED,
  write: false,
  legalComments: 'none',
  charset: 'ascii',
  logLevel: 'warning',
  define: { LJWT_BUILD_ID: JSON.stringify(njsBuildId()) },
};

const EXTERNAL_PREFIX = '__njs_module_';

/**
 * The lazy loader's text: `module` bundled on its own, its top level moved
 * into the loader function (run once per VM, then remembered: QuickJS reuses
 * its contexts). Built-in modules (fs) stay top-level imports of the outer
 * bundle, passed in by name.
 */
async function lazyLoader(loader, module) {
  const result = await build({
    ...NJS_OPTIONS,
    // Only the module's default export leaves the loader, whatever else it exports.
    stdin: { contents: `import m from ${JSON.stringify('./' + module)};\nexport default m;\n`, resolveDir: root, loader: 'js' },
    plugins: [{
      name: 'njs-builtins-from-outside',
      setup(b) {
        const filter = new RegExp(`^(${NJS_EXTERNALS.join('|')})$`);
        b.onResolve({ filter }, (a) => ({ path: a.path, namespace: 'njs-builtin' }));
        b.onLoad({ filter: /.*/, namespace: 'njs-builtin' }, (a) => ({ contents: `export default ${EXTERNAL_PREFIX}${a.path};`, loader: 'js' }));
      },
    }],
  });
  const code = rewriteDefaultExport(result.outputFiles[0].text);
  const m = /\nexport default ([\w$]+);\s*$/.exec(code);
  if (!m || /^\s*(import|export)\b/m.test(code.slice(0, m.index))) throw new Error(`${module}: expected one default export and no other import/export`);
  const body = code.slice(0, m.index);
  const builtins = NJS_EXTERNALS.filter((n) => body.includes(EXTERNAL_PREFIX + n));
  const name = /export function (\w+)\(/.exec(readFileSync(join(root, loader), 'utf8'));
  if (!name) throw new Error(`${loader}: expected an exported loader function`);
  return builtins.map((n) => `import ${EXTERNAL_PREFIX}${n} from "${n}";\n`).join('') +
    `var loaded = null;\nexport function ${name[1]}() {\n  if (loaded === null) loaded = (function () {\n${body}\nreturn ${m[1]};\n})();\n  return loaded;\n}\n`;
}

async function buildNjs(entry, output) {
  const outfile = join(root, output);
  const lazy = {};
  for (const [loader, module] of LAZY_MODULES) lazy[join(root, loader)] = await lazyLoader(loader, module);
  const result = await build({
    ...NJS_OPTIONS,
    entryPoints: [join(root, entry)],
    external: NJS_EXTERNALS,
    plugins: [{
      name: 'njs-lazy-modules',
      setup(b) {
        b.onLoad({ filter: /-loader\.ts$/ }, (a) => (lazy[a.path] === undefined ? undefined : { contents: lazy[a.path], loader: 'js' }));
      },
    }],
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
