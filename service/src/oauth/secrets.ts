import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256-bit random value, base64url (codes, refresh tokens, family ids). */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Store keys for bearer secrets: only the SHA-256 is stored, so a store dump yields nothing usable. */
export function hashSecret(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64url');
}

/** Constant-time string comparison (hash first so lengths never leak). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
