import { randomUUID } from 'node:crypto';
import type { IdTokenAlgorithm } from '../config/types.ts';
import type { KeyManager } from './keys.ts';

export interface Subject {
  username: string;
  objectId: string;
  dn: string;
  displayName?: string;
  email?: string;
  /** The directory that holds the entry (LdapUser.directory): whose groups a token for it needs. Not a claim. */
  directory?: string;
}

export interface AccessTokenInput {
  issuer: string;
  audience: string[];
  ttlSeconds: number;
  subject: Subject;
  clientId: string;
  scope: string;
  authTime: number;
  groupDns: string[];
  /** Refresh family / login session; lets /auth/validate and /userinfo honour a family revocation. */
  sid: string;
  now: number;
}

/** RFC 9068 JWT access token. `dns` and `oids` carry the user's group DNs and object ids. */
export async function issueAccessToken(keys: KeyManager, t: AccessTokenInput): Promise<{ token: string; jti: string; exp: number }> {
  const jti = randomUUID();
  const exp = t.now + t.ttlSeconds;
  const scopes = t.scope.split(' ');
  // RFC 9068 §2.2.2: identity claims may be included; only for the scopes that grant them.
  const identity: Record<string, string> = {};
  if (scopes.includes('profile') && t.subject.displayName !== undefined) identity.name = t.subject.displayName;
  if (scopes.includes('email') && t.subject.email !== undefined) identity.email = t.subject.email;
  const token = await keys.sign({
    ...identity,
    iss: t.issuer,
    // RFC 9068 §2.2: aud is required; a single audience is written as a string.
    aud: t.audience.length === 1 ? t.audience[0] : t.audience,
    sub: t.subject.username,
    exp,
    iat: t.now,
    jti,
    client_id: t.clientId,
    scope: t.scope,
    auth_time: t.authTime,
    sid: t.sid,
    dns: t.groupDns,
    oids: [t.subject.objectId],
  }, 'at+jwt');
  return { token, jti, exp };
}

export interface IdTokenInput {
  issuer: string;
  clientId: string;
  ttlSeconds: number;
  subject: Subject;
  authTime: number;
  nonce?: string;
  scope: string[];
  sid: string;
  now: number;
  /** The client's id_token_signed_response_alg. */
  alg: IdTokenAlgorithm;
}

/** OpenID Connect Core §2 ID token (typ JWT, aud = client_id, nonce echoed). */
export async function issueIdToken(keys: KeyManager, t: IdTokenInput): Promise<string> {
  const claims: Record<string, unknown> = {
    iss: t.issuer,
    sub: t.subject.username,
    aud: t.clientId,
    exp: t.now + t.ttlSeconds,
    iat: t.now,
    auth_time: t.authTime,
    sid: t.sid,
  };
  if (t.nonce !== undefined) claims.nonce = t.nonce;
  if (t.scope.includes('profile')) {
    claims.preferred_username = t.subject.username;
    if (t.subject.displayName !== undefined) claims.name = t.subject.displayName;
  }
  if (t.scope.includes('email') && t.subject.email !== undefined) claims.email = t.subject.email;
  return keys.sign(claims, 'JWT', t.alg);
}
