import type { ServiceContext } from '../oauth/context.ts';
import { directoryNotLoaded, groupsUnavailable } from '../oauth/group-availability.ts';
import type { GroupStatus } from '../oauth/deps.ts';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

async function timed(p: Promise<boolean>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<boolean>((r) => { t = setTimeout(() => r(false), ms); })]);
  } catch {
    return false;
  } finally {
    clearTimeout(t);
  }
}

/**
 * The LDAP probe binds as the service account on a new connection. /readyz needs no
 * authentication, so probes are shared: concurrent requests wait for the one in flight,
 * and its answer is reused for LDAP_PROBE_CACHE_MS. Otherwise anyone could turn requests
 * into directory binds (and, with a stale service password, lock the service account out).
 */
const LDAP_PROBE_CACHE_MS = 5000;
const ldapProbes = new WeakMap<ServiceContext, { at: number; result: Promise<boolean> }>();

function ldapProbe(ctx: ServiceContext): Promise<boolean> {
  const now = Date.now();
  const cached = ldapProbes.get(ctx);
  if (cached !== undefined && now - cached.at < LDAP_PROBE_CACHE_MS) return cached.result;
  const result = timed(ctx.authenticator.ping(), 3000);
  ldapProbes.set(ctx, { at: now, result });
  return result;
}

/**
 * /readyz answers one question: can this instance serve a login now, with the user's
 * correct groups in the token? Ready when all of these hold:
 * - ldap: at least one directory server accepts the service account's bind (the probe
 *   below; per-server health, when the authenticator tracks it, replaces the probe here),
 * - keys: a signing key is loaded,
 * - store: the shared store answers,
 * - groups: every directory's groups have been read and none is older than
 *   groupSync.maxStaleSeconds. A directory whose last sync failed but whose groups are
 *   still younger than that is ready: they are what the tokens would carry anyway (see
 *   oauth/group-availability.ts).
 * Not ready answers 503 with `reason`: the failing checks and why. /healthz only says the
 * process runs (for restarts); /readyz is for taking an instance in and out of rotation.
 */
export async function readiness(ctx: ServiceContext): Promise<{ ready: boolean; checks: ReadinessCheck[]; reason?: string }> {
  const [ldap, store] = await Promise.all([ldapProbe(ctx), timed(ctx.store.ping(), 2000)]);
  const checks: ReadinessCheck[] = [
    { name: 'ldap', ok: ldap, ...(ldap ? {} : { detail: 'no directory server accepts the service account bind' }) },
    { name: 'keys', ok: ctx.keys.loaded() },
    { name: 'store', ok: store, detail: ctx.store.kind },
    groupsCheck(ctx),
  ];
  const failing = checks.filter((c) => !c.ok);
  if (failing.length === 0) return { ready: true, checks };
  return { ready: false, checks, reason: failing.map((c) => (c.detail !== undefined ? `${c.name}: ${c.detail}` : c.name)).join('; ') };
}

/**
 * Ready when every directory's groups have been read and none is older than
 * maxStaleSeconds. Per directory (<ldapServer>) when the group directory reports them: a
 * directory never read means its users' logins are refused (oauth/group-availability.ts),
 * so the instance cannot serve every login even though the other directories are fresh.
 */
function groupsCheck(ctx: ServiceContext): ReadinessCheck {
  const g = ctx.groups.status();
  const missing = groupsUnavailable(g);
  if (missing !== null) return { name: 'groups', ok: false, detail: missing };
  const max = ctx.config.groupSync.maxStaleSeconds;
  const directories = ctx.groups.directoryStatus?.();
  if (directories === undefined || directories.length === 0) {
    const ok = g.ageSeconds !== null && g.ageSeconds <= max;
    return { name: 'groups', ok, detail: `snapshot age ${Math.round(g.ageSeconds ?? 0)}s (max ${max}s)${g.stale ? ', last sync failed' : ''}` };
  }
  let ok = true;
  const parts = directories.map((d) => {
    const notLoaded = directoryNotLoaded(d);
    if (notLoaded !== null) {
      ok = false;
      return notLoaded;
    }
    const age = d.ageSeconds ?? 0;
    if (age > max) ok = false;
    return `${d.directory}: age ${Math.round(age)}s (max ${max}s)${d.failing ? ', last sync failed' : ''}`;
  });
  return { name: 'groups', ok, detail: parts.join('; ') };
}

export function groupGauges(ctx: ServiceContext) {
  return async () => {
    const g = ctx.groups.status();
    return [
      { name: 'ljwt_group_snapshot_age_seconds', help: 'Age of the group membership snapshot.', value: g.ageSeconds },
      { name: 'ljwt_group_snapshot_generation', help: 'Generation counter of the group snapshot.', value: g.generation },
      { name: 'ljwt_group_snapshot_groups', help: 'Groups in the snapshot.', value: g.groupCount },
      { name: 'ljwt_group_snapshot_members', help: 'Member entries in the snapshot.', value: g.memberCount },
      { name: 'ljwt_group_snapshot_stale', help: '1 when the snapshot is stale.', value: g.stale ? 1 : 0 },
      { name: 'ljwt_group_sync_last_duration_seconds', help: 'Duration of the last group sync (successful or not).',
        value: g.lastSyncDurationMs === null ? null : g.lastSyncDurationMs / 1000 },
      { name: 'ljwt_group_sync_errors_total', help: 'Failed server syncs since start.', value: g.syncErrors, type: 'counter' as const },
      { name: 'ljwt_signing_keys_published', help: 'Signing keys currently published in the JWKS.', value: ctx.keys.list().length },
      ...sharedSyncGauges(g.shared),
    ];
  };
}

/** With Redis (groups/shared-sync.ts): this instance's part in the one shared group sync. */
function sharedSyncGauges(s: GroupStatus['shared']) {
  if (s === undefined) return [];
  return [
    { name: 'ljwt_group_sync_lease_holder', help: '1 while this instance holds the group sync lease (it syncs and publishes through Redis).', value: s.role === 'holder' ? 1 : 0 },
    { name: 'ljwt_group_sync_alone', help: '1 while Redis is unreachable and this instance syncs the groups on its own.', value: s.role === 'alone' ? 1 : 0 },
    { name: 'ljwt_group_sync_shared_generation', help: 'Generation of the snapshot published through Redis that this instance serves.', value: s.generation },
    { name: 'ljwt_group_sync_last_load_timestamp_seconds', help: 'When this instance last loaded a snapshot published through Redis (unix seconds).',
      value: s.lastLoadAt === null ? null : s.lastLoadAt / 1000 },
    { name: 'ljwt_group_sync_loads_total', help: 'Snapshots loaded from Redis.', value: s.loads, type: 'counter' as const },
    { name: 'ljwt_group_sync_load_errors_total', help: 'Snapshots published through Redis that were refused (checksum mismatch).', value: s.loadErrors, type: 'counter' as const },
  ];
}
