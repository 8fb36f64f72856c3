// Typed LDAP login errors with a stable `code` (tests and the HTTP layer
// switch on the code, never on the message).
import { ResultCodeError } from 'ldapts';

export type LdapLoginErrorCode =
  | 'EMPTY_PASSWORD'
  | 'INVALID_USERNAME'
  /** Wrong password AND unknown/ambiguous user: indistinguishable to the caller (no user enumeration). */
  | 'INVALID_CREDENTIALS'
  | 'NOT_IN_LOGIN_GROUP'
  /** The caller's beforeBind hook refused the bind (login throttling per account): no password was sent. */
  | 'THROTTLED'
  /**
   * No replica of the directory that may hold the user could be reached, bound as the
   * service account, or answered in time; `retryAfterSeconds` says when one is probed next.
   */
  | 'DIRECTORY_UNAVAILABLE';

export class LdapLoginError extends Error {
  override readonly name = 'LdapLoginError';
  /** DIRECTORY_UNAVAILABLE: seconds until the next probe of a replica that is down (at least 1). */
  readonly retryAfterSeconds?: number;
  constructor(
    readonly code: LdapLoginErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The LDAP result code (RFC 4511 §4.1.9) of an ldapts error, or undefined for transport errors. */
export function ldapResultCode(err: unknown): number | undefined {
  return err instanceof ResultCodeError ? err.code : undefined;
}

/**
 * Result codes of a simple bind that mean "these credentials do not log in"
 * rather than "this server is unhealthy": 49 invalidCredentials (AD adds
 * sub-codes for locked/expired/disabled in the diagnostic message),
 * 53 unwillingToPerform (e.g. disabled accounts, unauthenticated binds),
 * 50 insufficientAccessRights, 48 inappropriateAuthentication, 34 invalidDNSyntax.
 * None of them may trigger failover to the next server: the next server is a
 * replica with the same password.
 */
const CREDENTIAL_RESULT_CODES = new Set([34, 48, 49, 50, 53]);

export function isCredentialRejection(err: unknown): boolean {
  const code = ldapResultCode(err);
  return code !== undefined && CREDENTIAL_RESULT_CODES.has(code);
}

/** A short description for logs: class name + result code + message, never credentials. */
export function describeLdapError(err: unknown): string {
  if (err instanceof ResultCodeError) return `${err.constructor.name} (result code ${err.code})`;
  if (err instanceof Error) return `${err.name}: ${err.message.split('\n')[0]}`;
  return String(err);
}
