import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildEdgeCases, makeKeys } from '../../../vectors/generate-edge-cases.mjs';
import type { EdgeCases } from '../../../vectors/generate-edge-cases.mjs';
import { runCase, withoutEd25519 } from './replay.ts';

const file: EdgeCases = JSON.parse(readFileSync(new URL('../../../vectors/edge-cases.json', import.meta.url), 'utf8'));

describe('test/vectors/edge-cases.json (committed data, replayed in njs by the integration tests)', () => {
  it('covers every alg and every expected outcome', () => {
    const algs = new Set(file.cases.map((c) => c.alg));
    for (const a of ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'none', 'None', 'NONE', 'nOnE']) {
      expect(algs.has(a), a).toBe(true);
    }
    const outcomes = new Set(file.cases.map((c) => c.expect));
    expect([...outcomes].sort()).toEqual([
      'ERR_JOSE_ALG_NOT_ALLOWED', 'ERR_JWKS_INVALID', 'ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWS_INVALID',
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'ERR_JWT_EXPIRED',
      'ERR_JWT_MALFORMED', 'ERR_JWT_NOT_YET_VALID', 'ok',
    ]);
    expect(new Set(file.cases.map((c) => c.name)).size).toBe(file.cases.length);
  });

  it.each(file.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    expect(await runCase(c, file.keySets)).toBe(c.expect);
  });

  it('EdDSA cases give expectWithoutEd25519 when the runtime cannot import Ed25519', async () => {
    const ed = file.cases.filter((c) => c.alg === 'EdDSA');
    expect(ed.length).toBeGreaterThan(40);
    const got = await withoutEd25519(async () => {
      const out: string[] = [];
      for (const c of ed) out.push(c.name + ': ' + (await runCase(c, file.keySets)));
      return out;
    });
    expect(got).toEqual(ed.map((c) => c.name + ': ' + c.expectWithoutEd25519));
  });
});

describe('edge cases regenerated with fresh keys', () => {
  it('every case gives its expected outcome', async () => {
    const fresh = buildEdgeCases(makeKeys());
    expect(fresh.cases.length).toBe(file.cases.length);
    const mismatches: string[] = [];
    for (const c of fresh.cases) {
      const got = await runCase(c, fresh.keySets);
      if (got !== c.expect) mismatches.push(c.name + ': expected ' + c.expect + ', got ' + got);
    }
    expect(mismatches).toEqual([]);
  });
});
