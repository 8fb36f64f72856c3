// Which groups each server's sync expands: the configured <dnList>, plus the operator
// group (service/adminGroup) so that the operator endpoints can check membership in the
// snapshot without the operator having to list the group a second time.
import type { LdapServerConfig, ServiceConfig } from '../config/types.ts';
import { namingContextOf } from '../ldap/membership.ts';
import { dnKey, isUnderKey } from './dn.ts';
import type { Logger } from '../ops/logger.ts';

function contextKey(server: LdapServerConfig): string | null {
  try {
    return dnKey(namingContextOf(server.userSearchBase));
  } catch {
    return null;
  }
}

/**
 * config.ldapServers with adminGroupDn added to the groupDns of every server whose naming
 * context (the dc= suffix of its userSearchBase) holds it, unless already listed there in
 * any spelling. Other servers do not get it: a DN outside a server's naming context is
 * "not found" on every sync, and it would widen the bulk scan base (the common suffix of
 * the groups and userSearchBase) to the directory root. Inputs are not modified.
 *
 * loginGroupDn is deliberately NOT added: the login check asks LDAP at login time
 * (ldap/membership.ts), so a user removed from the login group is refused at once, not
 * after the next sync; and adding it would put the login group (typically everyone) into
 * every user's `dns` claim and identity header.
 */
export function syncTargets(config: Pick<ServiceConfig, 'ldapServers' | 'adminGroupDn'>, log?: Logger): LdapServerConfig[] {
  warnLookAlikeDirectories(config.ldapServers, log);
  const admin = config.adminGroupDn;
  if (admin === undefined) return config.ldapServers;
  const adminKey = dnKey(admin);
  const listed = (server: LdapServerConfig): boolean => server.groupDns.some((g) => dnKey(g) === adminKey);
  const servers = config.ldapServers.map((server) => {
    const ctx = contextKey(server);
    if (ctx === null || !isUnderKey(adminKey, ctx) || listed(server)) return server;
    return { ...server, groupDns: [...server.groupDns, admin] };
  });
  if (!servers.some(listed)) {
    log?.warn('admin group is outside the naming context of every LDAP server and in no <dnList>: nobody can use the operator endpoints', {
      group: admin,
    });
  }
  return servers;
}

/**
 * Separate <ldapServer> elements are separate directories: each is synced on its own, and
 * one that stays unreachable keeps the snapshot stale. Two with the same service account,
 * search base and groups are most likely replicas of one directory written the old way.
 */
function warnLookAlikeDirectories(servers: LdapServerConfig[], log?: Logger): void {
  const seen = new Map<string, string>();
  for (const s of servers) {
    const shape = JSON.stringify([dnKey(s.bindDn), dnKey(s.userSearchBase), s.groupDns.map((g) => dnKey(g)).sort()]);
    const first = seen.get(shape);
    if (first !== undefined) {
      log?.warn('two <ldapServer> elements read the same groups with the same account: separate directories, synced separately. If they are replicas of one directory, list their URIs as <uri> elements of one <ldapServer>, so that login and sync fall over between them', {
        directory: first,
        other: s.uri,
      });
    } else {
      seen.set(shape, s.uri);
    }
  }
}
