import { createHash } from 'node:crypto';
import { safeEqual } from './secrets.ts';

// RFC 7636 §4.1: code_verifier = 43*128unreserved; §4.2: S256 challenge = BASE64URL(SHA256(verifier)) = 43 chars.
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export function isValidChallenge(c: string): boolean {
  return CHALLENGE.test(c);
}

export function isValidVerifier(v: string): boolean {
  return VERIFIER.test(v);
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function verifyPkce(verifier: string, challenge: string): boolean {
  return isValidVerifier(verifier) && safeEqual(s256(verifier), challenge);
}
