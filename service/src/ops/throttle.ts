import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Store } from '../store/store.ts';

export interface ThrottleLimits {
  maxFailuresPerUsername: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
}

export interface ThrottleAttempt {
  allowed: true;
  /**
   * Reserves a slot in the budget of the directory account the username resolved to (its
   * DN), before the bind. Every alias of one account (uid, sAMAccountName,
   * userPrincipalName, case and Unicode variants) shares this budget. False when it is spent.
   */
  account(dn: string): Promise<{ allowed: true } | { allowed: false; retryAfterSeconds: number }>;
  release(outcome: 'success' | 'failure' | 'neutral'): Promise<void>;
}

export type ThrottleDecision =
  | ThrottleAttempt
  | { allowed: false; limit: 'username' | 'ip'; retryAfterSeconds: number };

function keyPart(s: string): string {
  return createHash('sha256').update(s).digest('base64url').slice(0, 32);
}

/** IPv6 clients are counted per /64: one host usually holds a whole /64 (RFC 6177) and can rotate through it. */
function clientNetwork(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  if (right.some((g) => g.includes('.'))) return ip; // embedded IPv4 form: rare, keep as is
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/**
 * Login throttling that runs BEFORE any LDAP bind, so an attacker can never
 * drive a directory account into AD lockout through this service.
 *
 * An attempt reserves a slot in each counter up front (atomic INCR), so a burst
 * of parallel requests cannot slip past the limit while binds are in flight. A
 * successful login gives the slots back (username counters cleared, IP slot
 * returned); a failed one keeps them, so the counters count failures.
 *
 * The IP counter is checked first: a client over its limit creates no
 * per-username entries, so it cannot fill the store (and push other counters out).
 */
export class LoginThrottle {
  constructor(private readonly store: Store, private readonly limits: ThrottleLimits) {}

  private userKey(username: string): string {
    // Case-folded: AD usernames are case-insensitive, so "Alice" and "alice" share a budget.
    return `thr:u:${keyPart(username.normalize('NFC').toLowerCase())}`;
  }

  private accountKey(dn: string): string {
    return `thr:a:${keyPart(dn.normalize('NFC').toLowerCase())}`;
  }

  private ipKey(ip: string): string {
    return `thr:ip:${keyPart(clientNetwork(ip))}`;
  }

  async attempt(username: string, ip: string): Promise<ThrottleDecision> {
    const { maxFailuresPerUsername, maxFailuresPerIp, windowSeconds } = this.limits;
    const ik = this.ipKey(ip);
    const i = await this.store.incr(ik, windowSeconds);
    if (i.count > maxFailuresPerIp) {
      await this.store.decr(ik);
      return { allowed: false, limit: 'ip', retryAfterSeconds: i.ttlSeconds };
    }
    const uk = this.userKey(username);
    const u = await this.store.incr(uk, windowSeconds);
    if (u.count > maxFailuresPerUsername) {
      await this.store.decr(uk);
      await this.store.decr(ik);
      return { allowed: false, limit: 'username', retryAfterSeconds: u.ttlSeconds };
    }
    let released = false;
    let ak: string | undefined;
    return {
      allowed: true,
      account: async (dn) => {
        // Once per attempt: a failover to the next replica binds the same account again.
        if (ak !== undefined) return { allowed: true };
        const key = this.accountKey(dn);
        const a = await this.store.incr(key, windowSeconds);
        if (a.count > maxFailuresPerUsername) {
          await this.store.decr(key);
          return { allowed: false, retryAfterSeconds: a.ttlSeconds };
        }
        ak = key;
        return { allowed: true };
      },
      release: async (outcome) => {
        if (released) return;
        released = true;
        if (outcome === 'failure') return;
        // 'neutral': the directory was unreachable or the bind never happened; the user made no wrong guess.
        if (outcome === 'success') {
          await this.store.del(uk);
          if (ak !== undefined) await this.store.del(ak);
        } else {
          await this.store.decr(uk);
          if (ak !== undefined) await this.store.decr(ak);
        }
        await this.store.decr(ik);
      },
    };
  }
}
