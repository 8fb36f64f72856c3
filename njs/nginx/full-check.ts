// The full check: the configuration parsed, the keys read, the token
// verified, the identity and the location's policy. Reached only when no
// cached decision answers (validate.ts). The build instantiates this module
// lazily (scripts/build.mjs, full-check-loader.ts): the njs engine re-runs
// the per-request bundle's top level in every request's VM, so code that
// only a miss needs must not be part of it.

import { isLjwtError, ljwtError } from '../lib/errors.ts';
import { hasExplicitAlgorithms, parseEdgeConfig, type EdgeConfig } from '../config.ts';
import { keySetFromJwks, keySetFromPem, mergeKeySets, type KeySet } from '../keys/key-set.ts';
import { validateJwt } from '../jwt/validate.ts';
import { bearerChallenge, errorDescription } from '../http/challenge.ts';
import type { ResponseSettings } from '../http/response-settings.ts';
import { identityFromClaims } from '../identity/headers.ts';
import { evaluatePolicy } from '../authz/policy.ts';
import { decodeProtectedHeader } from '../jws/verify.ts';
import { keyFileStamps } from './decision-cache.ts';
import { entryExpiry, type Decision } from '../cache/decision-entry.ts';
import { revocationKeys } from '../revocation/entries.ts';
import { messageOf, probeCapabilities, staticCapabilities, type EdgeContext, type Settings } from './context.ts';
import { settingsMap } from './settings-by-name.ts';
import { storeConfig, storedConfig, type StoredConfig } from './config-store.ts';
import { keySetOfText } from './key-set-store.ts';
import { applyDecision, configError, notRevoked, type CacheSlot, type Request } from './outcome.ts';
import { deny } from './refusal.ts';

// does not parse it again (njs/nginx/forbidden.ts): none of the three values
// can contain a newline (config.ts refuses control characters).
function keepResponseSettings(ctx: EdgeContext, s: ResponseSettings): void {
  ctx.setOutput('ljwt_response_settings', s.realm + '\n' + (s.loginUrl === null ? '' : s.loginUrl) + '\n' + s.returnParam);
}


function cfgResponse(cfg: EdgeConfig): ResponseSettings {
  return { realm: cfg.realm, loginUrl: cfg.loginUrl, returnParam: cfg.returnParam };
}

// Appends the key set of each file to `sets`; an unreadable or invalid file is a configuration error.
function readKeyFiles(ctx: EdgeContext, paths: string[], kind: string, parse: (text: string) => KeySet, sets: KeySet[]): void {
  for (let i = 0; i < paths.length; i++) {
    const text = ctx.readKeyFile(paths[i]);
    try {
      sets.push(keySetOfText(kind, text, parse));
    } catch (e) {
      throw ljwtError('ERR_CONFIG_INVALID', kind + ' file ' + paths[i] + ': ' + messageOf(e));
    }
  }
}

function readFileKeys(ctx: EdgeContext, cfg: EdgeConfig): KeySet[] {
  const sets: KeySet[] = [];
  readKeyFiles(ctx, cfg.keys.jwksFiles, 'JWKS', keySetFromJwks, sets);
  readKeyFiles(ctx, cfg.keys.pemFiles, 'PEM', keySetFromPem, sets);
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

// The configuration of these settings: parsed once, then read back where
// the runtime allows (config-store.ts).
function staticConfig(settings: Settings): StoredConfig {
  const stored = storedConfig(settings.text);
  if (stored !== null) return stored;
  const values = settingsMap(settings);
  const parsed = { cfg: parseEdgeConfig(values, staticCapabilities()), explicitAlgorithms: hasExplicitAlgorithms(values) };
  storeConfig(settings.text, parsed);
  return parsed;
}

/**
 * The configuration, parsed. The Ed25519 probe is a key import, and the njs
 * engine re-runs it on every request: it runs only where an answer is needed
 * (EdDSA explicitly listed here; the default list and a token that says
 * EdDSA in verifyToken).
 */
async function parseSettings(settings: Settings): Promise<{ cfg: EdgeConfig; probed: boolean }> {
  const stored = staticConfig(settings);
  let cfg = stored.cfg;
  let probed = false;
  if (cfg.validate.algorithms.indexOf('EdDSA') >= 0 && stored.explicitAlgorithms) {
    const caps = await probeCapabilities();
    probed = true;
    // Without Ed25519 this is the configuration error naming $ljwt_algorithms.
    if (!caps.ed25519) cfg = parseEdgeConfig(settingsMap(settings), caps);
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

  // A copy: cfg may be the cached configuration of later requests too.
  const algorithms = cfg.validate.algorithms.slice();
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
      algorithms: algorithms,
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

export default { fullCheck: fullCheck };
