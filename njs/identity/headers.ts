// Validated claims -> identity values for the upstream request headers
// (X-Authenticated-User, X-Authenticated-Group-DNs, X-Authenticated-OIDs and
// the operator's $ljwt_claim_map). Every returned value is already encoded
// by encode.ts, so nothing here can inject CR/LF or a second header.

import { ljwtError } from '../lib/errors.ts';
import { encodeHeaderList, encodeHeaderValue } from './encode.ts';

export interface ClaimMapping {
  varName: string; // nginx variable name without '$', e.g. 'ljwt_claim_email'
  claimPath: string; // claim name, or a '.'-separated path into nested objects
}

export interface IdentityOptions {
  userClaim: string;
  claimMap: ClaimMapping[];
}

export interface Identity {
  user: string;
  groupDns: string;
  oids: string;
  extra: { [varName: string]: string };
}

function own(o: unknown, k: string): boolean {
  return typeof o === 'object' && o !== null && !Array.isArray(o) &&
    Object.prototype.hasOwnProperty.call(o, k);
}

/**
 * The claim at `path`: an exact top-level member wins (claim names such as
 * `https://example.com/roles` contain dots), otherwise the path is walked
 * through nested objects (`realm_access.roles`). Only own members are seen,
 * so `constructor` or `__proto__` never resolve to inherited values.
 */
export function claimAt(claims: { [k: string]: unknown }, path: string): unknown {
  if (own(claims, path)) return claims[path];
  const parts = path.split('.');
  if (parts.length < 2) return undefined;
  let cur: unknown = claims;
  for (let i = 0; i < parts.length; i++) {
    if (!own(cur, parts[i])) return undefined;
    cur = (cur as { [k: string]: unknown })[parts[i]];
  }
  return cur;
}

function stringList(claims: { [k: string]: unknown }, name: string): string[] {
  const v = claims[name];
  if (v === undefined || !own(claims, name)) return [];
  if (!Array.isArray(v)) {
    throw ljwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'claim "' + name + '" must be an array of strings', name);
  }
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') {
      throw ljwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'claim "' + name + '" must be an array of strings', name);
    }
  }
  return v as string[];
}

/** Encoded header value for a mapped claim; '' (header not sent) when absent or null. */
export function encodeClaimValue(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return encodeHeaderValue(v);
  // String(1e21) is '1e+21': encoded too, so '+' never reaches a header raw.
  if (typeof v === 'number' || typeof v === 'boolean') return encodeHeaderValue(String(v));
  if (Array.isArray(v)) {
    let allStrings = true;
    for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') allStrings = false;
    if (allStrings) return encodeHeaderList(v as string[]);
  }
  return encodeHeaderValue(JSON.stringify(v));
}

export function identityFromClaims(claims: { [k: string]: unknown }, options: IdentityOptions): Identity {
  const user = claimAt(claims, options.userClaim);
  if (typeof user !== 'string' || user === '') {
    throw ljwtError('ERR_JWT_CLAIM_VALIDATION_FAILED',
      'claim "' + options.userClaim + '" must be a non-empty string', options.userClaim);
  }
  const extra: { [varName: string]: string } = {};
  for (let i = 0; i < options.claimMap.length; i++) {
    const m = options.claimMap[i];
    extra[m.varName] = encodeClaimValue(claimAt(claims, m.claimPath));
  }
  return {
    user: encodeHeaderValue(user),
    groupDns: encodeHeaderList(stringList(claims, 'dns')),
    oids: encodeHeaderList(stringList(claims, 'oids')),
    extra: extra,
  };
}
