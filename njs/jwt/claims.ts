// JWT claim checks (RFC 7519 §4.1, §7.2) run only on a verified payload.

import { ljwtError } from '../lib/errors.ts';
import { parseJsonObject } from '../lib/json.ts';

export interface ClaimsOptions {
  /** Token iss must equal one; [] = not checked. */
  issuers: string[];
  /** Token aud (string or array) must contain one; [] = not checked. */
  audiences: string[];
  leewaySeconds: number;
  /** Required JOSE typ, e.g. 'at+jwt' (RFC 9068 §4: case-insensitive, optional 'application/' prefix); null = not checked. */
  requiredTyp: string | null;
  /** Claims that must be present and not null. */
  requiredClaims: string[];
  /** Seconds since the epoch. */
  now: number;
}

export type Claims = { [k: string]: unknown };

function own(o: Claims, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, name) ? o[name] : undefined;
}

function claimFailed(claim: string, msg: string) {
  return ljwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', msg, claim);
}

/** JWT Claims Set octets -> JSON object (RFC 7519 §7.2 steps 9-10). */
export function decodeClaims(payload: Uint8Array): Claims {
  return parseJsonObject(payload, 'JWT payload');
}

// RFC 7515 §4.1.9: "application/" may be omitted from typ; RFC 9068 §4 compares
// at+jwt case-insensitively.
function normalizeTyp(t: string): string {
  const l = t.toLowerCase();
  return l.indexOf('application/') === 0 ? l.substring(12) : l;
}

function numericDate(claims: Claims, name: string): number | undefined {
  const v = own(claims, name);
  if (v === undefined) return undefined;
  // RFC 7519 §2 NumericDate; 1e999 parses to Infinity and is refused too.
  if (typeof v !== 'number' || !isFinite(v)) throw claimFailed(name, '"' + name + '" must be a NumericDate');
  return v;
}

export function validateClaims(header: { [k: string]: unknown }, claims: Claims, options: ClaimsOptions): void {
  if (options.requiredTyp !== null) {
    const typ = header.typ;
    if (typeof typ !== 'string' || normalizeTyp(typ) !== normalizeTyp(options.requiredTyp)) {
      throw claimFailed('typ', 'unexpected JOSE "typ"');
    }
  }

  for (let i = 0; i < options.requiredClaims.length; i++) {
    const name = options.requiredClaims[i];
    const v = own(claims, name);
    if (v === undefined || v === null) throw claimFailed(name, 'missing required claim "' + name + '"');
  }

  const now = options.now;
  const leeway = options.leewaySeconds;
  const exp = numericDate(claims, 'exp');
  const nbf = numericDate(claims, 'nbf');
  const iat = numericDate(claims, 'iat');
  // RFC 7519 §4.1.4: the current time MUST be before exp.
  if (exp !== undefined && exp <= now - leeway) throw ljwtError('ERR_JWT_EXPIRED', 'token expired', 'exp');
  // RFC 7519 §4.1.5: the current time MUST be at or after nbf.
  if (nbf !== undefined && nbf > now + leeway) throw ljwtError('ERR_JWT_NOT_YET_VALID', 'token not yet valid', 'nbf');
  // A token issued in the future is a clock or forgery problem (RFC 9068 §4 iat).
  if (iat !== undefined && iat > now + leeway) throw ljwtError('ERR_JWT_NOT_YET_VALID', 'token issued in the future', 'iat');

  const iss = own(claims, 'iss');
  if (iss !== undefined && typeof iss !== 'string') throw claimFailed('iss', '"iss" must be a string');
  if (options.issuers.length > 0 && (typeof iss !== 'string' || options.issuers.indexOf(iss) < 0)) {
    throw claimFailed('iss', 'unexpected "iss"');
  }

  // RFC 7519 §4.1.3: a string or an array of strings.
  const aud = own(claims, 'aud');
  let auds: unknown[] = [];
  if (typeof aud === 'string') auds = [aud];
  else if (Array.isArray(aud)) auds = aud;
  else if (aud !== undefined) throw claimFailed('aud', '"aud" must be a string or an array of strings');
  for (let i = 0; i < auds.length; i++) {
    if (typeof auds[i] !== 'string') throw claimFailed('aud', '"aud" must be a string or an array of strings');
  }
  if (options.audiences.length > 0) {
    let found = false;
    for (let i = 0; i < auds.length && !found; i++) found = options.audiences.indexOf(auds[i] as string) >= 0;
    if (!found) throw claimFailed('aud', 'unexpected "aud"');
  }

  const sub = own(claims, 'sub');
  if (sub !== undefined && typeof sub !== 'string') throw claimFailed('sub', '"sub" must be a string');
}
