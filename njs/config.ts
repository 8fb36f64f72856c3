// The configuration surface: nginx variables `$ljwt_*` set by the operator
// (`set $ljwt_issuer "...";` at server or location level), read by the
// adapter as plain strings and turned here into an EdgeConfig. Unset and
// empty mean "default". Every problem is ERR_CONFIG_INVALID with a message
// naming the variable, and nothing is guessed: a value that does not parse is
// an error, never silently ignored (an ignored group rule would fail open).

import { ljwtError } from './lib/errors.ts';
import { execWhole, matchesWhole, trimOws, versionAtLeast } from './lib/text.ts';
import { checkLoginUrl, checkRealm, checkReturnParam, DEFAULT_REALM, DEFAULT_RETURN_PARAM } from './http/response-settings.ts';
import { normalizeDn } from './authz/dn.ts';
import type { LocationPolicy, ClaimRequirement } from './authz/policy.ts';
import type { ClaimMapping } from './identity/headers.ts';
import type { ValidateOptions } from './jwt/validate.ts';
import { MAX_CACHE_AGE_SECONDS } from './cache/decision-entry.ts';

/** ValidateOptions without `now` (the adapter adds it per request). */
export type EdgeValidateOptions = Omit<ValidateOptions, 'now'>;

export interface EdgeKeySources {
  jwksFiles: string[];
  pemFiles: string[];
  jwksLocation: string | null;
}

export interface EdgeConfig {
  keys: EdgeKeySources;
  validate: EdgeValidateOptions;
  cookieName: string | null;
  userClaim: string;
  claimMap: ClaimMapping[];
  loginUrl: string | null;
  returnParam: string;
  realm: string;
  policy: LocationPolicy;
  /** Seconds a verified token's verdict may be reused (njs/cache/); 0 = verify every request. */
  cacheMaxAge: number;
  /** The client's `Authorization: Bearer` header reaches the upstream (default: removed). */
  passAuthorization: boolean;
}

export interface EdgeRuntime {
  ed25519: boolean; // crypto.subtle can verify Ed25519 (njs >= 0.9.7)
  version: string; // njs.version, for messages
}

/** One operator setting: an nginx variable `$<name>` read by the validator. */
export interface EdgeSetting {
  name: string;
  /** What an unset or empty value means. */
  default: string;
  meaning: string;
}

/**
 * Every $ljwt_* input, in the order of the settings snapshot (one string
 * joined by "\n") that nginx/protect-common.conf and nginx/server.conf
 * build. http.conf's `js_var` lines and those snapshots are checked against
 * this table (test/unit/njs/nginx/nginx-includes.test.ts), and the settings
 * reference in the docs is written from it.
 */
