// js_content handler of the internal auth_request location (nginx/server.conf):
// 204 = allow (identity js_vars set), 401 = no or invalid token, 403 = the
// location's policy refuses, 500 = configuration error. auth_request maps any
// other status, including an uncaught exception's 500, to 500, so every
// exception is caught here: a bad token is always a 401, never a 500.

import { isLjwtError, ljwtError, type ErrorCode } from '../lib/errors.ts';
import { hasExplicitAlgorithms, parseEdgeConfig, type EdgeConfig } from '../config.ts';
import { keySetFromJwks, keySetFromPem, mergeKeySets, type KeySet } from '../keys/key-set.ts';
import { validateJwt } from '../jwt/validate.ts';
import { cookiesWithoutToken, extractToken } from '../http/token.ts';
import { bearerChallenge, errorDescription } from '../http/challenge.ts';
import { identityFromClaims } from '../identity/headers.ts';
import { evaluatePolicy } from '../authz/policy.ts';
import { decodeProtectedHeader } from '../jws/verify.ts';
import { createContext, messageOf, probeCapabilities, staticCapabilities, OUTPUT_VARIABLES,
  type EdgeContext } from './context.ts';

function configError(ctx: EdgeContext, e: unknown): void {
  ctx.error('configuration error, answering 500: ' + messageOf(e));
  ctx.r.return(500);
}

function deny(ctx: EdgeContext, cfg: EdgeConfig | null, code: ErrorCode, reason: string): void {
  // The error_page 401 handler reads these; the fixed description never carries the reason.
  ctx.setOutput('ljwt_error', code);
  ctx.setOutput('ljwt_error_description', errorDescription(code));
  ctx.info('401 ' + code + ': ' + reason);
  // Also sent by auth_request itself when the location has no error_page 401 (RFC 6750 §3).
  ctx.r.headersOut['WWW-Authenticate'] = bearerChallenge(cfg ? cfg.realm : 'nginx-ldap-jwt', code, 401);
  ctx.r.return(401);
}

function readFileKeys(ctx: EdgeContext, cfg: EdgeConfig): KeySet[] {
  const sets: KeySet[] = [];
  const jwks = cfg.keys.jwksFiles;
  for (let i = 0; i < jwks.length; i++) {
    const text = ctx.readKeyFile(jwks[i]);
    try {
      sets.push(keySetFromJwks(text));
    } catch (e) {
      throw ljwtError('ERR_CONFIG_INVALID', 'JWKS file ' + jwks[i] + ': ' + messageOf(e));
    }
  }
  const pems = cfg.keys.pemFiles;
  for (let i = 0; i < pems.length; i++) {
    const text = ctx.readKeyFile(pems[i]);
    try {
      sets.push(keySetFromPem(text));
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

async function run(ctx: EdgeContext): Promise<void> {
  for (let i = 0; i < OUTPUT_VARIABLES.length; i++) ctx.setOutput(OUTPUT_VARIABLES[i], '');

  // The Ed25519 probe is a key import, and the njs engine re-runs it on every
  // request: it runs only where an answer is needed (EdDSA explicitly listed,
  // or the default list and a token that says EdDSA).
  let caps = staticCapabilities();
  let probed = false;
  let cfg: EdgeConfig;
  try {
    const values = ctx.configValues();
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

  const cookies = ctx.cookieHeader();
  const found = extractToken(ctx.header('Authorization'), cookies, cfg.cookieName);
  if (found === null) {
    deny(ctx, cfg, 'ERR_TOKEN_MISSING', 'no bearer token' + (cfg.cookieName ? ' and no cookie ' + cfg.cookieName : ''));
    return;
  }
  if ('error' in found) {
    deny(ctx, cfg, found.error, 'the Authorization header or token cookie is not a well-formed bearer token');
    return;
  }

  // Key files are read only for a request that has a token to verify.
  let fileSets: KeySet[];
  try {
    fileSets = readFileKeys(ctx, cfg);
  } catch (e) {
    configError(ctx, e);
    return;
  }

  const algorithms = cfg.validate.algorithms;
  if (!probed && algorithms.indexOf('EdDSA') >= 0 && mayBeEdDSA(found.token, cfg.validate.maxTokenLength)) {
    // The default list: a runtime that cannot import Ed25519 keys does not
    // accept EdDSA at all, as if the version had said so.
    caps = await probeCapabilities();
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
    return;
  }

  const v = cfg.validate;
  let claims: { [k: string]: unknown };
  let identity;
  try {
    const validated = await validateJwt(found.token, keys, {
      algorithms: v.algorithms,
      maxTokenLength: v.maxTokenLength,
      issuers: v.issuers,
      audiences: v.audiences,
      leewaySeconds: v.leewaySeconds,
      requiredTyp: v.requiredTyp,
      requiredClaims: v.requiredClaims,
      now: Date.now() / 1000,
    });
    claims = validated.claims;
    identity = identityFromClaims(claims, { userClaim: cfg.userClaim, claimMap: cfg.claimMap });
  } catch (e) {
    if (isLjwtError(e) && e.code === 'ERR_CONFIG_INVALID') {
      configError(ctx, e);
      return;
    }
    if (!isLjwtError(e)) {
      // Not a verdict on the token but a defect; still refuse, and say so loudly.
      ctx.error('unexpected exception while validating a token: ' + messageOf(e));
    }
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
    ctx.warn('403 for user ' + identity.user + ': ' + verdict.reason + ' requirement not met (' + verdict.detail + ')');
    ctx.r.headersOut['WWW-Authenticate'] = bearerChallenge(cfg.realm, 'ERR_ACCESS_DENIED', 403);
    ctx.r.return(403);
    return;
  }

  // The site gets the client's cookies without the token: a bearer token in
  // the upstream's hands (its logs, a compromised app) could be replayed.
  // Without $ljwt_cookie the header is passed on unchanged.
  if (cookies !== undefined) {
    ctx.setOutputBytes('ljwt_upstream_cookie', cfg.cookieName === null ? cookies : cookiesWithoutToken(cookies, cfg.cookieName));
  }
  ctx.setOutput('ljwt_user', identity.user);
  ctx.setOutput('ljwt_group_dns', identity.groupDns);
  ctx.setOutput('ljwt_oids', identity.oids);
  const names = Object.keys(identity.extra);
  for (let i = 0; i < names.length; i++) ctx.setOutput(names[i], identity.extra[names[i]]);
  ctx.r.return(204);
}

export async function validate(r: NginxHTTPRequest): Promise<void> {
  const ctx = createContext(r);
  try {
    await run(ctx);
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
