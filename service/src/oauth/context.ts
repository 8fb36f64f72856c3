import type { ServiceConfig } from '../config/types.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { LoginThrottle } from '../ops/throttle.ts';
import type { BlockList } from 'node:net';
import type { Store } from '../store/store.ts';
import type { KeyManager } from '../tokens/keys.ts';
import type { AccessTokenVerifier } from '../tokens/verify.ts';
import type { AuthorizationCodes } from './codes.ts';
import type { Csrf } from './csrf.ts';
import type { Authenticator, GroupDirectory } from './deps.ts';
import type { RefreshTokens } from './refresh-tokens.ts';
import type { Revocations } from './revocation.ts';

/** Settings the service needs beyond ServiceConfig, with defaults (see app.ts DEFAULT_TUNING). */
export interface Tuning {
  /** A new signing key becomes active after this many seconds. */
  keyRotationSeconds: number;
  /** Clock skew allowed when validating tokens (also added to key retention). */
  leewaySeconds: number;
  /** A rotated refresh token presented again within this many seconds gets the same successor instead of revoking the family. */
  refreshReuseGraceSeconds: number;
  /** Cookie holding the access token (for /auth/validate and /logout); null = Authorization header only. */
  accessTokenCookie: string | null;
  /** Cookie holding the refresh token (for /logout); null = none. */
  refreshTokenCookie: string | null;
  /** Upper bound on request bodies. */
  maxBodyBytes: number;
  /** Lifetime of a login form (its CSRF token). */
  loginFormTtlSeconds: number;
  /** WWW-Authenticate realm of /auth/validate and /userinfo. */
  realm: string;
  /** In-flight requests get this long to finish on shutdown. */
  shutdownGraceMs: number;
}

export interface ServiceContext {
  config: ServiceConfig;
  tuning: Tuning;
  store: Store;
  keys: KeyManager;
  verifier: AccessTokenVerifier;
  authenticator: Authenticator;
  groups: GroupDirectory;
  logger: Logger;
  metrics: Metrics;
  throttle: LoginThrottle;
  csrf: Csrf;
  codes: AuthorizationCodes;
  refreshTokens: RefreshTokens;
  revocations: Revocations;
  /** config.trustedProxies, parsed. */
  trustedProxies: BlockList;
  /** Seconds since epoch. */
  now(): number;
}
