// Compact JWS verification (RFC 7515 §5.2) against a configured key set.
// Everything the token says is attacker-controlled until the signature is
// verified: the length cap comes before any split or decode, the header only
// selects among configured keys (never supplies one: jwk/jku/x5u/x5c are
// ignored), and the algorithm must be on the operator's allow-list.

import { ljwtError } from '../lib/errors.ts';
import type { LjwtError } from '../lib/errors.ts';
import { base64urlDecodeOrNull } from '../lib/base64url.ts';
import { parseJsonObject } from '../lib/json.ts';
import { algorithmSpec, importVerifyKey } from '../keys/import-key.ts';
import type { VerifyKey } from '../keys/import-key.ts';
import type { KeySet, VerificationKey } from '../keys/key-set.ts';

export interface JwsVerifyOptions {
  /** Allow-list, exact case-sensitive match; "none" is never accepted. */
  algorithms: string[];
  /** Checked before any decoding. */
  maxTokenLength: number;
}

export interface VerifiedJws {
  header: { [k: string]: unknown };
  /** The JWS Payload octets; decoded only after the signature verified. */
  payload: Uint8Array;
  alg: string;
  kid?: string;
  /** The key whose signature check succeeded. */
  key: VerificationKey;
}

function has(o: object, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, name);
}

function malformed(msg: string): LjwtError {
  return ljwtError('ERR_JWT_MALFORMED', msg);
}

/**
 * The JWS Signing Input's octets (RFC 7515 §5.2 step 8): ASCII, since both
 * segments are canonical base64url. Buffer.from (UTF-8, identical on ASCII) is
 * native: QuickJS subtle.verify rejects strings, TextEncoder is absent on
 * njs 0.7.9, and a charCodeAt loop over a 300-character input cost 30-100 µs
 * of the njs and QuickJS interpreters (measured in the njs CLI).
 */
function signingInput(h: string, p: string): Uint8Array {
  return Buffer.from(h + '.' + p);
}

