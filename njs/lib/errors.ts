// One error shape with a stable string `code` (after panva/jose); tests assert codes.
// njs has no `class`, so errors are plain Error objects carrying a code.

export type ErrorCode =
  | 'ERR_JWT_MALFORMED' // not three strict base64url segments, bad JSON, too long
  | 'ERR_JWS_INVALID' // header invalid: bad alg/typ/crit/b64 members
  | 'ERR_JOSE_ALG_NOT_ALLOWED' // alg absent from the configured allow-list (incl. "none")
  | 'ERR_JOSE_NOT_SUPPORTED' // alg or key type this runtime cannot verify
  | 'ERR_JWKS_INVALID' // key material that cannot be parsed or is unsafe (short RSA/HMAC key)
  | 'ERR_JWKS_NO_MATCHING_KEY' // no configured key fits the token's kid/alg
  | 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
  | 'ERR_JWT_EXPIRED'
  | 'ERR_JWT_NOT_YET_VALID' // nbf in the future, or iat in the future
  | 'ERR_JWT_CLAIM_VALIDATION_FAILED' // iss, aud, typ, required claims, claim types
  | 'ERR_JWT_REVOKED' // sid or jti pushed by the service to ngx.shared.ljwt_revoked (njs/revocation/)
  | 'ERR_REVOCATION_INVALID' // a revocation push body that is not the documented shape (nothing stored)
  | 'ERR_TOKEN_MISSING'
  | 'ERR_ACCESS_DENIED' // authenticated but the location's policy refuses
  | 'ERR_CONFIG_INVALID'; // operator error: bad nginx variable, unreadable key file

export interface LjwtError extends Error {
  code: ErrorCode;
  /** For ERR_JWT_CLAIM_VALIDATION_FAILED: which claim failed. */
  claim?: string;
}

export function ljwtError(code: ErrorCode, message: string, claim?: string): LjwtError {
  const e = new Error(message) as LjwtError;
  e.code = code;
  if (claim !== undefined) e.claim = claim;
  return e;
}

export function isLjwtError(e: unknown): e is LjwtError {
  return typeof e === 'object' && e !== null && typeof (e as LjwtError).code === 'string' &&
    (e as LjwtError).code.indexOf('ERR_') === 0;
}
