// A cached access decision: the outputs of a request that was allowed (the
// identity header values and the revocation keys of its token) and until
// when that decision may be reused. The cache key (nginx/decision-cache.ts) is
// a hash of every $ljwt_* setting of the location, the key files' identity
// and the WHOLE token: a token that differs in any byte, a tampered
// signature included, never finds an entry, and a location with another
// policy never finds another location's entry. A hit skips the key import,
// the signature and claims checks, the policy and the header encoding;
// revocation is still checked on every request (njs/revocation/).

/** Upper bound of $ljwt_cache_max_age: an entry never outlives this. */
export const MAX_CACHE_AGE_SECONDS = 3600;

export interface Decision {
  user: string;
  groupDns: string;
  oids: string;
  /** $ljwt_claim_<name> outputs of $ljwt_claim_map, by variable name. */
  extra: { [varName: string]: string };
  /** revocationKeys(claims): looked up in the revocation zone on every hit. */
  revocationKeys: string[];
}

/**
 * Until when (epoch seconds) a decision reached at `now` may be reused: never
 * past the moment validation itself would refuse the token as expired
 * (exp + leeway, jwt/claims.ts), never longer than `maxAgeSeconds`. Null when
 * the decision must not be cached at all.
 */
export function entryExpiry(claims: { [k: string]: unknown }, now: number, leewaySeconds: number,
  maxAgeSeconds: number): number | null {
  if (!(maxAgeSeconds > 0)) return null;
  const exp = claims.exp;
  if (typeof exp !== 'number' || !isFinite(exp)) return null; // exp is always required; such a token was never valid
  const until = Math.min(exp + leewaySeconds, now + Math.min(maxAgeSeconds, MAX_CACHE_AGE_SECONDS));
  return until > now ? until : null;
}

/**
 * The key files a decision was reached with (nginx/decision-cache.ts
 * keyFileStamps: path, inode, size and times of each) and when that was last
 * confirmed: a hit re-examines the files once KEY_FILE_CHECK_SECONDS have
 * passed, so a key file that changed stops every decision reached before.
 */
export interface KeyFilesSeen {
  stamps: string;
  checkedAt: number;
}

/** How long a hit trusts the key files' identity before it stats them again. */
export const KEY_FILE_CHECK_SECONDS = 1;

export interface CachedDecision {
  decision: Decision;
  expiresAt: number;
  keyFiles: KeyFilesSeen;
}

export function encodeEntry(expiresAt: number, d: Decision, keyFiles: KeyFilesSeen): string {
  return String(expiresAt) + '\n' + String(keyFiles.checkedAt) + '\n' + keyFiles.stamps + '\n' +
    JSON.stringify([d.user, d.groupDns, d.oids, d.extra, d.revocationKeys]);
}

function isStringMap(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as { [k: string]: unknown };
  const names = Object.keys(o);
  for (let i = 0; i < names.length; i++) if (typeof o[names[i]] !== 'string') return false;
  return true;
}

function isStringList(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') return false;
  return true;
}

/**
 * The cached decision, or null when the entry is expired at `now` or is not
 * an entry this module wrote: anything unexpected is a miss, never a hit.
 */
export function decodeEntry(text: unknown, now: number): CachedDecision | null {
  if (typeof text !== 'string') return null;
  const parts = text.split('\n');
  if (parts.length !== 4 || parts[0] === '' || parts[1] === '') return null;
  const expiresAt = Number(parts[0]);
  if (!isFinite(expiresAt) || !(now < expiresAt) || expiresAt > now + MAX_CACHE_AGE_SECONDS) return null;
  const checkedAt = Number(parts[1]);
  if (!isFinite(checkedAt)) return null;
  let v: unknown;
  try {
    v = JSON.parse(parts[3]);
  } catch (e) {
    return null;
  }
  if (!Array.isArray(v) || v.length !== 5) return null;
  if (typeof v[0] !== 'string' || v[0] === '' || typeof v[1] !== 'string' || typeof v[2] !== 'string' ||
    !isStringMap(v[3]) || !isStringList(v[4])) return null;
  return {
    decision: { user: v[0], groupDns: v[1], oids: v[2], extra: v[3], revocationKeys: v[4] },
    expiresAt: expiresAt,
    keyFiles: { stamps: parts[2], checkedAt: checkedAt },
  };
}
