// Test key material and JWS/JWT signing with node:crypto for every algorithm the edge
// validator supports, plus writers for the JWKS and PEM files nginx reads.
import { createHmac, createPublicKey, randomBytes, sign as cryptoSign, constants, type KeyObject } from 'node:crypto';
import { newKeyPair } from './key-pairs.mjs';

export type Alg = 'HS256' | 'HS384' | 'HS512' | 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' |
  'ES256' | 'ES384' | 'ES512' | 'EdDSA';

export const ALL_ALGS: Alg[] = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA'];

export interface TestKey {
  kid: string;
  kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  /** Private key (asymmetric) or the HMAC secret. */
  privateKey?: KeyObject;
  publicKey?: KeyObject;
  secret?: Buffer;
}

export interface TestKeys {
  rsa: TestKey;
  rsa2: TestKey;
  ec256: TestKey;
  ec384: TestKey;
  ec521: TestKey;
  ed25519: TestKey;
  hs256: TestKey;
  hs384: TestKey;
  hs512: TestKey;
  /** RSA key in no key file: tokens it signs must find no key. */
  stranger: TestKey;
}

function pair(kid: string, kty: TestKey['kty'], k: { privateKey: KeyObject; publicKey: KeyObject }): TestKey {
  return { kid, kty, privateKey: k.privateKey, publicKey: k.publicKey };
}

export function generateTestKeys(): TestKeys {
  return {
    rsa: pair('rsa-1', 'RSA', newKeyPair('rsa', { modulusLength: 2048 })),
    rsa2: pair('rsa-2', 'RSA', newKeyPair('rsa', { modulusLength: 2048 })),
    ec256: pair('ec-256', 'EC', newKeyPair('ec', { namedCurve: 'P-256' })),
    ec384: pair('ec-384', 'EC', newKeyPair('ec', { namedCurve: 'P-384' })),
    ec521: pair('ec-521', 'EC', newKeyPair('ec', { namedCurve: 'P-521' })),
    ed25519: pair('ed-1', 'OKP', newKeyPair('ed25519')),
    hs256: { kid: 'hs-256', kty: 'oct', secret: randomBytes(32) },
    hs384: { kid: 'hs-384', kty: 'oct', secret: randomBytes(48) },
    hs512: { kid: 'hs-512', kty: 'oct', secret: randomBytes(64) },
    stranger: pair('rsa-1', 'RSA', newKeyPair('rsa', { modulusLength: 2048 })),
  };
}

export function keyForAlg(keys: TestKeys, alg: Alg): TestKey {
  if (alg === 'HS256') return keys.hs256;
  if (alg === 'HS384') return keys.hs384;
  if (alg === 'HS512') return keys.hs512;
  if (alg === 'ES256') return keys.ec256;
  if (alg === 'ES384') return keys.ec384;
  if (alg === 'ES512') return keys.ec521;
  if (alg === 'EdDSA') return keys.ed25519;
  return keys.rsa;
}

export function b64u(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Raw JWS signature over `input` (RFC 7518 §3). ecdsaDer: DER instead of r||s (must be rejected). */
export function signInput(alg: string, key: TestKey | Buffer, input: string, ecdsaDer = false): Buffer {
  const data = Buffer.from(input, 'latin1');
  if (alg.startsWith('HS')) {
    const secret = Buffer.isBuffer(key) ? key : key.secret!;
    return createHmac(HASH[alg.slice(2)], secret).update(data).digest();
  }
  const k = key as TestKey;
  if (alg === 'EdDSA') return cryptoSign(null, data, k.privateKey!);
  const hash = HASH[alg.slice(2)];
  if (alg.startsWith('RS')) return cryptoSign(hash, data, k.privateKey!);
  if (alg.startsWith('PS')) {
    return cryptoSign(hash, data, { key: k.privateKey!, padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: Number(alg.slice(2)) / 8 });
  }
  if (alg.startsWith('ES')) {
    return cryptoSign(hash, data, { key: k.privateKey!, dsaEncoding: ecdsaDer ? 'der' : 'ieee-p1363' });
  }
  throw new Error(`unknown alg ${alg}`);
}

export interface SignOptions {
  /** Header members merged over {alg, typ: 'at+jwt', kid}; a member set to undefined is removed. */
  header?: Record<string, unknown>;
  /** Sign with this key instead of the alg's default key (e.g. a stranger, or raw HMAC bytes). */
  key?: TestKey | Buffer;
  ecdsaDer?: boolean;
}

export function signJwt(keys: TestKeys, alg: Alg, payload: Record<string, unknown> | string, opts: SignOptions = {}): string {
  const key = opts.key ?? keyForAlg(keys, alg);
  const header: Record<string, unknown> = { alg, typ: 'at+jwt' };
  if (!Buffer.isBuffer(key)) header.kid = key.kid;
  for (const k of Object.keys(opts.header ?? {})) {
    const v = opts.header![k];
    if (v === undefined) delete header[k]; else header[k] = v;
  }
  const input = b64u(JSON.stringify(header)) + '.' + b64u(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return input + '.' + b64u(signInput(alg, key, input, opts.ecdsaDer));
}

export function publicJwk(key: TestKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = key.kty === 'oct'
    ? { kty: 'oct', k: b64u(key.secret!) }
    : (key.publicKey!.export({ format: 'jwk' }) as Record<string, unknown>);
  return Object.assign({ kid: key.kid, use: 'sig' }, base, extra);
}

export function jwksText(list: (TestKey | Record<string, unknown>)[]): string {
  return JSON.stringify({ keys: list.map((k) => ('kty' in k && ('privateKey' in k || 'secret' in k) ? publicJwk(k as TestKey) : k)) }, null, 1);
}

export function publicPem(key: TestKey, type: 'spki' | 'pkcs1' = 'spki'): string {
  return key.publicKey!.export({ format: 'pem', type }) as string;
}

/** PEM (SPKI) bytes of a public key, used as an HMAC secret in the alg-confusion attack. */
export function publicPemBytes(key: TestKey): Buffer {
  return Buffer.from(publicPem(key), 'latin1');
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export { createPublicKey };
