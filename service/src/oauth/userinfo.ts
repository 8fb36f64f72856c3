import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendNoStoreJson } from '../http/respond.ts';
import { authenticateBearer } from './bearer.ts';
import type { ServiceContext } from './context.ts';
import { groupsUnavailableError, groupsUnavailableFor } from './group-availability.ts';

/** OIDC Core §5.3. Groups come from the group directory now, not from the (possibly older) token. */
export async function userinfoEndpoint(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const r = await authenticateBearer(ctx, req, false);
  if (!r.ok) {
    sendNoStoreJson(res, 401, { error: r.code === 'ERR_TOKEN_MISSING' ? 'invalid_request' : 'invalid_token' }, { 'WWW-Authenticate': r.challenge });
    return;
  }
  // The token names no directory: its groups may come from any, so all must have been read.
  const unavailable = groupsUnavailableFor(ctx);
  if (unavailable !== null) {
    const e = groupsUnavailableError(unavailable);
    sendNoStoreJson(res, e.status, e.body(), e.headers);
    return;
  }
  const c = r.token.claims;
  const oids = Array.isArray(c.oids) ? c.oids.filter((o): o is string => typeof o === 'string') : [];
  const scope = typeof c.scope === 'string' ? c.scope.split(' ') : [];
  const body: Record<string, unknown> = {
    sub: c.sub,
    dns: oids.length > 0 ? ctx.groups.groupsOf(oids[0]!) : [],
    oids,
  };
  if (scope.includes('profile')) {
    body.preferred_username = c.sub;
    if (typeof c.name === 'string') body.name = c.name;
  }
  if (scope.includes('email') && typeof c.email === 'string') body.email = c.email;
  sendNoStoreJson(res, 200, body);
}
