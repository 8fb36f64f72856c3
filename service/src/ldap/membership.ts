// Nested group membership test for the login group (<loginGroup>).
import type { Client } from 'ldapts';
import { normalizeDn, parseDn } from '#njs/authz/dn.ts';
import { dcSuffix, formatDn } from './dn.ts';
import { escapeFilterValue } from './filter.ts';
import { pagedSearch, pagingState } from './paged-search.ts';

export interface MembershipOptions {
  /** The user's uid, to match RFC 2307 posixGroup memberUid values. */
  uid?: string;
  /** Where groups are searched; default: the dc= suffix of groupDn (its naming context). */
  searchBase?: string;
  /** Nesting depth bound besides the cycle guard; default 32. */
  maxDepth?: number;
}

/** The trailing dc= RDNs of a DN (its DNS-style naming context), or the DN's last RDN. */
export function namingContextOf(dn: string): string {
  return dcSuffix(dn) ?? formatDn(parseDn(dn).slice(-1));
}

/**
 * True when `userDn` is a direct or nested member of `groupDn` through
 * groupOfNames/member, groupOfUniqueNames/uniqueMember, AD group/member, or
 * (first level only: RFC 2307 groups hold uids, not DNs) posixGroup/memberUid.
 *
 * Works bottom-up: one search per nesting level for the groups that contain
 * the current frontier, until groupDn shows up or nothing new is found. A
 * top-down walk would read every member entry of the login group (thousands
 * of reads per login in a large directory); this costs depth+1 searches. The
 * server compares DNs (distinguishedNameMatch), so spelling differences in
 * member values do not matter. `visited` is the cycle guard.
 *
 * Limitation: uniqueMember values carrying the optional `#'...'B` UID
 * (RFC 4517 §3.3.21) only match assertions with the same UID, so they are not found.
 */
export async function isMemberOfGroup(
  client: Client,
  groupDn: string,
  userDn: string,
  opts: MembershipOptions = {},
): Promise<boolean> {
  const target = normalizeDn(groupDn);
  const base = opts.searchBase ?? namingContextOf(groupDn);
  const maxDepth = opts.maxDepth ?? 32;
  const visited = new Set<string>([normalizeDn(userDn)]);
  let frontier = [userDn];
  const paging = pagingState(100);
  for (let depth = 0; depth < maxDepth && frontier.length > 0; depth++) {
    const terms: string[] = [];
    for (const dn of frontier) {
      const v = escapeFilterValue(dn);
      terms.push(`(member=${v})`, `(uniqueMember=${v})`);
    }
    if (depth === 0 && opts.uid) terms.push(`(memberUid=${escapeFilterValue(opts.uid)})`);
    const filter = `(&(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group)(objectClass=posixGroup))(|${terms.join('')}))`;
    const found: string[] = [];
    // RFC 4511 §4.5.1.8: "1.1" asks for no attributes, the DN is all we need. Paging adapts
    // to a server that limits the page size (ldap/paged-search.ts).
    await pagedSearch(client, base, { filter, attributes: ['1.1'], state: paging }, (e) => void found.push(e.dn));
    const next: string[] = [];
    for (const dn of found) {
      const n = normalizeDn(dn);
      if (n === target) return true;
      if (!visited.has(n)) {
        visited.add(n);
        next.push(dn);
      }
    }
    frontier = next;
  }
  return false;
}
