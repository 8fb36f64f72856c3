import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OAuthClientConfig } from '../config/types.ts';
import { cookieValues, serializeCookie } from '../http/cookies.ts';
import { sendError, ServiceError, serviceError } from '../http/errors.ts';
import { readForm, singleValued } from '../http/request.ts';
import { redirect, sendHtml } from '../http/respond.ts';
import { clientIp } from '../ops/client-ip.ts';
import type { ServiceContext } from './context.ts';
import { CSRF_COOKIE } from './csrf.ts';
import { subjectOf } from './grant.ts';
import { login } from './login.ts';
import { loginPage } from './login-page.ts';
import { isValidChallenge } from './pkce.ts';

/** Where errors go once the redirect_uri is trusted: the registered client and its redirect_uri. */
interface Target {
  client: OAuthClientConfig;
  redirectUri: string;
  state?: string;
}

/** Parameters of a valid authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1). */
interface AuthzRequest extends Target {
  scope: string[];
  codeChallenge?: string;
  nonce?: string;
}

/** Errors before the redirect_uri is trusted are shown on our page, never redirected (RFC 6749 §4.1.2.1). */
const REJECTED_PAGE = { page: 'Sign-in request rejected' };

const CARRIED = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'nonce'];
const MAX_PARAM = 2048;

/** The client and the redirect_uri registered for it; throws for our page when either is missing or unknown. */
function trustedTarget(ctx: ServiceContext, p: Map<string, string>): Target {
  const clientId = p.get('client_id');
  if (clientId === undefined || clientId === '') throw new ServiceError('invalid_request', 'The request has no client_id.');
  const client = ctx.config.clients.find((c) => c.clientId === clientId);
  if (!client) throw new ServiceError('invalid_request', 'The application is not registered.');
  const redirectUri = p.get('redirect_uri');
  if (redirectUri === undefined || redirectUri === '') throw new ServiceError('invalid_request', 'The request has no redirect_uri.');
  // Exact string comparison against the registered list (RFC 9700 §4.1.3, OAuth 2.1 §2.3.1): no prefix or pattern matching.
  if (!client.redirectUris.includes(redirectUri)) throw new ServiceError('invalid_request', 'The redirect_uri is not registered for this application.');
  const state = p.get('state');
  return { client, redirectUri, ...(state !== undefined ? { state } : {}) };
}

/** The rest of the request, for a trusted target; throws the error to send back to the client. */
function parseRequest(base: Target, p: Map<string, string>): AuthzRequest {
  const client = base.client;
  for (const [k, v] of p) if (v.length > MAX_PARAM) throw new ServiceError('invalid_request', `parameter ${k} is too long`);

  if (p.get('response_type') !== 'code') throw new ServiceError('unsupported_response_type', 'only response_type=code is supported');
  // OIDC Core §6.1, §6.2, §7.2.1: request objects and registration are not supported (and the
  // metadata says so); ignoring them would act on parameters other than those the client signed.
  if (p.has('request')) throw new ServiceError('request_not_supported', 'the request parameter is not supported');
  if (p.has('request_uri')) throw new ServiceError('request_uri_not_supported', 'the request_uri parameter is not supported');
  if (p.has('registration')) throw new ServiceError('registration_not_supported', 'the registration parameter is not supported');
  if (!client.grantTypes.includes('authorization_code')) throw new ServiceError('unauthorized_client', 'the client may not use the authorization code grant');
  // OIDC Core §3.1.2.1 prompt=none: this service keeps no login session, so it can never answer without the form.
  if ((p.get('prompt') ?? '').split(' ').includes('none')) throw new ServiceError('login_required', 'interactive login is required');

  const requested = p.get('scope');
  let scope: string[];
  if (requested === undefined || requested.trim() === '') scope = [...client.scopes];
  else {
    const asked = [...new Set(requested.split(' ').filter((s) => s !== ''))];
    scope = asked.filter((s) => client.scopes.includes(s));
    if (scope.length === 0) throw new ServiceError('invalid_scope', 'none of the requested scopes is allowed for this client');
  }

  const challenge = p.get('code_challenge');
  const method = p.get('code_challenge_method');
  if (challenge !== undefined) {
    // RFC 7636 §4.3 defaults a missing method to "plain", which we never accept.
    if (method !== 'S256') throw new ServiceError('invalid_request', 'code_challenge_method must be S256');
    if (!isValidChallenge(challenge)) throw new ServiceError('invalid_request', 'code_challenge is malformed');
  } else {
    if (method !== undefined) throw new ServiceError('invalid_request', 'code_challenge_method without code_challenge');
    // Public clients cannot keep a secret: PKCE is what binds their code (RFC 9700 §2.1.1).
    if (client.clientSecret === undefined) throw new ServiceError('invalid_request', 'PKCE (code_challenge with S256) is required');
  }
  const nonce = p.get('nonce');
  return { ...base, scope, ...(challenge !== undefined ? { codeChallenge: challenge } : {}), ...(nonce !== undefined ? { nonce } : {}) };
}

function redirectWith(ctx: ServiceContext, res: ServerResponse, redirectUri: string, params: Record<string, string | undefined>): void {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  // RFC 9207: the iss parameter lets the client detect mix-up attacks.
  url.searchParams.set('iss', ctx.config.issuer);
  redirect(res, url.toString());
}

function secureCookies(ctx: ServiceContext): boolean {
  return ctx.config.issuer.startsWith('https://');
}

