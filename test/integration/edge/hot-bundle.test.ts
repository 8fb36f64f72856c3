// The per-request bundle (dist/njs/ljwt.js, built by scripts/build.mjs) holds
// what only some requests need (the full check, the refusals, the settings by
// name, the nginx-native cache's handlers) only inside the loader functions
// of LAZY_MODULES: the njs engine re-runs the bundle's top level in every
// request's VM, and measured, a no-op handler next to the whole validator
// cost as much again as next to an empty module, while the same code inside
// a function that is never called cost nothing (docs/architecture.md,
// "Request path").
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUNDLE } from '../../harness/nginx.ts';

/** Each loader's code (the function `name`), and the rest, which every request instantiates. */
function parts(names: string[]): { lazy: { [name: string]: string }; hot: string } {
  let hot = readFileSync(BUNDLE, 'utf8');
  const lazy: { [name: string]: string } = {};
  for (const name of names) {
    const start = hot.indexOf(`function ${name}()`);
    expect(start, name).toBeGreaterThan(0);
    const end = hot.indexOf('\n}\n', start);
    expect(end, name).toBeGreaterThan(start);
    lazy[name] = hot.slice(start, end);
    hot = hot.slice(0, start) + hot.slice(end);
  }
  return { lazy, hot };
}

// Each loader and functions of its module, as esbuild names them in the bundle (a digit added where a name repeats).
const LAZY: { [loader: string]: string[] } = {
  loadFullCheck: ['parseEdgeConfig', 'validateJwt', 'keySetFromJwks', 'evaluatePolicy', 'identityFromClaims', 'normalizeDn', 'rsaSpki'],
  loadRefusal: ['refuseEarly', 'denyRevoked', 'bearerChallenge', 'loginRedirectUrl', 'responseSettings', 'acceptsHtml',
    'protectedHeaderDecodes'],
  loadSettingsByName: ['liveSettings', 'refuseChangedSettings'],
  loadDecisionCacheNginx: ['decisionCacheKey', 'decisionRedirect', 'keepUpstreamCookie'],
};
const pattern = (name: string): RegExp => new RegExp(`function ${name}\\d*\\(`);

// What the hot path may weigh: measured at the time, 21 KB, against 40 KB
// before the refusals, the settings table and the nginx-native cache's
// handlers were made lazy, and 99 KB for the whole validator.
const HOT_BUDGET_BYTES = 24 * 1024;

describe('the per-request bundle', () => {
  const loaders = Object.keys(LAZY);
  for (const loader of loaders) {
    it(`holds ${LAZY[loader][0]} and its module only inside ${loader}()`, () => {
      const { lazy, hot } = parts(loaders);
      for (const name of LAZY[loader]) {
        expect(lazy[loader], name).toMatch(pattern(name));
        expect(hot, name).not.toMatch(pattern(name));
      }
    });
  }
  it('holds no settings table: the hot path reads the snapshot by position', () => {
    const { hot } = parts(loaders);
    expect(hot).not.toMatch(/EDGE_SETTINGS|ljwt_jwks_location/);
  });
  it(`instantiates at most ${HOT_BUDGET_BYTES / 1024} KB on every request`, () => {
    expect(parts(loaders).hot.length).toBeLessThanOrEqual(HOT_BUDGET_BYTES);
  });
});
