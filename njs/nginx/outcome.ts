// What the validator's two halves share: the request as read by the hot
// path (validate.ts) and the answers both it and the full check
// (full-check.ts) give: 401, 500, the revocation check and the outputs of an
// allowed request.

import type { ErrorCode } from '../lib/errors.ts';
import { ljwtError } from '../lib/errors.ts';
import { settingIndex } from '../config.ts';
import { cookiesWithoutToken, upstreamAuthorization, type TokenResult } from '../http/token.ts';
import { bearerChallenge, errorDescription, loginRedirectUrl } from '../http/challenge.ts';
import { responseSettings, type ResponseSettings } from '../http/response-settings.ts';
import type { DecisionStore } from './decision-cache.ts';
import { firstRevoked } from './revocation-store.ts';
import type { Decision } from '../cache/decision-entry.ts';
import { trimOws } from '../lib/text.ts';
import { isBrowserRequest, messageOf, type EdgeContext, type Settings } from './context.ts';

export const COOKIE = settingIndex('ljwt_cookie');
export const REALM = settingIndex('ljwt_realm');
export const LOGIN_URL = settingIndex('ljwt_login_url');
export const RETURN_PARAM = settingIndex('ljwt_return_param');
const PASS_AUTHORIZATION = settingIndex('ljwt_pass_authorization');

/** Where a decision is looked up and stored: the store and this request's key. */
export interface CacheSlot { store: DecisionStore; key: string }

/** What one request brings: its settings, its token, the headers passed on. */
export interface Request {
  settings: Settings;
  found: TokenResult;
  authorization: string | undefined;
  cookies: string | undefined;
  now: number;
}

export function configError(ctx: EdgeContext, e: unknown): void {
  ctx.error('configuration error, answering 500: ' + messageOf(e));
  ctx.r.return(500);
}

// What the 403 error_page handler needs from the configuration, so that it

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

// Revocations pushed by the service apply to cached and fresh decisions
// alike. True when the request may go on; otherwise a response was sent (an
// unanswerable lookup refuses: never "not revoked").
export function notRevoked(ctx: EdgeContext, req: Request, s: ResponseSettings | null, revocation: string[]): boolean {
  let revoked: string | null;
  try {
    revoked = firstRevoked(revocation);
  } catch (e) {
    ctx.error('revocation lookup failed, answering 500: ' + messageOf(e));
    ctx.r.return(500);
    return false;
  }
  if (revoked === null) return true;
  // A hit has no parsed configuration: the settings it was stored with parsed, so these check out.
  const list = req.settings.list;
  const rs = s !== null ? s : responseSettings(list[REALM], list[LOGIN_URL], list[RETURN_PARAM]);
  if (rs === null) {
    configError(ctx, ljwtError('ERR_CONFIG_INVALID', '$ljwt_realm, $ljwt_login_url or $ljwt_return_param is invalid'));
    return false;
  }
  deny(ctx, rs, 'ERR_JWT_REVOKED', 'revoked (' + revoked.substring(0, revoked.indexOf(':')) + ')');
  return false;
}

// Sets the outputs of an allowed request; the decision comes from the full
// path or from the cache.
export function applyDecision(ctx: EdgeContext, req: Request, d: Decision): void {
  // The site gets the client's cookies without the token, and no bearer
  // Authorization header: a bearer token in the upstream's hands (its logs,
  // a compromised app) could be replayed. Without $ljwt_cookie the Cookie
  // header is passed on unchanged.
  const rawCookie = trimOws(req.settings.list[COOKIE]);
  if (req.cookies !== undefined) {
    ctx.setOutputBytes('ljwt_upstream_cookie', rawCookie === '' ? req.cookies : cookiesWithoutToken(req.cookies, rawCookie));
  }
  if (req.authorization !== undefined) {
    ctx.setOutput('ljwt_upstream_authorization', upstreamAuthorization(req.authorization,
      trimOws(req.settings.list[PASS_AUTHORIZATION]) === 'on'));
  }
  ctx.setOutput('ljwt_user', d.user);
  ctx.setOutput('ljwt_group_dns', d.groupDns);
  ctx.setOutput('ljwt_oids', d.oids);
  const names = Object.keys(d.extra);
  for (let i = 0; i < names.length; i++) ctx.setOutput(names[i], d.extra[names[i]]);
}
