// The validator: js_content of the internal auth_request location
// (nginx/server.conf) or js_access handler (nginx/protect-access.conf).
// 204 (or nothing, under js_access) = allow, identity js_vars set; 401 = no
// or invalid token; 403 = the location's policy refuses; 500 = configuration
// error. auth_request maps any other status, including an uncaught
// exception's 500, to 500, so every exception is caught here: a bad token is
// always a 401, never a 500.
//
// The order is the cost order: the settings snapshot and the token are read
// first; a token that cannot be a JWS is refused before any configuration is
// parsed; a token verified before with these settings is answered from the
// decision cache (revocation still checked); only then is the configuration
// parsed and the token verified in full.

import { isLjwtError, ljwtError, type ErrorCode } from '../lib/errors.ts';
import { hasExplicitAlgorithms, parseEdgeConfig, settingIndex, type EdgeConfig } from '../config.ts';
import { keySetFromJwks, keySetFromPem, mergeKeySets, type KeySet } from '../keys/key-set.ts';
import { cachedKeySet } from '../keys/key-set-cache.ts';
import { validateJwt } from '../jwt/validate.ts';
import { cookiesWithoutToken, extractToken, isCompactJwsShape, upstreamAuthorization, type TokenResult } from '../http/token.ts';
import { bearerChallenge, errorDescription, loginRedirectUrl } from '../http/challenge.ts';
import { responseSettings, type ResponseSettings } from '../http/response-settings.ts';
import { identityFromClaims } from '../identity/headers.ts';
import { evaluatePolicy } from '../authz/policy.ts';
import { decodeProtectedHeader } from '../jws/verify.ts';
import { decisionKey, decisionStore, keyFileStamps, type DecisionStore } from './decision-cache.ts';
import { firstRevoked } from './revocation-store.ts';
import { entryExpiry, KEY_FILE_CHECK_SECONDS, type CachedDecision, type Decision } from '../cache/decision-entry.ts';
import { revocationKeys } from '../revocation/entries.ts';
import { trimOws } from '../lib/text.ts';
import { createContext, isBrowserRequest, messageOf, probeCapabilities, settingsMap, staticCapabilities, OUTPUT_VARIABLES,
  type EdgeContext, type Settings } from './context.ts';

const COOKIE = settingIndex('ljwt_cookie');
const CACHE_MAX_AGE = settingIndex('ljwt_cache_max_age');
const JWKS_FILE = settingIndex('ljwt_jwks_file');
const PEM_FILES = settingIndex('ljwt_pem_files');
const REALM = settingIndex('ljwt_realm');
const LOGIN_URL = settingIndex('ljwt_login_url');
const RETURN_PARAM = settingIndex('ljwt_return_param');
const PASS_AUTHORIZATION = settingIndex('ljwt_pass_authorization');

// $ljwt_cache_status (nginx/http.conf): HIT (the decision came from the
// cache), MISS (looked up, not found: the token was checked in full), OFF (no
// decision cache for this location: $ljwt_cache_max_age 0, or none in this
// runtime), BYPASS (a cache exists, but the request was refused before any
// lookup: no token, a token that cannot be a JWS, a configuration error).

interface CacheSlot { store: DecisionStore; key: string }

/** What one request brings: its settings, its token, the headers passed on. */
interface Request {
  settings: Settings;
  found: TokenResult;
  authorization: string | undefined;
  cookies: string | undefined;
  now: number;
}

function configError(ctx: EdgeContext, e: unknown): void {
  ctx.error('configuration error, answering 500: ' + messageOf(e));
  ctx.r.return(500);
}

// What the 403 error_page handler needs from the configuration, so that it
// does not parse it again (njs/nginx/forbidden.ts): none of the three values
// can contain a newline (config.ts refuses control characters).
function keepResponseSettings(ctx: EdgeContext, s: ResponseSettings): void {
  ctx.setOutput('ljwt_response_settings', s.realm + '\n' + (s.loginUrl === null ? '' : s.loginUrl) + '\n' + s.returnParam);
}


