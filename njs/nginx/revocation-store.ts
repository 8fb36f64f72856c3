// The one place that touches the revocation shared dict (js_shared_dict_zone
// ljwt_revoked, njs >= 0.8; per-entry timeouts need 0.8.5). Entries are
// written by the revoke handler (revoke.ts) and read by the validator.

import { REVOCATION_ZONE, coversUntil, entryTimeoutMs, type RevocationEntry } from '../revocation/entries.ts';

// njs-types 0.7.12 predates ngx.shared: the members used here, as njs 1.0.2 has them (measured).
interface SharedDict {
  /** The value, or undefined when absent or expired. */
  get(key: string): string | number | undefined;
  has(key: string): boolean;
  /** Throws SharedMemoryError when the zone is full (no `evict`); returns the dict. */
  set(key: string, value: string, timeoutMs?: number): unknown;
}

/**
 * The revocation zone, or null when the feature is not there: a runtime
 * without ngx.shared (njs < 0.8, e.g. Debian bookworm's 0.7.9) or an nginx
 * whose http block does not declare the zone (nginx/http-shared.conf).
 */
export function revocationZone(): SharedDict | null {
  // `ngx` is always there inside nginx; the njs CLI and Node tests have none.
  if (typeof ngx === 'undefined') return null;
  const shared = (ngx as unknown as { shared?: { [name: string]: SharedDict | undefined } | null }).shared;
  if (shared === undefined || shared === null) return null;
  const zone = shared[REVOCATION_ZONE];
  return zone === undefined || zone === null ? null : zone;
}

/**
 * The first of `keys` (revocationKeys(claims): "sid:…", "jti:…"; a cached
 * decision keeps them) that is revoked, or null when none is. null also when
 * the zone is absent (the feature is not configured: nothing can have been
 * revoked at this nginx). A failing dict lookup THROWS: the caller must
 * refuse the token, never treat an unanswered question as "not revoked".
 */
export function firstRevoked(keys: string[]): string | null {
  const zone = revocationZone();
  if (zone === null) return null;
  for (let i = 0; i < keys.length; i++) {
    if (zone.has(keys[i])) return keys[i];
  }
  return null;
}

/**
 * Writes checked entries (parseRevocationBody). The value is the entry's
 * `until`, so an entry already stored with a later `until` is kept as it is:
 * a delayed retry must not shorten a revocation. Throws when a set() fails
 * (zone full): entries written before stay, the caller answers 503 and the
 * sender retries the whole push. Returns how many were written.
 */
export function storeRevocations(zone: SharedDict, entries: RevocationEntry[], nowMs: number): number {
  let written = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (coversUntil(zone.get(e.key), e.until)) continue;
    zone.set(e.key, String(e.until), entryTimeoutMs(e.until, nowMs));
    written++;
  }
  return written;
}
