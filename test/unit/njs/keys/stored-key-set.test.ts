// A parsed key set written as text and read back (njs/keys/stored-key-set.ts):
// the same keys, usable for verification, and nothing read back that
// key-set.ts could not have produced.
import { describe, expect, it } from 'vitest';
import { decodeKeySet, encodeKeySet } from '#njs/keys/stored-key-set.ts';
import { keySetFromJwks, keySetFromPem, type KeySet } from '#njs/keys/key-set.ts';
import { validateJwt } from '#njs/jwt/validate.ts';
import { generateTestKeys, jwksText, nowSeconds, publicJwk, publicPem, signJwt, type Alg } from '../../../harness/tokens.ts';

const keys = generateTestKeys();

function plain(set: KeySet) {
  return set.keys.map((k) => ({ kty: k.kty, crv: k.crv, kid: k.kid, alg: k.alg, format: k.format, der: Buffer.from(k.der).toString('hex') }));
}

const JWKS = jwksText([keys.rsa, publicJwk(keys.ec256, { alg: 'ES256' }), keys.ec384, keys.ec521, keys.ed25519, keys.hs256]);
const PEM = publicPem(keys.rsa2, 'pkcs1') + publicPem(keys.ec256);

describe('stored key sets', () => {
  it('read back as the keys the JWKS and PEM parses gave, every type and curve', () => {
    for (const set of [keySetFromJwks(JWKS), keySetFromPem(PEM, 'pem-kid')]) {
      const back = decodeKeySet(encodeKeySet(set));
      expect(back).not.toBeNull();
      expect(plain(back!)).toEqual(plain(set));
    }
  });

  it('verify tokens as the parsed set does', async () => {
    const back = decodeKeySet(encodeKeySet(keySetFromJwks(JWKS)))!;
    const now = nowSeconds();
    for (const alg of ['RS256', 'PS256', 'ES256', 'HS256'] as Alg[]) {
      const token = signJwt(keys, alg, { iss: 'i', aud: 'a', sub: 'alice', exp: now + 60 });
      const v = await validateJwt(token, back, { algorithms: [alg], maxTokenLength: 8192, issuers: ['i'], audiences: ['a'],
        leewaySeconds: 0, requiredTyp: null, requiredClaims: ['exp'], now });
      expect(v.claims.sub).toBe('alice');
    }
  });

  it('refuse any text that is not one they wrote', () => {
    const good = JSON.parse(encodeKeySet(keySetFromJwks(JWKS)));
    const k = good.keys[0];
    const variants: unknown[] = [
      'not json', null, 'text', {}, { keys: {} },
      { keys: [null] }, { keys: [{ ...k, kty: 'DSA' }] }, { keys: [{ ...k, format: 'raw' }] },
      { keys: [{ ...k, crv: 'P-256' }] }, { keys: [{ ...good.keys[1], crv: 'secp256k1' }] },
      { keys: [{ ...k, der: '' }] }, { keys: [{ ...k, der: k.der + '=' }] }, { keys: [{ ...k, der: 5 }] },
      { keys: [{ ...k, kid: 7 }] }, { keys: [{ ...k, alg: ['RS256'] }] }, { keys: [k, { ...k, kty: 'oct' }] },
    ];
    for (const v of variants) expect(decodeKeySet(typeof v === 'string' ? v : JSON.stringify(v))).toBeNull();
  });
});
