// The docs' reference tables are the schema's own: a setting added, removed or changed in
// service/src/config/schema.ts or env.ts without regenerating the docs fails here.
// Regenerate: UPDATE_DOCS=1 npx vitest run --project unit test/unit/docs/reference-tables.test.ts
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { elementTable, envTable } from '../../../service/src/config/reference-tables.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SETTINGS = join(ROOT, 'docs/operators/service-settings.md');

function block(text: string, name: string): { start: number; end: number } {
  const open = `<!-- generated:${name} -->\n`;
  const start = text.indexOf(open);
  const end = text.indexOf('<!-- /generated -->', start);
  if (start < 0 || end < 0) throw new Error(`docs/operators/service-settings.md lacks the ${name} markers`);
  return { start: start + open.length, end };
}

function render(text: string): string {
  let out = text;
  for (const [name, table] of [['service-elements', elementTable()], ['service-env', envTable()]] as const) {
    const b = block(out, name);
    out = out.slice(0, b.start) + table + '\n' + out.slice(b.end);
  }
  return out;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? markdownFiles(p) : n.endsWith('.md') ? [p] : [];
  });
}

describe('reference tables in the docs', () => {
  it('the service settings tables are the ones rendered from the schema and the environment tables', () => {
    const text = readFileSync(SETTINGS, 'utf8');
    const want = render(text);
    if (process.env.UPDATE_DOCS === '1' && want !== text) writeFileSync(SETTINGS, want);
    expect(readFileSync(SETTINGS, 'utf8'), 'run UPDATE_DOCS=1 npx vitest run --project unit test/unit/docs/reference-tables.test.ts').toBe(want);
  });

  it('every table row has as many cells as its header (a row cannot swallow the next ones)', () => {
    for (const file of [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))]) {
      let fence = false;
      let header = 0;
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line.startsWith('```')) fence = !fence;
        if (fence || !line.startsWith('|')) { header = 0; continue; }
        const cells = line.replace(/\\\|/g, '').replace(/`[^`]*`/g, 'x').split('|').length;
        if (header === 0) header = cells;
        else expect(cells, `${file}: ${line.slice(0, 80)}`).toBe(header);
      }
    }
  });
});

describe('the documentation stays inside the repository', () => {
  it('README.md is an index of at most 12 KB', () => {
    expect(statSync(join(ROOT, 'README.md')).size).toBeLessThanOrEqual(12288);
  });

  it('no tracked file points at ../shared', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    const self = 'test/unit/docs/reference-tables.test.ts';
    const offenders = files.filter((f) => f !== self && existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).size < 2_000_000 &&
      readFileSync(join(ROOT, f), 'latin1').includes('../' + 'shared'));
    expect(offenders).toEqual([]);
  });

  it('every relative link in README.md and docs/ names a file that exists', () => {
    const broken: string[] = [];
    for (const file of [join(ROOT, 'README.md'), ...markdownFiles(join(ROOT, 'docs'))]) {
      let fence = false;
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line.startsWith('```')) fence = !fence;
        if (fence) continue;
        for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          const target = m[1]!;
          if (/^(https?:|mailto:|#)/.test(target)) continue;
          if (!existsSync(normalize(join(dirname(file), target.split('#')[0]!)))) broken.push(`${file}: ${target}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