/**
 * 401. nginx/server.conf's @ljwt_unauthorized (error_page 401) answers it
 * without running any script: a 302 to $ljwt_redirect for a browser
 * navigation when a login URL is set, else the JSON error with the RFC 6750
 * §3 challenge in $ljwt_challenge (the error_page redirect drops headers
 * set here, so the page adds it).
 */
function deny(ctx: EdgeContext, s: ResponseSettings, code: ErrorCode, reason: string): void {
  ctx.setOutput('ljwt_error', code);
  ctx.setOutput('ljwt_error_description', errorDescription(code));
  ctx.info('401 ' + code + ': ' + reason);
  if (s.loginUrl !== null && isBrowserRequest(ctx)) {
    ctx.setOutput('ljwt_redirect', loginRedirectUrl(s.loginUrl, s.returnParam, ctx.requestUri()));
  } else {
    const challenge = bearerChallenge(s.realm, code, 401);
    ctx.setOutput('ljwt_challenge', challenge);
    // For a location without error_page 401: auth_request passes a 401's
    // WWW-Authenticate on. (Under js_access a header set here would stay on
    // the error page's response next to the one it adds.)
    if (ctx.subrequest) ctx.r.headersOut['WWW-Authenticate'] = challenge;
  }
  ctx.r.return(401);
}

function cfgResponse(cfg: EdgeConfig): ResponseSettings {
  return { realm: cfg.realm, loginUrl: cfg.loginUrl, returnParam: cfg.returnParam };
}

// --- step 1: what the request brings ----------------------------------------

// js_var outputs start empty in every request; they hold values only if the
// validator already ran for this request (an internal redirect to another
// protected location). $ljwt_cache_status, written first by every run,
// tells: one read instead of clearing every output on every request.
function resetOutputs(ctx: EdgeContext): void {
  const previous = ctx.variable('ljwt_cache_status');
  ctx.setOutput('ljwt_cache_status', 'BYPASS');
  if (previous !== undefined && previous !== '') {
    for (let i = 0; i < OUTPUT_VARIABLES.length; i++) {
      if (OUTPUT_VARIABLES[i] !== 'ljwt_cache_status') ctx.setOutput(OUTPUT_VARIABLES[i], '');
    }
  }
}

function readRequest(ctx: EdgeContext, settings: Settings): Request {
  // The cookie name as parseEdgeConfig will return it when the settings parse
  // (trimmed, null when empty), so the token is taken from the request once.
  const rawCookie = trimOws(settings.list[COOKIE]);
  const cookies = ctx.cookieHeader();
  const authorization = ctx.header('Authorization');
  return {
    settings: settings,
    found: extractToken(authorization, cookies, rawCookie === '' ? null : rawCookie, false),
    authorization: authorization,
    cookies: cookies,
    now: Date.now() / 1000,
  };
}

// --- step 2: refuse what cannot be a token, before any parse ----------------

/**
 * No token, or one that cannot be a compact JWS: 401 at once. True when the
 * response was sent; false when the response settings do not check out (the
 * full parse then reports the configuration error).
 */
function refuseEarly(ctx: EdgeContext, req: Request): boolean {
  const found = req.found;
  const cookie = trimOws(req.settings.list[COOKIE]);
  let code: ErrorCode;
  let reason: string;
  if (found === null) {
    code = 'ERR_TOKEN_MISSING';
    reason = 'no bearer token' + (cookie !== '' ? ' and no cookie ' + cookie : '');
  } else if ('error' in found || !isCompactJwsShape(found.token)) {
    code = 'ERR_JWT_MALFORMED';
    reason = 'the Authorization header or token cookie is not a well-formed bearer token (compact JWS)';
  } else {
    return false;
  }
  const list = req.settings.list;
  const s = responseSettings(list[REALM], list[LOGIN_URL], list[RETURN_PARAM]);
  if (s === null) return false;
  deny(ctx, s, code, reason);
  return true;
}

// --- step 3: a decision reached before --------------------------------------

function cacheFor(settings: Settings): DecisionStore | null {
  return trimOws(settings.list[CACHE_MAX_AGE]) === '0' ? null : decisionStore();
}

