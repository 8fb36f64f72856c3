// js_content handler of the internal auth_request location (nginx/server.conf):
// 204 = allow (identity js_vars set), 401 = no or invalid token, 403 = the
// location's policy refuses, 500 = configuration error. auth_request maps any
// other status, including an uncaught exception's 500, to 500, so every
// exception is caught here: a bad token is always a 401, never a 500.

import { isLjwtError, ljwtError, type ErrorCode } from '../lib/errors.ts';
import { EDGE_VARIABLES, hasExplicitAlgorithms, keyFilePaths, parseEdgeConfig, type EdgeConfig } from '../config.ts';
import { keySetFromJwks, keySetFromPem, mergeKeySets, type KeySet } from '../keys/key-set.ts';
import { cachedKeySet } from '../keys/key-set-cache.ts';
import { validateJwt } from '../jwt/validate.ts';
import { cookiesWithoutToken, extractToken } from '../http/token.ts';
import { bearerChallenge, errorDescription } from '../http/challenge.ts';
import { identityFromClaims } from '../identity/headers.ts';
import { evaluatePolicy } from '../authz/policy.ts';
import { decodeProtectedHeader } from '../jws/verify.ts';
import { decisionKey, decisionStore, type DecisionStore } from './decision-cache.ts';
import { firstRevoked } from './revocation-store.ts';
import { entryExpiry, type Decision } from '../cache/decision-entry.ts';
import { revocationKeys } from '../revocation/entries.ts';
import { trimOws } from '../lib/text.ts';
import { createContext, messageOf, probeCapabilities, staticCapabilities, OUTPUT_VARIABLES,
  type EdgeContext } from './context.ts';

function configError(ctx: EdgeContext, e: unknown): void {
  ctx.error('configuration error, answering 500: ' + messageOf(e));
  ctx.r.return(500);
}

// What the error_page handlers need from the configuration, so that they do
// not parse it again (njs/nginx/unauthorized.ts): none of the three values
// can contain a newline (config.ts refuses control characters).
function keepResponseSettings(ctx: EdgeContext, cfg: EdgeConfig | null): void {
  if (cfg !== null) {
    ctx.setOutput('ljwt_response_settings', cfg.realm + '\n' + (cfg.loginUrl === null ? '' : cfg.loginUrl) + '\n' + cfg.returnParam);
  }
}

function deny(ctx: EdgeContext, cfg: EdgeConfig | null, code: ErrorCode, reason: string): void {
  // The error_page 401 handler reads these; the fixed description never carries the reason.
  ctx.setOutput('ljwt_error', code);
  ctx.setOutput('ljwt_error_description', errorDescription(code));
  keepResponseSettings(ctx, cfg);
  ctx.info('401 ' + code + ': ' + reason);
  // Also sent by auth_request itself when the location has no error_page 401 (RFC 6750 §3).
  if (ctx.subrequest) ctx.r.headersOut['WWW-Authenticate'] = bearerChallenge(cfg ? cfg.realm : 'nginx-ldap-jwt', code, 401);
  ctx.r.return(401);
}

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

// The full check: key files (read only for a request that has a token to
// verify and no cached verdict), the signature, the claims. The claims, or
// null when a response (401/500) has been sent.
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
    deny(ctx, cfg, isLjwtError(e) ? e.code : 'ERR_JWT_MALFORMED', messageOf(e) +
      (isLjwtError(e) && e.claim ? ' (claim ' + e.claim + ')' : ''));
    return null;
  }
}

// The raw $ljwt_* values in EDGE_VARIABLES order: with the key files'
// identity and the token, the whole input of a decision.
function settingsText(values: { [name: string]: string }): string {
  let out = '';
  for (let i = 0; i < EDGE_VARIABLES.length; i++) {
    const v = values[EDGE_VARIABLES[i]];
    out += (v === undefined ? '' : v) + '\n';
  }
  return out;
}

interface CacheSlot { store: DecisionStore; key: string }

