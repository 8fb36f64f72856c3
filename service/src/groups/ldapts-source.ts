// DirectorySource over an ldapts Client (one connection; ldapts multiplexes concurrent
// requests on it by message id).
import { ResultCodeError, type Client, type Filter } from 'ldapts';
import type { DirectorySource, RawEntry } from './expand.ts';

// Result codes that mean "this member cannot be resolved here" rather than "the
// directory is unusable" (RFC 4511 §4.1.9, Appendix A): referral (10: another naming
// context), noSuchObject (32), invalidDNSyntax (34: a member value that is not a DN),
// insufficientAccessRights (50: hidden from the service account). Everything else
// (timeouts, busy, unavailable, a dropped connection) aborts the server's sync so a
// partial result never replaces a good one.
const ABSENT_CODES = new Set([10, 32, 34, 50]);

export function isAbsentError(e: unknown): boolean {
  return e instanceof ResultCodeError && ABSENT_CODES.has(e.code);
}

export interface LdaptsSourceOptions {
  /** RFC 2696 page size; AD's default MaxPageSize is 1000. */
  pageSize?: number;
  /** Attributes ldapts must hand out as Buffers (binary object ids such as objectGUID). */
  binaryAttributes?: string[];
}

export function ldaptsSource(client: Client, opts: LdaptsSourceOptions = {}): DirectorySource {
  const pageSize = opts.pageSize ?? 500;
  // ldapts matches explicitBufferAttributes by exact name; servers echo the schema spelling.
  const binary = [...new Set((opts.binaryAttributes ?? []).flatMap((a) => [a, a.toLowerCase(), ...(a.toLowerCase() === 'objectguid' ? ['objectGUID'] : [])]))];
  return {
    async read(dn, attributes) {
      try {
        const res = await client.search(dn, {
          scope: 'base',
          filter: '(objectClass=*)',
          attributes,
          explicitBufferAttributes: binary,
        });
        return (res.searchEntries[0] as RawEntry | undefined) ?? null;
      } catch (e) {
        if (isAbsentError(e)) return null;
        throw e;
      }
    },
    async search(base: string, filter: Filter, attributes: string[], onEntry: (entry: RawEntry) => void) {
      for await (const page of client.searchPaginated(base, {
        scope: 'sub',
        filter,
        attributes,
        paged: { pageSize },
        explicitBufferAttributes: binary,
      })) {
        for (const e of page.searchEntries) onEntry(e as RawEntry);
      }
    },
  };
}
