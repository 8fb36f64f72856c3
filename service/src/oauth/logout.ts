import type { IncomingMessage, ServerResponse } from 'node:http';
import { cookieValues, serializeCookie } from '../http/cookies.ts';
import { sendError, ServiceError, serviceError } from '../http/errors.ts';
import { mediaType, readForm, singleValued } from '../http/request.ts';
import { messagePage, redirect, sendHtml } from '../http/respond.ts';
import type { ServiceContext } from './context.ts';
import { browserSettings } from '../browser/session.ts';
import { clearSessionCookies } from '../browser/cookies.ts';
import { extractToken } from '#njs/http/token.ts';
import { verifyIdTokenHint, type IdTokenHint } from '../tokens/id-token-hint.ts';

const SIGN_OUT_FAILED = { page: 'Sign-out failed' };

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), by GET or POST (§2). Ends the
 * sessions named by the id_token_hint (its sid), by a refresh token (POST body or cookie) and
 * by the access token cookie: each refresh family is revoked, which refuses its refresh and
 * access tokens here and, pushed to nginx, at the edge. Clears the session cookies, and ends
 * on post_logout_redirect_uri only if it is registered for the client named by client_id or
 * by the hint's aud; otherwise on the configured logout page.
 */
export async function logoutEndpoint(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  let params: Map<string, string>;
  try {
    params = req.method === 'POST' && mediaType(req) === 'application/x-www-form-urlencoded'
      ? await readForm(req, ctx.tuning.maxBodyBytes)
      : singleValued(url.searchParams);
  } catch (e) {
    sendError(res, serviceError(e), SIGN_OUT_FAILED);
    return;
  }
  // §2: the hint must be an ID token we issued, and a client_id given with it must be its audience.
  const clientId = params.get('client_id');
  const hintToken = params.get('id_token_hint');
  let hint: IdTokenHint | null = null;
  if (hintToken !== undefined) {
    try {
      hint = await verifyIdTokenHint(ctx.keys, ctx.config.issuer, hintToken);
    } catch (e) {
      ctx.logger.warn('logout_hint_refused', { code: (e as { code?: string }).code ?? 'ERR_JWT_MALFORMED' });
      sendError(res, new ServiceError('invalid_request', 'The sign-out request names a session this service did not issue.'), SIGN_OUT_FAILED);
      return;
    }
    if (clientId !== undefined && !hint.audiences.includes(clientId)) {
      ctx.logger.warn('logout_hint_refused', { code: 'client_id_mismatch', client_id: clientId });
      sendError(res, new ServiceError('invalid_request', 'The sign-out request names another application than its ID token.'), SIGN_OUT_FAILED);
      return;
    }
  }
  const families = new Set<string>();
  if (hint !== null) families.add(hint.sid);
  // A refresh token is a secret: accepted from a POST body or a cookie, never from the URL.
  const refreshTokens = [
    ...(req.method === 'POST' && params.has('refresh_token') ? [params.get('refresh_token')!] : []),
    ...(ctx.tuning.refreshTokenCookie ? cookieValues(req, ctx.tuning.refreshTokenCookie) : []),
  ];
  for (const t of refreshTokens) {
    const grant = await ctx.refreshTokens.find(t);
    if (grant !== null) families.add(grant.familyId);
  }
  const browser = browserSettings(ctx);
  if (ctx.tuning.accessTokenCookie) {
    // Read as the edge and /auth/validate read it: the plain cookie or the chunks <name>.0 … .7
    // (browser/cookies.ts); duplicates or both forms at once are malformed and name no session.
    // Only the cookie: an Authorization header is no proof of a browser session to end.
    const extracted = extractToken(undefined, req.headers.cookie, ctx.tuning.accessTokenCookie);
    if (extracted !== null && !('error' in extracted)) {
      try {
        const sid = (await ctx.verifier.verify(extracted.token, ctx.now())).claims.sid;
        if (typeof sid === 'string') families.add(sid);
      } catch {
        // An invalid or expired access token names no session to end.
      }
    }
  }
  for (const f of families) await ctx.revocations.revokeFamily(f);
  if (families.size > 0) ctx.logger.info('logout', { families: families.size });

  const secure = ctx.config.issuer.startsWith('https://');
  const clear = browser !== null ? clearSessionCookies(browser, secure, req) : [ctx.tuning.accessTokenCookie, ctx.tuning.refreshTokenCookie]
    .filter((n): n is string => !!n)
    .map((n) => serializeCookie(n, '', { path: '/', secure, sameSite: 'Lax', maxAgeSeconds: 0 }));
  const headers: Record<string, string | string[]> = clear.length ? { 'Set-Cookie': clear } : {};

  const target = params.get('post_logout_redirect_uri');
  const namedClient = clientId ?? (hint !== null && hint.audiences.length === 1 ? hint.audiences[0] : undefined);
  const client = namedClient !== undefined ? ctx.config.clients.find((c) => c.clientId === namedClient) : undefined;
  if (target !== undefined && client !== undefined && client.postLogoutRedirectUris.includes(target)) {
    const u = new URL(target);
    const state = params.get('state');
    if (state !== undefined) u.searchParams.set('state', state);
    redirect(res, u.toString(), headers as Record<string, string>);
    return;
  }
  if (target !== undefined) ctx.logger.warn('logout_redirect_refused', { client_id: namedClient ?? null });
  if (ctx.config.logoutRedirectUrl !== undefined) {
    redirect(res, ctx.config.logoutRedirectUrl, headers as Record<string, string>);
    return;
  }
  sendHtml(res, 200, messagePage('Signed out', 'You have been signed out.'), headers as Record<string, string>);
}