function keyFilePaths(settings: Settings): string[] {
  const parts = (trimOws(settings.list[JWKS_FILE]) + ' ' + trimOws(settings.list[PEM_FILES])).split(' ');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) if (parts[i] !== '') out.push(parts[i]);
  return out;
}

// A hit trusts the key files' identity it was stored with for
// KEY_FILE_CHECK_SECONDS, then stats them again: a changed file (a removed
// key) ends every decision reached with the old one.
function keyFilesUnchanged(req: Request, slot: CacheSlot, hit: CachedDecision): boolean {
  const age = req.now - hit.keyFiles.checkedAt;
  if (age >= 0 && age < KEY_FILE_CHECK_SECONDS) return true;
  const stamps = keyFileStamps(keyFilePaths(req.settings));
  if (stamps === null || stamps !== hit.keyFiles.stamps) return false;
  slot.store.put(slot.key, hit.decision, req.now, hit.expiresAt, { stamps: stamps, checkedAt: req.now });
  return true;
}

// Revocations pushed by the service apply to cached and fresh decisions
// alike. True when the request may go on; otherwise a response was sent (an
// unanswerable lookup refuses: never "not revoked").
function notRevoked(ctx: EdgeContext, req: Request, s: ResponseSettings | null, revocation: string[]): boolean {
  let revoked: string | null;
  try {
    revoked = firstRevoked(revocation);
  } catch (e) {
    ctx.error('revocation lookup failed, answering 500: ' + messageOf(e));
    ctx.r.return(500);
    return false;
  }
  if (revoked === null) return true;
  // A hit has no parsed configuration: the settings it was stored with parsed, so these check out.
  const list = req.settings.list;
  const rs = s !== null ? s : responseSettings(list[REALM], list[LOGIN_URL], list[RETURN_PARAM]);
  if (rs === null) {
    configError(ctx, ljwtError('ERR_CONFIG_INVALID', '$ljwt_realm, $ljwt_login_url or $ljwt_return_param is invalid'));
    return false;
  }
  deny(ctx, rs, 'ERR_JWT_REVOKED', 'revoked (' + revoked.substring(0, revoked.indexOf(':')) + ')');
  return false;
}

// Sets the outputs of an allowed request; the decision comes from the full
// path or from the cache.
function applyDecision(ctx: EdgeContext, req: Request, d: Decision): void {
  // The site gets the client's cookies without the token, and no bearer
  // Authorization header: a bearer token in the upstream's hands (its logs,
  // a compromised app) could be replayed. Without $ljwt_cookie the Cookie
  // header is passed on unchanged.
  const rawCookie = trimOws(req.settings.list[COOKIE]);
  if (req.cookies !== undefined) {
    ctx.setOutputBytes('ljwt_upstream_cookie', rawCookie === '' ? req.cookies : cookiesWithoutToken(req.cookies, rawCookie));
  }
  if (req.authorization !== undefined) {
    ctx.setOutput('ljwt_upstream_authorization', upstreamAuthorization(req.authorization,
      trimOws(req.settings.list[PASS_AUTHORIZATION]) === 'on'));
  }
  ctx.setOutput('ljwt_user', d.user);
  ctx.setOutput('ljwt_group_dns', d.groupDns);
  ctx.setOutput('ljwt_oids', d.oids);
  const names = Object.keys(d.extra);
  for (let i = 0; i < names.length; i++) ctx.setOutput(names[i], d.extra[names[i]]);
}

/** Looks the token up; true when the request was answered from the cache. */
function answerFromCache(ctx: EdgeContext, req: Request, slot: CacheSlot, allow: () => void): boolean {
  const hit = slot.store.get(slot.key, req.now);
  if (hit === null || !keyFilesUnchanged(req, slot, hit)) return false;
  ctx.setOutput('ljwt_cache_status', 'HIT');
  if (!notRevoked(ctx, req, null, hit.decision.revocationKeys)) return true;
  applyDecision(ctx, req, hit.decision);
  allow();
  return true;
}

// --- step 4: the full check --------------------------------------------------

