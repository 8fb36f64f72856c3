import type { ServiceConfig } from './config/types.ts';
import type { Tuning } from './oauth/context.ts';

/**
 * Service settings not (yet) part of ServiceConfig. When config loading adds
 * these optional fields with these names, main.ts picks them up unchanged.
 */
export interface TuningConfigFields {
  /** Signing key rotation period (default 90 days). */
  keyRotationSeconds?: number;
  /** Refresh token reuse grace (default 10 s; 0 disables). */
  refreshReuseGraceSeconds?: number;
  /** Cookie carrying the access token for /auth/validate and /logout. */
  accessTokenCookie?: string;
  /** Cookie carrying the refresh token for /logout. */
  refreshTokenCookie?: string;
  /** Clock skew for token validation (default 30 s). */
  leewaySeconds?: number;
}

export function tuningFromConfig(config: ServiceConfig): Partial<Tuning> {
  const c = config as ServiceConfig & TuningConfigFields;
  const t: Partial<Tuning> = {};
  if (c.keyRotationSeconds !== undefined) t.keyRotationSeconds = c.keyRotationSeconds;
  if (c.refreshReuseGraceSeconds !== undefined) t.refreshReuseGraceSeconds = c.refreshReuseGraceSeconds;
  if (c.accessTokenCookie !== undefined) t.accessTokenCookie = c.accessTokenCookie;
  if (c.refreshTokenCookie !== undefined) t.refreshTokenCookie = c.refreshTokenCookie;
  if (c.leewaySeconds !== undefined) t.leewaySeconds = c.leewaySeconds;
  return t;
}
