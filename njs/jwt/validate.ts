// validateJwt: JWS signature first (RFC 7519 §7.2 steps 1-8), then the claims.
// No claim is read before the signature over it has verified.

import { ljwtError } from '../lib/errors.ts';
import type { KeySet } from '../keys/key-set.ts';
import { verifyCompactJws } from '../jws/verify.ts';
import { decodeClaims, validateClaims } from './claims.ts';
import type { ClaimsOptions } from './claims.ts';

export interface ValidateOptions extends ClaimsOptions {
  /** Allow-list, exact case-sensitive match; 'none' is never accepted even if listed. */
  algorithms: string[];
  /** Checked before ANY decoding. */
  maxTokenLength: number;
}

export interface ValidatedToken {
  header: { [k: string]: unknown };
  claims: { [k: string]: unknown };
  kid?: string;
  alg: string;
}

function isStringArray(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
}

function isFiniteNumber(v: unknown): boolean {
  return typeof v === 'number' && isFinite(v);
}

// A misconfiguration must fail closed with a config error, never skip a check.
function checkOptions(o: ValidateOptions): void {
  if (o === null || typeof o !== 'object') throw ljwtError('ERR_CONFIG_INVALID', 'validate options missing');
  if (!isStringArray(o.algorithms)) throw ljwtError('ERR_CONFIG_INVALID', 'algorithms must be an array of strings');
  if (!isFiniteNumber(o.maxTokenLength) || o.maxTokenLength <= 0) throw ljwtError('ERR_CONFIG_INVALID', 'maxTokenLength must be positive');
  if (!isStringArray(o.issuers)) throw ljwtError('ERR_CONFIG_INVALID', 'issuers must be an array of strings');
  if (!isStringArray(o.audiences)) throw ljwtError('ERR_CONFIG_INVALID', 'audiences must be an array of strings');
  if (!isFiniteNumber(o.leewaySeconds) || o.leewaySeconds < 0) throw ljwtError('ERR_CONFIG_INVALID', 'leewaySeconds must be >= 0');
  if (o.requiredTyp !== null && typeof o.requiredTyp !== 'string') throw ljwtError('ERR_CONFIG_INVALID', 'requiredTyp must be a string or null');
  if (!isStringArray(o.requiredClaims)) throw ljwtError('ERR_CONFIG_INVALID', 'requiredClaims must be an array of strings');
  if (!isFiniteNumber(o.now)) throw ljwtError('ERR_CONFIG_INVALID', 'now must be a number');
}

export async function validateJwt(token: string, keys: KeySet, options: ValidateOptions): Promise<ValidatedToken> {
  checkOptions(options);
  const jws = await verifyCompactJws(token, keys, { algorithms: options.algorithms, maxTokenLength: options.maxTokenLength });
  const claims = decodeClaims(jws.payload);
  validateClaims(jws.header, claims, options);
  const result: ValidatedToken = { header: jws.header, claims: claims, alg: jws.alg };
  if (jws.kid !== undefined) result.kid = jws.kid;
  return result;
}
