import type { ServiceContext } from './context.ts';
import { ldapErrorCode, type LdapUser } from './deps.ts';
import { GROUPS_RETRY_AFTER_SECONDS, groupsUnavailable, groupsUnavailableFor } from './group-availability.ts';

export type LoginResult =
  | { ok: true; user: LdapUser }
  | { ok: false; reason: 'invalid_input' | 'invalid_credentials' | 'not_allowed' | 'not_admitted' }
  | { ok: false; reason: 'throttled' | 'directory_unavailable' | 'groups_unavailable'; retryAfterSeconds: number };

/** Retry-After of a directory outage: when the LDAP layer probes a replica next (ldap/replicas.ts). */
function directoryRetryAfter(e: unknown): number {
  const s = typeof e === 'object' && e !== null ? (e as { retryAfterSeconds?: unknown }).retryAfterSeconds : undefined;
  return typeof s === 'number' && Number.isFinite(s) && s >= 1 ? Math.ceil(s) : 1;
}

/**
 * One login attempt: syntax checks, then throttling, and only then the LDAP
 * bind. Throttling comes first so that a throttled request never reaches the
 * directory (no AD lockout counter is ever touched by it). The per-account
 * budget is checked between the user search and the bind, once the username
 * has resolved to a DN, so aliases of one account cannot multiply the guesses.
 *
 * `admit` runs once the throttle let the attempt through and before LDAP (the
 * login form consumes its single-use CSRF nonce there): a throttled request
 * writes nothing to the store. False ends the attempt as 'not_admitted'.
 */
export async function login(ctx: ServiceContext, username: string, password: string, ip: string, via: string,
  admit?: () => Promise<boolean>): Promise<LoginResult> {
  const { logger, metrics } = ctx;
  if (password === '' || username === '' || username.length > 256 || !ctx.config.usernamePattern.test(username)) {
    metrics.logins.inc({ outcome: 'invalid_input' });
    logger.info('login_rejected', { reason: 'invalid_input', ip, via });
    return { ok: false, reason: 'invalid_input' };
  }
  // No directory's groups read yet: no token could carry the user's groups. Refused before
  // the throttle and LDAP, so the attempt costs the user nothing and reveals nothing.
  const unavailable = groupsUnavailable(ctx.groups.status());
  if (unavailable !== null) {
    metrics.logins.inc({ outcome: 'groups_unavailable' });
    logger.warn('login_refused', { reason: 'groups_unavailable', detail: unavailable, ip, via });
    return { ok: false, reason: 'groups_unavailable', retryAfterSeconds: GROUPS_RETRY_AFTER_SECONDS };
  }
  const decision = await ctx.throttle.attempt(username, ip);
  if (!decision.allowed) {
    metrics.logins.inc({ outcome: 'throttled' });
    metrics.throttled.inc({ limit: decision.limit });
    logger.warn('login_throttled', { username, ip, limit: decision.limit, retry_after: decision.retryAfterSeconds, via });
    return { ok: false, reason: 'throttled', retryAfterSeconds: decision.retryAfterSeconds };
  }
  if (admit !== undefined && !(await admit())) {
    await decision.release('neutral');
    return { ok: false, reason: 'not_admitted' };
  }
  let accountRetryAfter = 0;
  let bindStarted = false;
  const beforeBind = async (dn: string): Promise<boolean> => {
    const a = await decision.account(dn);
    if (!a.allowed) accountRetryAfter = a.retryAfterSeconds;
    else bindStarted = true;
    return a.allowed;
  };
  const started = process.hrtime.bigint();
  try {
    const user = await ctx.authenticator.authenticate(username, password, beforeBind);
    metrics.ldapLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    await decision.release('success');
    // The user's directory may be one whose groups were never read (it was unreachable
    // when the others synced): a token now would lack them. The password was right, so
    // the attempt counts as a success for the throttle.
    const missing = groupsUnavailableFor(ctx, user);
    if (missing !== null) {
      metrics.logins.inc({ outcome: 'groups_unavailable' });
      logger.warn('login_refused', { reason: 'groups_unavailable', detail: missing, directory: user.directory, username: user.username, ip, via });
      return { ok: false, reason: 'groups_unavailable', retryAfterSeconds: GROUPS_RETRY_AFTER_SECONDS };
    }
    metrics.logins.inc({ outcome: 'success' });
    logger.info('login_succeeded', { username: user.username, object_id: user.objectId, ip, via });
    return { ok: true, user };
  } catch (e) {
    metrics.ldapLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    const code = ldapErrorCode(e);
    if (code === 'THROTTLED') {
      // No password was sent: this attempt guessed nothing, the account's budget is already spent.
      await decision.release('neutral');
      metrics.logins.inc({ outcome: 'throttled' });
      metrics.throttled.inc({ limit: 'username' });
      logger.warn('login_throttled', { username, ip, limit: 'account', retry_after: accountRetryAfter, via });
      return { ok: false, reason: 'throttled', retryAfterSeconds: Math.max(1, accountRetryAfter) };
    }
    if (code === 'INVALID_CREDENTIALS' || code === 'INVALID_USERNAME' || code === 'EMPTY_PASSWORD') {
      await decision.release('failure');
      metrics.logins.inc({ outcome: 'invalid_credentials' });
      logger.info('login_failed', { username, ip, reason: code, via });
      return { ok: false, reason: 'invalid_credentials' };
    }
    if (code === 'NOT_IN_LOGIN_GROUP') {
      await decision.release('failure');
      metrics.logins.inc({ outcome: 'not_allowed' });
      logger.info('login_failed', { username, ip, reason: code, via });
      return { ok: false, reason: 'not_allowed' };
    }
    // Once the password went out, the directory may have counted it (a bind that timed out
    // was possibly processed): the attempt keeps its slots. Earlier outages cost nothing.
    await decision.release(bindStarted ? 'failure' : 'neutral');
    metrics.logins.inc({ outcome: 'directory_unavailable' });
    const retryAfterSeconds = directoryRetryAfter(e);
    logger.error('login_directory_unavailable', { username, ip, via, error: e instanceof Error ? e.name : 'unknown', retry_after: retryAfterSeconds });
    return { ok: false, reason: 'directory_unavailable', retryAfterSeconds };
  }
}