export const EDGE_SETTINGS: EdgeSetting[] = [
  { name: 'ljwt_jwks_file', default: '', meaning: 'space-separated absolute paths of JWKS files' },
  { name: 'ljwt_pem_files', default: '', meaning: 'space-separated absolute paths of PEM files (public keys, certificates)' },
  { name: 'ljwt_jwks_location', default: '', meaning: 'an internal location that answers the provider\'s JWKS (proxy_cache\'d)' },
  { name: 'ljwt_algorithms', default: 'RS*, PS*, ES*, and EdDSA where the runtime has Ed25519', meaning: 'accepted JWS algorithms (HS* only when listed)' },
  { name: 'ljwt_issuer', default: '(required)', meaning: 'space-separated accepted issuers' },
  { name: 'ljwt_audience', default: '(required)', meaning: 'space-separated accepted audiences, or "off"' },
  { name: 'ljwt_leeway', default: '30', meaning: 'clock skew allowed for exp/nbf/iat, seconds (0-3600)' },
  { name: 'ljwt_typ', default: 'at+jwt', meaning: 'required JWS typ (RFC 9068), or "off"' },
  { name: 'ljwt_required_claims', default: 'sub exp', meaning: 'claims a token must carry (exp always)' },
  { name: 'ljwt_max_token_length', default: '8192', meaning: 'longest token accepted, bytes' },
  { name: 'ljwt_cookie', default: '', meaning: 'cookie that carries the token for browsers (and its chunks <name>.0 ...)' },
  { name: 'ljwt_user_claim', default: 'sub', meaning: 'claim sent as X-Authenticated-User' },
  { name: 'ljwt_claim_map', default: '', meaning: 'name=claim pairs filling $ljwt_claim_<name>' },
  { name: 'ljwt_login_url', default: '', meaning: 'where browsers without a valid token are redirected' },
  { name: 'ljwt_return_param', default: 'rd', meaning: 'query parameter of the login URL that carries the original URL' },
  { name: 'ljwt_realm', default: 'nginx-ldap-jwt', meaning: 'realm of the WWW-Authenticate challenge' },
  { name: 'ljwt_require_any_group', default: '', meaning: 'group DNs separated by "|": one of them is required' },
  { name: 'ljwt_require_all_groups', default: '', meaning: 'group DNs separated by "|": all of them are required' },
  { name: 'ljwt_require_scope', default: '', meaning: 'space-separated scopes, all required' },
  { name: 'ljwt_require_claim', default: '', meaning: 'space-separated claim=value pairs, all required' },
  { name: 'ljwt_cache_max_age', default: '60', meaning: 'seconds a verified token\'s decision is reused (0 = verify every request)' },
  { name: 'ljwt_pass_authorization', default: 'off', meaning: '"on" passes the client\'s Authorization: Bearer header to the upstream' },
];

/** The input variables (names without '$') in snapshot order; the adapter reads exactly these. */
// Pure: a bundle that imports config.ts only for something else (a lazy
// module's shared helper) drops both tables (scripts/build.mjs, LAZY_MODULES).
export const EDGE_VARIABLES: string[] = /* @__PURE__ */ EDGE_SETTINGS.map(function (s) { return s.name; });


/** Prefix of the output variables filled from $ljwt_claim_map (declared by the operator with js_var). */
export const CLAIM_VAR_PREFIX = 'ljwt_claim_';

export const SUPPORTED_ALGORITHMS: string[] = [
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'EdDSA',
];

// HS* only when listed: a default that admitted HMAC would let anyone holding
// a public key that is also configured as a secret forge tokens.
export const DEFAULT_ALGORITHMS: string[] = [
  'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA',
];

export const DEFAULTS = {
  leewaySeconds: 30,
  maxLeewaySeconds: 3600,
  requiredTyp: 'at+jwt',
  requiredClaims: ['sub', 'exp'],
  maxTokenLength: 8192,
  maxTokenLengthLimit: 1048576,
  userClaim: 'sub',
  returnParam: DEFAULT_RETURN_PARAM,
  realm: DEFAULT_REALM,
  cacheMaxAgeSeconds: 60,
};

type Vars = { [name: string]: string | undefined };

function bad(name: string, msg: string): never {
  throw ljwtError('ERR_CONFIG_INVALID', '$' + name + ' ' + msg);
}

function show(v: string): string {
  return JSON.stringify(v);
}

// The value, trimmed; null when unset or empty. Control characters are never
// legitimate in any of these values (and would end up in headers or logs).
const CONTROL_CHARACTER = /[\u0000-\u0008\u000a-\u001f\u007f]/;
// Marks a Vars copy whose values checkedVars() has already tested (not a
// variable name: those never contain a space).
const CHECKED = ' checked';

function get(vars: Vars, name: string): string | null {
  const v = Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined;
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') bad(name, 'must be a string');
  if (vars[CHECKED] === undefined && CONTROL_CHARACTER.test(v)) bad(name, 'contains a control character');
  const t = trimOws(v);
  return t === '' ? null : t;
}

