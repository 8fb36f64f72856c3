// Where the access token comes from: `Authorization: Bearer` (RFC 6750 §2.1),
// else a cookie (browsers, which cannot add an Authorization header to a
// navigation). Anything ambiguous is malformed rather than guessed at.

import { matchesWhole, trimOws } from '../lib/text.ts';
import { isBase64url } from '../lib/base64url.ts';


// Cookie chunks for tokens larger than one cookie (browsers cap a cookie at
// about 4096 bytes): the login flow writes `<name>.0`, `<name>.1`, ... and the
// token is their concatenation in index order.
export const MAX_COOKIE_CHUNKS = 8;

export type TokenResult = { token: string; source: 'header' | 'cookie' } | null | { error: 'ERR_JWT_MALFORMED' };

const MALFORMED: { error: 'ERR_JWT_MALFORMED' } = { error: 'ERR_JWT_MALFORMED' };

/**
 * RFC 6265 §5.4 cookie-string: `name=value` pairs separated by ';' (optional
 * spaces). Returns every value per name, in order, so duplicates are visible.
 * A value in double quotes (§4.1.1 cookie-value) is unquoted.
 */
export function parseCookies(header: string): { [name: string]: string[] } {
  const out: { [name: string]: string[] } = {};
  const pairs = header.split(';');
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i];
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const name = trimOws(p.substring(0, eq));
    let value = trimOws(p.substring(eq + 1));
    if (name === '') continue;
    if (value.length >= 2 && value.charAt(0) === '"' && value.charAt(value.length - 1) === '"') {
      value = value.substring(1, value.length - 1);
    }
    if (!Object.prototype.hasOwnProperty.call(out, name)) out[name] = [];
    out[name].push(value);
  }
  return out;
}

// One unanchored scan instead of anchored captures: on every runtime a regex
// pass over a kilobyte-sized token costs microseconds, and this runs on every request.
const NOT_B64TOKEN_CHAR = /[^A-Za-z0-9\-._~+\/=]/;
const NOT_PADDING = /[^=]/;

/** RFC 6750 §2.1 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". */
function isB64Token(t: string): boolean {
  if (t === '' || NOT_B64TOKEN_CHAR.test(t)) return false;
  const eq = t.indexOf('=');
  return eq < 0 || (eq > 0 && !NOT_PADDING.test(t.substring(eq)));
}

const BEARER_PREFIX = 'Bearer ';

function fromHeader(h: string, checkChars: boolean): TokenResult {
  // The common form, "Bearer <token>" with one space and nothing after the
  // token, gives what the general parse below gives for it, without its
  // per-character loops (this runs on every request).
  const last = h.charAt(h.length - 1);
  if (h.length > BEARER_PREFIX.length && h.substring(0, BEARER_PREFIX.length) === BEARER_PREFIX &&
    h.charAt(BEARER_PREFIX.length) !== ' ' && last !== ' ' && last !== '\t') {
    const t = h.substring(BEARER_PREFIX.length);
    if (checkChars && !isB64Token(t)) return MALFORMED;
    return { token: t, source: 'header' };
  }
  const s = trimOws(h);
  if (s === '') return null;
  // The scheme ends at the first space or tab; a CR or LF anywhere makes the header malformed, not absent.
  let end = 0;
  while (end < s.length && s.charAt(end) !== ' ' && s.charAt(end) !== '\t') end++;
  // Another scheme (Basic, Negotiate, ...) carries no bearer token for us.
  if (s.substring(0, end).toLowerCase() !== 'bearer') return null;
  let start = end;
  while (start < s.length && s.charAt(start) === ' ') start++;
  if (start === end) return MALFORMED;
  const token = s.substring(start);
  if (checkChars ? !isB64Token(token) : token === '') return MALFORMED;
  return { token: token, source: 'header' };
}

function fromCookies(cookieHeader: string, cookieName: string, checkChars: boolean): TokenResult {
  const jar = parseCookies(cookieHeader);
  const has = (k: string) => Object.prototype.hasOwnProperty.call(jar, k);
  // Indexes of the `<name>.<n>` chunk cookies present.
  const prefix = cookieName + '.';
  const names = Object.keys(jar);
  const chunks: number[] = [];
  for (let i = 0; i < names.length; i++) {
    const k = names[i];
    if (k.indexOf(prefix) === 0 && matchesWhole(/^(0|[1-9][0-9]*)$/, k.substring(prefix.length))) {
      chunks.push(parseInt(k.substring(prefix.length), 10));
    }
  }
  let token: string;
  if (has(cookieName)) {
    // Two cookies of one name (e.g. a subdomain planting its own, "cookie
    // tossing") leave no way to tell which is genuine. Nor do both forms at
    // once: the login flow expires the form it does not write, so a plain
    // cookie next to chunks (or chunks next to it) was planted.
    if (jar[cookieName].length !== 1 || chunks.length > 0) return MALFORMED;
    token = jar[cookieName][0];
  } else {
    token = '';
    let count = 0;
    while (count < MAX_COOKIE_CHUNKS && has(cookieName + '.' + count)) {
      const v = jar[cookieName + '.' + count];
      if (v.length !== 1 || v[0] === '') return MALFORMED;
      token += v[0];
      count++;
    }
    // Chunks beyond the maximum or after a gap mean a tampered or stale set.
    for (let i = 0; i < chunks.length; i++) if (chunks[i] >= count) return MALFORMED;
    if (count === 0) return null;
  }
  // An emptied cookie (a logout) is no token.
  if (token === '') return null;
  if (checkChars && !isB64Token(token)) return MALFORMED;
  return { token: token, source: 'cookie' };
}

