// Whole-string regex checks and trimming that behave the same on every runtime.
//
// Why: the njs engine hands JS regexes to PCRE, whose `$` by default (no
// DOLLAR_ENDONLY) also matches just before a final "\n": /^a$/.test('a\n') is
// true there. Measured on njs 0.7.9 and on the njs engine of njs 1.0.2; Node
// and QuickJS say false. "\r\n" gets through where the pattern admits "\r".
// A validator written as /^[...]+$/.test(s) thus lets "value\n" through on
// nginx, and a trim like s.replace(/[ \t]+$/, '') strips
// spaces in front of a final "\n". So every anchored check in njs/ goes
// through execWhole/matchesWhole, which also require the match to span all of
// `s`; test/unit/njs/authz/regex-anchors.test.ts fails on a bare `/...$/.test(`.
// `(?![\s\S])` would anchor correctly too, but reads worse at every use.

/**
 * `re.exec(s)` when the match covers the whole of `s`, else null. Patterns
 * should not admit "\n" where they end: in the njs engine such a pattern may
 * then stop early and be refused here (stricter, never more lenient than Node).
 */
export function execWhole(re: RegExp, s: string): RegExpExecArray | null {
  re.lastIndex = 0;
  const m = re.exec(s);
  return m !== null && m.index === 0 && m[0].length === s.length ? m : null;
}

/** True when `re` matches all of `s` (see execWhole). */
export function matchesWhole(re: RegExp, s: string): boolean {
  return execWhole(re, s) !== null;
}

/** `s` without leading and trailing spaces and tabs (RFC 9110 §5.6.3 OWS); "\n" is not whitespace here. */
export function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charAt(start) === ' ' || s.charAt(start) === '\t')) start++;
  while (end > start && (s.charAt(end - 1) === ' ' || s.charAt(end - 1) === '\t')) end--;
  return s.substring(start, end);
}

/** True when a dotted version ("0.8.9") is at least `want` ([0, 9, 7]). */
export function versionAtLeast(version: string, want: number[]): boolean {
  const parts = version.split('.');
  for (let i = 0; i < want.length; i++) {
    const n = parseInt(parts[i] || '0', 10);
    if (isNaN(n)) return false;
    if (n !== want[i]) return n > want[i];
  }
  return true;
}
