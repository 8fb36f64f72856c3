import type { ServiceContext } from '../oauth/context.ts';

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

/** /readyz: every dependency a login or a token needs. */
export async function readiness(ctx: ServiceContext): Promise<{ ready: boolean; checks: ReadinessCheck[] }> {
  const [ldap, store] = await Promise.all([ldapProbe(ctx), timed(ctx.store.ping(), 2000)]);
  const g = ctx.groups.status();
  const max = ctx.config.groupSync.maxStaleSeconds;
  // Ready while the snapshot is younger than maxStaleSeconds, even if the last sync failed:
  // serving slightly old groups beats refusing every login.
  const groupsOk = g.ageSeconds !== null && g.ageSeconds <= max;
  const checks: ReadinessCheck[] = [
    { name: 'ldap', ok: ldap },
    { name: 'keys', ok: ctx.keys.loaded() },
    { name: 'store', ok: store, detail: ctx.store.kind },
    { name: 'groups', ok: groupsOk, detail: g.ageSeconds === null ? 'no snapshot yet' : `snapshot age ${Math.round(g.ageSeconds)}s (max ${max}s)${g.stale ? ', last sync failed' : ''}` },
  ];
  return { ready: checks.every((c) => c.ok), checks };
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
    ];
  };
}
