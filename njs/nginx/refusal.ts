// The validator's 401 answers: a request without a usable token, a token that
// cannot be a compact JWS, a revoked token, and the full check's refusals.
// Instantiated only when a request is refused (the build holds this module
// inside loadRefusal(), see refusal-loader.ts): an allowed request, the
// common case, never pays for the challenge, the login redirect or the
// error descriptions.

import type { ErrorCode } from '../lib/errors.ts';
import { ljwtError } from '../lib/errors.ts';
import { hasThreeSegments, isCompactJwsShape } from '../http/token.ts';
import { protectedHeaderDecodes } from '../jws/verify.ts';
import { bearerChallenge, errorDescription, loginRedirectUrl } from '../http/challenge.ts';
import { responseSettings, type ResponseSettings } from '../http/response-settings.ts';
import { trimOws } from '../lib/text.ts';
import { COOKIE, LOGIN_URL, REALM, RETURN_PARAM } from '../setting-positions.ts';
import { isBrowserRequest, type EdgeContext } from './context.ts';
import { configError, type Request } from './outcome.ts';

/**
 * 401. nginx/server.conf's @ljwt_unauthorized (error_page 401) answers it
 * without running any script: a 302 to $ljwt_redirect for a browser
 * navigation when a login URL is set, else the JSON error with the RFC 6750
 * §3 challenge in $ljwt_challenge (the error_page redirect drops headers
 * set here, so the page adds it).
 */
export function deny(ctx: EdgeContext, s: ResponseSettings, code: ErrorCode, reason: string): void {
  ctx.setOutput('ljwt_error', code);
  ctx.setOutput('ljwt_error_description', errorDescription(code));
  ctx.info('401 ' + code + ': ' + reason);
  if (s.loginUrl !== null && isBrowserRequest(ctx)) {
    ctx.setOutput('ljwt_redirect', loginRedirectUrl(s.loginUrl, s.returnParam, ctx.requestUri()));
  } else {
    const challenge = bearerChallenge(s.realm, code, 401);
    ctx.setOutput('ljwt_challenge', challenge);
    // For a location without error_page 401: auth_request passes a 401's
    // WWW-Authenticate on. (Under js_access a header set here would stay on
    // the error page's response next to the one it adds.)
    if (ctx.subrequest) ctx.r.headersOut['WWW-Authenticate'] = challenge;
  }
  ctx.r.return(401);
}

/** The response settings straight from the snapshot (before any full parse); null when invalid. */
function snapshotResponseSettings(req: Request): ResponseSettings | null {
  const list = req.settings.list;
  return responseSettings(list[REALM], list[LOGIN_URL], list[RETURN_PARAM]);
}

/**
 * No token, or one that cannot be a compact JWS: 401 at once. Before the
 * cache lookup only what costs nothing is checked (a token, three segments);
 * after a miss (`thorough`) also the characters and the protected header,
 * whose decoding the full check would refuse for any configuration
 * (jws/verify.ts). A hit needs neither: its key binds the whole token, which
 * was verified before. True when the response was sent; false when the
 * response settings do not check out (the full parse then reports the
 * configuration error).
 */
export function refuseEarly(ctx: EdgeContext, req: Request, thorough: boolean): boolean {
  const found = req.found;
  let code: ErrorCode;
  let reason: string;
  if (found === null) {
    const cookie = trimOws(req.settings.list[COOKIE]);
    code = 'ERR_TOKEN_MISSING';
    reason = 'no bearer token' + (cookie !== '' ? ' and no cookie ' + cookie : '');
  } else if ('error' in found || !hasThreeSegments(found.token) || (thorough && !isCompactJwsShape(found.token))) {
    code = 'ERR_JWT_MALFORMED';
    reason = 'the Authorization header or token cookie is not a well-formed bearer token (compact JWS)';
  } else if (thorough && !protectedHeaderDecodes(found.token)) {
    code = 'ERR_JWT_MALFORMED';
    reason = 'the JWS header is not base64url-encoded JSON';
  } else {
    return false;
  }
  const s = snapshotResponseSettings(req);
  if (s === null) return false;
  deny(ctx, s, code, reason);
  return true;
}

/** 401 for a revoked token (`revoked`: its revocation key); `s` as parsed, or null on a cache hit. */
export function denyRevoked(ctx: EdgeContext, req: Request, s: ResponseSettings | null, revoked: string): void {
  // A hit has no parsed configuration: the settings it was stored with parsed, so these check out.
  const rs = s !== null ? s : snapshotResponseSettings(req);
  if (rs === null) {
    configError(ctx, ljwtError('ERR_CONFIG_INVALID', '$ljwt_realm, $ljwt_login_url or $ljwt_return_param is invalid'));
    return;
  }
  deny(ctx, rs, 'ERR_JWT_REVOKED', 'revoked (' + revoked.substring(0, revoked.indexOf(':')) + ')');
}

export default { refuseEarly: refuseEarly, denyRevoked: denyRevoked };
