// The per-request bundle (dist/njs/ljwt.js, built by scripts/build.mjs) holds
// the full check only inside loadFullCheck(): the njs engine re-runs the
// bundle's top level in every request's VM, and measured, a no-op handler
// next to the whole validator flat cost as much again as next to an empty
// module, while the same code inside a function that is never called cost
// nothing (docs/architecture.md, "Request path").
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUNDLE } from '../../harness/nginx.ts';

/** The bundle split into the code of loadFullCheck() and the rest, which every request instantiates. */
function parts(): { lazy: string; hot: string } {
  const text = readFileSync(BUNDLE, 'utf8');
  const start = text.indexOf('function loadFullCheck()');
  expect(start).toBeGreaterThan(0);
  const end = text.indexOf('\n}\n', start);
  expect(end).toBeGreaterThan(start);
  return { lazy: text.slice(start, end), hot: text.slice(0, start) + text.slice(end) };
}

// The full check's parts, as esbuild names them in the bundle (a digit added where a name repeats).
const FULL_CHECK = ['parseEdgeConfig', 'validateJwt', 'keySetFromJwks', 'evaluatePolicy', 'identityFromClaims', 'normalizeDn', 'rsaSpki']
  .map((name) => new RegExp(`function ${name}\\d*\\(`));

// What the hot path may weigh: measured at the time, 44 KB, against 99 KB for the whole validator.
const HOT_BUDGET_BYTES = 48 * 1024;

describe('the per-request bundle', () => {
  it('holds the full check only inside loadFullCheck()', () => {
    const { lazy, hot } = parts();
    for (const f of FULL_CHECK) {
      expect(lazy, String(f)).toMatch(f);
      expect(hot, String(f)).not.toMatch(f);
    }
  });
  it(`instantiates at most ${HOT_BUDGET_BYTES / 1024} KB on every request`, () => {
    expect(parts().hot.length).toBeLessThanOrEqual(HOT_BUDGET_BYTES);
  });
});
