import { createPublicKey, randomBytes } from 'node:crypto';
import { newKeyPair } from '../../../harness/key-pairs.mjs';
import { describe, expect, it } from 'vitest';
import { keySetFromJwks, mergeKeySets } from '#njs/keys/key-set.ts';

const rsa = createPublicKey(newKeyPair('rsa', { modulusLength: 2048 }).privateKey).export({ format: 'jwk' });
const p256 = createPublicKey(newKeyPair('ec', { namedCurve: 'P-256' }).privateKey).export({ format: 'jwk' });
const ed = createPublicKey(newKeyPair('ed25519').privateKey).export({ format: 'jwk' });
const k32 = randomBytes(32).toString('base64url');
const k64 = randomBytes(64).toString('base64url');

function err(f: () => unknown): { code?: string; message?: string } {
  try {
    f();
  } catch (e) {
    return e as { code?: string; message?: string };
  }
  return { code: 'ok' };
}
const jwks = (...keys: unknown[]) => JSON.stringify({ keys });

describe('keySetFromJwks', () => {
  it('loads RSA, EC, OKP and oct keys with kid, alg and crv', () => {
    const ks = keySetFromJwks(jwks({ ...rsa, kid: 'r', use: 'sig', alg: 'RS256' }, { ...p256, kid: 'e', key_ops: ['verify'] },
      { ...ed, kid: 'o' }, { kty: 'oct', k: k64, kid: 'h', alg: 'HS512' }));
    expect(ks.keys.map((k) => [k.kid, k.kty, k.crv, k.alg, k.format])).toEqual([
      ['r', 'RSA', undefined, 'RS256', 'spki'], ['e', 'EC', 'P-256', undefined, 'spki'],
      ['o', 'OKP', 'Ed25519', undefined, 'spki'], ['h', 'oct', undefined, 'HS512', 'raw'],
    ]);
    expect(Buffer.from(ks.keys[3].der).toString('base64url')).toBe(k64);
    expect('kid' in keySetFromJwks(jwks(p256)).keys[0]).toBe(false);
  });

  it('skips keys not meant for JWS verification without failing', () => {
    const ks = keySetFromJwks(jwks(
      { ...rsa, use: 'enc' }, { ...rsa, key_ops: ['encrypt', 'wrapKey'] }, { ...rsa, key_ops: [] }, { ...rsa, alg: 'RSA-OAEP-256' },
      { ...rsa, alg: 'none' }, { kty: 'EC', crv: 'secp256k1', x: p256.x, y: p256.y }, { kty: 'OKP', crv: 'X25519', x: ed.x },
      { kty: 'OKP', crv: 'Ed448', x: ed.x }, { kty: 'AKP', pub: 'AAAA' }, { kty: 'oct', k: k32, use: 'enc' },
      { ...p256, kid: 'kept' },
    ));
    expect(ks.keys.map((k) => k.kid)).toEqual(['kept']);
    expect(keySetFromJwks('{"keys":[]}').keys).toEqual([]);
  });

  it('allows duplicate kids (rotation)', () => {
    expect(keySetFromJwks(jwks({ ...rsa, kid: 'a' }, { ...rsa, kid: 'a' })).keys.length).toBe(2);
  });

  it('rejects documents that are not a JWK Set', () => {
    for (const t of ['', 'not json', '[]', 'null', '{}', '{"keys":{}}', '{"keys":"x"}', '{"kty":"RSA"}']) {
      expect(err(() => keySetFromJwks(t)).code, t).toBe('ERR_JWKS_INVALID');
    }
  });

  it('rejects malformed usable keys, naming the index or kid', () => {
    const bad: [unknown, string][] = [
      [{ ...rsa, n: 42 }, '#1'],
      [{ ...rsa, n: rsa.n + '=' }, '#1'],
      [{ ...rsa, n: (rsa.n as string).replace(/[-_]/g, '+') + (/[-_]/.test(rsa.n as string) ? '' : '+') }, '#1'],
      [{ ...rsa, e: '' }, '#1'],
      [{ ...rsa, kid: 'priv', d: 'AQAB' }, 'priv'],
      [{ ...p256, kid: 'shortx', x: Buffer.from(p256.x as string, 'base64url').subarray(1).toString('base64url') }, 'shortx'],
      [{ ...p256, crv: 7 }, '#1'],
      [{ ...p256, kid: 'wrongalg', alg: 'ES384' }, 'wrongalg'],
      [{ ...rsa, kid: 'rsa-es', alg: 'ES256' }, 'rsa-es'],
      [{ ...ed, x: Buffer.alloc(31).toString('base64url') }, '#1'],
      [{ kty: 'oct', k: randomBytes(31).toString('base64url'), kid: 'short' }, 'short'],
      [{ kty: 'oct', k: k32, alg: 'HS384' }, '#1'],
      [{ kty: 'oct', k: k32, alg: 'RS256' }, '#1'],
      [{ kty: 'oct' }, '#1'],
      [{ ...rsa, kid: 5 }, '#1'],
      [{ ...rsa, use: 5 }, '#1'],
      [{ ...rsa, key_ops: 'verify' }, '#1'],
      [{ ...rsa, key_ops: [1] }, '#1'],
      [{ ...rsa, alg: 256 }, '#1'],
      [{ kty: 5 }, '#1'],
      ['string', '#1'],
    ];
    for (const [k, label] of bad) {
      const e = err(() => keySetFromJwks(jwks(p256, k)));
      expect(e.code, JSON.stringify(k).slice(0, 80)).toBe('ERR_JWKS_INVALID');
      expect(e.message, JSON.stringify(k).slice(0, 80)).toContain(label);
    }
  });

  it('rejects RSA keys below 2048 bits', () => {
    const small = createPublicKey(newKeyPair('rsa', { modulusLength: 1024 }).privateKey).export({ format: 'jwk' });
    expect(err(() => keySetFromJwks(jwks(small))).code).toBe('ERR_JWKS_INVALID');
    const r2040 = createPublicKey(newKeyPair('rsa', { modulusLength: 2040 }).privateKey).export({ format: 'jwk' });
    expect(err(() => keySetFromJwks(jwks(r2040))).code).toBe('ERR_JWKS_INVALID');
  });
});

describe('mergeKeySets', () => {
  it('concatenates in order', () => {
    const a = keySetFromJwks(jwks({ ...rsa, kid: 'a' }));
    const b = keySetFromJwks(jwks({ ...p256, kid: 'b' }, { ...ed, kid: 'c' }));
    expect(mergeKeySets([a, b, { keys: [] }]).keys.map((k) => k.kid)).toEqual(['a', 'b', 'c']);
    expect(mergeKeySets([]).keys).toEqual([]);
  });
});
