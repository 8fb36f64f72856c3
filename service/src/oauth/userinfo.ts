import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from '../http/errors.ts';
import { sendNoStoreJson } from '../http/respond.ts';
import { authenticateBearer, bearerRefusal } from './bearer.ts';
import type { ServiceContext } from './context.ts';
import { groupsUnavailableError, groupsUnavailableFor } from './group-availability.ts';

/** OIDC Core §5.3. Groups come from the group directory now, not from the (possibly older) token. */
export async function userinfoEndpoint(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const r = await authenticateBearer(ctx, req, false);
  if (!r.ok) {
    sendError(res, bearerRefusal(r), 'oauth');
    return;
  }
  // The token names no directory: its groups may come from any, so all must have been read.
  const unavailable = groupsUnavailableFor(ctx);
  if (unavailable !== null) {
    sendError(res, groupsUnavailableError(unavailable), 'oauth');
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
