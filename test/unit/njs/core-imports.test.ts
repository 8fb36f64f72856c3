// The edge core (everything in njs/ outside the nginx adapter) must run unchanged in njs,
// QuickJS and Node: it may import only other core modules. Only njs/nginx/ and the entry
// files (njs/main.ts, njs/full.ts) may reach nginx or runtime modules such as 'fs'.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';

const NJS = fileURLToPath(new URL('../../../njs/', import.meta.url));
const ADAPTER = path.join(NJS, 'nginx');
const ENTRIES = new Set([path.join(NJS, 'main.ts'), path.join(NJS, 'full.ts')]);
// package.json maps #njs/* to ./njs/*; a core module reaching the adapter through it is as wrong as by a relative path.
const NJS_ALIAS = '#njs/';
const RUNTIME_MODULES = new Set([...builtinModules, 'fs', 'crypto', 'querystring', 'buffer', 'zlib', 'xml']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'types' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

// Static imports, re-exports and dynamic import()/require() calls.
function specifiers(source: string): string[] {
  const found: string[] = [];
  const pattern = /(?:\bimport\s[^'"]*?\bfrom\s*|\bexport\s[^'"]*?\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g;
  for (let m = pattern.exec(source); m !== null; m = pattern.exec(source)) found.push(m[2]);
  return found;
}

/** The file a relative or `#njs/*` (package.json imports) specifier names, or null for a bare one. */
function targetOf(file: string, spec: string): string | null {
  if (spec.startsWith('.')) return path.resolve(path.dirname(file), spec);
  if (spec.startsWith(NJS_ALIAS)) return path.join(NJS, spec.slice(NJS_ALIAS.length));
  return null;
}

function violations(file: string): string[] {
  return specifiers(readFileSync(file, 'utf8')).flatMap((spec) => {
    const target = targetOf(file, spec);
    if (target !== null) {
      if (target === ADAPTER || target.startsWith(ADAPTER + path.sep)) return [`${spec} (nginx adapter)`];
      if (!target.startsWith(NJS)) return [`${spec} (outside njs/)`];
      return [];
    }
    const bare = spec.replace(/^node:/, '');
    if (spec.startsWith('node:') || RUNTIME_MODULES.has(bare) || RUNTIME_MODULES.has(bare.split('/')[0])) return [`${spec} (runtime module)`];
    return [`${spec} (package)`];
  });
}

const core = sourceFiles(NJS).filter((file) => !ENTRIES.has(file) && !file.startsWith(ADAPTER + path.sep));

describe('edge core imports', () => {
  it('finds the core modules to check', () => {
    expect(core.length).toBeGreaterThan(10);
    expect(core).toContain(path.join(NJS, 'jwt', 'validate.ts'));
  });

  it('the import scanner sees every import form', () => {
    const sample = "import fs from 'fs';\nimport { a } from '../nginx/context.ts';\nexport { b } from './b.ts';\nimport 'node:crypto';\nconst c = require('zlib');";
    expect(specifiers(sample)).toEqual(['fs', '../nginx/context.ts', './b.ts', 'node:crypto', 'zlib']);
  });

  it.each(core.map((file) => [path.relative(NJS, file), file]))('njs/%s imports only core modules', (_name, file) => {
    expect(violations(file)).toEqual([]);
  });

  it('an adapter import through the #njs/* alias is caught like a relative one', () => {
    const file = path.join(NJS, 'jwt', 'validate.ts');
    expect(targetOf(file, '#njs/nginx/context.ts')).toBe(path.join(ADAPTER, 'context.ts'));
    expect(targetOf(file, '../nginx/context.ts')).toBe(path.join(ADAPTER, 'context.ts'));
    expect(targetOf(file, '#njs/lib/errors.ts')).toBe(path.join(NJS, 'lib', 'errors.ts'));
    expect(targetOf(file, 'fs')).toBeNull();
    const pkg = JSON.parse(readFileSync(path.join(NJS, '..', 'package.json'), 'utf8')) as { imports?: Record<string, string> };
    expect(pkg.imports?.['#njs/*']).toBe('./njs/*');
  });

  it('the adapter is where nginx and runtime modules are used', () => {
    const adapterFiles = sourceFiles(ADAPTER);
    expect(adapterFiles.some((file) => violations(file).some((v) => v.endsWith('(runtime module)')))).toBe(true);
  });
});
