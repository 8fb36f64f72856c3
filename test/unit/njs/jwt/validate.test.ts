import { createHmac, createPublicKey, type KeyObject } from 'node:crypto';
import type { webcrypto } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { SignJWT, exportJWK } from 'jose';
import { keySetFromJwks } from '#njs/keys/key-set.ts';
import type { KeySet } from '#njs/keys/key-set.ts';
import { validateJwt } from '#njs/jwt/validate.ts';
import type { ValidateOptions } from '#njs/jwt/validate.ts';
import { validateClaims } from '#njs/jwt/claims.ts';
import type { ClaimsOptions } from '#njs/jwt/claims.ts';
import { ALL_ALGS, AUDIENCE, ISSUER, NOW, b64u, baseClaims, baseOptions, makeKeys, makeToken, publicJwk, octJwk, signingKey } from '../../../vectors/generate-edge-cases.mjs';
import { outcomeOf } from '../../../harness/outcome.ts';

function claimsErr(header: object, claims: object, o: Partial<ClaimsOptions>): string {
  const opts: ClaimsOptions = { issuers: [], audiences: [], leewaySeconds: 0, requiredTyp: null, requiredClaims: [], now: NOW, ...o };
  try {
    validateClaims(header as { [k: string]: unknown }, claims as { [k: string]: unknown }, opts);
    return 'ok';
  } catch (e) {
    const err = e as { code: string; claim?: string };
    return err.code + (err.claim ? ':' + err.claim : '');
  }
}

// The key pairs of the edge-case vectors, made once for the whole file.
const keys = makeKeys();

describe('interoperability: tokens signed by the jose library', () => {
  it.each(ALL_ALGS)('%s', async (alg) => {
    const signing = signingKey(keys, alg, false);
    const key = alg.startsWith('HS') ? new Uint8Array(signing as Buffer) : signing as KeyObject;
    const jwk = await exportJWK(alg.startsWith('HS') ? key : createPublicKey(key as KeyObject));
    const ks = keySetFromJwks(JSON.stringify({ keys: [{ ...jwk, kid: 'k1', alg }] }));
    const token = await new SignJWT({ scope: 'read' })
      .setProtectedHeader({ alg, typ: 'at+jwt', kid: 'k1' })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('bob').setIssuedAt(NOW).setExpirationTime(NOW + 300)
      .sign(key);
    const r = await validateJwt(token, ks, baseOptions());
    expect(r).toMatchObject({ alg, kid: 'k1', claims: { sub: 'bob', scope: 'read', iss: ISSUER, aud: AUDIENCE } });
    expect(await outcomeOf(validateJwt(token, ks, baseOptions({ now: NOW + 331 })))).toBe('ERR_JWT_EXPIRED');
  });
});

