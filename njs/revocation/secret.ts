// The shared secret the service presents to the revocation endpoint
// (Authorization: Bearer <secret>, RFC 6750 §2.1), pure core.

import { ljwtError } from '../lib/errors.ts';
import { matchesWhole, trimOws } from '../lib/text.ts';

/** Fewer characters than this is refused: 32 printable characters, e.g. `openssl rand -base64 32` (44). */
export const MIN_SECRET_LENGTH = 32;
export const MAX_SECRET_LENGTH = 512;

/**
 * The secret from the file's text: trailing CR/LF removed (an editor's final
 * newline is not part of it), then 32-512 printable ASCII characters without
 * space (what fits in an RFC 6750 b64token and a header). Anything else is a
 * configuration error.
 */
export function secretFromFile(text: string): string {
  let end = text.length;
  while (end > 0 && (text.charAt(end - 1) === '\n' || text.charAt(end - 1) === '\r')) end--;
  const s = text.substring(0, end);
  if (s.length < MIN_SECRET_LENGTH || s.length > MAX_SECRET_LENGTH || !matchesWhole(/^[\x21-\x7e]+$/, s)) {
    throw ljwtError('ERR_CONFIG_INVALID', 'the revocation secret file must hold ' + MIN_SECRET_LENGTH + '-' +
      MAX_SECRET_LENGTH + ' printable ASCII characters without space');
  }
  return s;
}

/** The credentials of an `Authorization: Bearer <token>` header, or null. */
export function bearerCredentials(header: string | undefined): string | null {
  if (typeof header !== 'string') return null;
  const v = trimOws(header);
  // RFC 9110 §11.1: the scheme is case-insensitive.
  if (v.length < 7 || v.substring(0, 7).toLowerCase() !== 'bearer ') return null;
  const token = trimOws(v.substring(7));
  return token === '' ? null : token;
}

/**
 * Compares the presented credentials with the secret in time that depends only
 * on the lengths, never on where they first differ: a byte-by-byte early exit
 * would let a caller find the secret one character at a time.
 */
export function secretMatches(presented: string, secret: string): boolean {
  let diff = presented.length === secret.length ? 0 : 1;
  for (let i = 0; i < secret.length; i++) {
    const p = i < presented.length ? presented.charCodeAt(i) : 0;
    diff |= p ^ secret.charCodeAt(i);
  }
  return diff === 0 && secret.length > 0;
}
