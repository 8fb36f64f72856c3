import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Store } from '../store/store.ts';
import type { Grant } from './grant.ts';
import { ServiceError } from '../http/errors.ts';
import { hashSecret, randomToken } from './secrets.ts';
import type { Revocations } from './revocation.ts';
import { decodeRefresh, encodeRefresh, type RefreshRecord } from './grant-record.ts';


interface UsedRecord {
  /** When the token was rotated, milliseconds since epoch. */
  atMs: number;
  /** The successor, encrypted with a key only the holder of the used token can derive. */
  successor: string;
}

export type RotateResult =
  | { outcome: 'rotated' | 'grace'; grant: Grant; refreshToken: string };

// The successor of a rotated token is kept (for the grace window) encrypted under
// a key derived from the old token itself, so the store never holds a usable
// refresh token, while a legitimate concurrent request with the old token can
// still be answered with the same successor.
function successorKey(oldToken: string): Buffer {
  return createHash('sha256').update('ljwt refresh successor\u0000').update(oldToken, 'utf8').digest();
}

function seal(oldToken: string, successor: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', successorKey(oldToken), iv);
  const ct = Buffer.concat([c.update(successor, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64url');
}

function open(oldToken: string, sealed: string): string | null {
  try {
    const b = Buffer.from(sealed, 'base64url');
    const d = createDecipheriv('aes-256-gcm', successorKey(oldToken), b.subarray(0, 12));
    d.setAuthTag(b.subarray(12, 28));
    return Buffer.concat([d.update(b.subarray(28)), d.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/**
 * Refresh tokens: opaque 256-bit random values, stored as SHA-256, rotated on
 * every use (OAuth 2.0 Security BCP, RFC 9700 §4.14.2). Presenting an already
 * rotated token revokes the whole family, except within a short grace window
 * where concurrent requests (several browser tabs) receive the same successor.
 */
export class RefreshTokens {
  constructor(
    private readonly store: Store,
    private readonly ttlSeconds: number,
    /** Milliseconds: a window of whole seconds would start wherever in its second the rotation landed. */
    private readonly graceMs: number,
    private readonly revocations: Revocations,
    /** Seconds since epoch (issuedAt). */
    private readonly now: () => number,
    /** Milliseconds since epoch (the grace window). */
    private readonly nowMs: () => number = () => now() * 1000,
  ) {}

  async issue(grant: Grant): Promise<string> {
    const token = randomToken();
    const rec: RefreshRecord = { grant, issuedAt: this.now() };
    await this.store.set(`rt:${hashSecret(token)}`, encodeRefresh(rec), this.ttlSeconds);
    return token;
  }

  private async lookup(token: string): Promise<RefreshRecord | null> {
    const raw = await this.store.get(`rt:${hashSecret(token)}`);
    return raw === null ? null : decodeRefresh(raw);
  }

  /** The grant of a live token whose family is not revoked, else null (for /revoke and /logout). */
  async find(token: string): Promise<Grant | null> {
    const rec = await this.lookup(token);
    return rec === null ? null : rec.grant;
  }

  /**
   * `check` may refuse the request (by throwing) once the token is known to be live and the
   * client's: it runs before anything is rotated, so a refused request leaves the token usable.
   */
  async rotate(token: string, clientId: string, onReuse: (outcome: 'grace' | 'family_revoked') => void,
    check: (grant: Grant) => void = () => undefined): Promise<RotateResult> {
    const h = hashSecret(token);
    const rec = await this.lookup(token);
    if (rec === null) throw new ServiceError('invalid_grant', 'the refresh token is invalid or expired');
    // RFC 6749 §6: the token must have been issued to the authenticated client.
    if (rec.grant.clientId !== clientId) throw new ServiceError('invalid_grant', 'the refresh token was issued to another client');
    if (await this.revocations.isFamilyRevoked(rec.grant.familyId)) {
      throw new ServiceError('invalid_grant', 'the refresh token was revoked');
    }
    check(rec.grant);
    const successor = await this.issue(rec.grant);
    const used: UsedRecord = { atMs: this.nowMs(), successor: seal(token, successor) };
    if (await this.store.setIfAbsent(`rtused:${h}`, JSON.stringify(used), this.ttlSeconds)) {
      return { outcome: 'rotated', grant: rec.grant, refreshToken: successor };
    }
    // Someone rotated this token before us.
    await this.store.del(`rt:${hashSecret(successor)}`);
    const prevRaw = await this.store.get(`rtused:${h}`);
    const prev = prevRaw === null ? null : (JSON.parse(prevRaw) as UsedRecord);
    if (prev !== null && this.graceMs > 0 && typeof prev.atMs === 'number' && this.nowMs() - prev.atMs <= this.graceMs) {
      const previous = open(token, prev.successor);
      if (previous !== null) {
        onReuse('grace');
        return { outcome: 'grace', grant: rec.grant, refreshToken: previous };
      }
    }
    await this.revocations.revokeFamily(rec.grant.familyId);
    onReuse('family_revoked');
    throw new ServiceError('invalid_grant', 'the refresh token was already used');
  }
}