// One regex test over all values instead of one per variable (a regex test
// costs microseconds on njs 0.7.9, and this runs on every request). Only when
// that test finds something is the offending variable looked for.
function checkedVars(vars: Vars): Vars {
  const out: Vars = {};
  let all = '';
  for (let i = 0; i < EDGE_VARIABLES.length; i++) {
    const name = EDGE_VARIABLES[i];
    if (!Object.prototype.hasOwnProperty.call(vars, name)) continue;
    const v = vars[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') bad(name, 'must be a string');
    out[name] = v;
    all += v + ' ';
  }
  if (CONTROL_CHARACTER.test(all)) {
    for (let i = 0; i < EDGE_VARIABLES.length; i++) get(vars, EDGE_VARIABLES[i]);
  }
  out[CHECKED] = '';
  return out;
}

function words(v: string): string[] {
  // String separators: split() with a regex costs ~60 µs per call on njs 0.7.9.
  const parts = (v.indexOf('\t') >= 0 ? v.split('\t').join(' ') : v).split(' ');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) if (parts[i] !== '' && out.indexOf(parts[i]) < 0) out.push(parts[i]);
  return out;
}

function integer(vars: Vars, name: string, def: number, min: number, max: number, what: string): number {
  const v = get(vars, name);
  if (v === null) return def;
  if (!matchesWhole(/^[0-9]{1,9}$/, v)) bad(name, 'must be ' + what + ', got ' + show(v));
  const n = parseInt(v, 10);
  if (n < min || n > max) bad(name, 'must be between ' + min + ' and ' + max + ', got ' + v);
  return n;
}

function absolutePaths(vars: Vars, name: string): string[] {
  const v = get(vars, name);
  if (v === null) return [];
  const ps = words(v);
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].charAt(0) !== '/') bad(name, 'needs absolute paths (starting with "/"), got ' + show(ps[i]));
  }
  return ps;
}

// RFC 9110 §5.6.2 token characters: JOSE typ values, claim names, cookie names.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function algorithms(vars: Vars, runtime: EdgeRuntime): string[] {
  const name = 'ljwt_algorithms';
  const v = get(vars, name);
  if (v === null) {
    const out: string[] = [];
    for (let i = 0; i < DEFAULT_ALGORITHMS.length; i++) {
      if (DEFAULT_ALGORITHMS[i] !== 'EdDSA' || runtime.ed25519) out.push(DEFAULT_ALGORITHMS[i]);
    }
    return out;
  }
  const list = words(v);
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    if (a.toLowerCase() === 'none') bad(name, 'must not contain "none" (unsigned tokens are never accepted)');
    if (SUPPORTED_ALGORITHMS.indexOf(a) < 0) {
      bad(name, 'contains unsupported algorithm ' + show(a) + ' (supported, case-sensitive: ' +
        SUPPORTED_ALGORITHMS.join(' ') + ')');
    }
    if (a === 'EdDSA' && !runtime.ed25519) {
      bad(name, 'lists EdDSA, but ' + (versionAtLeast(runtime.version, [0, 9, 7])
        ? 'this build of njs (' + runtime.version + ') has no Ed25519 in WebCrypto'
        : 'EdDSA needs njs >= 0.9.7 (Ed25519); this runtime is njs ' + runtime.version));
    }
  }
  return list;
}

function groups(vars: Vars, name: string): string[] {
  const v = get(vars, name);
  if (v === null) return [];
  const parts = v.split('|');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = trimOws(parts[i]);
    if (p === '') bad(name, 'has an empty group DN (DNs are separated by "|"), got ' + show(v));
    let n: string;
    try {
      n = normalizeDn(p);
    } catch (e) {
      bad(name, 'has an invalid DN ' + show(p) + ': ' + (e as Error).message);
    }
    if (out.indexOf(n) < 0) out.push(n);
  }
  return out;
}

function claimMap(vars: Vars): ClaimMapping[] {
  const name = 'ljwt_claim_map';
  const v = get(vars, name);
  const out: ClaimMapping[] = [];
  if (v === null) return out;
  const items = words(v);
  for (let i = 0; i < items.length; i++) {
    const m = execWhole(/^([A-Za-z0-9_]+)=([^=]+)$/, items[i]);
    if (m === null) {
      bad(name, 'must be space-separated name=claim pairs (name: letters, digits, "_"), got ' + show(items[i]));
    }
    const varName = CLAIM_VAR_PREFIX + m[1];
    // "map" would name $ljwt_claim_map itself: an output must never overwrite an input.
    if (EDGE_VARIABLES.indexOf(varName) >= 0) bad(name, 'name ' + show(m[1]) + ' would overwrite $' + varName);
    for (let k = 0; k < out.length; k++) {
      if (out[k].varName === varName) bad(name, 'maps ' + show(m[1]) + ' twice');
    }
    out.push({ varName: varName, claimPath: m[2] });
  }
  return out;
}

