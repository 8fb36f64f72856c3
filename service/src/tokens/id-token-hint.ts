// The id_token_hint of a logout request (OpenID Connect RP-Initiated Logout 1.0 §2), checked
// with the edge's JWS core against the keys this service publishes.
import { verifyCompactJws } from '#njs/jws/verify.ts';
import { decodeClaims } from '#njs/jwt/claims.ts';
import { keySetFromJwks } from '#njs/keys/key-set.ts';
import { ljwtError } from '#njs/lib/errors.ts';
import { ID_TOKEN_ALGORITHMS } from '../config/schema.ts';
import type { KeyManager } from './keys.ts';

export interface IdTokenHint {
  /** The login session (refresh family) the ID token was issued in. */
  sid: string;
  sub: string;
  /** The clients the ID token was issued to. */
  audiences: string[];
}

/** An ID token is far smaller than an access token: it carries no groups. */
const MAX_HINT_BYTES = 8192;

function stringClaim(claims: { [k: string]: unknown }, name: string): string {
  const v = claims[name];
  if (typeof v !== 'string' || v === '') throw ljwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', `"${name}" must be a non-empty string`, name);
  return v;
}

/**
 * Verifies that we issued the ID token: its signature by one of our published keys, our
 * issuer, typ JWT (an access token, at+jwt, is no ID token), and the claims logout needs.
 * Its expiry is not checked: §2 says an OP SHOULD accept an expired ID token as the hint,
 * since a session usually outlives its ID token. Rejects with an LjwtError carrying `code`.
 */
export async function verifyIdTokenHint(keys: KeyManager, issuer: string, token: string): Promise<IdTokenHint> {
  const published = keys.publicJwks();
  const algorithms = ID_TOKEN_ALGORITHMS.filter((a) => published.keys.some((k) => k.alg === a));
  const jws = await verifyCompactJws(token, keySetFromJwks(JSON.stringify(published)), { algorithms, maxTokenLength: MAX_HINT_BYTES });
  if (jws.header.typ !== 'JWT') throw ljwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'not an ID token (typ)', 'typ');
  const claims = decodeClaims(jws.payload);
  if (claims.iss !== issuer) throw ljwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', 'issued by another issuer', 'iss');
  const aud = claims.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
  if (audiences.length === 0) throw ljwtError('ERR_JWT_CLAIM_VALIDATION_FAILED', '"aud" is missing', 'aud');
  return { sid: stringClaim(claims, 'sid'), sub: stringClaim(claims, 'sub'), audiences };
}
