// The nginx-native decision cache's lifetime of an allowed answer
// (nginx/http-decision-cache.conf): the X-Accel-Expires seconds sent by the
// validating server, bounded like the shared-dict cache
// (cache/decision-entry.ts) and kept 2 s short of that bound, because nginx
// stores whole seconds and serves an entry until the end of its last second.
// Run only on a miss, so it is in the ljwt-full.js bundle.

import { parseEdgeConfig } from '../config.ts';
import { extractToken } from '../http/token.ts';
import { entryExpiry } from '../cache/decision-entry.ts';
import { base64urlDecodeOrNull } from '../lib/base64url.ts';
import { parseJsonObject } from '../lib/json.ts';
import { createContext, messageOf, staticCapabilities, type EdgeContext } from './context.ts';
import { settingsMap } from './settings-by-name.ts';

/** Seconds cut from every lifetime: nginx serves an entry until the end of second now + n. */
const LIFETIME_MARGIN_SECONDS = 2;

function lifetime(ctx: EdgeContext): string {
  const now = Date.now() / 1000;
  const cfg = parseEdgeConfig(settingsMap(ctx.settings()), staticCapabilities());
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
