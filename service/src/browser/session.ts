// The service as the browser's relying party ("backend for frontend"). nginx
// proxies <prefix>/ of the protected site (e.g. /_auth/) to the service, so the
// session cookies are first-party cookies of the site itself, and no token is
// ever visible to page scripts (HttpOnly). The code exchange happens inside
// the service, with PKCE S256 (RFC 7636) and a state bound to the browser.
//
//   GET <prefix>/login?rd=/x     -> 303 <issuer>/authorize?…&state&code_challenge
//   GET <prefix>/callback?code&state -> cookies, 303 /x
//   GET <prefix>/refresh?rd=/x   -> rotated cookies, 303 /x (or 303 login)
//   GET|POST <prefix>/logout     -> oauth/logout.ts (revokes, clears all cookies)
//
// nginx's $ljwt_login_url points at <prefix>/refresh, not at login: browser
// navigations without a valid access token always try the refresh cookie first
// (it is scoped to <prefix>/, so nginx cannot see it elsewhere), and refresh
// falls through to login when there is none. API and XHR requests keep
// getting the edge's 401.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OAuthClientConfig } from '../config/types.ts';
import { serializeCookie } from '../http/cookies.ts';
import { ServiceError, serviceError } from '../http/errors.ts';
import { singleValued } from '../http/request.ts';
import { escapeHtml, messagePage, redirect, sendHtml } from '../http/respond.ts';
import type { ServiceContext } from '../oauth/context.ts';
import type { TokenResponse } from '../oauth/issue.ts';
import { s256 } from '../oauth/pkce.ts';
import { randomToken } from '../oauth/secrets.ts';
import { authorizationCode, refreshToken } from '../oauth/token.ts';
import {
  accessTokenCookies, clearSessionCookies, expiredCookie, MAX_CHUNKS, CHUNK_SIZE, MAX_PENDING_LOGINS, pendingLoginCookie,
  pendingLoginNames, pendingLoginValue, readPendingLogin, readSingle, refreshTokenCookie, TokenTooLargeError, type BrowserCookieSettings,
} from './cookies.ts';
import { safeReturnPath } from './return-path.ts';

/** A pending login lives as long as a login form (the user types the password in between). */
const PENDING_TTL_SECONDS = 900;
/** More refreshes than this for one session within the window means the site keeps refusing fresh tokens. */
const LOOP_LIMIT = 20;
const LOOP_WINDOW_SECONDS = 30;

export interface BrowserSettings extends BrowserCookieSettings {
  client: OAuthClientConfig;
  /** <issuer>/callback: the redirect_uri registered for the client. */
  callbackUrl: string;
}

/**
 * Browser endpoints are enabled when both cookie names are configured, the
 * issuer has a path prefix (the refresh cookie is scoped to it; without one it
 * would reach the upstream) and a client registers `<issuer>/callback` with
 * the authorization_code grant.
 */
export function browserSettings(ctx: ServiceContext): BrowserSettings | null {
  const access = ctx.tuning.accessTokenCookie;
  const refresh = ctx.tuning.refreshTokenCookie;
  if (!access || !refresh) return null;
  const issuer = ctx.config.issuer.replace(/\/+$/, '');
  const prefix = new URL(issuer).pathname.replace(/\/+$/, '');
  if (prefix === '') return null;
  const callbackUrl = `${issuer}/callback`;
  const client = ctx.config.clients.find((c) => c.redirectUris.includes(callbackUrl) && c.grantTypes.includes('authorization_code'));
  if (client === undefined) return null;
  return { access, refresh, prefix, client, callbackUrl };
}

/**
 * Secure cookies when the site is served over https: the issuer says so, or a
 * trusted proxy (service/trustedProxies) forwarded an https request.
 */
function isSecure(ctx: ServiceContext, req: IncomingMessage): boolean {
  if (ctx.config.issuer.startsWith('https://')) return true;
  const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const proto = req.headers['x-forwarded-proto'];
  const trusted = peer !== '' && ctx.trustedProxies.check(peer, peer.includes(':') ? 'ipv6' : 'ipv4');
  return trusted && typeof proto === 'string' && proto.split(',')[0]!.trim().toLowerCase() === 'https';
}

function params(url: URL): Map<string, string> | null {
  try {
    return singleValued(url.searchParams);
  } catch (e) {
    if (e instanceof ServiceError) return null;
    throw e;
  }
}

function loginUrl(s: BrowserSettings, rd: string): string {
  return `${s.prefix}/login?rd=${encodeURIComponent(rd)}`;
}