function readFileKeys(ctx: EdgeContext, cfg: EdgeConfig): KeySet[] {
  const sets: KeySet[] = [];
  const jwks = cfg.keys.jwksFiles;
  for (let i = 0; i < jwks.length; i++) {
    const text = ctx.readKeyFile(jwks[i]);
    try {
      sets.push(cachedKeySet(text, keySetFromJwks));
    } catch (e) {
      throw ljwtError('ERR_CONFIG_INVALID', 'JWKS file ' + jwks[i] + ': ' + messageOf(e));
    }
  }
  const pems = cfg.keys.pemFiles;
  for (let i = 0; i < pems.length; i++) {
    const text = ctx.readKeyFile(pems[i]);
    try {
      sets.push(cachedKeySet(text, keySetFromPem));
    } catch (e) {
      throw ljwtError('ERR_CONFIG_INVALID', 'PEM file ' + pems[i] + ': ' + messageOf(e));
    }
  }
  return sets;
}

// The provider's JWKS through an internal (proxy_cache'd) location. A failure
// is logged and the file keys, if any, still apply.
async function fetchLocationKeys(ctx: EdgeContext, uri: string): Promise<KeySet | null> {
  let reply: NginxHTTPRequest;
  try {
    reply = await ctx.r.subrequest(uri, { method: 'GET' });
  } catch (e) {
    ctx.warn('JWKS subrequest ' + uri + ' failed: ' + messageOf(e));
    return null;
  }
  if (reply.status !== 200) {
    ctx.warn('JWKS subrequest ' + uri + ' answered ' + reply.status + ', using file keys only');
    return null;
  }
  try {
    return keySetFromJwks(String(reply.responseText || ''));
  } catch (e) {
    ctx.warn('JWKS from ' + uri + ' is invalid (' + messageOf(e) + '), using file keys only');
    return null;
  }
}

// Whether the token's protected header may say EdDSA. Only a header that
// decodes and names another alg rules EdDSA out; anything else that
// verification does not refuse before reading alg counts as "may". An
// oversized token is refused before any decoding, so it is not decoded here either.
function mayBeEdDSA(token: string, maxTokenLength: number): boolean {
  if (token.length > maxTokenLength) return false;
  try {
    return decodeProtectedHeader(token.split('.')[0]).alg === 'EdDSA';
  } catch (e) {
    return true;
  }
}

/**
 * The configuration, parsed. The Ed25519 probe is a key import, and the njs
 * engine re-runs it on every request: it runs only where an answer is needed
 * (EdDSA explicitly listed here; the default list and a token that says
 * EdDSA in verifyToken).
 */
async function parseSettings(settings: Settings): Promise<{ cfg: EdgeConfig; probed: boolean }> {
  const values = settingsMap(settings);
  let cfg = parseEdgeConfig(values, staticCapabilities());
  let probed = false;
  if (cfg.validate.algorithms.indexOf('EdDSA') >= 0 && hasExplicitAlgorithms(values)) {
    const caps = await probeCapabilities();
    probed = true;
    // Without Ed25519 this is the configuration error naming $ljwt_algorithms.
    if (!caps.ed25519) cfg = parseEdgeConfig(values, caps);
  }
  return { cfg: cfg, probed: probed };
}