function requiredClaimValues(vars: Vars): ClaimRequirement[] {
  const name = 'ljwt_require_claim';
  const v = get(vars, name);
  const out: ClaimRequirement[] = [];
  if (v === null) return out;
  const items = words(v);
  for (let i = 0; i < items.length; i++) {
    const eq = items[i].indexOf('=');
    if (eq <= 0 || eq === items[i].length - 1) {
      bad(name, 'must be space-separated claim=value pairs, got ' + show(items[i]));
    }
    out.push({ name: items[i].substring(0, eq), value: items[i].substring(eq + 1) });
  }
  return out;
}

function scopes(vars: Vars): string[] {
  const name = 'ljwt_require_scope';
  const v = get(vars, name);
  if (v === null) return [];
  const list = words(v);
  for (let i = 0; i < list.length; i++) {
    // RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    if (!matchesWhole(/^[\x21\x23-\x5b\x5d-\x7e]+$/, list[i])) bad(name, 'has an invalid scope ' + show(list[i]));
  }
  return list;
}

function loginUrl(vars: Vars): string | null {
  const name = 'ljwt_login_url';
  const v = get(vars, name);
  if (v === null) return null;
  // An absolute http(s) URL or a local path; never protocol-relative ("//host").
  if (!checkLoginUrl(v)) {
    bad(name, 'must be an absolute http(s) URL or a path starting with a single "/", got ' + show(v));
  }
  return v;
}

function returnParam(vars: Vars): string {
  const name = 'ljwt_return_param';
  const v = get(vars, name);
  if (v === null) return DEFAULTS.returnParam;
  if (!checkReturnParam(v)) bad(name, 'must be a query parameter name (letters, digits, "-._~"), got ' + show(v));
  return v;
}

function onOff(vars: Vars, name: string): boolean {
  const v = get(vars, name);
  if (v === null || v === 'off') return false;
  if (v === 'on') return true;
  return bad(name, 'must be "on" or "off", got ' + show(v));
}

function singleToken(vars: Vars, name: string, def: string | null, what: string, re: RegExp): string | null {
  const v = get(vars, name);
  if (v === null) return def;
  if (!matchesWhole(re, v)) bad(name, 'must be ' + what + ', got ' + show(v));
  return v;
}

/**
 * The key file paths as parseEdgeConfig splits them, without its checks: the
 * decision cache stats them before parsing (a configuration that does not
 * parse never stores a decision, so it never finds one either).
 */
export function keyFilePaths(vars: Vars): string[] {
  const out: string[] = [];
  const names = ['ljwt_jwks_file', 'ljwt_pem_files'];
  for (let i = 0; i < names.length; i++) {
    const v = vars[names[i]];
    if (typeof v !== 'string') continue;
    const ps = words(trimOws(v));
    for (let j = 0; j < ps.length; j++) out.push(ps[j]);
  }
  return out;
}

/**
 * Whether $ljwt_algorithms is set. Unset, the default list applies, which
 * names EdDSA only where the runtime has Ed25519; set, EdDSA is listed on
 * purpose and a runtime without Ed25519 is a configuration error.
 */
export function hasExplicitAlgorithms(vars: Vars): boolean {
  return get(vars, 'ljwt_algorithms') !== null;
}

