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
// parsed and the token verified in full (full-check.ts, instantiated only
// then: see full-check-loader.ts).

import { isLjwtError } from '../lib/errors.ts';
import { CACHE_MAX_AGE, COOKIE, JWKS_FILE, PEM_FILES } from '../setting-positions.ts';
import { extractToken, hasOuterSegments } from '../http/token.ts';
import { decisionKey, decisionStore, keyFileStamps, type DecisionStore } from './decision-cache.ts';
import { KEY_FILE_CHECK_SECONDS, type CachedDecision } from '../cache/decision-entry.ts';
import { trimOws } from '../lib/text.ts';
import { createContext, messageOf, OUTPUT_VARIABLES, type EdgeContext, type Settings } from './context.ts';
import { applyDecision, configError, notRevoked, type CacheSlot, type Request } from './outcome.ts';
import { loadFullCheck } from './full-check-loader.ts';
import { loadRefusal } from './refusal-loader.ts';

// $ljwt_cache_status (nginx/http.conf): HIT (the decision came from the
// cache), MISS (looked up, not found: the token was checked in full), OFF (no
// decision cache for this location: $ljwt_cache_max_age 0, or none in this
// runtime), BYPASS (a cache exists, but the request was refused before any
// lookup: no token, a token that cannot be a JWS, a configuration error).

// --- step 1: what the request brings ----------------------------------------

// js_var outputs start empty in every request; they hold values only if the
// validator already ran for this request (an internal redirect to another
// protected location). $ljwt_cache_status, written exactly once by every run
// (also one that fails: see failed()), tells: one read instead of clearing
// every output on every request.
function resetOutputs(ctx: EdgeContext): void {
  const previous = ctx.variable('ljwt_cache_status');
  if (previous !== undefined && previous !== '') {
    for (let i = 0; i < OUTPUT_VARIABLES.length; i++) ctx.setOutput(OUTPUT_VARIABLES[i], '');
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
// (refusal.ts refuseEarly: only what costs nothing before the cache lookup, a
// token and its three segments; after a miss also its characters and its
// protected header.)

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

// --- step 4: the full check (full-check.ts) ----------------------------------

function missed(ctx: EdgeContext, req: Request, slot: CacheSlot | null, allow: () => void): Promise<void> | null {
  if (loadRefusal().refuseEarly(ctx, req, true)) return null;
  return loadFullCheck().fullCheck(ctx, req, slot, allow);
}

// --- the algorithm -----------------------------------------------------------

/**
 * Steps 1-3 run synchronously: a refusal before any parse and a cache hit
 * finish without a promise (an async handler costs a promise job on every
 * request, which QuickJS in nginx pays dearly). Only the full check
 * returns a promise.
 */
function run(ctx: EdgeContext, allow: () => void): Promise<void> | null {
  resetOutputs(ctx);
  let settings: Settings;
  try {
    settings = ctx.settings();
  } catch (e) {
    ctx.setOutput('ljwt_cache_status', 'BYPASS');
    configError(ctx, e);
    return null;
  }
  const req = readRequest(ctx, settings);
  const store = cacheFor(settings);
  const found = req.found;
  if (store === null || found === null || 'error' in found || !hasOuterSegments(found.token)) {
    ctx.setOutput('ljwt_cache_status', store === null ? 'OFF' : 'BYPASS');
    if (loadRefusal().refuseEarly(ctx, req, false)) return null;
    return missed(ctx, req, null, allow);
  }
  return lookUp(ctx, req, { store: store, key: decisionKey(settings.text, found.token) }, allow);
}

/** A hit answers (HIT); a miss (MISS) takes the full check. */
function lookUp(ctx: EdgeContext, req: Request, slot: CacheSlot, allow: () => void): Promise<void> | null {
  if (answerFromCache(ctx, req, slot, allow)) return null;
  ctx.setOutput('ljwt_cache_status', 'MISS');
  return missed(ctx, req, slot, allow);
}

// Only reachable through a configuration or platform failure (undeclared
// js_var, a throwing r method): never allow, never let njs turn it into an
// unlogged exception.
function failed(ctx: EdgeContext, r: NginxHTTPRequest, e: unknown): void {
  const config = isLjwtError(e) && e.code === 'ERR_CONFIG_INVALID';
  try {
    // Marks this run's outputs for a later run in the same request (resetOutputs).
    ctx.setOutput('ljwt_cache_status', 'BYPASS');
  } catch (e2) {
    // Undeclared: the message below names the cause.
  }
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
