// Octets that must hold one JSON object: the JOSE header (RFC 7515 §5.2
// steps 3-4) and the JWT Claims Set (RFC 7519 §7.2 steps 9-10). Strict UTF-8
// first, so two different byte strings never parse to the same object.

import { ljwtError } from './errors.ts';
import { utf8DecodeStrict } from './utf8.ts';

/** `what` names the part in the error message, e.g. 'JWS header'; every failure is ERR_JWT_MALFORMED. */
export function parseJsonObject(bytes: Uint8Array, what: string): { [k: string]: unknown } {
  const text = utf8DecodeStrict(bytes);
  if (text === null) throw ljwtError('ERR_JWT_MALFORMED', what + ' is not UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw ljwtError('ERR_JWT_MALFORMED', what + ' is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw ljwtError('ERR_JWT_MALFORMED', what + ' is not a JSON object');
  }
  return value as { [k: string]: unknown };
}
