// Verification keys from JWKS documents (RFC 7517 §5) and PEM files
// (RFC 7468: PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE). Every asymmetric key is
// normalised to SPKI DER because njs 0.7.9 can import nothing else.

import { isLjwtError, ljwtError } from '../lib/errors.ts';
import type { LjwtError } from '../lib/errors.ts';
import { base64urlDecodeOrNull } from '../lib/base64url.ts';
import { checkEcCoordinates, checkRsaParameters, ecSpki, ed25519Spki, parseSpki, pemBlocks, rsaSpki, spkiFromCertificate, spkiFromPkcs1 } from '../lib/der.ts';
import { algorithmSpec } from './import-key.ts';
import type { KeySet, KeyType, VerificationKey } from './verification-key.ts';

export type { KeySet, KeyType, VerificationKey } from './verification-key.ts';

// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output; the
// smallest allowed algorithm (HS256) therefore needs 32 bytes.
const HMAC_MIN_BYTES = 32;

// JWK members that only private keys carry (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

function isObject(v: unknown): v is { [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function has(o: object, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, name);
}

/**
 * Parses a JWK Set. Keys not meant for signature verification (use other than
 * "sig", key_ops without "verify", alg that is no JWS alg we verify, unknown
 * kty or crv) are skipped; a usable key with malformed members fails the whole
 * set with ERR_JWKS_INVALID, so a broken key file is noticed, not half-used.
 */
export function keySetFromJwks(jsonText: string): KeySet {
  let doc: unknown;
  try {
    doc = JSON.parse(jsonText);
  } catch (e) {
    throw ljwtError('ERR_JWKS_INVALID', 'JWKS is not valid JSON');
  }
  if (!isObject(doc) || !Array.isArray(doc.keys)) throw ljwtError('ERR_JWKS_INVALID', 'JWKS must be a JSON object with a "keys" array');
  const list = doc.keys as unknown[];
  const keys: VerificationKey[] = [];
  for (let i = 0; i < list.length; i++) {
    const k = jwkToKey(list[i], i);
    if (k !== null) keys.push(k);
  }
  return { keys: keys };
}

function jwkToKey(jwk: unknown, index: number): VerificationKey | null {
  let label = 'JWKS key #' + index;
  if (!isObject(jwk)) throw ljwtError('ERR_JWKS_INVALID', label + ' is not a JSON object');
  const kid = jwk.kid;
  if (kid !== undefined) {
    if (typeof kid !== 'string') throw ljwtError('ERR_JWKS_INVALID', label + ': "kid" must be a string');
    label += ' (kid ' + JSON.stringify(kid) + ')';
  }
  const kty = jwk.kty;
  if (typeof kty !== 'string') throw ljwtError('ERR_JWKS_INVALID', label + ': "kty" must be a string');

  // RFC 7517 §4.2/§4.3: use and key_ops restrict what a key may do.
  const use = jwk.use;
  if (use !== undefined && typeof use !== 'string') throw ljwtError('ERR_JWKS_INVALID', label + ': "use" must be a string');
  if (use !== undefined && use !== 'sig') return null;
  const ops = jwk.key_ops;
  if (ops !== undefined) {
    if (!Array.isArray(ops)) throw ljwtError('ERR_JWKS_INVALID', label + ': "key_ops" must be an array');
    for (let j = 0; j < ops.length; j++) {
      if (typeof ops[j] !== 'string') throw ljwtError('ERR_JWKS_INVALID', label + ': "key_ops" must hold strings');
    }
    if (ops.indexOf('verify') < 0) return null;
  }
  const alg = jwk.alg;
  if (alg !== undefined && typeof alg !== 'string') throw ljwtError('ERR_JWKS_INVALID', label + ': "alg" must be a string');
  const spec = alg === undefined ? null : algorithmSpec(alg);
  // An alg we do not verify with (RSA-OAEP, none, ...) means the key is not for us.
  if (alg !== undefined && spec === null) return null;

  let key: VerificationKey;
  if (kty === 'oct') {
    const secret = member(jwk, 'k', label);
    const min = spec !== null ? spec.hashBytes : HMAC_MIN_BYTES;
    if (secret.length < min) throw ljwtError('ERR_JWKS_INVALID', label + ': HMAC key shorter than ' + min + ' bytes');
    key = { kty: 'oct', format: 'raw', der: secret };
  } else if (kty === 'RSA' || kty === 'EC' || kty === 'OKP') {
    for (let j = 0; j < PRIVATE_MEMBERS.length; j++) {
      if (has(jwk, PRIVATE_MEMBERS[j])) throw ljwtError('ERR_JWKS_INVALID', label + ': private key material in a verification key set');
    }
    // Every member is checked here, so a broken key fails the whole set;
    // the SPKI is built only when the key is used (see withLazyDer).
    if (kty === 'RSA') {
      const n = member(jwk, 'n', label);
      const e = member(jwk, 'e', label);
      guard(label, function () { checkRsaParameters(n, e); });
      key = withLazyDer({ kty: 'RSA', format: 'spki' }, function () { return rsaSpki(n, e); });
    } else {
      const crv = jwk.crv;
      if (typeof crv !== 'string') throw ljwtError('ERR_JWKS_INVALID', label + ': "crv" must be a string');
      if (kty === 'EC' && crv !== 'P-256' && crv !== 'P-384' && crv !== 'P-521') return null; // e.g. secp256k1
      if (kty === 'OKP' && crv !== 'Ed25519') return null; // Ed448, X25519, X448
      const x = member(jwk, 'x', label);
      if (kty === 'EC') {
        const y = member(jwk, 'y', label);
        guard(label, function () { checkEcCoordinates(crv, x, y); });
        key = withLazyDer({ kty: 'EC', crv: crv as 'P-256', format: 'spki' }, function () { return ecSpki(crv, x, y); });
      } else {
        if (x.length !== 32) throw ljwtError('ERR_JWKS_INVALID', label + ': Ed25519 public key must be 32 bytes');
        key = withLazyDer({ kty: 'OKP', crv: 'Ed25519', format: 'spki' }, function () { return ed25519Spki(x); });
      }
    }
  } else {
    return null; // unknown kty: not usable, not an error (RFC 7517 §5: ignore unsupported keys)
  }
  if (spec !== null && (spec.kty !== key.kty || (spec.crv !== undefined && spec.crv !== key.crv))) {
    throw ljwtError('ERR_JWKS_INVALID', label + ': "alg" ' + alg + ' does not fit kty ' + kty);
  }
  if (kid !== undefined) key.kid = kid as string;
  if (alg !== undefined) key.alg = alg as string;
  return key;
}

/**
 * `key` with its SPKI DER built from the checked members on first read. A JWK
 * Set often holds several keys and a token uses one: building every SPKI in
 * JavaScript cost more than the signature check itself on the njs engine,
 * which parses the key file again in every request.
 */
function withLazyDer(key: { kty: KeyType; crv?: VerificationKey['crv']; format: 'spki' }, build: () => Uint8Array): VerificationKey {
  let der: Uint8Array | null = null;
  Object.defineProperty(key, 'der', {
    enumerable: true,
    get: function () {
      if (der === null) der = build();
      return der;
    },
  });
  return key as VerificationKey;
}

function member(jwk: { [k: string]: unknown }, name: string, label: string): Uint8Array {
  const v = jwk[name];
  if (typeof v !== 'string') throw ljwtError('ERR_JWKS_INVALID', label + ': "' + name + '" must be a base64url string');
  const bytes = base64urlDecodeOrNull(v);
  if (bytes === null || bytes.length === 0) throw ljwtError('ERR_JWKS_INVALID', label + ': "' + name + '" is not canonical base64url');
  return bytes;
}

function guard<T>(label: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const err = e as LjwtError;
    if (isLjwtError(e) && err.code === 'ERR_JWKS_INVALID' && err.message.indexOf(label) === 0) throw e;
    throw ljwtError('ERR_JWKS_INVALID', label + ': ' + (err && err.message ? err.message : 'invalid key'));
  }
}

