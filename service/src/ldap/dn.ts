// Writing DNs for LDAP requests (search bases derived from config). Parsing
// and comparison are njs/authz/dn.ts, shared with the edge and the group sync,
// so that all three agree on which DN names which entry.
import { escapeDnValue, normalizeAttributeType, parseDn, tryNormalizeDn, type Rdn } from '#njs/authz/dn.ts';

/** True when `dn` is an RFC 4514 DN as njs/authz/dn.ts parses it (the edge refuses the same strings). */
export function isValidDn(dn: string): boolean {
  return tryNormalizeDn(dn) !== null;
}

/** Serializes parsed RDNs back to an RFC 4514 string, types and values as parsed. */
export function formatDn(rdns: Rdn[]): string {
  return rdns.map((rdn) => rdn.map((a) => `${a.type}=${a.hex ? a.value : escapeDnValue(a.value)}`).join('+')).join(',');
}

/**
 * The trailing dc= RDNs of a DN (its DNS-style naming context, RFC 2247), in
 * the spelling given, or undefined when it ends in none. Throws on a non-DN.
 */
export function dcSuffix(dn: string): string | undefined {
  const rdns = parseDn(dn);
  let k = rdns.length;
  while (k > 0 && rdns[k - 1]!.length === 1 && normalizeAttributeType(rdns[k - 1]![0]!.type) === 'dc') k--;
  return k === rdns.length ? undefined : formatDn(rdns.slice(k));
}
