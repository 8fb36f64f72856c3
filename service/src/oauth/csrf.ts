import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/store.ts';

export const CSRF_COOKIE = 'ljwt_csrf';
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Login form CSRF protection: double submit, signed. The browser holds a random
 * binding value in an HttpOnly cookie; the form carries
 * `nonce.expiry.HMAC(key, binding|nonce|expiry)`. A POST is accepted only when
 * the MAC matches the cookie sent with it, the token has not expired, and its
 * nonce was never used before (single use, recorded in the Store).
 */
export class Csrf {
  constructor(private readonly key: Buffer, private readonly store: Store, private readonly ttlSeconds: number) {}

  newBinding(): string {
    return randomBytes(32).toString('base64url');
  }

  isBinding(v: string | undefined): v is string {
    return v !== undefined && COOKIE_VALUE.test(v);
  }

  private mac(binding: string, nonce: string, exp: number): Buffer {
    return createHmac('sha256', this.key).update(`csrf\u0000${binding}\u0000${nonce}\u0000${exp}`).digest();
  }

  issue(binding: string, now: number): string {
    const nonce = randomBytes(16).toString('base64url');
    const exp = now + this.ttlSeconds;
    return `${nonce}.${exp}.${this.mac(binding, nonce, exp).toString('base64url')}`;
  }

  /**
   * Checks the MAC against the cookie and the expiry, without touching the store.
   * Returns the token's nonce, to be consumed with consume() before the form is acted on.
   */
  check(binding: string | undefined, token: string | undefined, now: number): { nonce: string; exp: number } | null {
    if (!this.isBinding(binding) || token === undefined) return null;
    const m = /^([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return null;
    const exp = Number(m[2]);
    if (exp < now) return null;
    // Compare the base64url text, not decoded bytes: decoding ignores the spare low bits of the
    // last character, which would make several spellings of one MAC acceptable.
    const expected = Buffer.from(this.mac(binding, m[1]!, exp).toString('base64url'));
    const given = Buffer.from(m[3]!);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    return { nonce: m[1]!, exp };
  }

  /** Single use: true for the first caller only. */
  consume(checked: { nonce: string; exp: number }, now: number): Promise<boolean> {
    return this.store.setIfAbsent(`csrf:${checked.nonce}`, '1', Math.max(1, checked.exp - now + 1));
  }

  async verify(binding: string | undefined, token: string | undefined, now: number): Promise<boolean> {
    const checked = this.check(binding, token, now);
    return checked !== null && this.consume(checked, now);
  }
}
