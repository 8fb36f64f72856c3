// A subtree search that adapts to the server's paged-results limits (RFC 2696).
//
// Servers cap paging in ways a client only learns by asking:
// - a page size above the server's limit: OpenLDAP `limits ... size.pr=N` answers
//   adminLimitExceeded (11, "illegal pagedResults page size"); other servers answer
//   sizeLimitExceeded (4). AD's MaxPageSize silently returns smaller pages (no error).
// - the control refused: unavailableCriticalExtension (12, RFC 4511 §4.1.11 for a
//   critical control the server does not support), or OpenLDAP `size.prtotal=disabled`
//   (adminLimitExceeded, "pagedResults control not allowed").
// - a cap on all entries returned through paging (`size.prtotal=N`): sizeLimitExceeded
//   after N entries, whatever the page size.
// On such an answer the page is halved (down to MIN_PAGE_SIZE) and the search restarts;
// below that, or when the control is refused, the search runs once without paging. What
// was learned is kept in the PagingState, so the next search of the same sync (and the
// next sync, when the caller keeps the state) starts at the size that worked.
//
// A restarted search delivers entries again: onEntry must be idempotent per DN.
import { ResultCodeError, type Client, type Filter } from 'ldapts';

/** sizeLimitExceeded, adminLimitExceeded, unavailableCriticalExtension (RFC 4511 Appendix A). */
const LIMIT_CODES = new Set([4, 11, 12]);
const UNAVAILABLE_CRITICAL_EXTENSION = 12;
export const MIN_PAGE_SIZE = 10;
export const DEFAULT_PAGE_SIZE = 500;

export interface PagingState {
  /** Page size of the next paged search. */
  pageSize: number;
  /** False once the server refused paging altogether (searches run unpaged). */
  paged: boolean;
}

export function pagingState(pageSize = DEFAULT_PAGE_SIZE): PagingState {
  return { pageSize: Math.max(1, Math.floor(pageSize)), paged: true };
}

export interface PagedSearchOptions {
  scope?: 'base' | 'one' | 'sub';
  filter: Filter | string;
  attributes: string[];
  explicitBufferAttributes?: string[];
  state: PagingState;
  /** Told every time the search steps down (a smaller page, or no paging). */
  onAdapt?: (change: { from: PagingState; to: PagingState; error: string }) => void;
}

export function isPageLimitError(e: unknown): e is ResultCodeError {
  return e instanceof ResultCodeError && LIMIT_CODES.has(e.code);
}

/** The next, more modest way to ask after the server refused `s` with `e`. */
function stepDown(s: PagingState, e: ResultCodeError): PagingState {
  if (e.code === UNAVAILABLE_CRITICAL_EXTENSION || s.pageSize <= MIN_PAGE_SIZE) return { pageSize: s.pageSize, paged: false };
  return { pageSize: Math.max(MIN_PAGE_SIZE, Math.floor(s.pageSize / 2)), paged: true };
}

export async function pagedSearch(client: Client, base: string, opts: PagedSearchOptions, onEntry: (entry: Record<string, unknown> & { dn: string }) => void): Promise<void> {
  const { state } = opts;
  const common = {
    scope: opts.scope ?? 'sub',
    filter: opts.filter,
    attributes: opts.attributes,
    ...(opts.explicitBufferAttributes ? { explicitBufferAttributes: opts.explicitBufferAttributes } : {}),
  } as const;
  for (;;) {
    try {
      if (!state.paged) {
        const res = await client.search(base, common);
        for (const e of res.searchEntries) onEntry(e);
        return;
      }
      for await (const page of client.searchPaginated(base, { ...common, paged: { pageSize: state.pageSize } })) {
        for (const e of page.searchEntries) onEntry(e);
      }
      return;
    } catch (e) {
      if (!state.paged && e instanceof ResultCodeError && e.code === 4) {
        // Unpaged and still limited: the server caps the whole result; nothing left to try.
        throw new Error(`${base}: the server refuses the page sizes tried and caps an unpaged search (${e.name}); raise its size limit for the service account`, { cause: e });
      }
      if (!state.paged || !isPageLimitError(e)) throw e;
      const from = { ...state };
      Object.assign(state, stepDown(state, e));
      opts.onAdapt?.({ from, to: { ...state }, error: `${e.name} (${e.code}): ${e.message}` });
    }
  }
}
