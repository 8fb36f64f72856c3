import { readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keySetFromJwks, keySetFromPem } from '#njs/keys/key-set.ts';
import { verifyCompactJws } from '#njs/jws/verify.ts';
import { validateJwt } from '#njs/jwt/validate.ts';
import type { ValidateOptions } from '#njs/jwt/validate.ts';
import { outcomeOf } from '../../../harness/outcome.ts';

interface Vector { name: string; alg: string; jwt: boolean; token: string; jwk: { [k: string]: string }; payloadText: string }
const { vectors } = JSON.parse(readFileSync(new URL('../../../vectors/rfc-jws-vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] };

function flip(token: string, seg: number): string {
  const parts = token.split('.');
  const b = Buffer.from(parts[seg], 'base64url');
  b[b.length >> 1] ^= 0x20;
  parts[seg] = b.toString('base64url');
  return parts.join('.');
}

describe('RFC 7515 / 7520 / 8037 vectors', () => {
  it('has all nine vectors', () => {
    expect(vectors.map((v) => v.name)).toEqual([
      'RFC 7515 A.1 HS256', 'RFC 7515 A.2 RS256', 'RFC 7515 A.3 ES256', 'RFC 7515 A.4 ES512', 'RFC 8037 A.4 EdDSA',
      'RFC 7520 4.1 RS256', 'RFC 7520 4.2 PS384', 'RFC 7520 4.3 ES512', 'RFC 7520 4.4 HS256',
    ]);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s verifies (JWKS) and yields the payload', async (_n, v) => {
    const ks = keySetFromJwks(JSON.stringify({ keys: [v.jwk] }));
    const r = await verifyCompactJws(v.token, ks, { algorithms: [v.alg], maxTokenLength: 4096 });
    expect(Buffer.from(r.payload).toString('utf8')).toBe(v.payloadText);
    expect(r.alg).toBe(v.alg);
    expect(r.kid).toBe(v.jwk.kid);
  });

  it.each(vectors.filter((v) => v.jwk.kty !== 'oct').map((v) => [v.name, v] as const))('%s verifies with the key as PEM', async (_n, v) => {
    const pem = createPublicKey({ key: v.jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    const r = await verifyCompactJws(v.token, keySetFromPem(pem), { algorithms: [v.alg], maxTokenLength: 4096 });
    expect(Buffer.from(r.payload).toString('utf8')).toBe(v.payloadText);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s fails when payload or signature is altered', async (_n, v) => {
    const ks = keySetFromJwks(JSON.stringify({ keys: [v.jwk] }));
    const o = { algorithms: [v.alg], maxTokenLength: 4096 };
    expect(await outcomeOf(verifyCompactJws(flip(v.token, 1), ks, o))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    expect(await outcomeOf(verifyCompactJws(flip(v.token, 2), ks, o))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    expect(await outcomeOf(verifyCompactJws(v.token, ks, { algorithms: [], maxTokenLength: 4096 }))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
  });

  it.each(vectors.filter((v) => v.jwt).map((v) => [v.name, v] as const))('%s validates as a JWT before its exp (1300819380)', async (_n, v) => {
    const ks = keySetFromJwks(JSON.stringify({ keys: [v.jwk] }));
    const opts: ValidateOptions = {
      algorithms: [v.alg], maxTokenLength: 4096, issuers: ['joe'], audiences: [], leewaySeconds: 0,
      requiredTyp: null, requiredClaims: ['iss', 'exp'], now: 1300819000,
    };
    const r = await validateJwt(v.token, ks, opts);
    expect(r.claims).toEqual({ iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true });
    expect(await outcomeOf(validateJwt(v.token, ks, { ...opts, now: 1300819380 }))).toBe('ERR_JWT_EXPIRED');
    expect(await outcomeOf(validateJwt(v.token, ks, { ...opts, now: 1300819380, leewaySeconds: 1 }))).toBe('ok');
    expect(await outcomeOf(validateJwt(v.token, ks, { ...opts, issuers: ['jane'] }))).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    // Only A.1 carries "typ":"JWT".
    expect(await outcomeOf(validateJwt(v.token, ks, { ...opts, requiredTyp: 'JWT' }))).toBe(v.alg === 'HS256' ? 'ok' : 'ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('non-JSON payloads (A.4, RFC 7520, RFC 8037) are valid JWS but not JWTs', async () => {
    for (const v of vectors.filter((x) => !x.jwt)) {
      const ks = keySetFromJwks(JSON.stringify({ keys: [v.jwk] }));
      const got = await outcomeOf(validateJwt(v.token, ks, {
        algorithms: [v.alg], maxTokenLength: 4096, issuers: [], audiences: [], leewaySeconds: 0, requiredTyp: null, requiredClaims: [], now: 0,
      }));
      expect(got, v.name).toBe('ERR_JWT_MALFORMED');
    }
  });
});