function failurePage(res: ServerResponse, s: BrowserSettings, status: number, title: string, message: string, rd: string, headers: Record<string, string | string[]> = {}): void {
  const page = messagePage(title, message).replace('</main>', `  <p><a href="${escapeHtml(loginUrl(s, rd))}">Sign in again</a></p>\n</main>`);
  sendHtml(res, status, page, headers as Record<string, string>);
}

/**
 * The tokens of a grant, or undefined after answering its refusal: a retryable one (no group
 * snapshot yet) gets a 503 page with the service's Retry-After and the cookies untouched;
 * any other goes to `refused`.
 */
async function tokensOf(res: ServerResponse, s: BrowserSettings, rd: string, grant: () => Promise<TokenResponse>,
  refused: (e: ServiceError) => void): Promise<TokenResponse | undefined> {
  try {
    return await grant();
  } catch (caught) {
    const e = serviceError(caught);
    if (e.oauthError !== 'temporarily_unavailable') refused(e);
    else failurePage(res, s, 503, 'Sign-in not available yet', 'The service is still loading group memberships from the directory. Please try again in a few seconds.', rd, e.headers);
    return undefined;
  }
}

function sessionCookies(ctx: ServiceContext, req: IncomingMessage, s: BrowserSettings, tokens: TokenResponse): string[] {
  const secure = isSecure(ctx, req);
  const out = accessTokenCookies(req, s, tokens.access_token, ctx.config.accessTokenTtlSeconds, secure);
  if (tokens.refresh_token !== undefined) out.push(refreshTokenCookie(s, tokens.refresh_token, ctx.config.refreshTokenTtlSeconds, secure));
  return out;
}

/**
 * GET <prefix>/login?rd=: starts the authorization code flow. The state's own cookie
 * (cookies.ts, pending logins) carries the PKCE verifier and rd: this anonymous,
 * unthrottled endpoint writes nothing to the store.
 */
