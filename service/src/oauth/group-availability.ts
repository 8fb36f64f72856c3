// Tokens carry the user's groups from the group snapshot. Before the first snapshot exists
// (first start without a snapshot file, first sync still running or failed) there is no
// answer to "which groups": an empty list would be a token silently missing the user's
// groups, and an operator check would deny (or, for a deny-list, grant) on nothing. So
// every path that reads groups for a decision refuses with a retryable 503 instead
// (RFC 9110 §15.6.4; Retry-After §10.2.3) until the first snapshot is published.
//
// A snapshot that is older than groupSync.maxStaleSeconds still counts: it holds real
// groups (the last good sync), /readyz reports it, and refusing every login while the
// directory is briefly unreachable would turn a directory blip into an outage.
import type { ServiceContext } from './context.ts';
import type { GroupStatus } from './deps.ts';
import { ServiceError } from '../http/errors.ts';

/** What a refused client is told to wait: the first sync is retried at this pace (groups/sync-engine.ts). */
export const GROUPS_RETRY_AFTER_SECONDS = 5;

/** Why the snapshot cannot answer yet, or null when it can. */
export function groupsUnavailable(status: GroupStatus): string | null {
  if (status.updatedAt !== null) return null;
  return status.lastSyncDurationMs === null ? 'no group snapshot yet: first group sync running' : 'no group snapshot yet: first group sync failed, retrying';
}

/** The error for it: 503 with Retry-After, OAuth's temporarily_unavailable (RFC 6749 §5.2 / §4.1.2.1). */
export function groupsUnavailableError(reason: string): ServiceError {
  return new ServiceError('groups_unavailable', reason, {
    status: 503, oauthError: 'temporarily_unavailable', headers: { 'Retry-After': String(GROUPS_RETRY_AFTER_SECONDS) },
  });
}

/** The group DNs a token for `objectId` carries; throws groupsUnavailableError while there is no snapshot. */
export function groupsForToken(ctx: ServiceContext, objectId: string): string[] {
  const reason = groupsUnavailable(ctx.groups.status());
  if (reason !== null) throw groupsUnavailableError(reason);
  return ctx.groups.groupsOf(objectId);
}
