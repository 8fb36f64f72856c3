import type { IncomingMessage, ServerResponse } from 'node:http';
import { ServiceError } from '../http/errors.ts';
import { singleValued } from '../http/request.ts';
import { sendNoStoreJson } from '../http/respond.ts';
import type { ServiceContext } from '../oauth/context.ts';
import { ldapErrorCode, type LdapUser } from '../oauth/deps.ts';
import { requireOperator } from './operator.ts';
import { snapshotInfo } from './snapshot-info.ts';

const PARAMETERS = new Set(['user', 'oid']);
// Object ids are UUIDs/GUIDs or short attribute values; anything with control characters is not one.
const OID = /^[^\u0000-\u001f\u007f]{1,256}$/u;

/** Exactly one of `user` / `oid`, nothing else, none repeated. */
function target(url: URL): { user: string } | { oid: string } {
  const q = singleValued(url.searchParams);
  for (const k of q.keys()) if (!PARAMETERS.has(k)) throw new ServiceError('invalid_request', `unknown parameter ${k}`);
  const user = q.get('user');
  const oid = q.get('oid');
  if ((user === undefined) === (oid === undefined)) throw new ServiceError('invalid_request', 'give exactly one of user or oid');
  if (user !== undefined) {
    if (user === '') throw new ServiceError('invalid_request', 'user is empty');
    return { user };
  }
  if (!OID.test(oid!)) throw new ServiceError('invalid_request', 'oid is empty, too long or has control characters');
  return { oid: oid! };
}

async function lookup(ctx: ServiceContext, username: string): Promise<LdapUser> {
  let user: LdapUser | null;
  try {
    user = await ctx.authenticator.findUser(username);
  } catch (e) {
    const code = ldapErrorCode(e);
    if (code === 'INVALID_USERNAME') throw new ServiceError('invalid_request', 'user has an invalid format');
    throw new ServiceError('temporarily_unavailable', 'directory unavailable', { status: 503 });
  }
  if (user === null) throw new ServiceError('not_found', 'no single directory entry has this username', { status: 404 });
  return user;
}

/**
 * GET /admin/groups?user=<username> | ?oid=<object id>: the group DNs the snapshot gives
 * this object id (what the next token and /userinfo will carry), with the snapshot's
 * generation, time and staleness. `user` is resolved in LDAP as a login would resolve it.
 */
export async function adminGroupsEndpoint(ctx: ServiceContext, adminGroupDn: string, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const op = await requireOperator(ctx, adminGroupDn, req, res);
  if (op === null) return;
  const t = target(url);
  const body: Record<string, unknown> = {};
  let objectId: string;
  if ('user' in t) {
    const user = await lookup(ctx, t.user);
    objectId = user.objectId;
    body.user = { username: user.username, dn: user.dn };
  } else {
    objectId = t.oid;
  }
  // Status first: groups read after it are at least that generation, never older.
  const snapshot = snapshotInfo(ctx.groups.status());
  body.objectId = objectId;
  body.groups = ctx.groups.groupsOf(objectId);
  body.snapshot = snapshot;
  ctx.logger.info('admin_groups_read', { sub: op.sub, ...('user' in t ? { user: t.user } : {}), object_id: objectId });
  sendNoStoreJson(res, 200, body);
}
