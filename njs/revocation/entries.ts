// Revocation at the edge, pure core: the body the service POSTs to nginx's
// revocation endpoint (nginx/revocation-endpoint.conf) and the shared-dict keys
// a token's claims are looked up under. No ngx/r references: the same module
// runs in njs, QuickJS and the Node unit tests, and the service validates its
// entries with it before sending them.
//
// Body: {"revoke":[{"sid":"…","until":<epoch s>}, {"jti":"…","until":<epoch s>}]}
// A sid revokes every access token of a login session (RFC 9068 tokens of this
// service carry the refresh family as `sid`), a jti one token (RFC 7519 §4.1.7).
// `until` is when the last token it can match stops being accepted (its exp plus
// the edge's leeway): after that the entry is useless and the dict drops it.

import { ljwtError } from '../lib/errors.ts';
import { matchesWhole } from '../lib/text.ts';

/** js_shared_dict_zone name (nginx/http-shared.conf). */
export const REVOCATION_ZONE = 'ljwt_revoked';

/** Bytes of a push body; nginx/revocation-endpoint.conf sets client_max_body_size and client_body_buffer_size to it. */
export const MAX_BODY_BYTES = 65536;
/** Entries in one push: ~60 bytes each, so a full push stays under MAX_BODY_BYTES. */
export const MAX_ENTRIES = 1000;
/** Length of a sid or jti. The service's are 43 (base64url SHA-256) and 36 (UUID) characters. */
export const MAX_ID_LENGTH = 256;
/**
 * How far ahead `until` may be: the longest access token lifetime the service
 * accepts (86400 s) plus the largest edge leeway ($ljwt_leeway, 3600 s) with
 * room to spare. Anything later is a sender bug, refused rather than truncated
 * (a truncated entry would end before the tokens it revokes).
 */
export const MAX_LIFETIME_SECONDS = 2 * 86400;

export type RevocationKind = 'sid' | 'jti';

export interface RevocationEntry {
  /** Shared-dict key: "sid:" + sid or "jti:" + jti. */
  key: string;
  /** Epoch seconds after which the entry may be forgotten. */
  until: number;
}

export interface ParsedRevocations {
  /** Entries to store (until still in the future). */
  entries: RevocationEntry[];
  /** Well-formed entries whose until has already passed: nothing left to revoke. */
  expired: number;
}

// Printable ASCII without space: what the service's ids are made of, and safe
// as a dict key and in a log line.
const ID = /^[\x21-\x7e]+$/;

function invalid(msg: string): never {
  throw ljwtError('ERR_REVOCATION_INVALID', msg);
}

function isPlainObject(v: unknown): v is { [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The dict key of a sid or jti. */
export function revocationKey(kind: RevocationKind, id: string): string {
  return kind + ':' + id;
}

/** True for a sid/jti the endpoint accepts. */
export function isRevocationId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH && matchesWhole(ID, id);
}

/**
 * The dict keys to look up for a validated token's claims: "sid:<sid>" and
 * "jti:<jti>" for each claim that is a non-empty string. A token is refused
 * when any of them is present.
 */
export function revocationKeys(claims: { [k: string]: unknown }): string[] {
  const keys: string[] = [];
  if (typeof claims.sid === 'string' && claims.sid !== '') keys.push(revocationKey('sid', claims.sid));
  if (typeof claims.jti === 'string' && claims.jti !== '') keys.push(revocationKey('jti', claims.jti));
  return keys;
}

/** One entry of a push, checked; `where` names it in the error. */
export function parseRevocationEntry(v: unknown, nowSeconds: number, where: string): RevocationEntry {
  if (!isPlainObject(v)) invalid(where + ' is not an object');
  const names = Object.keys(v);
  let kind: RevocationKind | null = null;
  for (let i = 0; i < names.length; i++) {
    const n = names[i];
    if (n === 'until') continue;
    if (n !== 'sid' && n !== 'jti') invalid(where + ' has an unknown member');
    if (kind !== null) invalid(where + ' has both sid and jti');
    kind = n;
  }
  if (kind === null) invalid(where + ' has neither sid nor jti');
  const id = v[kind];
  if (!isRevocationId(id)) {
    invalid(where + '.' + kind + ' must be 1-' + MAX_ID_LENGTH + ' printable ASCII characters without space');
  }
  const until = v.until;
  if (typeof until !== 'number' || !Number.isSafeInteger(until) || until <= 0) {
    invalid(where + '.until must be a positive whole number of seconds since the epoch');
  }
  if (until > nowSeconds + MAX_LIFETIME_SECONDS) invalid(where + '.until is more than ' + MAX_LIFETIME_SECONDS + ' s ahead');
  return { key: revocationKey(kind, id), until: until };
}

/**
 * Parses and checks a whole push body. All or nothing: any defect throws
 * ERR_REVOCATION_INVALID before the caller stores anything. Members other than
 * the documented ones are refused, so a sender that means something else (a
 * field this version does not know) is told instead of half obeyed.
 */
export function parseRevocationBody(text: string, nowSeconds: number): ParsedRevocations {
  if (typeof text !== 'string' || text === '') invalid('empty body');
  if (text.length > MAX_BODY_BYTES) invalid('body longer than ' + MAX_BODY_BYTES + ' bytes');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    invalid('body is not JSON');
  }
  if (!isPlainObject(doc)) invalid('body is not a JSON object');
  const top = Object.keys(doc);
  if (top.length !== 1 || top[0] !== 'revoke') invalid('body must have exactly one member, revoke');
  const list = doc.revoke;
  if (!Array.isArray(list)) invalid('revoke is not an array');
  if (list.length === 0) invalid('revoke is empty');
  if (list.length > MAX_ENTRIES) invalid('more than ' + MAX_ENTRIES + ' entries');
  const entries: RevocationEntry[] = [];
  let expired = 0;
  for (let i = 0; i < list.length; i++) {
    const e = parseRevocationEntry(list[i], nowSeconds, 'revoke[' + i + ']');
    if (e.until <= nowSeconds) expired++;
    else entries.push(e);
  }
  return { entries: entries, expired: expired };
}

/**
 * The per-entry dict timeout in milliseconds (ngx.shared set(key, value,
 * timeout), njs >= 0.8.5): the time left until `until`, rounded up, at least 1
 * (njs 1.0.2 throws on 0 and stores a negative value as already expired, measured).
 */
export function entryTimeoutMs(until: number, nowMs: number): number {
  const left = Math.ceil(until * 1000 - nowMs);
  return left < 1 ? 1 : left;
}

/**
 * Whether a stored value (the entry's `until` as a decimal string) already
 * covers `until`: a late or repeated push must never shorten a revocation.
 */
export function coversUntil(stored: unknown, until: number): boolean {
  if (typeof stored !== 'string' || !matchesWhole(/^[0-9]{1,16}$/, stored)) return false;
  return parseInt(stored, 10) >= until;
}