/**
 * Keys from PEM text holding one or more blocks: "PUBLIC KEY" (SPKI),
 * "RSA PUBLIC KEY" (PKCS#1) or "CERTIFICATE" (X.509; its SPKI is used). `kid`,
 * when given, is attached to every key of the file.
 */
export function keySetFromPem(pemText: string, kid?: string): KeySet {
  if (typeof pemText !== 'string') throw ljwtError('ERR_JWKS_INVALID', 'PEM text must be a string');
  const blocks = pemBlocks(pemText);
  if (blocks.length === 0) throw ljwtError('ERR_JWKS_INVALID', 'no PEM block found');
  const keys: VerificationKey[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    const label = 'PEM block #' + i + ' (' + b.label + ')';
    let spki: Uint8Array;
    if (b.label === 'PUBLIC KEY') spki = b.der;
    else if (b.label === 'RSA PUBLIC KEY') spki = guard(label, function () { return spkiFromPkcs1(b.der); });
    else if (b.label === 'CERTIFICATE') spki = guard(label, function () { return new Uint8Array(spkiFromCertificate(b.der)); });
    else throw ljwtError('ERR_JWKS_INVALID', label + ' is not a public key or certificate');
    const info = guard(label, function () { return parseSpki(spki); });
    const key: VerificationKey = { kty: info.kty, format: 'spki', der: spki };
    if (info.crv !== undefined) key.crv = info.crv;
    if (kid !== undefined) key.kid = kid;
    keys.push(key);
  }
  return { keys: keys };
}

export function mergeKeySets(sets: KeySet[]): KeySet {
  const keys: VerificationKey[] = [];
  for (let i = 0; i < sets.length; i++) {
    for (let j = 0; j < sets[i].keys.length; j++) keys.push(sets[i].keys[j]);
  }
  return { keys: keys };
}
