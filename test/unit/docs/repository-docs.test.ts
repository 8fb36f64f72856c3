// README stays a short entry page, docs link only to files that exist, and
// nothing tracked points outside the repository.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const tracked = (): string[] =>
  execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f && existsSync(path.join(ROOT, f)));

/** Relative link targets of a markdown file (no scheme, anchor part dropped). */
export function relativeLinks(markdown: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    out.push(target.split('#')[0]!);
  }
  return out;
}

describe('repository documentation', () => {
  it('README.md is at most 12288 bytes', () => {
    expect(statSync(path.join(ROOT, 'README.md')).size).toBeLessThanOrEqual(12288);
  });

  it('no tracked file points at the research notes outside the repository', () => {
    const self = path.relative(ROOT, fileURLToPath(import.meta.url));
    const offenders = tracked().filter((f) => f !== self && !statSync(path.join(ROOT, f)).isDirectory()
      && readFileSync(path.join(ROOT, f)).includes('..' + '/shared'));
    expect(offenders).toEqual([]);
  });

  it('every relative link in README.md and docs/**/*.md points at an existing file', () => {
    const pages = tracked().filter((f) => f === 'README.md' || (f.startsWith('docs/') && f.endsWith('.md')));
    expect(pages.length).toBeGreaterThan(5);
    const broken: string[] = [];
    for (const page of pages) {
      for (const link of relativeLinks(readFileSync(path.join(ROOT, page), 'utf8'))) {
        if (!existsSync(path.resolve(ROOT, path.dirname(page), decodeURIComponent(link)))) broken.push(`${page} -> ${link}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('finds relative links and skips URLs and anchors', () => {
    expect(relativeLinks('[a](x.md#y) [b](https://e.org) [c](#z) [d](../d/)')).toEqual(['x.md', '../d/']);
  });
});
