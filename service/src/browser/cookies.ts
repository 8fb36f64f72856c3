// The browser session's cookies (service as relying party behind nginx, on the
// protected site's own origin).
//
// - Access token: `<access>` (Path=/) so that nginx sees it on every path of
//   the site. Browsers cap one cookie at 4096 bytes (RFC 6265 §6.1 minimum,
//   which Chromium and Firefox also enforce as the maximum), so a token larger
//   than one chunk is split into `<access>.0` … `<access>.7`, the form the edge
//   validator concatenates (njs/http/token.ts). Whichever form is not used now,
//   and chunks beyond the current count, are expired so that a token that
//   shrinks never leaves stale chunks behind.
// - Refresh token: `<refresh>` with Path=<prefix>/ (e.g. /_auth/): sent only to
//   /_auth/refresh and /_auth/logout, never to the protected upstream.
//   SameSite=Lax, not Strict: a visitor arriving through a link from another
//   site is redirected by nginx to /_auth/refresh, and Chromium treats that
//   redirect chain as cross-site, so a Strict cookie would force a new login.
// - Pending logins: one cookie per started login, `<refresh>_login.<id>` with
//   Path=<prefix>/, where <id> is derived from the state. It holds the PKCE
//   verifier and the return path, so starting a login writes nothing to the
//   shared store (an anonymous GET must not be able to fill it), and only the
//   browser that started a login can complete it (RFC 6749 §10.12, RFC 9700
//   §4.7.1). One cookie per flow, not one per browser: tabs that start at the
//   same moment (a session restore) would otherwise overwrite each other's.
//   The PKCE verifier thus leaves the server, but only in an HttpOnly cookie
//   sent to <prefix>/: whoever can read it can read the session cookies too,
//   and PKCE still defeats a code leaked on its own (logs, history).
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { cookieValues, serializeCookie } from '../http/cookies.ts';
import { MAX_COOKIE_CHUNKS } from '#njs/http/token.ts';

/** As many chunks as the edge validator (and /auth/validate, /logout) reads. */
export const MAX_CHUNKS = MAX_COOKIE_CHUNKS;
/**
 * Value bytes per chunk. Name, '=', value and the attributes together stay
 * below 4096 bytes, the limit of RFC 6265 §6.1 as its strictest readers
 * (Safari) apply it; Chromium and Firefox count only name and value.
 */
export const CHUNK_SIZE = 4000;

/** The token does not fit into MAX_CHUNKS cookies (the edge validator reads no more). */
export class TokenTooLargeError extends Error {
  constructor(readonly bytes: number) {
    super(`access token of ${bytes} bytes needs more than ${MAX_CHUNKS} cookies`);
  }
}

export interface BrowserCookieSettings {
  access: string;
  refresh: string;
  /** Public path prefix of the service on the site, without trailing '/', e.g. '/_auth'. */
  prefix: string;
}

/** The single binding cookie of earlier versions: still expired by logout and failed refreshes. */
export function loginBindingCookie(s: BrowserCookieSettings): string {
  return `${s.refresh}_login`;
}

/** At most this many logins pending per browser; starting another expires the oldest. */
export const MAX_PENDING_LOGINS = 8;
const STATE = /^[A-Za-z0-9_-]{43}$/;
const PENDING_VALUE = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{2,2732})$/;

/** `<refresh>_login.<first 128 bits of SHA-256(state)>`; null for a state we never issue. */
export function pendingLoginCookie(s: BrowserCookieSettings, state: string): string | null {
  if (!STATE.test(state)) return null;
  return `${loginBindingCookie(s)}.${createHash('sha256').update(state).digest('base64url').slice(0, 22)}`;
}

export function pendingLoginValue(verifier: string, rd: string): string {
  return `${verifier}.${Buffer.from(rd, 'utf8').toString('base64url')}`;
}

