import { createHash } from 'node:crypto';
import type { Store } from '../store/store.ts';

export interface ThrottleLimits {
  maxFailuresPerUsername: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
}

export type ThrottleDecision =
  | { allowed: true; release(outcome: 'success' | 'failure' | 'neutral'): Promise<void> }
  | { allowed: false; limit: 'username' | 'ip'; retryAfterSeconds: number };

function keyPart(s: string): string {
  return createHash('sha256').update(s).digest('base64url').slice(0, 32);
}

/**
 * Login throttling that runs BEFORE any LDAP bind, so an attacker can never
 * drive a directory account into AD lockout through this service.
 *
 * An attempt reserves a slot in both counters up front (atomic INCR), so a burst
 * of parallel requests cannot slip past the limit while binds are in flight. A
 * successful login gives the slots back (username counter cleared, IP slot
 * returned); a failed one keeps them, so the counters count failures.
 */
export class LoginThrottle {
  constructor(private readonly store: Store, private readonly limits: ThrottleLimits) {}

  private userKey(username: string): string {
    // Case-folded: AD usernames are case-insensitive, so "Alice" and "alice" share a budget.
    return `thr:u:${keyPart(username.normalize('NFC').toLowerCase())}`;
  }

  private ipKey(ip: string): string {
    return `thr:ip:${keyPart(ip)}`;
  }

  async attempt(username: string, ip: string): Promise<ThrottleDecision> {
    const { maxFailuresPerUsername, maxFailuresPerIp, windowSeconds } = this.limits;
    const uk = this.userKey(username);
    const ik = this.ipKey(ip);
    const u = await this.store.incr(uk, windowSeconds);
    if (u.count > maxFailuresPerUsername) {
      await this.store.decr(uk);
      return { allowed: false, limit: 'username', retryAfterSeconds: u.ttlSeconds };
    }
    const i = await this.store.incr(ik, windowSeconds);
    if (i.count > maxFailuresPerIp) {
      await this.store.decr(ik);
      await this.store.decr(uk);
      return { allowed: false, limit: 'ip', retryAfterSeconds: i.ttlSeconds };
    }
    let released = false;
    return {
      allowed: true,
      release: async (outcome) => {
        if (released) return;
        released = true;
        if (outcome === 'failure') return;
        // 'neutral': the directory was unreachable; the user made no wrong guess.
        if (outcome === 'success') await this.store.del(uk);
        else await this.store.decr(uk);
        await this.store.decr(ik);
      },
    };
  }
}