/** Renders the form with a fresh CSRF token bound to the browser's cookie (set when missing). */
function renderForm(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse, params: Map<string, string>, clientId: string,
  status: number, extra: { error?: string; username?: string; headers?: Record<string, string> } = {}): void {
  const existing = cookieValues(req, CSRF_COOKIE);
  let binding = existing.length === 1 && ctx.csrf.isBinding(existing[0]) ? existing[0]! : undefined;
  const headers: Record<string, string> = { ...(extra.headers ?? {}) };
  if (binding === undefined) {
    binding = ctx.csrf.newBinding();
    // The issuer carries the public path prefix when nginx serves the service under one (/_auth/authorize).
    const prefix = new URL(ctx.config.issuer).pathname.replace(/\/+$/, '');
    headers['Set-Cookie'] = serializeCookie(CSRF_COOKIE, binding, { path: `${prefix}/authorize`, secure: secureCookies(ctx), sameSite: 'Lax' });
  }
  const carried: Array<[string, string]> = CARRIED.filter((k) => params.has(k)).map((k) => [k, params.get(k)!]);
  sendHtml(res, status, loginPage({
    params: carried,
    csrfToken: ctx.csrf.issue(binding, ctx.now()),
    clientId,
    ...(extra.error !== undefined ? { error: extra.error } : {}),
    ...(extra.username !== undefined ? { username: extra.username } : {}),
  }), headers);
}

/** The valid authorization request in p, or undefined after answering its error. */
function acceptRequest(ctx: ServiceContext, res: ServerResponse, p: Map<string, string>): AuthzRequest | undefined {
  let target: Target;
  try {
    target = trustedTarget(ctx, p);
  } catch (caught) {
    const e = serviceError(caught);
    ctx.logger.info('authorize_rejected', { reason: e.message });
    sendError(res, e, REJECTED_PAGE);
    return undefined;
  }
  try {
    return parseRequest(target, p);
  } catch (caught) {
    const e = serviceError(caught);
    ctx.logger.info('authorize_rejected', { reason: e.oauthError });
    redirectWith(ctx, res, target.redirectUri, { error: e.oauthError, error_description: e.message, state: target.state });
    return undefined;
  }
}

export async function authorizeGet(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  let params: Map<string, string>;
  try {
    params = singleValued(url.searchParams);
  } catch (e) {
    sendError(res, serviceError(e), REJECTED_PAGE);
    return;
  }
  const ar = acceptRequest(ctx, res, params);
  if (ar === undefined) return;
  renderForm(ctx, req, res, params, ar.client.clientId, 200);
}

export async function authorizePost(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let form: Map<string, string>;
  try {
    form = await readForm(req, ctx.tuning.maxBodyBytes);
  } catch (e) {
    sendError(res, serviceError(e), REJECTED_PAGE);
    return;
  }
  const ar = acceptRequest(ctx, res, form);
  if (ar === undefined) return;
  const username = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  const bindings = cookieValues(req, CSRF_COOKIE);
  const csrf = bindings.length === 1 ? ctx.csrf.check(bindings[0], form.get('csrf_token'), ctx.now()) : null;
  const csrfRejected = () => {
    ctx.logger.warn('authorize_csrf_rejected', { client_id: ar.client.clientId });
    renderForm(ctx, req, res, form, ar.client.clientId, 403, { error: 'The sign-in form expired or was not submitted from this site. Please try again.', username });
  };
  if (csrf === null) { csrfRejected(); return; }
  const ip = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], ctx.trustedProxies);
  // The nonce is spent only once the throttle admits the attempt: a throttled client stores nothing.
  const result = await login(ctx, username, password, ip, 'authorize', () => ctx.csrf.consume(csrf, ctx.now()));
  if (!result.ok) {
    switch (result.reason) {
      case 'not_admitted':
        csrfRejected();
        return;
      case 'throttled':
        renderForm(ctx, req, res, form, ar.client.clientId, 429, {
          error: `Too many failed sign-in attempts. Try again in ${result.retryAfterSeconds} seconds.`, username,
          headers: { 'Retry-After': String(result.retryAfterSeconds) },
        });
        return;
      case 'groups_unavailable':
        renderForm(ctx, req, res, form, ar.client.clientId, 503, {
          error: `Sign-in is not available yet: the service is still loading group memberships from the directory. Please try again in ${result.retryAfterSeconds} seconds.`, username,
          headers: { 'Retry-After': String(result.retryAfterSeconds) },
        });
        return;
      case 'directory_unavailable':
        renderForm(ctx, req, res, form, ar.client.clientId, 503, {
          error: `The directory is unreachable right now. Please try again in ${result.retryAfterSeconds} seconds.`, username,
          headers: { 'Retry-After': String(result.retryAfterSeconds) },
        });
        return;
      case 'not_allowed':
        renderForm(ctx, req, res, form, ar.client.clientId, 403, { error: 'Your account is not allowed to sign in here.', username });
        return;
      default:
        renderForm(ctx, req, res, form, ar.client.clientId, 401, { error: 'The username or password is incorrect.', username });
        return;
    }
  }
  const u = result.user;
  const code = await ctx.codes.issue({
    clientId: ar.client.clientId,
    subject: subjectOf(u),
    scope: ar.scope,
    authTime: ctx.now(),
    ...(ar.nonce !== undefined ? { nonce: ar.nonce } : {}),
  }, ar.redirectUri, ar.codeChallenge);
  ctx.logger.info('authorization_code_issued', { client_id: ar.client.clientId, username: u.username });
  redirectWith(ctx, res, ar.redirectUri, { code, state: ar.state });
}