// Sets the outputs of an allowed request; the decision comes from the full
// path or from the cache.
function applyDecision(ctx: EdgeContext, d: Decision, cookies: string | undefined, cookieName: string | null): void {
  // The site gets the client's cookies without the token: a bearer token in
  // the upstream's hands (its logs, a compromised app) could be replayed.
  // Without $ljwt_cookie the header is passed on unchanged.
  if (cookies !== undefined) {
    ctx.setOutputBytes('ljwt_upstream_cookie', cookieName === null ? cookies : cookiesWithoutToken(cookies, cookieName));
  }
  ctx.setOutput('ljwt_user', d.user);
  ctx.setOutput('ljwt_group_dns', d.groupDns);
  ctx.setOutput('ljwt_oids', d.oids);
  const names = Object.keys(d.extra);
  for (let i = 0; i < names.length; i++) ctx.setOutput(names[i], d.extra[names[i]]);
}

// Revocations pushed by the service apply to cached and fresh decisions
// alike. True when the request may go on; otherwise a response was sent (an
// unanswerable lookup refuses: never "not revoked").
function notRevoked(ctx: EdgeContext, cfg: EdgeConfig | null, revocation: string[]): boolean {
  let revoked: string | null;
  try {
    revoked = firstRevoked(revocation);
  } catch (e) {
    ctx.error('revocation lookup failed, answering 500: ' + messageOf(e));
    ctx.r.return(500);
    return false;
  }
  if (revoked === null) return true;
  deny(ctx, cfg, 'ERR_JWT_REVOKED', 'revoked (' + revoked.substring(0, revoked.indexOf(':')) + ')');
  return false;
}

