import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OAuthClientConfig } from '../config/types.ts';
import { sendError, ServiceError, serviceError } from '../http/errors.ts';
import { readForm } from '../http/request.ts';
import { sendNoStoreJson } from '../http/respond.ts';
import { clientIp } from '../ops/client-ip.ts';
import { authenticateClient } from './client-auth.ts';
import type { ServiceContext } from './context.ts';
import { subjectOf, type Grant } from './grant.ts';
import { groupsUnavailable, groupsUnavailableError, groupsUnavailableFor } from './group-availability.ts';
import { mintTokens, type TokenResponse } from './issue.ts';
import { login, type LoginResult } from './login.ts';
import { verifyPkce } from './pkce.ts';
import { randomToken } from './secrets.ts';

function required(form: Map<string, string>, name: string): string {
  const v = form.get(name);
  if (v === undefined || v === '') throw new ServiceError('invalid_request', `missing parameter ${name}`);
  return v;
}

function allowGrant(client: OAuthClientConfig, grantType: 'authorization_code' | 'refresh_token' | 'password'): void {
  if (!client.grantTypes.includes(grantType)) throw new ServiceError('unauthorized_client', `the client may not use ${grantType}`);
}

async function refreshFor(ctx: ServiceContext, client: OAuthClientConfig, grant: Grant): Promise<string | undefined> {
  return client.grantTypes.includes('refresh_token') ? ctx.refreshTokens.issue(grant) : undefined;
}

/**
 * Checked before a code is redeemed or a refresh token rotated: mintTokens would refuse
 * afterwards anyway (no group snapshot yet), and by then the code or the refresh token's
 * successor would be lost to the client.
 */
function requireGroups(ctx: ServiceContext): void {
  const reason = groupsUnavailable(ctx.groups.status());
  if (reason !== null) throw groupsUnavailableError(reason);
}

/** What the caller does with the tokens: the service's own browser session keeps no ID token, so none is signed for it. */
export interface MintOptions {
  idToken?: boolean;
}

export async function authorizationCode(ctx: ServiceContext, client: OAuthClientConfig, form: Map<string, string>,
  opts: MintOptions = {}): Promise<TokenResponse> {
  allowGrant(client, 'authorization_code');
  requireGroups(ctx);
  const code = required(form, 'code');
  const redirectUri = required(form, 'redirect_uri');
  const verifier = form.get('code_verifier');
  const r = await ctx.codes.redeem(code);
  if (r.replayed) {
    ctx.metrics.codeReuse.inc();
    ctx.logger.warn('authorization_code_replayed', { client_id: client.clientId });
    throw new ServiceError('invalid_grant', 'the authorization code was already used; tokens issued from it are revoked');
  }
  // The code is consumed whatever happens next: a failed check must not leave it redeemable for another try.
  if (r.grant.clientId !== client.clientId) throw new ServiceError('invalid_grant', 'the code was issued to another client');
  if (r.redirectUri !== redirectUri) throw new ServiceError('invalid_grant', 'redirect_uri does not match the authorization request');
  if (r.codeChallenge !== undefined) {
    if (verifier === undefined) throw new ServiceError('invalid_grant', 'code_verifier is required');
    if (!verifyPkce(verifier, r.codeChallenge)) throw new ServiceError('invalid_grant', 'code_verifier does not match the code_challenge');
  } else if (verifier !== undefined) {
    // A verifier for a code issued without a challenge signals a PKCE downgrade (RFC 9700 §4.8.2).
    throw new ServiceError('invalid_grant', 'code_verifier given for a code issued without code_challenge');
  }
  const refresh = await refreshFor(ctx, client, r.grant);
  return mintTokens(ctx, client, r.grant, 'authorization_code', refresh, opts.idToken ?? true);
}

