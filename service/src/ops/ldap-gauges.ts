// /metrics gauges of the directories: each replica's health as the login sees it
// (ldap/replicas.ts) and each directory's part of the group snapshot (groups/directory.ts).
import type { ServiceContext } from '../oauth/context.ts';
import type { GaugeSource } from './metrics.ts';

export function ldapGauges(ctx: Pick<ServiceContext, 'authenticator' | 'groups'>): GaugeSource {
  return async () => {
    const replicas = ctx.authenticator.replicaStatus?.() ?? [];
    const directories = ctx.groups.directoryStatus?.() ?? [];
    const byReplica = (r: { directory: string; uri: string }) => ({ directory: r.directory, uri: r.uri });
    return [
      ...replicas.map((r) => ({ name: 'ljwt_ldap_replica_up', help: '1 while the login uses the replica, 0 while it is skipped as down (probed in the background).',
        value: r.up ? 1 : 0, labels: byReplica(r) })),
      ...replicas.map((r) => ({ name: 'ljwt_ldap_replica_down_total', help: 'Times the login marked the replica down (timed out, refused, no answer).',
        value: r.downs, type: 'counter' as const, labels: byReplica(r) })),
      ...replicas.map((r) => ({ name: 'ljwt_ldap_replica_retry_seconds', help: 'Seconds until the next probe of a replica that is down (0 while up).',
        value: r.retryInMs / 1000, labels: byReplica(r) })),
      ...directories.map((d) => ({ name: 'ljwt_group_directory_stale', help: '1 while the directory\'s groups in the snapshot are stale (last sync failed on every replica, or too old).',
        value: d.stale ? 1 : 0, labels: { directory: d.directory } })),
      ...directories.map((d) => ({ name: 'ljwt_group_directory_age_seconds', help: 'Age of the directory\'s groups in the snapshot.',
        value: d.ageSeconds, labels: { directory: d.directory } })),
      ...directories.filter((d) => d.servedBy !== null).map((d) => ({ name: 'ljwt_group_directory_served_by', help: 'The replica that served the directory\'s last good sync (value 1).',
        value: 1, labels: { directory: d.directory, uri: d.servedBy! } })),
    ];
  };
}
