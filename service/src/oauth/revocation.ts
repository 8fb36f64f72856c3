import type { Store } from '../store/store.ts';

/** Told about every revocation once it is stored (edge/revocation-push.ts); must not block or throw. */
export interface RevocationListener {
  revokeSession(sid: string): void;
  revokeToken(jti: string, ttlSeconds: number): void;
}

/**
 * Revocation list. A family (login session: one authorization code or password
 * grant and every refresh token rotated from it) is revoked as a whole; access
 * tokens carry the family as `sid`, so /auth/validate and /userinfo refuse
 * them too. Single access tokens are revoked by `jti` until they expire.
 */
export class Revocations {
  constructor(private readonly store: Store, private readonly familyTtlSeconds: number,
    private readonly listener: RevocationListener | null = null) {}

  async revokeFamily(familyId: string): Promise<void> {
    await this.store.set(`famrev:${familyId}`, '1', this.familyTtlSeconds);
    this.listener?.revokeSession(familyId);
  }

  async isFamilyRevoked(familyId: string): Promise<boolean> {
    return (await this.store.get(`famrev:${familyId}`)) !== null;
  }

  async revokeJti(jti: string, ttlSeconds: number): Promise<void> {
    if (ttlSeconds <= 0) return;
    await this.store.set(`jtirev:${jti}`, '1', ttlSeconds);
    this.listener?.revokeToken(jti, ttlSeconds);
  }

  /** True when the token's jti or its family is revoked. */
  async isAccessTokenRevoked(claims: { [k: string]: unknown }): Promise<boolean> {
    const jti = claims.jti;
    const sid = claims.sid;
    if (typeof jti === 'string' && (await this.store.get(`jtirev:${jti}`)) !== null) return true;
    if (typeof sid === 'string' && (await this.isFamilyRevoked(sid))) return true;
    return false;
  }
}