/** The PKCE verifier and return path of the login `state` started in this browser, or null. */
export function readPendingLogin(req: IncomingMessage, s: BrowserCookieSettings, state: string): { name: string; verifier: string; rd: string } | null {
  const name = pendingLoginCookie(s, state);
  if (name === null) return null;
  const m = PENDING_VALUE.exec(readSingle(req, name) ?? '');
  if (m === null) return null;
  return { name, verifier: m[1]!, rd: Buffer.from(m[2]!, 'base64url').toString('utf8') };
}

/** Names of the pending-login cookies the request carries, oldest first (RFC 6265 §5.4 step 2 orders by creation). */
export function pendingLoginNames(req: IncomingMessage, s: BrowserCookieSettings): string[] {
  const prefix = `${loginBindingCookie(s)}.`;
  return [...presentNames(req)].filter((n) => n.startsWith(prefix));
}

export function expiredCookie(name: string, path: string, secure: boolean): string {
  return serializeCookie(name, '', { path, secure, sameSite: 'Lax', maxAgeSeconds: 0 });
}

/** Names of all cookies present in the request (each once). */
function presentNames(req: IncomingMessage): Set<string> {
  const out = new Set<string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.add(part.slice(0, eq).trim());
  }
  return out;
}

export function readSingle(req: IncomingMessage, name: string): string | null {
  const v = cookieValues(req, name);
  return v.length === 1 && v[0] !== '' ? v[0]! : null;
}

/** Set-Cookie values storing `token`, expiring every other access-cookie form the request carried. */
export function accessTokenCookies(req: IncomingMessage, s: BrowserCookieSettings, token: string, maxAgeSeconds: number, secure: boolean): string[] {
  const chunks: string[] = [];
  if (token.length <= CHUNK_SIZE) chunks.push(token);
  else for (let i = 0; i < token.length; i += CHUNK_SIZE) chunks.push(token.slice(i, i + CHUNK_SIZE));
  if (chunks.length > MAX_CHUNKS) throw new TokenTooLargeError(token.length);
  const opts = { path: '/', secure, sameSite: 'Lax' as const, maxAgeSeconds };
  const gone = { path: '/', secure, sameSite: 'Lax' as const, maxAgeSeconds: 0 };
  const present = presentNames(req);
  const out: string[] = [];
  if (chunks.length === 1) {
    out.push(serializeCookie(s.access, token, opts));
    for (let i = 0; i < MAX_CHUNKS; i++) if (present.has(`${s.access}.${i}`)) out.push(serializeCookie(`${s.access}.${i}`, '', gone));
  } else {
    chunks.forEach((c, i) => out.push(serializeCookie(`${s.access}.${i}`, c, opts)));
    if (present.has(s.access)) out.push(serializeCookie(s.access, '', gone));
    for (let i = chunks.length; i < MAX_CHUNKS; i++) if (present.has(`${s.access}.${i}`)) out.push(serializeCookie(`${s.access}.${i}`, '', gone));
  }
  return out;
}

export function refreshTokenCookie(s: BrowserCookieSettings, token: string, maxAgeSeconds: number, secure: boolean): string {
  return serializeCookie(s.refresh, token, { path: `${s.prefix}/`, secure, sameSite: 'Lax', maxAgeSeconds });
}

/**
 * Expires every session cookie: both access forms (all chunks), the refresh cookie and the
 * login binding; with `req`, also the pending logins it carries (logout, not a failed refresh:
 * a login pending in another tab must survive a dead refresh cookie).
 */
export function clearSessionCookies(s: BrowserCookieSettings, secure: boolean, req?: IncomingMessage): string[] {
  const out = [expiredCookie(s.access, '/', secure)];
  for (let i = 0; i < MAX_CHUNKS; i++) out.push(expiredCookie(`${s.access}.${i}`, '/', secure));
  out.push(expiredCookie(s.refresh, `${s.prefix}/`, secure), expiredCookie(loginBindingCookie(s), `${s.prefix}/`, secure));
  if (req !== undefined) for (const n of pendingLoginNames(req, s)) out.push(expiredCookie(n, `${s.prefix}/`, secure));
  return out;
}
