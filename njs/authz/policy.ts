// Per-location authorization on an already validated token. Every rule
// present must hold (AND); an empty policy admits any authenticated user.
// Anything of an unexpected type in the token simply fails to satisfy a rule:
// a policy decision never fails open.

import { tryNormalizeDn } from './dn.ts';
import { claimAt } from '../identity/headers.ts';

export interface ClaimRequirement {
  name: string; // claim name or '.'-path, resolved like $ljwt_claim_map
  value: string;
}

export interface LocationPolicy {
  anyGroups: string[]; // normalized DNs (normalizeDn); the user needs one
  allGroups: string[]; // normalized DNs; the user needs every one
  scopes: string[]; // every one required
  claims: ClaimRequirement[]; // every one required
}

export type PolicyResult =
  | { allowed: true }
  | { allowed: false; reason: 'group' | 'scope' | 'claim'; detail: string };

export function emptyPolicy(): LocationPolicy {
  return { anyGroups: [], allGroups: [], scopes: [], claims: [] };
}

/** The token's group DNs (claim `dns`), normalized; unparseable entries are dropped, a non-array means none. */
export function tokenGroups(claims: { [k: string]: unknown }): string[] {
  const v = Object.prototype.hasOwnProperty.call(claims, 'dns') ? claims.dns : undefined;
  const out: string[] = [];
  if (!Array.isArray(v)) return out;
  for (let i = 0; i < v.length; i++) {
    const n = tryNormalizeDn(v[i]);
    if (n !== null) out.push(n);
  }
  return out;
}

function splitScopes(s: string): string[] {
  const parts = s.split(' ');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) if (parts[i] !== '') out.push(parts[i]);
  return out;
}

/**
 * The token's scopes. `scope` is a space-delimited string (RFC 8693 §4.2,
 * RFC 9068 §2.2.3); when it is absent, `scp` is used: an array of strings
 * (Okta and others) or a space-delimited string (Microsoft Entra ID). When
 * `scope` is present `scp` is ignored, so a token cannot widen its scope
 * set by carrying both.
 */
export function tokenScopes(claims: { [k: string]: unknown }): string[] {
  const has = (k: string) => Object.prototype.hasOwnProperty.call(claims, k);
  const v = has('scope') ? claims.scope : has('scp') ? claims.scp : undefined;
  if (typeof v === 'string') return splitScopes(v);
  const out: string[] = [];
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (typeof v[i] === 'string') out.push(v[i]);
  }
  return out;
}

// Strings compare exactly; numbers and booleans by their JSON text (so
// `admin=true` matches the boolean true and the string "true" alike).
function scalarMatches(v: unknown, want: string): boolean {
  if (typeof v === 'string') return v === want;
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v) === want;
  return false;
}

export function claimMatches(v: unknown, want: string): boolean {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (scalarMatches(v[i], want)) return true;
    return false;
  }
  return scalarMatches(v, want);
}

export function evaluatePolicy(policy: LocationPolicy, claims: { [k: string]: unknown }): PolicyResult {
  if (policy.anyGroups.length > 0 || policy.allGroups.length > 0) {
    const groups = tokenGroups(claims);
    if (policy.anyGroups.length > 0) {
      let found = false;
      for (let i = 0; i < policy.anyGroups.length && !found; i++) {
        if (groups.indexOf(policy.anyGroups[i]) >= 0) found = true;
      }
      if (!found) {
        return { allowed: false, reason: 'group', detail: 'member of none of: ' + policy.anyGroups.join(' | ') };
      }
    }
    for (let i = 0; i < policy.allGroups.length; i++) {
      if (groups.indexOf(policy.allGroups[i]) < 0) {
        return { allowed: false, reason: 'group', detail: 'not a member of: ' + policy.allGroups[i] };
      }
    }
  }
  if (policy.scopes.length > 0) {
    const scopes = tokenScopes(claims);
    for (let i = 0; i < policy.scopes.length; i++) {
      if (scopes.indexOf(policy.scopes[i]) < 0) {
        return { allowed: false, reason: 'scope', detail: 'missing scope: ' + policy.scopes[i] };
      }
    }
  }
  for (let i = 0; i < policy.claims.length; i++) {
    const c = policy.claims[i];
    if (!claimMatches(claimAt(claims, c.name), c.value)) {
      return { allowed: false, reason: 'claim', detail: 'claim ' + c.name + ' is not ' + c.value };
    }
  }
  return { allowed: true };
}
