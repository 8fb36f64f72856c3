// The two js_set handlers of the nginx-native decision cache, for runtimes
// without shared dicts (njs 0.7.x): nginx's own proxy_cache stores the
// validator's allow answers (nginx/http-decision-cache.conf,
// server-decision-cache.conf, protect-cached.conf).
//
//  - decisionCacheKey, in the auth subrequest of a protected location: the
//    proxy_cache key, a SHA-256 over the location's $ljwt_* settings, the key
//    files' identity and the WHOLE token. nginx writes the key into every
//    cache file, so it must never hold a usable token. "" = do not use the
//    cache for this request; "-" = configuration error (answer 500).
//  - decisionLifetime, in the validating server behind the cache: the
//    X-Accel-Expires seconds of an allowed request, bounded like the
//    shared-dict cache (cache/decision-entry.ts) and kept 2 s short of that
//    bound, because nginx stores whole seconds and serves an entry until the
//    end of its last second.

import fs from 'fs';
import { EDGE_VARIABLES, keyFilePaths, parseEdgeConfig } from '../config.ts';
import { cookiesWithoutToken, extractToken } from '../http/token.ts';
import { entryExpiry } from '../cache/decision-entry.ts';
import { base64urlDecodeOrNull } from '../lib/base64url.ts';
import { parseJsonObject } from '../lib/json.ts';
import { trimOws } from '../lib/text.ts';
import { revocationZone } from './revocation-store.ts';
import { createContext, messageOf, staticCapabilities, type EdgeContext } from './context.ts';

/** Changes whenever what a cached answer means changes: old entries are then never found. */
const KEY_VERSION = 'ljwt-decision-nginx-1';

/** decisionCacheKey's answer for a configuration error (server-decision-cache.conf answers 500). */
export const CONFIG_ERROR_KEY = '-';

/** Seconds cut from every lifetime: nginx serves an entry until the end of second now + n. */
const LIFETIME_MARGIN_SECONDS = 2;

// A replaced or edited key file (a removed key!) gets another stamp, so a
// decision reached with the old keys is never found again. Null: cannot tell,
// do not cache.
function fileStamp(path: string): string | null {
  try {
    const st = fs.statSync(path) as unknown as { mtimeMs: number; size: number; ino: number; ctimeMs?: number };
    return path + '@' + st.ino + ':' + st.size + ':' + st.mtimeMs + ':' + (st.ctimeMs === undefined ? '' : st.ctimeMs);
  } catch (e) {
    return null;
  }
}

function settingsText(values: { [name: string]: string }): string {
  let out = '';
  for (let i = 0; i < EDGE_VARIABLES.length; i++) {
    const v = values[EDGE_VARIABLES[i]];
    out += (v === undefined ? '' : v) + '\n';
  }
  return out;
}

function cookieNameOf(values: { [name: string]: string }): string | null {
  const raw = values.ljwt_cookie === undefined ? '' : trimOws(values.ljwt_cookie);
  return raw === '' ? null : raw;
}

// The site gets the client's cookies without the token cookie, on a cache hit
// as on a miss: the validating server's own value never reaches this request.
function keepUpstreamCookie(ctx: EdgeContext, cookies: string | undefined, cookieName: string | null): void {
  if (cookies === undefined) return;
  ctx.setOutputBytes('ljwt_upstream_cookie', cookieName === null ? cookies : cookiesWithoutToken(cookies, cookieName));
}

async function cacheKey(ctx: EdgeContext): Promise<string> {
  let values: { [name: string]: string };
  try {
    values = ctx.configValues();
  } catch (e) {
    ctx.error('configuration error, answering 500: ' + messageOf(e));
    return CONFIG_ERROR_KEY;
  }
  // The validating server answers with fixed headers only; a claim output
  // would be lost on every request, so the location is refused outright.
  if (values.ljwt_claim_map !== undefined && trimOws(values.ljwt_claim_map) !== '') {
    ctx.error('configuration error, answering 500: $ljwt_claim_map is not supported with protect-cached.conf ' +
      '(use protect.conf)');
    return CONFIG_ERROR_KEY;
  }
  const cookies = ctx.cookieHeader();
  const cookieName = cookieNameOf(values);
  keepUpstreamCookie(ctx, cookies, cookieName);

  if (values.ljwt_cache_max_age !== undefined && trimOws(values.ljwt_cache_max_age) === '0') return '';
  // Where the service can revoke tokens at this nginx (njs >= 0.8 with
  // http-shared.conf), a stored answer would outlive a revocation: every
  // request goes to the validator, which checks revocation (and has its own
  // shared-dict cache).
  if (revocationZone() !== null) return '';

  const found = extractToken(ctx.header('Authorization'), cookies, cookieName);
  // No token or a malformed one: the validator answers 401 with the right code.
  if (found === null || 'error' in found) return '';
  const paths = keyFilePaths(values);
  let stamps = '';
  for (let i = 0; i < paths.length; i++) {
    const s = fileStamp(paths[i]);
    if (s === null) return '';
    stamps += s + '\n';
  }
  const digest = await crypto.subtle.digest('SHA-256',
    Buffer.from(KEY_VERSION + '\n' + settingsText(values) + stamps + found.token));
  return Buffer.from(digest).toString('base64url');
}

/** js_set $ljwt_decision_key (nginx/http-decision-cache.conf). */
export async function decisionCacheKey(r: NginxHTTPRequest): Promise<void> {
  const ctx = createContext(r);
  let key = '';
  try {
    key = await cacheKey(ctx);
  } catch (e) {
    // Not cached, not refused here: the validator still decides.
    ctx.error('decision cache key failed, not caching: ' + messageOf(e));
    key = '';
  }
  r.setReturnValue(key);
}

function lifetime(ctx: EdgeContext): string {
  const now = Date.now() / 1000;
  const cfg = parseEdgeConfig(ctx.configValues(), staticCapabilities());
  const found = extractToken(ctx.header('Authorization'), ctx.cookieHeader(), cfg.cookieName);
  if (found === null || 'error' in found) return '';
  const parts = found.token.split('.');
  if (parts.length !== 3) return '';
  const payload = base64urlDecodeOrNull(parts[1]);
  if (payload === null) return '';
  const until = entryExpiry(parseJsonObject(payload, 'JWT Claims Set'), now, cfg.validate.leewaySeconds, cfg.cacheMaxAge);
  if (until === null) return '';
  const seconds = Math.floor(until - now) - LIFETIME_MARGIN_SECONDS;
  return seconds >= 1 ? String(seconds) : '';
}

/**
 * js_set $ljwt_decision_lifetime, read only for a 204 (the map in
 * http-decision-cache.conf): the validator has just allowed this very token
 * with these very settings. "" = do not cache.
 */
export function decisionLifetime(r: NginxHTTPRequest): string {
  const ctx = createContext(r);
  try {
    return lifetime(ctx);
  } catch (e) {
    ctx.error('decision lifetime failed, not caching: ' + messageOf(e));
    return '';
  }
}
