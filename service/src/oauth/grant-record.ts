// How authorization codes and refresh tokens keep their grant in the Store: a positional JSON
// array instead of an object, about half the bytes (the object form repeats a dozen field names
// in every record). The memory store holds one record per pending code and per live refresh
// token, so their size is most of the service's live heap under login load. Records in the
// object form (written before, still in Redis) are read as before; anything else is refused.
import { ServiceError } from '../http/errors.ts';
import type { Grant } from './grant.ts';

export interface CodeRecord {
  grant: Grant;
  redirectUri: string;
  codeChallenge?: string;
}

export interface RefreshRecord {
  grant: Grant;
  issuedAt: number;
}

const CODE = 'c1';
const REFRESH = 'r1';
/** clientId, username, objectId, dn, directory, displayName, email, scope, authTime, familyId, nonce. */
const GRANT_FIELDS = 11;

type GrantTuple = [string, string, string, string, string | null, string | null, string | null, string, number, string | null, string | null];

function grantTuple(g: Grant, withFamily: boolean): GrantTuple {
  const s = g.subject;
  // Scope tokens never contain a space (RFC 6749 §3.3), so the space-joined list splits back exactly.
  return [g.clientId, s.username, s.objectId, s.dn, s.directory ?? null, s.displayName ?? null, s.email ?? null,
    g.scope.join(' '), g.authTime, withFamily ? g.familyId : null, g.nonce ?? null];
}

/** A record nothing here wrote: never guessed at, the request fails (500) instead. */
function malformed(): ServiceError {
  return new ServiceError('store_record_malformed', 'internal error', { status: 500, oauthError: 'server_error' });
}

const isString = (v: unknown): v is string => typeof v === 'string';
const optional = (v: unknown): string | undefined => {
  if (v === null) return undefined;
  if (!isString(v)) throw malformed();
  return v;
};

function grantOf(t: unknown[], familyId: string | undefined): Grant {
  const [clientId, username, objectId, dn, directory, displayName, email, scope, authTime, family, nonce] = t;
  if (!isString(clientId) || !isString(username) || !isString(objectId) || !isString(dn) || !isString(scope)) throw malformed();
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) throw malformed();
  const fam = familyId ?? optional(family);
  if (fam === undefined) throw malformed();
  const dir = optional(directory);
  const name = optional(displayName);
  const mail = optional(email);
  const n = optional(nonce);
  return {
    clientId,
    subject: { username, objectId, dn, ...(dir !== undefined ? { directory: dir } : {}), ...(name !== undefined ? { displayName: name } : {}), ...(mail !== undefined ? { email: mail } : {}) },
    scope: scope === '' ? [] : scope.split(' '),
    authTime,
    familyId: fam,
    ...(n !== undefined ? { nonce: n } : {}),
  };
}

/** The array of a record with `tag`, or null for the object form; throws for anything else. */
function parse(raw: string, tag: string, length: number): unknown[] | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw malformed();
  }
  if (Array.isArray(v)) {
    if (v[0] !== tag || v.length !== length) throw malformed();
    return v.slice(1);
  }
  if (typeof v !== 'object' || v === null || typeof (v as { grant?: unknown }).grant !== 'object') throw malformed();
  return null;
}

/** A code's record. Its family id is left out: it is derived from the code itself (codes.ts). */
export function encodeCode(r: CodeRecord): string {
  return JSON.stringify([CODE, ...grantTuple(r.grant, false), r.redirectUri, r.codeChallenge ?? null]);
}

/** `familyId` is the one derived from the code; an object-form record keeps its own. */
export function decodeCode(raw: string, familyId: string): CodeRecord {
  const t = parse(raw, CODE, 1 + GRANT_FIELDS + 2);
  if (t === null) return JSON.parse(raw) as CodeRecord;
  const redirectUri = t[GRANT_FIELDS];
  if (!isString(redirectUri)) throw malformed();
  const challenge = optional(t[GRANT_FIELDS + 1]);
  return { grant: grantOf(t, familyId), redirectUri, ...(challenge !== undefined ? { codeChallenge: challenge } : {}) };
}

export function encodeRefresh(r: RefreshRecord): string {
  return JSON.stringify([REFRESH, ...grantTuple(r.grant, true), r.issuedAt]);
}

export function decodeRefresh(raw: string): RefreshRecord {
  const t = parse(raw, REFRESH, 1 + GRANT_FIELDS + 1);
  if (t === null) return JSON.parse(raw) as RefreshRecord;
  const issuedAt = t[GRANT_FIELDS];
  if (typeof issuedAt !== 'number' || !Number.isFinite(issuedAt)) throw malformed();
  return { grant: grantOf(t, undefined), issuedAt };
}
