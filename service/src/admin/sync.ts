import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError, ServiceError } from '../http/errors.ts';
import { sendNoStoreJson } from '../http/respond.ts';
import type { ServiceContext } from '../oauth/context.ts';
import { requireOperator } from './operator.ts';

function syncSucceeded(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === true;
}

/**
 * POST /admin/sync: runs a group sync now (or joins the one queued behind a running
 * sync, so a change made before the request is always seen) and answers with its result:
 * per-directory outcome with the replica that served it (`servedBy`), published generation,
 * duration. 200 when every directory synced on some replica, 502 when one failed on every
 * replica (the body says which; its previous groups keep being served).
 *
 * No CSRF token: this endpoint accepts only an Authorization: Bearer header, which a
 * browser never attaches to a cross-site request by itself (cookies are not consulted,
 * see requireOperator), so a forged form or image cannot authenticate here.
 */
export async function adminSyncEndpoint(ctx: ServiceContext, adminGroupDn: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const op = await requireOperator(ctx, adminGroupDn, req, res);
  if (op === null) return;
  // The body means nothing here; drain it so a keep-alive connection stays usable.
  req.resume();
  ctx.logger.info('admin_sync_requested', { sub: op.sub });
  let result: unknown;
  try {
    result = await ctx.groups.syncNow();
  } catch (e) {
    ctx.logger.error('admin_sync_failed', { sub: op.sub, error: e instanceof Error ? e.message : 'unknown' });
    const holderSilent = e instanceof Error && e.message.includes('the group sync lease holder did not answer');
    sendError(res, new ServiceError('temporarily_unavailable', holderSilent ? 'the group sync lease holder did not answer' : 'group sync is not running', { status: 503 }), 'json');
    return;
  }
  sendNoStoreJson(res, syncSucceeded(result) ? 200 : 502, result);
}