export async function browserLogin(ctx: ServiceContext, s: BrowserSettings, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const p = params(url);
  const rd = safeReturnPath(p?.get('rd'));
  const secure = isSecure(ctx, req);
  const state = randomToken();
  const verifier = randomBytes(32).toString('base64url');
  const older = pendingLoginNames(req, s);
  const cookies = older.slice(0, Math.max(0, older.length - MAX_PENDING_LOGINS + 1)).map((n) => expiredCookie(n, `${s.prefix}/`, secure));
  cookies.push(serializeCookie(pendingLoginCookie(s, state)!, pendingLoginValue(verifier, rd),
    { path: `${s.prefix}/`, secure, sameSite: 'Lax', maxAgeSeconds: PENDING_TTL_SECONDS }));
  const headers: Record<string, string | string[]> = { 'Set-Cookie': cookies };
  const authorize = new URL(`${ctx.config.issuer.replace(/\/+$/, '')}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: s.client.clientId,
    redirect_uri: s.callbackUrl,
    scope: s.client.scopes.join(' '),
    state,
    code_challenge: s256(verifier),
    code_challenge_method: 'S256',
  }).toString();
  redirect(res, authorize.toString(), headers as Record<string, string>);
}

/**
 * GET <prefix>/callback?code&state: the state must name a login started in this browser
 * (its cookie), which every answer from here on expires: the state is single-use, and
 * a reload of the callback URL stops here instead of replaying the code.
 */
export async function browserCallback(ctx: ServiceContext, s: BrowserSettings, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const p = params(url);
  const state = p?.get('state');
  const pending = p !== null && state !== undefined ? readPendingLogin(req, s, state) : null;
  if (p === null || pending === null) {
    // Unknown, expired or replayed state, or a code injected into another browser (login CSRF, RFC 6749 §10.12).
    ctx.logger.warn('browser_callback_rejected', { reason: 'unknown_state' });
    failurePage(res, s, 400, 'Sign-in failed', 'The sign-in request expired or did not start in this browser.', '/');
    return;
  }
  const rd = safeReturnPath(pending.rd);
  const spent = expiredCookie(pending.name, `${s.prefix}/`, isSecure(ctx, req));
  // RFC 9207 §2.4: our server advertises authorization_response_iss_parameter_supported, so a
  // response without iss, or naming another issuer, is refused (mix-up attacks).
  if (p.get('iss') !== ctx.config.issuer) {
    failurePage(res, s, 400, 'Sign-in failed', 'The sign-in response came from an unexpected issuer.', rd, { 'Set-Cookie': [spent] });
    return;
  }
  const error = p.get('error');
  const code = p.get('code');
  if (error !== undefined || code === undefined) {
    failurePage(res, s, 400, 'Sign-in failed', error === 'access_denied' ? 'Access was denied.' : 'The sign-in did not complete.', rd,
      { 'Set-Cookie': [spent] });
    return;
  }
  const tokens = await tokensOf(res, s, rd, () => authorizationCode(ctx, s.client, new Map([
    ['code', code], ['redirect_uri', s.callbackUrl], ['code_verifier', pending.verifier],
  ]), { idToken: false }), (e) => {
    ctx.logger.warn('browser_code_exchange_failed', { error_code: e.oauthError });
    failurePage(res, s, 400, 'Sign-in failed', 'The sign-in code was invalid or already used.', rd, { 'Set-Cookie': [spent] });
  });
  if (tokens === undefined) return;
  await sendSession(ctx, s, req, res, tokens, rd, undefined, [spent]);
}

/**
 * 303 to rd with the session cookies. A token too large for MAX_CHUNKS cookies (a user in
 * several hundred of the configured groups) ends on a page that says so, never in a loop.
 */
async function sendSession(ctx: ServiceContext, s: BrowserSettings, req: IncomingMessage, res: ServerResponse, tokens: TokenResponse, rd: string,
  page?: { status: number; title: string; message: string }, extraCookies: string[] = []): Promise<void> {
  let cookies: string[];
  try {
    cookies = sessionCookies(ctx, req, s, tokens).concat(extraCookies);
  } catch (e) {
    if (!(e instanceof TokenTooLargeError)) throw e;
    ctx.logger.error('browser_token_too_large', { bytes: e.bytes, limit: MAX_CHUNKS * CHUNK_SIZE });
    // The browser never receives these tokens: end their session instead of leaving it live in the store.
    const sid = sidOf(tokens.access_token);
    if (sid !== null) await ctx.revocations.revokeFamily(sid);
    failurePage(res, s, 500, 'Sign-in failed',
      'Your account is a member of too many of the configured groups to sign in with a browser. Please contact the administrator.', rd,
      { 'Set-Cookie': clearSessionCookies(s, isSecure(ctx, req)).concat(extraCookies) });
    return;
  }
  if (page !== undefined) failurePage(res, s, page.status, page.title, page.message, rd, { 'Set-Cookie': cookies });
  else redirect(res, rd, { 'Set-Cookie': cookies } as unknown as Record<string, string>);
}

function sidOf(accessToken: string): string | null {
  try {
    const claims = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid?: unknown };
    return typeof claims.sid === 'string' ? claims.sid : null;
  } catch {
    return null;
  }
}

/**
 * GET <prefix>/refresh?rd=: rotates the refresh cookie and sets a new access
 * token. Concurrent refreshes from several tabs present the same refresh token;
 * the service's reuse grace (refreshReuseGraceSeconds) answers them all with the
 * same successor, so none of them ends the session. Without a usable refresh
 * cookie the browser continues to login.
 */
export async function browserRefresh(ctx: ServiceContext, s: BrowserSettings, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const p = params(url);
  const rd = safeReturnPath(p?.get('rd'));
  const token = readSingle(req, s.refresh);
  if (token === null) {
    redirect(res, loginUrl(s, rd));
    return;
  }
  // A retryable refusal spends nothing (the refresh token is checked before rotation): the cookies stay.
  const tokens = await tokensOf(res, s, rd, () => refreshToken(ctx, s.client, new Map([['refresh_token', token]]), { idToken: false }), (e) => {
    ctx.logger.info('browser_refresh_failed', { error_code: e.oauthError });
    // The refresh cookie is dead (expired, revoked or reused outside the grace): drop it and log in.
    redirect(res, loginUrl(s, rd), { 'Set-Cookie': clearSessionCookies(s, isSecure(ctx, req)) } as unknown as Record<string, string>);
  });
  if (tokens === undefined) return;
  const sid = sidOf(tokens.access_token);
  // A site that refuses every fresh token (e.g. an nginx issuer/audience that does not match the
  // service) would send the browser around refresh -> site -> refresh forever. Counted are
  // rotations, not requests: tabs restored at once all present the same token and share one
  // successor within the reuse grace, which is one step of a loop, not thirty.
  const rotation = tokens.refresh_token === undefined ? false
    : await ctx.store.setIfAbsent(`bffloopseen:${createHash('sha256').update(tokens.refresh_token).digest('base64url')}`, '1', LOOP_WINDOW_SECONDS);
  if (sid !== null && rotation) {
    const n = await ctx.store.incr(`bffloop:${createHash('sha256').update(sid).digest('base64url')}`, LOOP_WINDOW_SECONDS);
    if (n.count > LOOP_LIMIT) {
      ctx.logger.error('browser_refresh_loop', { count: n.count });
      await sendSession(ctx, s, req, res, tokens, rd,
        { status: 500, title: 'Sign-in loop', message: 'This site keeps refusing the sign-in. Please contact the administrator.' });
      return;
    }
  }
  await sendSession(ctx, s, req, res, tokens, rd);
}
