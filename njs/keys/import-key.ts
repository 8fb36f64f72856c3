// The one place that turns key material into a CryptoKey. Per-request import
// dominates verification cost on njs (about 150 µs). The njs engine starts
// every request in a fresh VM, so there each request imports again; QuickJS
// reuses contexts, and a key parsed by an earlier request (key-set-cache.ts)
// keeps its CryptoKey.

import { ljwtError } from '../lib/errors.ts';
import type { KeyType, VerificationKey } from './verification-key.ts';

/** What a JWS `alg` (RFC 7518 §3.1, RFC 8037 §3.1) needs from a key and from WebCrypto. */
export interface AlgorithmSpec {
  kty: KeyType;
  /** Required curve for EC/OKP. */
  crv?: string;
  /** Digest size in bytes (HMAC key minimum, RFC 7518 §3.2; PSS salt, RFC 7518 §3.5). */
  hashBytes: number;
  /** Exact JWS signature length for ECDSA (RFC 7518 §3.4) and EdDSA (RFC 8032 §5.1.6); 0 = not fixed. */
  sigLength: number;
  importParams: any;
  verifyParams: any;
}

/**
 * Spec for a supported `alg`, or null. A switch, not an object lookup, so
 * names like "constructor" or "__proto__" cannot resolve to anything.
 */
export function algorithmSpec(alg: string): AlgorithmSpec | null {
  switch (alg) {
    case 'HS256': return hmac('SHA-256', 32);
    case 'HS384': return hmac('SHA-384', 48);
    case 'HS512': return hmac('SHA-512', 64);
    case 'RS256': return pkcs1('SHA-256', 32);
    case 'RS384': return pkcs1('SHA-384', 48);
    case 'RS512': return pkcs1('SHA-512', 64);
    case 'PS256': return pss('SHA-256', 32);
    case 'PS384': return pss('SHA-384', 48);
    case 'PS512': return pss('SHA-512', 64);
    case 'ES256': return ecdsa('P-256', 'SHA-256', 32, 64);
    case 'ES384': return ecdsa('P-384', 'SHA-384', 48, 96);
    case 'ES512': return ecdsa('P-521', 'SHA-512', 64, 132);
    case 'EdDSA':
      return { kty: 'OKP', crv: 'Ed25519', hashBytes: 0, sigLength: 64, importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' } };
    default: return null;
  }
}

function hmac(hash: string, bytes: number): AlgorithmSpec {
  return { kty: 'oct', hashBytes: bytes, sigLength: 0, importParams: { name: 'HMAC', hash: hash }, verifyParams: { name: 'HMAC' } };
}

function pkcs1(hash: string, bytes: number): AlgorithmSpec {
  return { kty: 'RSA', hashBytes: bytes, sigLength: 0, importParams: { name: 'RSASSA-PKCS1-v1_5', hash: hash }, verifyParams: { name: 'RSASSA-PKCS1-v1_5' } };
}

function pss(hash: string, bytes: number): AlgorithmSpec {
  // RFC 7518 §3.5: the salt length equals the hash output size.
  return { kty: 'RSA', hashBytes: bytes, sigLength: 0, importParams: { name: 'RSA-PSS', hash: hash }, verifyParams: { name: 'RSA-PSS', saltLength: bytes } };
}

function ecdsa(crv: string, hash: string, bytes: number, sigLength: number): AlgorithmSpec {
  return { kty: 'EC', crv: crv, hashBytes: bytes, sigLength: sigLength, importParams: { name: 'ECDSA', namedCurve: crv }, verifyParams: { name: 'ECDSA', hash: hash } };
}

/**
 * Imports `key` for verifying `alg` signatures. Rejects with
 * ERR_JOSE_NOT_SUPPORTED when the runtime lacks the algorithm (Ed25519 before
 * njs 0.9.7) and ERR_JWKS_INVALID when the runtime refuses the key material.
 */
/** The runtime's CryptoKey (named through subtle's own signature so njs and Node typings both apply). */
export type VerifyKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export async function importVerifyKey(key: VerificationKey, alg: string): Promise<VerifyKey> {
  const spec = algorithmSpec(alg);
  if (spec === null) throw ljwtError('ERR_JOSE_NOT_SUPPORTED', 'unsupported alg');
  if (spec.kty !== key.kty || (key.kty === 'oct') !== (key.format === 'raw')) {
    throw ljwtError('ERR_JWKS_INVALID', 'key type does not fit ' + alg);
  }
  // A key object that outlives the request (QuickJS reuses contexts, see
  // key-set-cache.ts) keeps what it was imported as: only successes, per alg.
  const imported = key.imported;
  if (imported !== undefined && Object.prototype.hasOwnProperty.call(imported, alg)) return imported[alg];
  try {
    const k = await crypto.subtle.importKey(key.format, key.der, spec.importParams, false, ['verify']);
    if (key.imported === undefined) key.imported = {};
    key.imported[alg] = k;
    return k;
  } catch (e) {
    if (alg === 'EdDSA') throw ljwtError('ERR_JOSE_NOT_SUPPORTED', 'this runtime cannot import Ed25519 keys');
    throw ljwtError('ERR_JWKS_INVALID', 'the runtime refused the ' + key.kty + ' key');
  }
}
