// DirectorySource over an ldapts Client (one connection; ldapts multiplexes concurrent
// requests on it by message id).
import { ResultCodeError, type Client, type Filter } from 'ldapts';
import { pagedSearch, pagingState, type PagingState } from '../ldap/paged-search.ts';
import type { DirectorySource, RawEntry } from './expand.ts';
import { silentLogger, type Logger } from '../ops/logger.ts';

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
  /**
   * Paging of subtree searches (RFC 2696), shrunk when the server limits it; pass the same
   * state to the next sync of this server to start at the size that worked.
   */
  paging?: PagingState;
  log?: Logger;
  /** Attributes ldapts must hand out as Buffers (binary object ids such as objectGUID). */
  binaryAttributes?: string[];
}

export function ldaptsSource(client: Client, opts: LdaptsSourceOptions = {}): DirectorySource {
  const paging = opts.paging ?? pagingState();
  const log = opts.log ?? silentLogger;
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
      await pagedSearch(
        client,
        base,
        {
          filter,
          attributes,
          explicitBufferAttributes: binary,
          state: paging,
          onAdapt: ({ from, to, error }) =>
            log.warn(to.paged ? 'server limits the page size of paged searches; using smaller pages' : 'server refuses paged searches; searching unpaged', {
              base,
              from: from.pageSize,
              ...(to.paged ? { to: to.pageSize } : {}),
              error,
            }),
        },
        (e) => onEntry(e as RawEntry),
      );
    },
  };
}
