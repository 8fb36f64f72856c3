// Tokens carry the user's groups from the group snapshot. Until the groups of the user's
// directory have been read once (first start without a snapshot file, that directory's
// first sync still running or failed) there is no answer to "which groups": an empty or
// partial list would be a token silently missing the user's groups, and an operator check
// would deny (or, for a deny-list, grant) on nothing. So every path that reads groups for
// a decision refuses with a retryable 503 instead (RFC 9110 §15.6.4; Retry-After
// §10.2.3) until the directories it needs have a part in the snapshot.
//
// Which directories a user's groups come from: separate <ldapServer> elements are
// separate directories, and a directory's groups name its own entries by object id. So a
// token needs the directory that holds the user's entry, plus every directory that could
// hold an entry with the same object id: with a globally unique id attribute (entryUUID,
// objectGUID, ...) no other one can; with any other attribute (employeeNumber, uid) a
// directory using the same attribute can.
//
// A part that is older than groupSync.maxStaleSeconds still counts: it holds real groups
// (the last good sync), /readyz reports it, and refusing every login while the directory
// is briefly unreachable would turn a directory blip into an outage.
import type { LdapServerConfig } from '../config/types.ts';
import { dnKey, isUnderKey } from '../groups/dn.ts';
import { syncTargets } from '../groups/sync-targets.ts';
import type { Subject } from '../tokens/access-token.ts';
import type { ServiceContext } from './context.ts';
import type { DirectoryStatus } from '../groups/directory.ts';
import type { GroupStatus } from './deps.ts';
import { ServiceError } from '../http/errors.ts';

/** What a refused client is told to wait: the first sync is retried at this pace (groups/sync-engine.ts). */
export const GROUPS_RETRY_AFTER_SECONDS = 5;

/** Object id attributes whose values are unique across directories (RFC 4530 UUIDs, AD GUIDs, 389-ds/FreeIPA ids). */
const UNIQUE_ID_ATTRIBUTES = new Set(['entryuuid', 'objectguid', 'msds-azobjectguid', 'nsuniqueid', 'ipauniqueid']);

/** Why the snapshot cannot answer for anyone yet (no directory's groups read), or null. */
export function groupsUnavailable(status: GroupStatus): string | null {
  if (status.updatedAt !== null) return null;
  return status.lastSyncDurationMs === null ? 'no group snapshot yet: first group sync running' : 'no group snapshot yet: first group sync failed, retrying';
}

/** Why a directory's groups are not in the snapshot yet, or null when they are. */
export function directoryNotLoaded(d: DirectoryStatus): string | null {
  if (d.syncedAt !== null) return null;
  return d.lastError === null ? `${d.directory}: groups not read yet (first group sync running)` : `${d.directory}: groups not read yet (first group sync failed, retrying: ${d.lastError})`;
}

/**
 * The directories (by name: the first replica's URL) whose groups a token for `subject`
 * needs; every directory when the subject's own cannot be told (no directory recorded,
 * a DN under none of the search bases, or no subject at all).
 */
export function directoriesOfSubject(servers: LdapServerConfig[], subject?: Partial<Pick<Subject, 'directory' | 'dn'>>): Set<string> {
  let own = subject?.directory !== undefined ? servers.filter((s) => s.uri === subject.directory) : [];
  if (own.length === 0 && subject?.dn !== undefined) {
    const key = dnKey(subject.dn);
    own = servers.filter((s) => isUnderKey(key, dnKey(s.userSearchBase)));
  }
  if (own.length === 0) return new Set(servers.map((s) => s.uri));
  const out = new Set(own.map((s) => s.uri));
  const shared = new Set(own.map((s) => s.objectIdAttribute.toLowerCase()).filter((a) => !UNIQUE_ID_ATTRIBUTES.has(a)));
  for (const s of servers) if (shared.has(s.objectIdAttribute.toLowerCase())) out.add(s.uri);
  return out;
}

/** The directories that sync the admin group (groups/sync-targets.ts): the operator check needs only those. */
export function directoriesOfAdminGroup(ctx: ServiceContext, adminGroupDn: string): Set<string> {
  const key = dnKey(adminGroupDn);
  return new Set(syncTargets(ctx.config).filter((s) => s.groupDns.some((g) => dnKey(g) === key)).map((s) => s.uri));
}

/**
 * Why the groups of these directories cannot be answered yet, or null when they can. Said
 * to clients, so it names no server and no LDAP error (/readyz and the logs do).
 */
export function groupsUnavailableIn(ctx: ServiceContext, directories: Set<string>): string | null {
  const none = groupsUnavailable(ctx.groups.status());
  if (none !== null) return none;
  const missing = (ctx.groups.directoryStatus?.() ?? []).some((d) => directories.has(d.directory) && directoryNotLoaded(d) !== null);
  return missing ? "the groups of the user's directory are not loaded yet: its first group sync is running or failed, retrying" : null;
}

/** Why a token for `subject` cannot carry its groups yet, or null when it can. */
export function groupsUnavailableFor(ctx: ServiceContext, subject?: Partial<Pick<Subject, 'directory' | 'dn'>>): string | null {
  return groupsUnavailableIn(ctx, directoriesOfSubject(ctx.config.ldapServers, subject));
}

/** The error for it: 503 with Retry-After, OAuth's temporarily_unavailable (RFC 6749 §5.2 / §4.1.2.1). */
export function groupsUnavailableError(reason: string): ServiceError {
  return new ServiceError('groups_unavailable', reason, {
    status: 503, oauthError: 'temporarily_unavailable', headers: { 'Retry-After': String(GROUPS_RETRY_AFTER_SECONDS) },
  });
}

/** The group DNs a token for `subject` carries; throws groupsUnavailableError while its directories' groups are not read yet. */
export function groupsForToken(ctx: ServiceContext, subject: Subject): string[] {
  const reason = groupsUnavailableFor(ctx, subject);
  if (reason !== null) throw groupsUnavailableError(reason);
  return ctx.groups.groupsOf(subject.objectId);
}