export async function refreshToken(ctx: ServiceContext, client: OAuthClientConfig, form: Map<string, string>,
  opts: MintOptions = {}): Promise<TokenResponse> {
  allowGrant(client, 'refresh_token');
  requireGroups(ctx);
  const token = required(form, 'refresh_token');
  const requested = form.get('scope');
  const asked = requested !== undefined && requested.trim() !== '' ? [...new Set(requested.split(' ').filter((s) => s !== ''))] : undefined;
  const rotated = await ctx.refreshTokens.rotate(token, client.clientId, (outcome) => {
    ctx.metrics.refreshReuse.inc({ outcome });
    ctx.logger.warn('refresh_token_reused', { client_id: client.clientId, outcome });
  }, (original) => {
    // RFC 6749 §6: a refresh may narrow, never widen, the original scope. Checked before the
    // rotation: a refused request must not spend the token (its reuse would revoke the family).
    if (asked !== undefined && asked.some((s) => !original.scope.includes(s))) {
      throw new ServiceError('invalid_scope', 'the requested scope exceeds the original grant');
    }
    // The same before-rotation rule for the groups of the user's own directory.
    const missing = groupsUnavailableFor(ctx, original.subject);
    if (missing !== null) throw groupsUnavailableError(missing);
  });
  const grant = asked !== undefined ? { ...rotated.grant, scope: asked } : rotated.grant;
  return mintTokens(ctx, client, grant, 'refresh_token', rotated.refreshToken, (opts.idToken ?? true) && grant.scope.includes('openid'));
}

/**
 * The password grant's answer to a refused login. RFC 6749 §5.2 has no code for "try later";
 * temporarily_unavailable (§4.1.2.1) with Retry-After (RFC 9110 §10.2.3) tells a client when
 * trying again makes sense. Any other refusal is invalid_grant, whatever the reason.
 */
function loginRefused(result: Extract<LoginResult, { ok: false }>): ServiceError {
  if (!('retryAfterSeconds' in result)) return new ServiceError('invalid_grant', 'invalid username or password');
  const options = { oauthError: 'temporarily_unavailable', headers: { 'Retry-After': String(result.retryAfterSeconds) } };
  switch (result.reason) {
    case 'throttled': return new ServiceError('login_throttled', 'too many failed login attempts', { status: 429, ...options });
    case 'directory_unavailable': return new ServiceError('directory_unavailable', 'the directory is unreachable', { status: 503, ...options });
    default: return new ServiceError('groups_unavailable', 'group memberships are not loaded yet', { status: 503, ...options });
  }
}

async function password(ctx: ServiceContext, client: OAuthClientConfig, form: Map<string, string>, req: IncomingMessage): Promise<TokenResponse> {
  allowGrant(client, 'password');
  const username = required(form, 'username');
  const pw = form.get('password') ?? '';
  const requested = form.get('scope');
  let scope = [...client.scopes];
  if (requested !== undefined && requested.trim() !== '') {
    scope = [...new Set(requested.split(' ').filter((s) => s !== ''))].filter((s) => client.scopes.includes(s));
    if (scope.length === 0) throw new ServiceError('invalid_scope', 'none of the requested scopes is allowed for this client');
  }
  const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], ctx.trustedProxies);
  const result = await login(ctx, username, pw, ip, 'password_grant');
  if (!result.ok) throw loginRefused(result);
  const u = result.user;
  const grant: Grant = {
    clientId: client.clientId,
    subject: subjectOf(u),
    scope,
    authTime: ctx.now(),
    familyId: randomToken(),
  };
  const refresh = await refreshFor(ctx, client, grant);
  return mintTokens(ctx, client, grant, 'password', refresh, true);
}

export async function tokenEndpoint(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const form = await readForm(req, ctx.tuning.maxBodyBytes);
    const { client } = authenticateClient(req, form, ctx.config.clients);
    const grantType = required(form, 'grant_type');
    let body: TokenResponse;
    switch (grantType) {
      case 'authorization_code': body = await authorizationCode(ctx, client, form); break;
      case 'refresh_token': body = await refreshToken(ctx, client, form); break;
      case 'password': body = await password(ctx, client, form, req); break;
      default: throw new ServiceError('unsupported_grant_type', 'grant_type is not supported');
    }
    sendNoStoreJson(res, 200, body);
  } catch (caught) {
    const e = serviceError(caught);
    ctx.logger.info('token_error', { error_code: e.oauthError });
    sendError(res, e, 'oauth');
  }
}