/**
 * True for the cookies that carry the token: `<name>` and every `<name>.<digits>`
 * (the chunks, also ones extractToken would refuse, such as `<name>.9` or
 * `<name>.01`: whatever a client sends under these names stays at the edge).
 * Cookie names compare case-sensitively (RFC 6265 §5.3 step 11 stores them as given).
 */
export function isTokenCookieName(name: string, cookieName: string): boolean {
  if (name === cookieName) return true;
  const prefix = cookieName + '.';
  return name.length > prefix.length && name.indexOf(prefix) === 0 &&
    matchesWhole(/^[0-9]+$/, name.substring(prefix.length));
}

/**
 * The Cookie header for the upstream: `cookieHeader` without the token
 * cookie(s), so the protected site never holds a bearer token it could replay
 * (RFC 6750 §5.3: bearer tokens must not leak). The other pairs keep their
 * order and bytes and are joined with "; " (RFC 6265 §4.2.1); a header
 * without any token cookie is returned unchanged. Names are read exactly as
 * parseCookies reads them, so every cookie extractToken could take a token
 * from is removed. "" = send no Cookie header.
 */
export function cookiesWithoutToken(cookieHeader: string, cookieName: string): string {
  const pairs = cookieHeader.split(';');
  const kept: string[] = [];
  let removed = false;
  for (let i = 0; i < pairs.length; i++) {
    const p = trimOws(pairs[i]);
    const eq = p.indexOf('=');
    if (eq >= 0 && isTokenCookieName(trimOws(p.substring(0, eq)), cookieName)) {
      removed = true;
      continue;
    }
    if (p !== '') kept.push(p);
  }
  return removed ? kept.join('; ') : cookieHeader;
}

/**
 * The token of a request. The Authorization header wins; a Bearer header that
 * is not exactly `Bearer <b64token>` is malformed (no fall back to the
 * cookie); another scheme counts as no header. null = no token at all.
 * `checkChars` false leaves the character check to the caller (the validator
 * looks a token up in its decision cache first, where only the exact bytes of
 * a verified token can hit, and checks isCompactJwsShape on a miss).
 */
export function extractToken(
  authorizationHeader: string | undefined,
  cookieHeader: string | undefined,
  cookieName: string | null,
  checkChars?: boolean,
): TokenResult {
  const check = checkChars !== false;
  if (authorizationHeader !== undefined && authorizationHeader !== '') {
    const r = fromHeader(authorizationHeader, check);
    if (r !== null) return r;
  }
  if (cookieName === null || cookieName === '' || cookieHeader === undefined || cookieHeader === '') return null;
  return fromCookies(cookieHeader, cookieName, check);
}

/**
 * Whether a token can be a compact JWS at all (RFC 7515 §7.1): three
 * canonical base64url segments (RFC 7515 §2), header and signature not
 * empty. A token that fails is refused without reading the configuration,
 * with the code jws/verify.ts gives it (ERR_JWT_MALFORMED); one that passes
 * is checked in full there (JSON, signature).
 */
export function isCompactJwsShape(token: string): boolean {
  if (!hasThreeSegments(token)) return false;
  const parts = token.split('.');
  return isBase64url(parts[0]) && isBase64url(parts[1]) && isBase64url(parts[2]);
}

/** The part of isCompactJwsShape that reads no character but the dots: three segments, header and signature not empty. */
export function hasThreeSegments(token: string): boolean {
  const a = token.indexOf('.');
  if (a <= 0) return false;
  const b = token.indexOf('.', a + 1);
  return b >= 0 && b !== token.length - 1 && token.indexOf('.', b + 1) < 0;
}

/**
 * The part of hasThreeSegments that reads only the token's ends: a non-empty
 * header segment, a non-empty signature segment and a dot between them.
 * Enough before a cache lookup: only verified tokens are stored, so a token
 * with more segments cannot hit, and after the miss it is refused
 * (refusal.ts). The middle is the payload, the longest part, and a scan costs
 * the njs engine about 10 ns per character (measured).
 */
export function hasOuterSegments(token: string): boolean {
  const a = token.indexOf('.');
  const c = token.lastIndexOf('.');
  return a > 0 && c > a && c !== token.length - 1;
}

/**
 * What the upstream gets as Authorization: nothing when the header carried
 * the bearer token (RFC 6750 §5.3: a bearer token in the upstream's hands can
 * be replayed) unless the location passes it on; another scheme (Basic, ...)
 * is no token of ours and passes unchanged. "" = send no Authorization header.
 */
export function upstreamAuthorization(authorizationHeader: string | undefined, pass: boolean): string {
  if (authorizationHeader === undefined) return '';
  if (pass) return authorizationHeader;
  return fromHeader(authorizationHeader, false) === null ? authorizationHeader : '';
}