// Made only when thrown: QuickJS records a backtrace for every Error it
// creates (about 5 µs of a full check when it was made up front).
function signatureFailed(): Error {
  return ljwtError('ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'signature verification failed');
}

function allZero(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

/** Decodes the protected header: strict base64url, strict UTF-8, a JSON object (RFC 7515 §5.2 steps 2-4). */
export function decodeProtectedHeader(segment: string): { [k: string]: unknown } {
  return protectedHeaderOf(base64urlDecodeOrNull(segment));
}

function protectedHeaderOf(bytes: Uint8Array | null): { [k: string]: unknown } {
  if (bytes === null || bytes.length === 0) throw malformed('JWS header is not base64url');
  return parseJsonObject(bytes, 'JWS header');
}

/**
 * Whether the first segment of `token` is a protected header that decodes
 * (decodeProtectedHeader). verifyCompactJws refuses a token whose header does
 * not with ERR_JWT_MALFORMED whatever the options, so a caller may refuse it
 * so before reading any configuration.
 */
export function protectedHeaderDecodes(token: string): boolean {
  const dot = token.indexOf('.');
  try {
    decodeProtectedHeader(dot < 0 ? token : token.substring(0, dot));
    return true;
  } catch (e) {
    return false;
  }
}

export async function verifyCompactJws(token: string, keys: KeySet, options: JwsVerifyOptions): Promise<VerifiedJws> {
  if (typeof token !== 'string') throw malformed('token is not a string');
  if (!(typeof options.maxTokenLength === 'number' && options.maxTokenLength > 0)) {
    throw ljwtError('ERR_CONFIG_INVALID', 'maxTokenLength must be a positive number');
  }
  if (token.length > options.maxTokenLength) throw malformed('token longer than ' + options.maxTokenLength);

  const parts = token.split('.');
  if (parts.length !== 3) throw malformed('compact JWS must have three segments');
  const h = parts[0];
  const p = parts[1];
  const s = parts[2];
  if (h.length === 0 || s.length === 0) throw malformed('empty JWS header or signature');
  // Each segment decoded once: the canonical check is the decoding (lib/base64url.ts).
  const headerBytes = base64urlDecodeOrNull(h);
  const payload = base64urlDecodeOrNull(p);
  const sig = base64urlDecodeOrNull(s);
  if (headerBytes === null || payload === null || sig === null) throw malformed('JWS segment is not canonical base64url');

  const header = protectedHeaderOf(headerBytes);
  const alg = header.alg;
  if (typeof alg !== 'string' || alg.length === 0) throw ljwtError('ERR_JWS_INVALID', 'JWS header lacks a string "alg"');
  // RFC 8725 §3.1/§3.2: unsecured JWS is never acceptable, however it is spelled.
  if (alg.toLowerCase() === 'none') throw ljwtError('ERR_JOSE_ALG_NOT_ALLOWED', 'alg "none" is not allowed');
  if (!Array.isArray(options.algorithms) || options.algorithms.indexOf(alg) < 0) {
    throw ljwtError('ERR_JOSE_ALG_NOT_ALLOWED', 'alg is not in the allow-list');
  }
  const spec = algorithmSpec(alg);
  if (spec === null) throw ljwtError('ERR_JOSE_NOT_SUPPORTED', 'alg is not supported');
  // RFC 7515 §4.1.11: extensions listed in crit must be understood; we understand none.
  if (has(header, 'crit')) throw ljwtError('ERR_JWS_INVALID', 'JWS "crit" header is not supported');
  // RFC 7797 unencoded payloads are not supported.
  if (has(header, 'b64')) throw ljwtError('ERR_JWS_INVALID', 'JWS "b64" header is not supported');
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== 'string') throw ljwtError('ERR_JWS_INVALID', 'JWS "kid" must be a string');
  if (header.typ !== undefined && typeof header.typ !== 'string') throw ljwtError('ERR_JWS_INVALID', 'JWS "typ" must be a string');

  if (keys === null || typeof keys !== 'object' || !Array.isArray(keys.keys)) throw ljwtError('ERR_CONFIG_INVALID', 'no key set');
  const candidates: VerificationKey[] = [];
  for (let i = 0; i < keys.keys.length; i++) {
    const k = keys.keys[i];
    if (k.kty !== spec.kty) continue;
    if (spec.crv !== undefined && k.crv !== spec.crv) continue;
    if (k.format !== (k.kty === 'oct' ? 'raw' : 'spki')) continue;
    if (k.alg !== undefined && k.alg !== alg) continue;
    if (kid !== undefined && k.kid !== undefined && k.kid !== kid) continue;
    if (k.kty === 'oct' && k.der.length < spec.hashBytes) continue; // RFC 7518 §3.2
    candidates.push(k);
  }
  if (candidates.length === 0) throw ljwtError('ERR_JWKS_NO_MATCHING_KEY', 'no configured key fits the token');

  if (spec.sigLength !== 0) {
    // RFC 7518 §3.4: ECDSA signatures are R||S of fixed size (a DER signature
    // makes some runtimes throw). r = 0 or s = 0 is never valid (CVE-2022-21449).
    if (sig.length !== spec.sigLength) throw signatureFailed();
    if (spec.kty === 'EC') {
      const half = spec.sigLength / 2;
      if (allZero(sig, 0, half) || allZero(sig, half, sig.length)) throw signatureFailed();
    }
  }

  const data = signingInput(h, p);
  let importError: unknown = null;
  let attempted = false;
  for (let i = 0; i < candidates.length; i++) {
    let cryptoKey: VerifyKey;
    try {
      cryptoKey = await importVerifyKey(candidates[i], alg);
    } catch (e) {
      if (importError === null) importError = e;
      continue;
    }
    attempted = true;
    let ok = false;
    try {
      ok = await crypto.subtle.verify(spec.verifyParams, cryptoKey, sig, data);
    } catch (e) {
      ok = false; // runtimes throw on malformed signatures; that is just "invalid"
    }
    if (ok === true) {
      const result: VerifiedJws = { header: header, payload: payload, alg: alg, key: candidates[i] };
      if (kid !== undefined) result.kid = kid as string;
      return result;
    }
  }
  if (!attempted && importError !== null) throw importError;
  throw signatureFailed();
}