export function parseEdgeConfig(input: Vars, runtime: EdgeRuntime): EdgeConfig {
  const vars = checkedVars(input);
  const jwksFiles = absolutePaths(vars, 'ljwt_jwks_file');
  const pemFiles = absolutePaths(vars, 'ljwt_pem_files');
  const jwksLocation = singleToken(vars, 'ljwt_jwks_location', null,
    'one location URI starting with "/"', /^\/[\x21-\x7e]*$/);
  if (jwksFiles.length === 0 && pemFiles.length === 0 && jwksLocation === null) {
    throw ljwtError('ERR_CONFIG_INVALID',
      'no verification keys: set at least one of $ljwt_jwks_file, $ljwt_pem_files, $ljwt_jwks_location');
  }

  const issuer = get(vars, 'ljwt_issuer');
  if (issuer === null) bad('ljwt_issuer', 'is required (space-separated accepted issuers)');
  const audience = get(vars, 'ljwt_audience');
  if (audience === null) bad('ljwt_audience', 'is required (space-separated accepted audiences, or "off")');
  if (audience !== 'off' && words(audience).indexOf('off') >= 0) {
    bad('ljwt_audience', 'is "off" (no audience check) or a list of audiences, not both, got ' + show(audience));
  }
  const typ = get(vars, 'ljwt_typ');
  if (typ !== null && typ !== 'off' && !matchesWhole(/^[A-Za-z0-9!#$&^_.+-]+(\/[A-Za-z0-9!#$&^_.+-]+)?$/, typ)) {
    bad('ljwt_typ', 'must be a media type such as at+jwt, or "off", got ' + show(typ));
  }
  const requiredClaims = get(vars, 'ljwt_required_claims');
  const reqClaims = requiredClaims === null ? DEFAULTS.requiredClaims.slice() : words(requiredClaims);
  for (let i = 0; i < reqClaims.length; i++) {
    if (!matchesWhole(TOKEN, reqClaims[i])) bad('ljwt_required_claims', 'has an invalid claim name ' + show(reqClaims[i]));
  }
  // RFC 9068 §2.2: exp is REQUIRED in an access token. The variable adds
  // requirements; it can never make a token without exp valid forever.
  if (reqClaims.indexOf('exp') < 0) reqClaims.push('exp');

  const realm = get(vars, 'ljwt_realm');
  if (realm !== null && !checkRealm(realm)) bad('ljwt_realm', 'must not contain \'"\' or \'\\\', got ' + show(realm));

  return {
    keys: { jwksFiles: jwksFiles, pemFiles: pemFiles, jwksLocation: jwksLocation },
    validate: {
      algorithms: algorithms(vars, runtime),
      maxTokenLength: integer(vars, 'ljwt_max_token_length', DEFAULTS.maxTokenLength, 16,
        DEFAULTS.maxTokenLengthLimit, 'a positive integer of bytes'),
      issuers: words(issuer),
      audiences: audience === 'off' ? [] : words(audience),
      leewaySeconds: integer(vars, 'ljwt_leeway', DEFAULTS.leewaySeconds, 0, DEFAULTS.maxLeewaySeconds,
        'a non-negative integer of seconds'),
      requiredTyp: typ === null ? DEFAULTS.requiredTyp : typ === 'off' ? null : typ,
      requiredClaims: reqClaims,
    },
    cookieName: singleToken(vars, 'ljwt_cookie', null, 'one cookie name (RFC 6265 token)', TOKEN),
    userClaim: singleToken(vars, 'ljwt_user_claim', DEFAULTS.userClaim, 'one claim name', /^[^\s]+$/) as string,
    claimMap: claimMap(vars),
    loginUrl: loginUrl(vars),
    returnParam: returnParam(vars),
    realm: realm === null ? DEFAULTS.realm : realm,
    policy: {
      anyGroups: groups(vars, 'ljwt_require_any_group'),
      allGroups: groups(vars, 'ljwt_require_all_groups'),
      scopes: scopes(vars),
      claims: requiredClaimValues(vars),
    },
    cacheMaxAge: integer(vars, 'ljwt_cache_max_age', DEFAULTS.cacheMaxAgeSeconds, 0, MAX_CACHE_AGE_SECONDS,
      'a non-negative integer of seconds (0 = no cache)'),
    passAuthorization: onOff(vars, 'ljwt_pass_authorization'),
  };
}
