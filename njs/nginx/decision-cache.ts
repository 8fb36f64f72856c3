// Where cached access decisions (njs/cache/decision-entry.ts) live:
//  - the js_shared_dict_zone `ljwt_decisions` (njs >= 0.8, both engines), one
//    cache for all workers, when nginx/http-shared.conf is included;
//  - otherwise, on QuickJS, a bounded cache in module scope (each reused
//    context has its own); on the njs engine without the zone there is no
//    cache: every request starts in a fresh VM (njs 0.7.x cannot share state).
// A cache failure of any kind is a miss: the request then takes the full path.

import fs from 'fs';
import { createMemoryCache, type MemoryCache } from '../cache/memory-cache.ts';
import { decodeEntry, encodeEntry, type Decision } from '../cache/decision-entry.ts';

export const DECISION_ZONE = 'ljwt_decisions';

// QuickJS keeps this between requests of the same context.
let moduleCache: MemoryCache | null = null;
const MODULE_CACHE_ENTRIES = 256;
const MODULE_CACHE_BYTES = 512 * 1024;

interface SharedDict {
  get(key: string): string | number | undefined;
  set(key: string, value: string, timeoutMs?: number): unknown;
}

function sharedZone(): SharedDict | null {
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
  get(key: string, now: number): Decision | null;
  put(key: string, decision: Decision, now: number, until: number): void;
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
      put: function (key: string, decision: Decision, now: number, until: number) {
        try {
          // The per-entry timeout (njs >= 0.8.5) frees the memory at expiry; the
          // expiry stored in the value is what decides, whatever the zone does.
          zone.set(key, encodeEntry(until, decision), Math.ceil((until - now) * 1000));
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
    put: function (key: string, decision: Decision, now: number, until: number) {
      mem.set(key, encodeEntry(until, decision), until);
    },
  };
}

/**
 * The identity of a key file as the cache key sees it: a replaced or edited
 * file (a removed key!) changes it, so decisions reached with the old keys
 * are never used again. Null when the file cannot be examined (then no
 * caching; the full path reports the problem).
 */
function fileStamp(path: string): string | null {
  try {
    const st = fs.statSync(path) as unknown as { mtimeMs: number; size: number; ino: number; ctimeMs?: number };
    return path + '@' + st.ino + ':' + st.size + ':' + st.mtimeMs + ':' + (st.ctimeMs === undefined ? '' : st.ctimeMs);
  } catch (e) {
    return null;
  }
}

/**
 * The cache key: SHA-256 over the location's raw $ljwt_* values (every input
 * of the decision), the key files' identity and the whole token. Base64url
 * so it is a safe dict key; a hash so shared memory never holds a usable
 * bearer token. Null: do not cache this request. crypto.subtle, not the
 * `crypto` module: that module breaks `nginx -t` on njs 0.9.7 and is missing
 * from QuickJS before njs 0.8.10.
 */
export async function decisionKey(settings: string, keyFiles: string[], token: string): Promise<string | null> {
  let stamps = '';
  for (let i = 0; i < keyFiles.length; i++) {
    const s = fileStamp(keyFiles[i]);
    if (s === null) return null;
    stamps += s + '\n';
  }
  const digest = await crypto.subtle.digest('SHA-256', Buffer.from(settings + '\n' + stamps + token));
  return Buffer.from(digest).toString('base64url');
}
