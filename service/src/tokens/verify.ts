// Access token validation for /userinfo and /auth/validate with the SAME core
// the nginx edge runs (njs/jwt/validate.ts, njs/keys/key-set.ts), fed with the
// JWKS this service publishes, plus the revocation list the edge cannot see.
import { keySetFromJwks, type KeySet } from '#njs/keys/key-set.ts';
import { validateJwt, type ValidatedToken } from '#njs/jwt/validate.ts';
import type { KeyManager } from './keys.ts';
import { CHUNK_SIZE, MAX_CHUNKS } from '../browser/cookies.ts';

/**
 * Longest access token the service reads back (/auth/validate, /userinfo, /revoke,
 * /logout). Every token it verifies is one it issued, and the browser flow stores
 * up to MAX_CHUNKS cookies of CHUNK_SIZE bytes: the edge's 8192-byte default would
 * leave users in many groups unable to log out through their access cookie. Still
 * a cap, so a forged giant token is refused before it is decoded.
 */
export const MAX_ACCESS_TOKEN_BYTES = MAX_CHUNKS * CHUNK_SIZE;

export interface VerifierOptions {
  issuer: string;
  audiences: string[];
  leewaySeconds: number;
  maxTokenLength: number;
}

export class AccessTokenVerifier {
  private cachedText = '';
  private cached: KeySet = { keys: [] };
  private algorithms: string[] = [];

  constructor(private readonly keys: KeyManager, private readonly opts: VerifierOptions) {}

  private keySet(): KeySet {
    const jwks = this.keys.verificationJwks();
    const text = JSON.stringify(jwks);
    if (text !== this.cachedText) {
      this.cached = keySetFromJwks(text);
      // Only algorithms of keys we actually hold: an HS256 deployment never accepts RS*, and vice versa.
      this.algorithms = [...new Set(jwks.keys.map((k) => String(k.alg)))];
      this.cachedText = text;
    }
    return this.cached;
  }

  /** Validates like the edge does (typ at+jwt, iss, aud, sub, exp); rejects with an LjwtError carrying `code`. */
  verify(token: string, nowSeconds: number): Promise<ValidatedToken> {
    const keySet = this.keySet();
    return validateJwt(token, keySet, {
      algorithms: this.algorithms,
      maxTokenLength: this.opts.maxTokenLength,
      issuers: [this.opts.issuer],
      audiences: this.opts.audiences,
      leewaySeconds: this.opts.leewaySeconds,
      requiredTyp: 'at+jwt',
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      now: nowSeconds,
    });
  }
}