async function run(ctx: EdgeContext, allow: () => void): Promise<void> {
  // js_var outputs start empty in every request; they hold values only if the
  // validator already ran for this request (an internal redirect to another
  // protected location). $ljwt_cache_status, written first by every run,
  // tells: one read instead of clearing every output on every request.
  const previous = ctx.variable('ljwt_cache_status');
  ctx.setOutput('ljwt_cache_status', 'OFF');
  if (previous !== undefined && previous !== '') {
    for (let i = 0; i < OUTPUT_VARIABLES.length; i++) {
      if (OUTPUT_VARIABLES[i] !== 'ljwt_cache_status') ctx.setOutput(OUTPUT_VARIABLES[i], '');
    }
  }
  const now = Date.now() / 1000;
  const cookies = ctx.cookieHeader();
  let values: { [name: string]: string };
  try {
    values = ctx.configValues();
  } catch (e) {
    configError(ctx, e);
    return;
  }

  // The fast path: a decision an earlier request reached for this very token
  // with these very settings. Nothing is parsed before the lookup: settings
  // that do not parse never stored a decision, so they never find one.
  // The cookie name as parseEdgeConfig will return it when the settings parse
  // (trimmed, null when empty), so the token is taken from the request once.
  const rawCookie = values.ljwt_cookie === undefined ? '' : trimOws(values.ljwt_cookie);
  const cookieName = rawCookie === '' ? null : rawCookie;
  const found = extractToken(ctx.header('Authorization'), cookies, cookieName);
  let slot: CacheSlot | null = null;
  const store = values.ljwt_cache_max_age !== undefined && trimOws(values.ljwt_cache_max_age) === '0' ? null : decisionStore();
  if (store !== null) {
    if (found !== null && !('error' in found)) {
      const key = await decisionKey(settingsText(values), keyFilePaths(values), found.token);
      if (key !== null) {
        slot = { store: store, key: key };
        const hit = store.get(key, now);
        if (hit !== null) {
          ctx.setOutput('ljwt_cache_status', 'HIT');
          if (!notRevoked(ctx, null, hit.revocationKeys)) return;
          applyDecision(ctx, hit, cookies, cookieName);
          allow();
          return;
        }
      }
    }
  }

  // The Ed25519 probe is a key import, and the njs engine re-runs it on every
  // request: it runs only where an answer is needed (EdDSA explicitly listed,
  // or the default list and a token that says EdDSA).
  let caps = staticCapabilities();
  let probed = false;
  let cfg: EdgeConfig;
  try {
    cfg = parseEdgeConfig(values, caps);
    if (cfg.validate.algorithms.indexOf('EdDSA') >= 0 && hasExplicitAlgorithms(values)) {
      caps = await probeCapabilities();
      probed = true;
      // Without Ed25519 this is the configuration error naming $ljwt_algorithms.
      if (!caps.ed25519) cfg = parseEdgeConfig(values, caps);
    }
    for (let i = 0; i < cfg.claimMap.length; i++) ctx.setOutput(cfg.claimMap[i].varName, '');
  } catch (e) {
    configError(ctx, e);
    return;
  }
  const cacheable = slot !== null && cfg.cacheMaxAge > 0;
  ctx.setOutput('ljwt_cache_status', cacheable ? 'MISS' : 'OFF');

  if (found === null) {
    deny(ctx, cfg, 'ERR_TOKEN_MISSING', 'no bearer token' + (cfg.cookieName ? ' and no cookie ' + cfg.cookieName : ''));
    return;
  }
  if ('error' in found) {
    deny(ctx, cfg, found.error, 'the Authorization header or token cookie is not a well-formed bearer token');
    return;
  }

  const claims = await verifyToken(ctx, cfg, found.token, now, probed);
  if (claims === null) return;
  const revocation = revocationKeys(claims);
  if (!notRevoked(ctx, cfg, revocation)) return;

  let identity;
  try {
    identity = identityFromClaims(claims, { userClaim: cfg.userClaim, claimMap: cfg.claimMap });
  } catch (e) {
    if (!isLjwtError(e)) ctx.error('unexpected exception while reading the identity: ' + messageOf(e));
    deny(ctx, cfg, isLjwtError(e) ? e.code : 'ERR_JWT_MALFORMED', messageOf(e) +
      (isLjwtError(e) && e.claim ? ' (claim ' + e.claim + ')' : ''));
    return;
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
    keepResponseSettings(ctx, cfg);
    ctx.warn('403 for user ' + identity.user + ': ' + verdict.reason + ' requirement not met (' + verdict.detail + ')');
    if (ctx.subrequest) ctx.r.headersOut['WWW-Authenticate'] = bearerChallenge(cfg.realm, 'ERR_ACCESS_DENIED', 403);
    ctx.r.return(403);
    return;
  }

  const decision: Decision = { user: identity.user, groupDns: identity.groupDns, oids: identity.oids,
    extra: identity.extra, revocationKeys: revocation };
  applyDecision(ctx, decision, cookies, cfg.cookieName);
  if (cacheable && slot !== null) {
    const until = entryExpiry(claims, now, cfg.validate.leewaySeconds, cfg.cacheMaxAge);
    if (until !== null) slot.store.put(slot.key, decision, now, until);
  }
  allow();
}

async function handle(r: NginxHTTPRequest, subrequest: boolean, allow: () => void): Promise<void> {
  const ctx = createContext(r);
  ctx.subrequest = subrequest;
  try {
    await run(ctx, allow);
  } catch (e) {
    // Only reachable through a configuration or platform failure (undeclared
    // js_var, a throwing r method): never allow, never let njs turn it into an
    // unlogged exception.
    const config = isLjwtError(e) && e.code === 'ERR_CONFIG_INVALID';
    ctx.error((config ? 'configuration error' : 'internal error') + ', answering 500: ' + messageOf(e));
    try {
      r.return(500);
    } catch (e2) {
      ctx.error('could not send 500: ' + messageOf(e2));
    }
  }
}

/** js_content of the auth_request location (protect.conf): 204 allows. */
export function validate(r: NginxHTTPRequest): Promise<void> {
  return handle(r, true, function () {
    r.return(204);
  });
}

/**
 * js_access handler (protect-access.conf, njs >= 0.9.9): the same checks in
 * the client request itself, no subrequest. Finishing without r.return()
 * lets the request through; 401/403/500 go to the location's error_page.
 */
export function access(r: NginxHTTPRequest): Promise<void> {
  return handle(r, false, function () {
    // Allowed: nothing to send.
  });
}
