// Replicas of one directory for failover tests: several slapd instances loaded with the
// same entries AND the same entryUUIDs, as replication would leave them (the object id a
// login reads on one replica must be the one the group sync read on another).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { startSlapd, type Slapd } from './slapd.ts';
import { AD_COMPAT_SCHEMA, DIRECTORY_LDIF } from './ldap-fixture.ts';

/** A stable entryUUID (RFC 4122 layout) per entry, derived from the entry's text. */
export function withStableEntryUuids(ldif: string): string {
  return ldif.split(/\n[ \t]*\n/).map((block) => {
    if (!/^dn::? /m.test(block)) return block;
    const h = createHash('sha256').update(block).digest('hex');
    const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
    return `${block.replace(/\s+$/, '')}\nentryUUID: ${uuid}`;
  }).join('\n\n');
}

/** `n` slapd replicas of the fixture directory (plus `extraLdif`), in order. */
export async function startReplicas(n: number, extraLdif: string[] = []): Promise<Slapd[]> {
  const ldif = withStableEntryUuids([await readFile(DIRECTORY_LDIF, 'utf8'), ...extraLdif].join('\n\n'));
  return Promise.all(Array.from({ length: n }, () => startSlapd({ schemas: [AD_COMPAT_SCHEMA], ldif: [ldif] })));
}