// The signature and the claims. The claims, or null when a response
// (401/500) has been sent.
async function verifyToken(ctx: EdgeContext, cfg: EdgeConfig, token: string, now: number,
  probed: boolean): Promise<{ [k: string]: unknown } | null> {
  // Key files are read only for a request that has a token to verify.
  let fileSets: KeySet[];
  try {
    fileSets = readFileKeys(ctx, cfg);
  } catch (e) {
    configError(ctx, e);
    return null;
  }

  const algorithms = cfg.validate.algorithms;
  if (!probed && algorithms.indexOf('EdDSA') >= 0 && mayBeEdDSA(token, cfg.validate.maxTokenLength)) {
    // The default list: a runtime that cannot import Ed25519 keys does not
    // accept EdDSA at all, as if the version had said so.
    const caps = await probeCapabilities();
    if (!caps.ed25519) algorithms.splice(algorithms.indexOf('EdDSA'), 1);
  }

  if (cfg.keys.jwksLocation !== null) {
    const fetched = await fetchLocationKeys(ctx, cfg.keys.jwksLocation);
    if (fetched !== null) fileSets.push(fetched);
  }
  const keys = mergeKeySets(fileSets);
  if (keys.keys.length === 0) {
    configError(ctx, ljwtError('ERR_CONFIG_INVALID', 'no usable verification key (files: ' +
      cfg.keys.jwksFiles.concat(cfg.keys.pemFiles).join(' ') + (cfg.keys.jwksLocation ? ', location: ' +
      cfg.keys.jwksLocation : '') + ')'));
    return null;
  }

  const v = cfg.validate;
  try {
    const validated = await validateJwt(token, keys, {
      algorithms: v.algorithms,
      maxTokenLength: v.maxTokenLength,
      issuers: v.issuers,
      audiences: v.audiences,
      leewaySeconds: v.leewaySeconds,
      requiredTyp: v.requiredTyp,
      requiredClaims: v.requiredClaims,
      now: now,
    });
    return validated.claims;
  } catch (e) {
    if (isLjwtError(e) && e.code === 'ERR_CONFIG_INVALID') {
      configError(ctx, e);
      return null;
    }
    if (!isLjwtError(e)) {
      // Not a verdict on the token but a defect; still refuse, and say so loudly.
      ctx.error('unexpected exception while validating a token: ' + messageOf(e));
    }
    deny(ctx, cfgResponse(cfg), isLjwtError(e) ? e.code : 'ERR_JWT_MALFORMED', messageOf(e) +
      (isLjwtError(e) && e.claim ? ' (claim ' + e.claim + ')' : ''));
    return null;
  }
}

/** The identity and the location's policy: the decision, or null when a response (401/403) was sent. */
function decide(ctx: EdgeContext, cfg: EdgeConfig, claims: { [k: string]: unknown }, revocation: string[]): Decision | null {
  let identity;
  try {
    identity = identityFromClaims(claims, { userClaim: cfg.userClaim, claimMap: cfg.claimMap });
  } catch (e) {
    if (!isLjwtError(e)) ctx.error('unexpected exception while reading the identity: ' + messageOf(e));
    deny(ctx, cfgResponse(cfg), isLjwtError(e) ? e.code : 'ERR_JWT_MALFORMED', messageOf(e) +
      (isLjwtError(e) && e.claim ? ' (claim ' + e.claim + ')' : ''));
    return null;
  }

  let verdict;
  try {
    verdict = evaluatePolicy(cfg.policy, claims);
  } catch (e) {
    ctx.error('unexpected exception while evaluating the policy: ' + messageOf(e));
    verdict = { allowed: false as const, reason: 'exception', detail: 'policy evaluation failed' };
  }
  if (!verdict.allowed) {
    ctx.setOutput('ljwt_error', 'ERR_ACCESS_DENIED');
    ctx.setOutput('ljwt_error_description', errorDescription('ERR_ACCESS_DENIED'));
    keepResponseSettings(ctx, cfgResponse(cfg));
    ctx.warn('403 for user ' + identity.user + ': ' + verdict.reason + ' requirement not met (' + verdict.detail + ')');
    if (ctx.subrequest) ctx.r.headersOut['WWW-Authenticate'] = bearerChallenge(cfg.realm, 'ERR_ACCESS_DENIED', 403);
    ctx.r.return(403);
    return null;
  }
  return { user: identity.user, groupDns: identity.groupDns, oids: identity.oids, extra: identity.extra,
    revocationKeys: revocation };
}

