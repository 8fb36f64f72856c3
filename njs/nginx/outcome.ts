// What the validator's two halves share: the request as read by the hot
// path (validate.ts) and the answers both it and the full check
// (full-check.ts) give: 401, 500, the revocation check and the outputs of an
// allowed request.

import { cookiesWithoutToken, type TokenResult } from '../http/token.ts';
import type { ResponseSettings } from '../http/response-settings.ts';
import type { DecisionStore } from './decision-cache.ts';
import { firstRevoked } from './revocation-store.ts';
import type { Decision } from '../cache/decision-entry.ts';
import { trimOws } from '../lib/text.ts';
import { COOKIE, PASS_AUTHORIZATION } from '../setting-positions.ts';
import { messageOf, type EdgeContext, type Settings } from './context.ts';
import { loadRefusal } from './refusal-loader.ts';

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
  loadRefusal().denyRevoked(ctx, req, s, revoked);
  return false;
}

// What upstreamAuthorization (http/token.ts) decides, from the token as the
// request was read instead of parsing the header again: an allowed token
// came from the Authorization header exactly when that header is a bearer
// header (extractToken takes the cookie only when it is not).
function tokenFromHeader(found: TokenResult): boolean {
  return found !== null && !('error' in found) && found.source === 'header';
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
    ctx.setOutput('ljwt_upstream_authorization', trimOws(req.settings.list[PASS_AUTHORIZATION]) === 'on' ||
      !tokenFromHeader(req.found) ? req.authorization : '');
  }
  ctx.setOutput('ljwt_user', d.user);
  ctx.setOutput('ljwt_group_dns', d.groupDns);
  ctx.setOutput('ljwt_oids', d.oids);
  const names = Object.keys(d.extra);
  for (let i = 0; i < names.length; i++) ctx.setOutput(names[i], d.extra[names[i]]);
}
