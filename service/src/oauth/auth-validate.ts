import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseEdgeConfig } from '#njs/config.ts';
import { evaluatePolicy, type LocationPolicy } from '#njs/authz/policy.ts';
import { bearerChallenge } from '#njs/http/challenge.ts';
import { identityFromClaims } from '#njs/identity/headers.ts';
import { authenticateBearer } from './bearer.ts';
import type { ServiceContext } from './context.ts';

/**
 * Per-location policy headers set by nginx in the auth_request location
 * (proxy_set_header). They carry exactly the values of the edge's $ljwt_require_*
 * variables and are parsed by the edge's own parser (njs/config.ts).
 */
export const POLICY_HEADERS: Record<string, string> = {
  'x-ljwt-require-any-group': 'ljwt_require_any_group',
  'x-ljwt-require-all-groups': 'ljwt_require_all_groups',
  'x-ljwt-require-scope': 'ljwt_require_scope',
  'x-ljwt-require-claim': 'ljwt_require_claim',
};

function policyFromHeaders(ctx: ServiceContext, req: IncomingMessage): LocationPolicy {
  const vars: { [k: string]: string | undefined } = {
    // Only the policy part of the result is used; these satisfy the parser's required variables.
    ljwt_jwks_location: '/jwks',
    ljwt_issuer: ctx.config.issuer,
    ljwt_audience: 'off',
  };
  for (const [header, name] of Object.entries(POLICY_HEADERS)) {
    const v = req.headers[header];
    if (Array.isArray(v)) throw new Error(`${header} repeated`);
    if (v !== undefined) vars[name] = v;
  }
  return parseEdgeConfig(vars, { ed25519: true, version: 'service' }).policy;
}

/**
 * auth_request endpoint for nginx without njs:
 * 204 + identity headers, 401 with the RFC 6750 challenge, 403 when the
 * location policy refuses, 500 (nginx fails the request) when the policy
 * headers are invalid — never an allow on doubt.
 */
export async function authValidateEndpoint(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let policy: LocationPolicy;
  try {
    policy = policyFromHeaders(ctx, req);
  } catch (e) {
    ctx.metrics.validations.inc({ result: 'config_error' });
    ctx.logger.error('auth_validate_bad_policy', { error: e instanceof Error ? e.message : 'invalid policy' });
    res.writeHead(500, { 'Content-Length': 0, 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  const r = await authenticateBearer(ctx, req, true);
  if (!r.ok) {
    ctx.metrics.validations.inc({ result: 'unauthorized' });
    res.writeHead(401, { 'WWW-Authenticate': r.challenge, 'Content-Length': 0, 'Cache-Control': 'no-store', 'X-Ljwt-Error': r.code });
    res.end();
    return;
  }
  const claims = r.token.claims;
  const decision = evaluatePolicy(policy, claims);
  if (!decision.allowed) {
    ctx.metrics.validations.inc({ result: 'forbidden' });
    res.writeHead(403, { 'WWW-Authenticate': bearerChallenge(ctx.tuning.realm, 'ERR_ACCESS_DENIED', 403), 'Content-Length': 0, 'Cache-Control': 'no-store', 'X-Ljwt-Error': 'ERR_ACCESS_DENIED' });
    res.end();
    return;
  }
  let identity;
  try {
    identity = identityFromClaims(claims, { userClaim: 'sub', claimMap: [] });
  } catch {
    ctx.metrics.validations.inc({ result: 'unauthorized' });
    res.writeHead(401, { 'WWW-Authenticate': bearerChallenge(ctx.tuning.realm, 'ERR_JWT_CLAIM_VALIDATION_FAILED', 401), 'Content-Length': 0 });
    res.end();
    return;
  }
  ctx.metrics.validations.inc({ result: 'allowed' });
  const headers: Record<string, string> = { 'Cache-Control': 'no-store', 'X-Authenticated-User': identity.user };
  if (identity.groupDns !== '') headers['X-Authenticated-Group-DNs'] = identity.groupDns;
  if (identity.oids !== '') headers['X-Authenticated-OIDs'] = identity.oids;
  res.writeHead(204, headers);
  res.end();
}
