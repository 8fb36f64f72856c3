import type { IncomingMessage } from 'node:http';
import { extractToken } from '#njs/http/token.ts';
import { bearerChallenge } from '#njs/http/challenge.ts';
import type { ValidatedToken } from '#njs/jwt/validate.ts';
import type { ErrorCode } from '#njs/lib/errors.ts';
import { ServiceError } from '../http/errors.ts';
import type { ServiceContext } from './context.ts';

export type BearerResult =
  | { ok: true; token: ValidatedToken }
  | { ok: false; code: ErrorCode; challenge: string };

/**
 * The 401 for a refused bearer token (RFC 6750 §3.1): invalid_request when there was none,
 * invalid_token otherwise, with the challenge and no description.
 */
export function bearerRefusal(r: Extract<BearerResult, { ok: false }>): ServiceError {
  return new ServiceError(r.code === 'ERR_TOKEN_MISSING' ? 'invalid_request' : 'invalid_token', '', {
    status: 401, headers: { 'WWW-Authenticate': r.challenge },
  });
}

function errorCodeOf(e: unknown): ErrorCode {
  const c = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof c === 'string' && c.startsWith('ERR_') ? (c as ErrorCode) : 'ERR_JWT_MALFORMED';
}

/**
 * The bearer access token of a request (RFC 6750 §2.1 header, or the configured
 * cookie), validated with the edge's core, then checked against the revocation
 * list. Any failure is a refusal: never fails open.
 */
export async function authenticateBearer(ctx: ServiceContext, req: IncomingMessage, allowCookie: boolean): Promise<BearerResult> {
  const realm = ctx.tuning.realm;
  const extracted = extractToken(req.headers.authorization, req.headers.cookie, allowCookie ? ctx.tuning.accessTokenCookie : null);
  if (extracted === null) return { ok: false, code: 'ERR_TOKEN_MISSING', challenge: bearerChallenge(realm, 'ERR_TOKEN_MISSING', 401) };
  if ('error' in extracted) return { ok: false, code: extracted.error, challenge: bearerChallenge(realm, extracted.error, 401) };
  let token: ValidatedToken;
  try {
    token = await ctx.verifier.verify(extracted.token, ctx.now());
  } catch (e) {
    const code = errorCodeOf(e);
    return { ok: false, code, challenge: bearerChallenge(realm, code, 401) };
  }
  if (await ctx.revocations.isAccessTokenRevoked(token.claims)) {
    // Revoked is reported as an ordinary invalid token (RFC 6750 §3.1 invalid_token).
    return { ok: false, code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', challenge: bearerChallenge(realm, 'ERR_JWT_CLAIM_VALIDATION_FAILED', 401) };
  }
  return { ok: true, token };
}
