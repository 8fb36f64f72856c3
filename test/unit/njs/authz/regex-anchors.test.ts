// Guard for njs/lib/text.ts: in the njs engine (0.7.9 and 1.0.2 measured) a
// regex `$` also matches just before a final "\n", so an end-anchored regex
// must not be used directly with test/exec/replace/split/match/search; the
// check goes through execWhole/matchesWhole (or trimOws for trimming).
// A static scan of regex literals: it catches the direct forms below, not a
// RegExp handed around under another name.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const NJS = fileURLToPath(new URL('../../../../njs/', import.meta.url));
const SKIP = ['types/'];

const REGEX_LITERAL = /(^|[=(,!:?&|]\s*|return\s+)(\/(?![*/])(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n[])+\/[a-z]*)/g;

function endAnchored(literal: string): boolean {
  const body = literal.slice(1, literal.lastIndexOf('/'));
  const bare = body.replace(/\\./g, '_').replace(/\[(?:\\.|[^\]\\])*\]/g, '_');
  return bare.indexOf('$') >= 0;
}

function stripComments(src: string): string {
  return src
    .split('\n')
    .map((l) => (/^\s*(\/\/|\/?\*)/.test(l) ? '' : l.replace(/\s\/\/\s.*$/, '')))
    .join('\n');
}

/** "line: text" for every end-anchored regex used directly. */
function anchorViolations(src: string): string[] {
  const code = stripComments(src);
  const out: string[] = [];
  const names: string[] = [];
  const lineOf = (i: number) => code.slice(0, i).split('\n').length;
  REGEX_LITERAL.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = REGEX_LITERAL.exec(code)) !== null) {
    const literal = m[2];
    if (!endAnchored(literal)) continue;
    const start = m.index + m[1].length;
    const before = code.slice(Math.max(0, start - 40), start);
    const after = code.slice(start + literal.length, start + literal.length + 6);
    const named = /const\s+([A-Za-z_$][\w$]*)\s*=\s*$/.exec(before);
    if (named) names.push(named[1]);
    if (/^\.(test|exec)\(/.test(after) || /\.(replace|split|match|search)\(\s*$/.test(before)) {
      out.push(lineOf(start) + ': ' + literal);
    }
  }
  for (const n of names) {
    const id = n.replace(/\$/g, '\\$');
    const use = new RegExp('(?:^|[^\\w$.])' + id + '\\.(?:test|exec)\\(|\\.(?:replace|split|match|search)\\(\\s*' + id + '\\b', 'g');
    let u: RegExpExecArray | null;
    while ((u = use.exec(code)) !== null) out.push(lineOf(u.index + 1) + ': ' + n);
  }
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('no end-anchored regex is used directly in njs/', () => {
  it('the scan finds the forms it is meant to find', () => {
    const bad = [
      "const B64TOKEN = /^[A-Za-z0-9\\-._~+\\/]+=*$/;",
      'function f(t: string) { return B64TOKEN.test(t); }',
      "const m = /^([^ \\t]+)(.*)$/.exec(h.replace(/^[ \\t]+|[ \\t]+$/g, ''));",
      "if (!/^[0-9]{1,9}$/.test(v)) bad();",
      "const ok = x.split(/;$/);",
    ].join('\n');
    expect(anchorViolations(bad)).toEqual([
      '3: /^([^ \\t]+)(.*)$/', '3: /^[ \\t]+|[ \\t]+$/g', '4: /^[0-9]{1,9}$/', '5: /;$/', '2: B64TOKEN',
    ]);
    const good = [
      "const B64TOKEN = /^[A-Za-z0-9\\-._~+\\/]+=*$/;",
      'if (!matchesWhole(B64TOKEN, t)) bad();',
      "const m = execWhole(/^q=([0-9.]+)$/i, p);",
      "const n = s.replace(/[\\u0000-\\u001f$]/g, ''); // a '$' inside a class is no anchor",
      "const price = /\\$[0-9]+/.test(s);",
      '// comment: /^a$/.test(s) is how not to do it',
    ].join('\n');
    expect(anchorViolations(good)).toEqual([]);
  });

  it('every scanned njs/ source passes', () => {
    const found: string[] = [];
    for (const f of tsFiles(NJS)) {
      const rel = relative(NJS, f);
      if (SKIP.some((s) => rel === s || rel.startsWith(s))) continue;
      for (const v of anchorViolations(readFileSync(f, 'utf8'))) found.push(rel + ':' + v);
    }
    expect(found).toEqual([]);
  });
});