async function fullCheck(ctx: EdgeContext, req: Request, slot: CacheSlot | null, allow: () => void): Promise<void> {
  let cfg: EdgeConfig;
  let probed: boolean;
  try {
    const parsed = await parseSettings(req.settings);
    cfg = parsed.cfg;
    probed = parsed.probed;
    for (let i = 0; i < cfg.claimMap.length; i++) ctx.setOutput(cfg.claimMap[i].varName, '');
  } catch (e) {
    configError(ctx, e);
    return;
  }
  const found = req.found;
  if (found === null) {
    deny(ctx, cfgResponse(cfg), 'ERR_TOKEN_MISSING', 'no bearer token' + (cfg.cookieName ? ' and no cookie ' + cfg.cookieName : ''));
    return;
  }
  if ('error' in found) {
    deny(ctx, cfgResponse(cfg), found.error, 'the Authorization header or token cookie is not a well-formed bearer token');
    return;
  }
  // Taken before the files are read: a file that changes in between makes
  // the next hit stat it again and miss.
  const stamps = slot !== null && cfg.cacheMaxAge > 0 ? keyFileStamps(cfg.keys.jwksFiles.concat(cfg.keys.pemFiles)) : null;

  const claims = await verifyToken(ctx, cfg, found.token, req.now, probed);
  if (claims === null) return;
  const revocation = revocationKeys(claims);
  if (!notRevoked(ctx, req, cfgResponse(cfg), revocation)) return;
  const decision = decide(ctx, cfg, claims, revocation);
  if (decision === null) return;

  applyDecision(ctx, req, decision);
  if (slot !== null && stamps !== null) {
    const until = entryExpiry(claims, req.now, cfg.validate.leewaySeconds, cfg.cacheMaxAge);
    if (until !== null) slot.store.put(slot.key, decision, req.now, until, { stamps: stamps, checkedAt: req.now });
  }
  allow();
}

// --- the algorithm -----------------------------------------------------------

/**
 * Steps 1-3 run synchronously: a refusal before any parse and a cache hit
 * finish without a promise (an async handler costs a promise job on every
 * request, which QuickJS in nginx pays dearly). The full check, or a key
 * the runtime can only hash asynchronously, returns a promise.
 */
function run(ctx: EdgeContext, allow: () => void): Promise<void> | null {
  resetOutputs(ctx);
  let settings: Settings;
  try {
    settings = ctx.settings();
  } catch (e) {
    configError(ctx, e);
    return null;
  }
  const req = readRequest(ctx, settings);
  const store = cacheFor(settings);
  if (store === null) ctx.setOutput('ljwt_cache_status', 'OFF');
  if (refuseEarly(ctx, req)) return null;

  const found = req.found;
  if (store === null || found === null || 'error' in found) return fullCheck(ctx, req, null, allow);
  ctx.setOutput('ljwt_cache_status', 'MISS');
  const k = decisionKey(settings.text, found.token);
  if (typeof k !== 'string') {
    return k.then(function (key) {
      const slot = { store: store, key: key };
      return answerFromCache(ctx, req, slot, allow) ? undefined : fullCheck(ctx, req, slot, allow);
    });
  }
  const slot = { store: store, key: k };
  return answerFromCache(ctx, req, slot, allow) ? null : fullCheck(ctx, req, slot, allow);
}

// Only reachable through a configuration or platform failure (undeclared
// js_var, a throwing r method): never allow, never let njs turn it into an
// unlogged exception.
function failed(ctx: EdgeContext, r: NginxHTTPRequest, e: unknown): void {
  const config = isLjwtError(e) && e.code === 'ERR_CONFIG_INVALID';
  ctx.error((config ? 'configuration error' : 'internal error') + ', answering 500: ' + messageOf(e));
  try {
    r.return(500);
  } catch (e2) {
    ctx.error('could not send 500: ' + messageOf(e2));
  }
}

function handle(r: NginxHTTPRequest, subrequest: boolean, allow: () => void): Promise<void> | undefined {
  const ctx = createContext(r);
  ctx.subrequest = subrequest;
  let pending: Promise<void> | null;
  try {
    pending = run(ctx, allow);
  } catch (e) {
    failed(ctx, r, e);
    return undefined;
  }
  if (pending === null) return undefined;
  return pending.then(undefined, function (e) {
    failed(ctx, r, e);
  });
}

/** js_content of the auth_request location (server.conf): 204 allows. */
export function validate(r: NginxHTTPRequest): Promise<void> | undefined {
  return handle(r, true, function () {
    r.return(204);
  });
}

/**
 * js_access handler (protect-access.conf, njs >= 0.9.9): the same checks in
 * the client request itself, no subrequest. Finishing without r.return()
 * lets the request through; 401/403/500 go to the location's error_page.
 */
export function access(r: NginxHTTPRequest): Promise<void> | undefined {
  return handle(r, false, function () {
    // Allowed: nothing to send.
  });
}
