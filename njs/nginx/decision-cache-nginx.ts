// The two js_set handlers of the nginx-native decision cache, for runtimes
// without shared dicts (njs 0.7.x): nginx's own proxy_cache stores the
// validator's allow answers (nginx/http-decision-cache.conf,
// server-decision-cache.conf, protect-cached.conf).
//
//  - decisionCacheKey, in the auth subrequest of a protected location: the
//    proxy_cache key, a SHA-256 over the location's $ljwt_* settings, the key
//    files' identity and the WHOLE token. nginx writes the key into every
//    cache file, so it must never hold a usable token. "" = do not use the cache
//    for this request; "-" = configuration error (answer 500).
//  - decisionRedirect, read only for a refused request: the login redirect
//    of a browser navigation (the validating server behind the cache does not
//    see the client's method and URL).
// decisionLifetime, run only on a miss, is in decision-lifetime-nginx.ts
// (the ljwt-full.js bundle).

import fs from 'fs';
import { keyFilePaths } from '../config.ts';
import { CACHE_MAX_AGE, CLAIM_MAP, COOKIE, JWKS_FILE, LOGIN_URL, PASS_AUTHORIZATION, PEM_FILES, REALM, RETURN_PARAM,
  SETTING_COUNT } from '../setting-positions.ts';
import { cookiesWithoutToken, extractToken, upstreamAuthorization } from '../http/token.ts';
import { loginRedirectUrl } from '../http/challenge.ts';
import { responseSettings } from '../http/response-settings.ts';
import { trimOws } from '../lib/text.ts';
import { revocationZone } from './revocation-store.ts';
import { createContext, isBrowserRequest, messageOf, oneLine } from './context.ts';

/** Changes whenever what a cached answer means changes: old entries are then never found. */
const KEY_VERSION = 'ljwt-decision-nginx-1';

/** decisionCacheKey's answer for a configuration error (server-decision-cache.conf answers 500). */
export const CONFIG_ERROR_KEY = '-';

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

// A setting's trimmed value in the snapshot (setting-positions.ts).
function at(parts: string[], index: number): string {
  return trimOws(parts[index]);
}

// The site gets the client's cookies without the token cookie, on a cache hit
// as on a miss: the validating server's own value never reaches this request.
function keepUpstreamCookie(r: NginxHTTPRequest, cookieName: string | null): string | undefined {
  if ((r.variables as unknown as { http_cookie?: string }).http_cookie === undefined) return undefined;
  const ctx = createContext(r);
  const cookies = ctx.cookieHeader();
  if (cookies !== undefined) {
    ctx.setOutputBytes('ljwt_upstream_cookie', cookieName === null ? cookies : cookiesWithoutToken(cookies, cookieName));
  }
  return cookies;
}

// No bearer Authorization header for the site (unless
// $ljwt_pass_authorization is on), on a cache hit as on a miss: RFC 6750 §5.3.
function keepUpstreamAuthorization(r: NginxHTTPRequest, authorization: string | undefined, pass: boolean): void {
  if (authorization !== undefined) createContext(r).setOutput('ljwt_upstream_authorization', upstreamAuthorization(authorization, pass));
}

// Logs why the location's settings cannot be used; the caller answers 500.
function configError(r: NginxHTTPRequest, why: string): string {
  const ctx = createContext(r);
  let msg = why;
  try {
    ctx.settings(); // names the variable that differs, when one does
  } catch (e) {
    msg = messageOf(e);
  }
  ctx.error('configuration error, answering 500: ' + msg);
  return CONFIG_ERROR_KEY;
}

// The token as the validator takes it, for the key. The usual spelling,
// "Bearer <token>", is cut without the b64token check: the key only has to
// be the same for the same token and differ for a different one (the header
// follows from the key text), and a malformed token is refused and never
// stored. Any other spelling goes through extractToken, which also finds the
// token cookie. null: no token, or a malformed one (the validator answers).
const BEARER_PREFIX = 'Bearer ';

function keyToken(authorization: string | undefined, cookies: string | undefined, cookieName: string | null): string | null {
  if (authorization !== undefined && authorization.length > BEARER_PREFIX.length &&
    authorization.substring(0, BEARER_PREFIX.length) === BEARER_PREFIX &&
    authorization.charAt(BEARER_PREFIX.length) !== ' ') {
    return authorization.substring(BEARER_PREFIX.length);
  }
  const found = extractToken(authorization, cookies, cookieName);
  return found === null || 'error' in found ? null : found.token;
}

