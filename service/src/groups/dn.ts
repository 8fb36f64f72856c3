// DN comparison keys for the group sync. Member values name entries in whatever spelling
// the writer used ("CN=Alice, OU=People,DC=Example,DC=com") while the server returns entry
// DNs in its own spelling, so both sides are reduced to one key before lookups. The key is
// the canonical form of njs/authz/dn.ts (RFC 4517 distinguishedNameMatch as the edge
// applies it), so the sync, the operator check and the edge's group rules agree on which
// DN names which group.
import { isWithinNormalizedDn, splitNormalizedDn, tryNormalizeDn } from '#njs/authz/dn.ts';

// Keys of values that are not RFC 4514 DNs. Canonical forms never hold a raw NUL (it is
// escaped as \00), so these collide with no DN; the rest of the key is the value itself, so
// two equal values still share one key. The sync asks the server for such a value as given
// (a server that refuses it answers invalidDNSyntax, which the sync logs and skips).
const NOT_A_DN = '\u0000dn:';

/** Canonical comparison key of a DN (njs/authz/dn.ts normalizeDn); not for display. */
export function dnKey(dn: string): string {
  const k = tryNormalizeDn(dn);
  return k !== null ? k : NOT_A_DN + dn;
}

/** True when `key` equals `baseKey` or lies below it (both dnKey()'d); a non-DN lies below nothing. */
export function isUnderKey(key: string, baseKey: string): boolean {
  if (key.startsWith(NOT_A_DN) || baseKey.startsWith(NOT_A_DN)) return false;
  return isWithinNormalizedDn(key, baseKey);
}

/** Longest common suffix (in whole RDNs) of several DN keys; '' when none. */
export function commonSuffixKey(keys: string[]): string {
  if (keys.length === 0 || keys.some((k) => k.startsWith(NOT_A_DN))) return '';
  const split = keys.map(splitNormalizedDn);
  const out: string[] = [];
  for (let i = 1; ; i++) {
    const first = split[0]!;
    if (i > first.length) break;
    const rdn = first[first.length - i]!;
    if (!split.every((parts) => parts.length >= i && parts[parts.length - i] === rdn)) break;
    out.unshift(rdn);
  }
  return out.join(',');
}

/** uniqueMember (RFC 4519 §2.40) is nameAndOptionalUID: "<dn>#'0101'B"; the UID is dropped. */
export function stripOptionalUid(value: string): string {
  return value.replace(/#'[01]*'B$/, '');
}
