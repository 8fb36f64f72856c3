// What a refused client is told: the RFC 6750 §3 WWW-Authenticate challenge,
// whether the client is a browser navigating (which gets a login redirect
// instead), and the redirect URL itself.

import type { ErrorCode } from '../lib/errors.ts';
import { execWhole, trimOws } from '../lib/text.ts';

// Fixed texts: an exception message may carry key material, OpenSSL error
// strings or claim values, none of which belongs in a response. Each text is
// quoted-string safe (no '"', '\' or control characters, RFC 6750 §3).
const DESCRIPTIONS: { [code: string]: string } = {
  ERR_JWT_MALFORMED: 'The access token is malformed',
  ERR_JWS_INVALID: 'The access token header is invalid',
  ERR_JOSE_ALG_NOT_ALLOWED: 'The access token signing algorithm is not accepted',
  ERR_JOSE_NOT_SUPPORTED: 'The access token signing algorithm is not supported',
  ERR_JWKS_INVALID: 'No usable key to verify the access token',
  ERR_JWKS_NO_MATCHING_KEY: 'No key matches the access token',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'The access token signature is invalid',
  ERR_JWT_EXPIRED: 'The access token expired',
  ERR_JWT_NOT_YET_VALID: 'The access token is not yet valid',
  ERR_JWT_CLAIM_VALIDATION_FAILED: 'The access token claims are not accepted',
  ERR_JWT_REVOKED: 'The access token has been revoked',
  ERR_TOKEN_MISSING: 'No access token was presented',
  ERR_ACCESS_DENIED: 'The access token does not grant access to this resource',
  ERR_CONFIG_INVALID: 'The server is misconfigured',
};

/** The fixed, client-safe description of an error code (for $ljwt_error_description too). */
export function errorDescription(code: ErrorCode | string | null | undefined): string {
  if (typeof code === 'string' && Object.prototype.hasOwnProperty.call(DESCRIPTIONS, code)) return DESCRIPTIONS[code];
  return 'The access token is invalid';
}

// RFC 9110 §5.6.4 quoted-string: escape '"' and '\', drop control characters
// (config.ts already rejects them in the realm; this is belt and braces).
function quoted(s: string): string {
  return '"' + s.replace(/[\u0000-\u001f\u007f]/g, '').replace(/(["\\])/g, '\\$1') + '"';
}

/**
 * RFC 6750 §3. 401 without a token (or code ERR_TOKEN_MISSING): realm only,
 * §3.1 "the resource server SHOULD NOT include an error code". 401 with a
 * token that failed: error="invalid_token". 403: error="insufficient_scope".
 * ERR_CONFIG_INVALID is no statement about the token, so it gets no error.
 */
export function bearerChallenge(realm: string, code: ErrorCode | null | undefined, status: 401 | 403): string {
  let v = 'Bearer realm=' + quoted(realm);
  if (status === 403) {
    v += ', error="insufficient_scope", error_description=' + quoted(errorDescription(code || 'ERR_ACCESS_DENIED'));
  } else if (code && code !== 'ERR_TOKEN_MISSING' && code !== 'ERR_CONFIG_INVALID') {
    v += ', error="invalid_token", error_description=' + quoted(errorDescription(code));
  }
  return v;
}

export interface NavigationHints {
  method: string;
  accept?: string;
  xRequestedWith?: string;
  secFetchMode?: string;
  secFetchDest?: string;
}

// Accept contains text/html with a non-zero quality (RFC 9110 §12.5.1).
function acceptsHtml(accept: string): boolean {
  const ranges = accept.split(',');
  for (let i = 0; i < ranges.length; i++) {
    const params = ranges[i].split(';');
    if (trimOws(params[0]).toLowerCase() !== 'text/html') continue;
    let q = 1;
    for (let k = 1; k < params.length; k++) {
      const m = execWhole(/^[ \t]*q[ \t]*=[ \t]*([0-9.]+)[ \t]*$/i, params[k]);
      if (m !== null) q = parseFloat(m[1]);
    }
    if (q > 0) return true;
  }
  return false;
}

/**
 * A top-level browser navigation, which is better served by a redirect to the
 * login page than by a 401: GET/HEAD, Accept includes text/html, not an XHR
 * (X-Requested-With: XMLHttpRequest), and Sec-Fetch-Mode absent (older
 * browsers) or `navigate` (Fetch Metadata). fetch()/XHR from scripts send
 * mode cors/same-origin/no-cors and get the 401 they can handle. When
 * Sec-Fetch-Dest is sent it must be a document or frame.
 */
export function isBrowserNavigation(h: NavigationHints): boolean {
  if (h.method !== 'GET' && h.method !== 'HEAD') return false;
  if (!h.accept || !acceptsHtml(h.accept)) return false;
  if (h.xRequestedWith && h.xRequestedWith.toLowerCase() === 'xmlhttprequest') return false;
  if (h.secFetchMode && h.secFetchMode.toLowerCase() !== 'navigate') return false;
  if (h.secFetchDest) {
    const d = h.secFetchDest.toLowerCase();
    if (d !== 'document' && d !== 'iframe' && d !== 'frame') return false;
  }
  return true;
}

/**
 * loginUrl + `?<returnParam>=<originalUrl>` (or `&` when loginUrl has a query;
 * a fragment of loginUrl stays last). originalUrl must be the request's own
 * path and query: anything not starting with a single '/' (an absolute or
 * protocol-relative URL, `/\host`) is replaced by '/', so this never builds
 * an open redirect.
 */
export function loginRedirectUrl(loginUrl: string, returnParam: string, originalUrl: string): string {
  const safe = /^\/(?![\/\\])/.test(originalUrl) && !/[\u0000-\u001f\u007f]/.test(originalUrl) ? originalUrl : '/';
  let base = loginUrl;
  let frag = '';
  const h = base.indexOf('#');
  if (h >= 0) {
    frag = base.substring(h);
    base = base.substring(0, h);
  }
  const sep = base.indexOf('?') < 0 ? '?' : base.charAt(base.length - 1) === '?' || base.charAt(base.length - 1) === '&' ? '' : '&';
  let encoded: string;
  try {
    encoded = encodeURIComponent(safe);
  } catch (e) {
    // A lone surrogate (njs byte strings from a raw request line) cannot be encoded.
    encoded = '%2F';
  }
  return base + sep + encodeURIComponent(returnParam) + '=' + encoded + frag;
}