// Runs on every request, hit or miss: only what the key needs. The settings
// are the snapshot protect-cached.conf took, used as one string; the
// subrequest's own snapshot (server-decision-cache.conf) must be the same.
// The text to hash, or { key } when the answer is already known.
function keyText(r: NginxHTTPRequest): { text: string } | { key: string } {
  const vars = r.variables as unknown as { [name: string]: string | undefined };
  const snap = vars.ljwt_location_settings;
  if (snap === undefined || snap === '') {
    return { key: configError(r, 'no settings snapshot: include protect-cached.conf in the location') };
  }
  if (vars.ljwt_subrequest_settings !== snap) {
    return { key: configError(r, '$ljwt_subrequest_settings differs from $ljwt_location_settings') };
  }
  const parts = snap.split('\n');
  if (parts.length !== SETTING_COUNT) {
    return { key: configError(r, 'protect-cached.conf does not match this ljwt.js (' + parts.length +
      ' settings, expected ' + SETTING_COUNT + ')') };
  }
  // The validating server answers with fixed headers only; a claim output
  // would be lost on every request, so the location is refused outright.
  if (at(parts, CLAIM_MAP) !== '') {
    return { key: configError(r, '$ljwt_claim_map is not supported with protect-cached.conf (use protect.conf)') };
  }
  const rawCookie = at(parts, COOKIE);
  const cookieName = rawCookie === '' ? null : rawCookie;
  const cookies = keepUpstreamCookie(r, cookieName);
  const authorization = (r.headersIn as unknown as { [name: string]: string | undefined }).Authorization;
  keepUpstreamAuthorization(r, authorization, at(parts, PASS_AUTHORIZATION) === 'on');

  if (at(parts, CACHE_MAX_AGE) === '0') return { key: '' };
  // Where the service can revoke tokens at this nginx (njs >= 0.8 with
  // http-shared.conf), a stored answer would outlive a revocation: every
  // request goes to the validator, which checks revocation (and has its own
  // shared-dict cache).
  if (revocationZone() !== null) return { key: '' };

  const token = keyToken(authorization, cookies, cookieName);
  if (token === null) return { key: '' };
  const paths = keyFilePaths({ ljwt_jwks_file: parts[JWKS_FILE],
    ljwt_pem_files: parts[PEM_FILES] });
  let stamps = '';
  for (let i = 0; i < paths.length; i++) {
    const s = fileStamp(paths[i]);
    if (s === null) return { key: '' };
    stamps += s + '\n';
  }
  return { text: KEY_VERSION + '\n' + snap + '\n' + stamps + token };
}

interface HashModule { createHash(alg: string): { update(data: string): { digest(enc: string): string } } }

// SHA-256 without a promise where the runtime allows: the njs engine's
// `crypto` module, looked up at run time (an `import` of it breaks `nginx -t`
// on njs 0.9.7, and QuickJS has no `require`). null: use crypto.subtle.
function syncSha256(text: string): string | null {
  const req = (globalThis as unknown as { require?: (name: string) => unknown }).require;
  if (typeof req !== 'function') return null;
  try {
    return (req('crypto') as HashModule).createHash('sha256').update(text).digest('base64url');
  } catch (e) {
    return null;
  }
}

function keyFailed(r: NginxHTTPRequest, e: unknown): string {
  // Not cached, not refused here: the validator still decides.
  r.error('ljwt: decision cache key failed, not caching: ' + oneLine(messageOf(e)));
  return answer(r, '');
}

// Both ways of giving a js_set value: njs 0.7.x takes r.setReturnValue() from
// an async handler, njs >= 0.8 the returned (or resolved) value, which then
// must not be undefined.
function answer(r: NginxHTTPRequest, key: string): string {
  r.setReturnValue(key);
  return key;
}

/** js_set $ljwt_decision_key (nginx/http-decision-cache.conf). */
export function decisionCacheKey(r: NginxHTTPRequest): string | Promise<string> {
  let k: { text: string } | { key: string };
  try {
    k = keyText(r);
  } catch (e) {
    return keyFailed(r, e);
  }
  if ('key' in k) return answer(r, k.key);
  const sync = syncSha256(k.text);
  if (sync !== null) return answer(r, sync);
  return subtleKey(r, k.text);
}

// QuickJS (no `require`): crypto.subtle, awaited (its digest() result is not
// always a promise with .then: measured on njs 1.0.2).
async function subtleKey(r: NginxHTTPRequest, text: string): Promise<string> {
  try {
    const d = await crypto.subtle.digest('SHA-256', Buffer.from(text));
    return answer(r, Buffer.from(d).toString('base64url'));
  } catch (e) {
    return keyFailed(r, e);
  }
}

/**
 * js_set $ljwt_decision_redirect, read (through a map in
 * http-decision-cache.conf) only when the validating server refused the
 * token: the login URL with the original URL for a browser navigation with
 * $ljwt_login_url set, else "" (the API client gets the 401 challenge).
 * Evaluated in the auth subrequest, which sees the client's method, URL and
 * headers.
 */
export function decisionRedirect(r: NginxHTTPRequest): string {
  const ctx = createContext(r);
  try {
    const parts = String(ctx.variable('ljwt_location_settings') || '').split('\n');
    if (parts.length !== SETTING_COUNT) return answer(r, '');
    const s = responseSettings(parts[REALM], parts[LOGIN_URL],
      parts[RETURN_PARAM]);
    if (s === null || s.loginUrl === null) return answer(r, '');
    const browser = isBrowserRequest(ctx);
    return answer(r, browser ? loginRedirectUrl(s.loginUrl, s.returnParam, ctx.requestUri()) : '');
  } catch (e) {
    ctx.error('login redirect failed, answering 401: ' + messageOf(e));
    return answer(r, '');
  }
}

export default { decisionCacheKey: decisionCacheKey, decisionRedirect: decisionRedirect };
