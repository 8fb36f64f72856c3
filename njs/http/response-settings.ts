// What a refused request's response needs from the location's settings: the
// realm of the challenge, the login URL browsers are sent to and its return
// parameter. Checked here with the same rules config.ts applies, so that a
// token that cannot be a JWS is refused without parsing the whole
// configuration (njs/nginx/validate.ts); a value that fails is left to the
// full parse, which reports it as a configuration error.

import { matchesWhole, trimOws } from '../lib/text.ts';

export interface ResponseSettings {
  realm: string;
  loginUrl: string | null;
  returnParam: string;
}

export const DEFAULT_REALM = 'nginx-ldap-jwt';
export const DEFAULT_RETURN_PARAM = 'rd';

// As config.ts: tabs separate words, every other control character is refused.
const CONTROL_CHARACTER = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** An absolute http(s) URL or a local path; never protocol-relative ("//host"). */
export function checkLoginUrl(v: string): boolean {
  return matchesWhole(/^(https?:\/\/[^\/?#\s"\\]+|\/(?![\/\\]))[^\s"\\<>]*$/i, v);
}

/** A realm goes into a quoted-string (RFC 9110 §5.6.4): no '"' or '\'. */
export function checkRealm(v: string): boolean {
  return !/["\\]/.test(v);
}

/** A query parameter name: RFC 3986 unreserved characters. */
export function checkReturnParam(v: string): boolean {
  return matchesWhole(/^[A-Za-z0-9\-._~]+$/, v);
}

function value(raw: string | undefined): string | null | false {
  if (raw === undefined || raw === '') return null;
  if (CONTROL_CHARACTER.test(raw)) return false;
  const t = trimOws(raw);
  return t === '' ? null : t;
}

/** From the raw $ljwt_realm, $ljwt_login_url, $ljwt_return_param; null when any is invalid. */
export function responseSettings(realmRaw: string | undefined, loginUrlRaw: string | undefined,
  returnParamRaw: string | undefined): ResponseSettings | null {
  const realm = value(realmRaw);
  const loginUrl = value(loginUrlRaw);
  const returnParam = value(returnParamRaw);
  if (realm === false || loginUrl === false || returnParam === false) return null;
  if (realm !== null && !checkRealm(realm)) return null;
  if (loginUrl !== null && !checkLoginUrl(loginUrl)) return null;
  if (returnParam !== null && !checkReturnParam(returnParam)) return null;
  return {
    realm: realm === null ? DEFAULT_REALM : realm,
    loginUrl: loginUrl,
    returnParam: returnParam === null ? DEFAULT_RETURN_PARAM : returnParam,
  };
}
