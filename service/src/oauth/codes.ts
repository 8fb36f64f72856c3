import type { Store } from '../store/store.ts';
import type { Grant } from './grant.ts';
import { ServiceError } from '../http/errors.ts';
import { hashSecret, randomToken } from './secrets.ts';
import type { Revocations } from './revocation.ts';
import { type CodeRecord, decodeCode, encodeCode } from './grant-record.ts';

/**
 * Authorization codes: 256-bit random, stored hashed, single use (atomic
 * GETDEL), short TTL, bound to client, redirect_uri, PKCE challenge and user.
 */
export class AuthorizationCodes {
  constructor(
    private readonly store: Store,
    private readonly ttlSeconds: number,
    /** How long a redeemed code is remembered, to detect its replay. */
    private readonly replayMemorySeconds: number,
    private readonly revocations: Revocations,
  ) {}

  /** The family (sid) of the tokens a code yields is derived from the code, so a replay can name it before any lookup. */
  private static familyOf(code: string): string {
    return hashSecret(`family\u0000${code}`);
  }

  async issue(grantWithoutFamily: Omit<Grant, 'familyId'>, redirectUri: string, codeChallenge: string | undefined): Promise<string> {
    const code = randomToken();
    const grant: Grant = { ...grantWithoutFamily, familyId: AuthorizationCodes.familyOf(code) };
    const rec: CodeRecord = { grant, redirectUri, ...(codeChallenge !== undefined ? { codeChallenge } : {}) };
    await this.store.set(`code:${hashSecret(code)}`, encodeCode(rec), this.ttlSeconds);
    return code;
  }

  /**
   * Redeems a code once. A second presentation is invalid_grant AND revokes
   * every token issued from the first (RFC 6749 §4.1.2, §10.5).
   */
  async redeem(code: string): Promise<{ grant: Grant; redirectUri: string; codeChallenge?: string; replayed: false } | { replayed: true }> {
    const h = hashSecret(code);
    const replay = async () => {
      await this.revocations.revokeFamily(AuthorizationCodes.familyOf(code));
      return { replayed: true as const };
    };
    if ((await this.store.get(`code:${h}`)) === null) {
      // Gone: redeemed (the mark is always set before the code is taken), expired, or never issued.
      // Unknown codes leave no trace, so guessing does not grow the store.
      if ((await this.store.get(`codeused:${h}`)) !== null) return replay();
      throw new ServiceError('invalid_grant', 'the authorization code is invalid or expired');
    }
    // Mark, then take: of concurrent redemptions (also on two instances) exactly one
    // wins the mark, and the others are known to be replays before the winner mints anything.
    if (!(await this.store.setIfAbsent(`codeused:${h}`, '1', this.replayMemorySeconds))) return replay();
    const raw = await this.store.getDel(`code:${h}`);
    if (raw === null) throw new ServiceError('invalid_grant', 'the authorization code is invalid or expired');
    return { ...decodeCode(raw, AuthorizationCodes.familyOf(code)), replayed: false };
  }
}
