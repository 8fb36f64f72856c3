// Who may use the operator endpoints: a bearer access token issued by this service
// (validated exactly as /userinfo does, revocation list included) whose user is a
// (nested) member of service/adminGroup according to the group snapshot.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerChallenge } from '#njs/http/challenge.ts';
import type { ValidatedToken } from '#njs/jwt/validate.ts';
import { dnKey } from '../groups/dn.ts';
import { sendError, ServiceError } from '../http/errors.ts';
import { authenticateBearer, bearerRefusal } from '../oauth/bearer.ts';
import type { ServiceContext } from '../oauth/context.ts';
import { directoriesOfAdminGroup, groupsUnavailableError, groupsUnavailableIn } from '../oauth/group-availability.ts';

export interface Operator {
  token: ValidatedToken;
  /** The token's `sub`, for the audit log. */
  sub: string;
}

function tokenOids(token: ValidatedToken): string[] {
  const o = token.claims.oids;
  return Array.isArray(o) ? o.filter((x): x is string => typeof x === 'string' && x !== '') : [];
}

/** True when one of the object ids is a member of the admin group in the current snapshot. */
export function isOperator(ctx: ServiceContext, adminGroupDn: string, oids: string[]): boolean {
  // groupsOf() reports DNs as configured; another spelling of the same DN (case, spaces,
  // escapes) is the same group, so compare the sync's own DN keys, never raw strings.
  const adminKey = dnKey(adminGroupDn);
  return oids.some((oid) => ctx.groups.groupsOf(oid).some((dn) => dnKey(dn) === adminKey));
}

/**
 * The operator behind the request, or null after answering 401 (no, invalid, expired or
 * revoked token; RFC 6750 §3 challenge), 503 + Retry-After (the admin group not read yet: the
 * admin group's members are unknown, so neither yes nor no) or 403 (not in the admin group).
 * Only the Authorization header counts: the access token cookie is never consulted, so a
 * browser cannot be made to send operator credentials by a cross-site request.
 */
export async function requireOperator(ctx: ServiceContext, adminGroupDn: string, req: IncomingMessage, res: ServerResponse): Promise<Operator | null> {
  const r = await authenticateBearer(ctx, req, false);
  if (!r.ok) {
    sendError(res, bearerRefusal(r), 'oauth');
    return null;
  }
  const sub = typeof r.token.claims.sub === 'string' ? r.token.claims.sub : '';
  if (isOperator(ctx, adminGroupDn, tokenOids(r.token))) return { token: r.token, sub };
  // A "no" needs every directory that syncs the admin group (a "yes" from one is final).
  const unavailable = groupsUnavailableIn(ctx, directoriesOfAdminGroup(ctx, adminGroupDn));
  if (unavailable !== null) {
    ctx.logger.warn('admin_unavailable', { sub, reason: unavailable });
    sendError(res, groupsUnavailableError(unavailable), 'oauth');
    return null;
  }
  ctx.logger.warn('admin_denied', { sub, path: new URL(req.url ?? '/', 'http://service.invalid').pathname });
  // RFC 6750 §3.1 insufficient_scope: "requires higher privileges than provided by the access token".
  sendError(res, new ServiceError('insufficient_scope', 'not a member of the admin group', {
    status: 403, headers: { 'WWW-Authenticate': bearerChallenge(ctx.tuning.realm, 'ERR_ACCESS_DENIED', 403) },
  }), 'oauth');
  return null;
}