describe('claims', () => {
  it('exp/nbf/iat boundaries with leeway', () => {
    expect(claimsErr({}, { exp: NOW + 1 }, {})).toBe('ok');
    expect(claimsErr({}, { exp: NOW }, {})).toBe('ERR_JWT_EXPIRED:exp');
    expect(claimsErr({}, { exp: NOW - 30 }, { leewaySeconds: 30 })).toBe('ERR_JWT_EXPIRED:exp');
    expect(claimsErr({}, { exp: NOW - 29 }, { leewaySeconds: 30 })).toBe('ok');
    expect(claimsErr({}, { nbf: NOW }, {})).toBe('ok');
    expect(claimsErr({}, { nbf: NOW + 1 }, {})).toBe('ERR_JWT_NOT_YET_VALID:nbf');
    expect(claimsErr({}, { nbf: NOW + 30 }, { leewaySeconds: 30 })).toBe('ok');
    expect(claimsErr({}, { iat: NOW + 31 }, { leewaySeconds: 30 })).toBe('ERR_JWT_NOT_YET_VALID:iat');
    expect(claimsErr({}, { iat: NOW + 30 }, { leewaySeconds: 30 })).toBe('ok');
  });

  it('rejects NumericDates that are not finite numbers', () => {
    for (const v of ['1', null, true, [1], { n: 1 }, Infinity, -Infinity, NaN]) {
      expect(claimsErr({}, { exp: v }, {}), String(v)).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:exp');
      expect(claimsErr({}, { nbf: v }, {}), String(v)).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:nbf');
      expect(claimsErr({}, { iat: v }, {}), String(v)).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:iat');
    }
  });

  it('iss, aud, sub types and matching', () => {
    expect(claimsErr({}, { iss: 'a' }, { issuers: ['b', 'a'] })).toBe('ok');
    expect(claimsErr({}, {}, { issuers: ['a'] })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:iss');
    expect(claimsErr({}, { iss: ['a'] }, { issuers: ['a'] })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:iss');
    expect(claimsErr({}, { iss: 7 }, {})).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:iss');
    expect(claimsErr({}, { aud: ['x', 'a'] }, { audiences: ['a'] })).toBe('ok');
    expect(claimsErr({}, { aud: 'a' }, { audiences: ['a'] })).toBe('ok');
    expect(claimsErr({}, {}, { audiences: ['a'] })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:aud');
    expect(claimsErr({}, { aud: [] }, { audiences: ['a'] })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:aud');
    expect(claimsErr({}, { aud: ['a', 1] }, { audiences: ['a'] })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:aud');
    expect(claimsErr({}, { aud: 1 }, {})).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:aud');
    expect(claimsErr({}, { aud: 'A' }, { audiences: ['a'] })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:aud');
    expect(claimsErr({}, { sub: 1 }, {})).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:sub');
    expect(claimsErr({}, { sub: 'u' }, {})).toBe('ok');
  });

  it('typ: case-insensitive, optional application/ prefix (RFC 7515 §4.1.9, RFC 9068 §4)', () => {
    for (const t of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+Jwt']) expect(claimsErr({ typ: t }, {}, { requiredTyp: 'at+jwt' }), t).toBe('ok');
    expect(claimsErr({ typ: 'at+jwt' }, {}, { requiredTyp: 'application/at+jwt' })).toBe('ok');
    for (const t of ['jwt', 'JWT', 'text/at+jwt', 'at+jwt ', 'application/jwt', 'at+jwt;x=1']) {
      expect(claimsErr({ typ: t }, {}, { requiredTyp: 'at+jwt' }), t).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:typ');
    }
    expect(claimsErr({}, {}, { requiredTyp: 'at+jwt' })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:typ');
    expect(claimsErr({ typ: 'anything' }, {}, { requiredTyp: null })).toBe('ok');
  });

  it('required claims must be own, non-null members', () => {
    expect(claimsErr({}, { sub: 'a', groups: [] }, { requiredClaims: ['sub', 'groups'] })).toBe('ok');
    expect(claimsErr({}, { sub: null }, { requiredClaims: ['sub'] })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:sub');
    expect(claimsErr({}, {}, { requiredClaims: ['constructor'] })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:constructor');
    expect(claimsErr({}, {}, { requiredClaims: ['toString'] })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:toString');
    expect(claimsErr({}, JSON.parse('{"__proto__":{"sub":"x"}}'), { requiredClaims: ['sub'] })).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED:sub');
  });
});

describe('validateJwt hardening', () => {
  const jwks = JSON.stringify({ keys: [
    octJwk(keys.oct.HS256, { kid: 'hs256' }), publicJwk(keys.rsa, { kid: 'rsa-1' }), publicJwk(keys['P-256'], { kid: 'ec-p256' }),
  ] });
  const ks: KeySet = keySetFromJwks(jwks);
  const rs = makeToken('RS256', signingKey(keys, 'RS256', false), { alg: 'RS256', typ: 'at+jwt', kid: 'rsa-1' }, baseClaims());

  it('rejects an oversized token before any decoding', async () => {
    const spy = vi.spyOn(Buffer, 'from');
    try {
      const huge = rs + '.' + 'A'.repeat(10_000_000);
      expect(await outcomeOf(validateJwt(huge, ks, baseOptions()))).toBe('ERR_JWT_MALFORMED');
      expect(await outcomeOf(validateJwt('!'.repeat(8193), ks, baseOptions()))).toBe('ERR_JWT_MALFORMED');
      expect(await outcomeOf(validateJwt(rs, ks, baseOptions({ maxTokenLength: rs.length - 1 })))).toBe('ERR_JWT_MALFORMED');
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(await outcomeOf(validateJwt(rs, ks, baseOptions({ maxTokenLength: rs.length })))).toBe('ok');
  });

  it('treats a throwing crypto.subtle.verify as an invalid signature', async () => {
    const spy = vi.spyOn(globalThis.crypto.subtle, 'verify').mockRejectedValue(new Error('EVP_PKEY_verify() failed'));
    try {
      expect(await outcomeOf(validateJwt(rs, ks, baseOptions()))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    } finally {
      spy.mockRestore();
    }
  });

  it('a key the runtime refuses is skipped; if it was the only one the error is ERR_JWKS_INVALID', async () => {
    const real = globalThis.crypto.subtle.importKey.bind(globalThis.crypto.subtle);
    let calls = 0;
    const spy = vi.spyOn(globalThis.crypto.subtle, 'importKey').mockImplementation(((...a: unknown[]) => {
      calls++;
      if (calls === 1) return Promise.reject(new Error('bad key'));
      return (real as (...x: unknown[]) => Promise<webcrypto.CryptoKey>)(...a);
    }) as webcrypto.SubtleCrypto['importKey']);
    try {
      const rotated = keySetFromJwks(JSON.stringify({ keys: [publicJwk(keys.rsa, { kid: 'rsa-1' }), publicJwk(keys.rsa, { kid: 'rsa-1' })] }));
      expect(await outcomeOf(validateJwt(rs, rotated, baseOptions()))).toBe('ok');
      expect(calls).toBe(2);
      calls = 0;
      expect(await outcomeOf(validateJwt(rs, keySetFromJwks(JSON.stringify({ keys: [publicJwk(keys.rsa)] })), baseOptions()))).toBe('ERR_JWKS_INVALID');
    } finally {
      spy.mockRestore();
    }
  });

  it('tries each candidate at most once and only candidates of the right type', async () => {
    const spy = vi.spyOn(globalThis.crypto.subtle, 'importKey');
    try {
      const many = keySetFromJwks(JSON.stringify({ keys: [
        publicJwk(keys.attackerRsa), publicJwk(keys.attackerRsa), publicJwk(keys['P-256']), octJwk(keys.oct.HS256), publicJwk(keys.attackerRsa),
      ] }));
      const noKid = makeToken('RS256', signingKey(keys, 'RS256', false), { alg: 'RS256', typ: 'at+jwt' }, baseClaims());
      expect(await outcomeOf(validateJwt(noKid, many, baseOptions()))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      expect(spy).toHaveBeenCalledTimes(3);
    } finally {
      spy.mockRestore();
    }
  });

  it('ECDSA: zero halves and DER signatures are refused without calling crypto', async () => {
    const es = makeToken('ES256', signingKey(keys, 'ES256', false), { alg: 'ES256', typ: 'at+jwt', kid: 'ec-p256' }, baseClaims());
    expect(await outcomeOf(validateJwt(es, ks, baseOptions()))).toBe('ok');
    const raw = Buffer.from(es.split('.')[2], 'base64url');
    const withSig = (sig: Buffer) => es.split('.').slice(0, 2).join('.') + '.' + b64u(sig);
    const der = Buffer.concat([Buffer.from([0x30, 0x44, 0x02, 0x20]), raw.subarray(0, 32), Buffer.from([0x02, 0x20]), raw.subarray(32)]);
    const spy = vi.spyOn(globalThis.crypto.subtle, 'verify');
    try {
      for (const sig of [Buffer.alloc(64), Buffer.concat([Buffer.alloc(32), raw.subarray(32)]), Buffer.concat([raw.subarray(0, 32), Buffer.alloc(32)]), der, raw.subarray(1)]) {
        expect(await outcomeOf(validateJwt(withSig(sig), ks, baseOptions()))).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
      }
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('header tricks: __proto__, duplicate members (last wins, RFC 7515 §4), crit variants, b64', async () => {
    const hs = (h: string) => {
      const hb = b64u(Buffer.from(h));
      const pb = b64u(Buffer.from(JSON.stringify(baseClaims())));
      const sig = b64u(createHmac('sha256', keys.oct.HS256).update(hb + '.' + pb).digest());
      return hb + '.' + pb + '.' + sig;
    };
    expect(await outcomeOf(validateJwt(hs('{"__proto__":{"alg":"HS256"},"typ":"at+jwt"}'), ks, baseOptions()))).toBe('ERR_JWS_INVALID');
    expect(await outcomeOf(validateJwt(hs('{"alg":"none","alg":"HS256","typ":"at+jwt"}'), ks, baseOptions()))).toBe('ok');
    expect(await outcomeOf(validateJwt(hs('{"alg":"HS256","alg":"none","typ":"at+jwt"}'), ks, baseOptions()))).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    expect(await outcomeOf(validateJwt(hs('{"alg":"HS256","typ":"at+jwt","crit":[]}'), ks, baseOptions()))).toBe('ERR_JWS_INVALID');
    expect(await outcomeOf(validateJwt(hs('{"alg":"HS256","typ":"at+jwt","crit":null}'), ks, baseOptions()))).toBe('ERR_JWS_INVALID');
    expect(await outcomeOf(validateJwt(hs('{"alg":"HS256","typ":"at+jwt","b64":true}'), ks, baseOptions()))).toBe('ERR_JWS_INVALID');
    expect(await outcomeOf(validateJwt(hs('{"alg":"HS256","typ":1}'), ks, baseOptions({ requiredTyp: null })))).toBe('ERR_JWS_INVALID');
    expect(await outcomeOf(validateJwt(hs('{"alg":["HS256"],"typ":"at+jwt"}'), ks, baseOptions()))).toBe('ERR_JWS_INVALID');
    expect(await outcomeOf(validateJwt(hs('{"alg":"constructor","typ":"at+jwt"}'), ks, baseOptions({ algorithms: ['constructor'] })))).toBe('ERR_JOSE_NOT_SUPPORTED');
    expect(await outcomeOf(validateJwt(hs('{"alg":"HS256","typ":"at+jwt"} '), ks, baseOptions()))).toBe('ok');
    expect(await outcomeOf(validateJwt(hs('"HS256"'), ks, baseOptions()))).toBe('ERR_JWT_MALFORMED');
    expect(await outcomeOf(validateJwt(hs('null'), ks, baseOptions()))).toBe('ERR_JWT_MALFORMED');
    expect(await outcomeOf(validateJwt(hs('{"alg":"HS256",'), ks, baseOptions()))).toBe('ERR_JWT_MALFORMED');
  });

  it('invalid options fail closed with ERR_CONFIG_INVALID', async () => {
    const bad: Partial<ValidateOptions>[] = [
      { algorithms: 'RS256' as unknown as string[] }, { maxTokenLength: 0 }, { maxTokenLength: NaN }, { issuers: 'x' as unknown as string[] },
      { audiences: [1] as unknown as string[] }, { leewaySeconds: -1 }, { leewaySeconds: Infinity }, { requiredTyp: 5 as unknown as string },
      { requiredClaims: undefined }, { now: NaN }, { now: '1' as unknown as number },
    ];
    for (const b of bad) expect(await outcomeOf(validateJwt(rs, ks, { ...baseOptions(), ...b })), JSON.stringify(b)).toBe('ERR_CONFIG_INVALID');
    expect(await outcomeOf(validateJwt(rs, null as unknown as KeySet, baseOptions()))).toBe('ERR_CONFIG_INVALID');
    expect(await outcomeOf(validateJwt(42 as unknown as string, ks, baseOptions()))).toBe('ERR_JWT_MALFORMED');
  });

  it('returns header, claims, alg and kid', async () => {
    const r = await validateJwt(rs, ks, baseOptions());
    expect(r.alg).toBe('RS256');
    expect(r.kid).toBe('rsa-1');
    expect(r.header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: 'rsa-1' });
    expect(r.claims.sub).toBe('alice');
  });
});
