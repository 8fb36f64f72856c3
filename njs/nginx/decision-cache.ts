// Where cached access decisions (njs/cache/decision-entry.ts) live:
//  - the js_shared_dict_zone `ljwt_decisions` (njs >= 0.8, both engines), one
//    cache for all workers, when nginx/http-shared.conf is included;
//  - otherwise, on QuickJS, a bounded cache in module scope (each reused
//    context has its own); on the njs engine without the zone there is no
//    cache: every request starts in a fresh VM (njs 0.7.x cannot share state).
// A cache failure of any kind is a miss: the request then takes the full path.

import fs from 'fs';
import cryptoModule from 'crypto';
import { createMemoryCache, type MemoryCache } from '../cache/memory-cache.ts';
import { decodeEntry, encodeEntry, type CachedDecision, type Decision, type KeyFilesSeen } from '../cache/decision-entry.ts';

export const DECISION_ZONE = 'ljwt_decisions';

// QuickJS keeps this between requests of the same context.
let moduleCache: MemoryCache | null = null;
const MODULE_CACHE_ENTRIES = 256;
const MODULE_CACHE_BYTES = 512 * 1024;

interface SharedDict {
  get(key: string): string | number | undefined;
  set(key: string, value: string, timeoutMs?: number): unknown;
}

/** The decision zone, or null where there is none (no http-shared.conf, njs < 0.8, the njs CLI, Node). */
export function sharedZone(): SharedDict | null {
  if (typeof ngx === 'undefined') return null; // the njs CLI and Node tests
  const shared = (ngx as unknown as { shared?: { [zone: string]: SharedDict | undefined } | null }).shared;
  if (shared === undefined || shared === null) return null;
  const z = shared[DECISION_ZONE];
  return z === undefined || z === null ? null : z;
}

function engineIsQuickJs(): boolean {
  return (njs as unknown as { engine?: string }).engine === 'QuickJS';
}

export interface DecisionStore {
  get(key: string, now: number): CachedDecision | null;
  put(key: string, decision: Decision, now: number, until: number, keyFiles: KeyFilesSeen): void;
}

/** The store for this runtime and configuration, or null (no cache possible). */
export function decisionStore(): DecisionStore | null {
  const zone = sharedZone();
  if (zone !== null) {
    return {
      get: function (key: string, now: number) {
        let text: string | number | undefined;
        try {
          text = zone.get(key);
        } catch (e) {
          return null;
        }
        return decodeEntry(text, now);
      },
      put: function (key: string, decision: Decision, now: number, until: number, keyFiles: KeyFilesSeen) {
        try {
          // The per-entry timeout (njs >= 0.8.5) frees the memory at expiry; the
          // expiry stored in the value is what decides, whatever the zone does.
          zone.set(key, encodeEntry(until, decision, keyFiles), Math.ceil((until - now) * 1000));
        } catch (e) {
          // A full zone without `evict`, or an entry larger than the zone: just not cached.
        }
      },
    };
  }
  if (!engineIsQuickJs()) return null;
  if (moduleCache === null) moduleCache = createMemoryCache(MODULE_CACHE_ENTRIES, MODULE_CACHE_BYTES);
  const mem = moduleCache;
  return {
    get: function (key: string, now: number) {
      return decodeEntry(mem.get(key, now), now);
    },
    put: function (key: string, decision: Decision, now: number, until: number, keyFiles: KeyFilesSeen) {
      mem.set(key, encodeEntry(until, decision, keyFiles), until);
    },
  };
}

/**
 * The identity of the key files as a cached decision remembers it: a replaced
 * or edited file (a removed key!) changes it. Null when a file cannot be
 * examined (then no caching; the full path reports the problem).
 */
export function keyFileStamps(paths: string[]): string | null {
  let out = '';
  for (let i = 0; i < paths.length; i++) {
    try {
      const st = fs.statSync(paths[i]) as unknown as { mtimeMs: number; size: number; ino: number; ctimeMs?: number };
      out += paths[i] + '@' + st.ino + ':' + st.size + ':' + st.mtimeMs + ':' + (st.ctimeMs === undefined ? '' : st.ctimeMs) + ' ';
    } catch (e) {
      return null;
    }
  }
  return out;
}

interface HashModule { createHash(alg: string): { update(s: string): { digest(enc: string): string } } }

/**
 * The cache key: SHA-256 (hex) over the location's raw settings snapshot
 * (every input of the decision) and the whole token, so a token that differs
 * in any byte (header, payload or signature) never finds another's entry, and
 * shared memory never holds a usable bearer token. The key files' identity is
 * kept in the entry (keyFileStamps).
 *
 * njs's `crypto` module hashes synchronously on both engines (QuickJS has it
 * from njs 0.8.10, the first version whose QuickJS nginx supports). Measured
 * on a cache hit with QuickJS (njs 1.0.2): about 20 µs less per request than
 * crypto.subtle.digest. njs 0.9.7 alone cannot load the module (fixed in 0.9.8).
 */
export function decisionKey(settings: string, token: string): string {
  return sha256Hex(settings + '\n' + token);
}

/** SHA-256 of `text` (UTF-8), lowercase hex, synchronously (see decisionKey). */
export function sha256Hex(text: string): string {
  return (cryptoModule as unknown as HashModule).createHash('sha256').update(text).digest('hex');
}
