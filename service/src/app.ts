// The HTTP service: plain node:http, an exact-path router, every dependency injected.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceConfig } from './config/types.ts';
import { sendError, ServiceError } from './http/errors.ts';
import { baseHeaders, sendJson, sendNoStoreJson, sendText } from './http/respond.ts';
import { Router } from './http/router.ts';
import { registerAdminRoutes } from './admin/routes.ts';
import { browserCallback, browserLogin, browserRefresh, browserSettings } from './browser/session.ts';
import { MAX_ACCESS_TOKEN_BYTES } from './tokens/verify.ts';
import { authValidateEndpoint } from './oauth/auth-validate.ts';
import { authorizeGet, authorizePost } from './oauth/authorize.ts';
import { AuthorizationCodes } from './oauth/codes.ts';
import type { ServiceContext, Tuning } from './oauth/context.ts';
import { Csrf } from './oauth/csrf.ts';
import type { Authenticator, GroupDirectory } from './oauth/deps.ts';
import { discoveryDocument, idTokenAlgorithms, metadataPaths } from './oauth/discovery.ts';
import { LOGIN_CSS } from './oauth/login-page.ts';
import { logoutEndpoint } from './oauth/logout.ts';
import { RefreshTokens } from './oauth/refresh-tokens.ts';
import { Revocations } from './oauth/revocation.ts';
import { EdgeRevocationPush } from './edge/revocation-push.ts';
import { revokeEndpoint } from './oauth/revoke.ts';
import { tokenEndpoint } from './oauth/token.ts';
import { userinfoEndpoint } from './oauth/userinfo.ts';
import { groupGauges, readiness } from './ops/health.ts';
import { jsonLogger, type Logger } from './ops/logger.ts';
import { Metrics } from './ops/metrics.ts';
import { ldapGauges } from './ops/ldap-gauges.ts';
import { LoginThrottle } from './ops/throttle.ts';
import { trustedProxyList } from './ops/client-ip.ts';
import type { Store } from './store/store.ts';
import { KeyManager, loadOrCreateSecret } from './tokens/keys.ts';
import { AccessTokenVerifier } from './tokens/verify.ts';

export const DEFAULT_TUNING: Tuning = {
  keyRotationSeconds: 90 * 86400,
  leewaySeconds: 30,
  refreshReuseGraceSeconds: 10,
  accessTokenCookie: null,
  refreshTokenCookie: null,
  maxBodyBytes: 16 * 1024,
  loginFormTtlSeconds: 900,
  realm: 'nginx-ldap-jwt',
  shutdownGraceMs: 10_000,
};

/** DEFAULT_TUNING with what the configuration sets (ServiceConfig's optional tuning fields). */
export function configTuning(config: ServiceConfig): Tuning {
  return {
    ...DEFAULT_TUNING,
    keyRotationSeconds: config.keyRotationSeconds ?? DEFAULT_TUNING.keyRotationSeconds,
    leewaySeconds: config.leewaySeconds ?? DEFAULT_TUNING.leewaySeconds,
    refreshReuseGraceSeconds: config.refreshReuseGraceSeconds ?? DEFAULT_TUNING.refreshReuseGraceSeconds,
    accessTokenCookie: config.accessTokenCookie ?? DEFAULT_TUNING.accessTokenCookie,
    refreshTokenCookie: config.refreshTokenCookie ?? DEFAULT_TUNING.refreshTokenCookie,
  };
}

/** The signing keys the configuration describes (the app, and `--rotate-keys` in main.ts). */
export function configKeyManager(config: ServiceConfig, tuning: Tuning, now?: () => number): KeyManager {
  return new KeyManager({
    directory: config.keyDirectory,
    algorithm: config.signingAlgorithm,
    // Access tokens keep signingAlgorithm; ID tokens use each client's algorithm, and RS256 always.
    extraAlgorithms: idTokenAlgorithms(config),
    rotationSeconds: tuning.keyRotationSeconds,
    // A retired key must verify every token it signed: access and ID tokens share the access TTL.
    retainSeconds: config.accessTokenTtlSeconds + tuning.leewaySeconds,
    // An ID token names its session at logout for as long as the session's refresh token can live.
    extraRetainSeconds: Math.max(config.accessTokenTtlSeconds, config.refreshTokenTtlSeconds) + tuning.leewaySeconds,
    ...(config.jwksFile !== undefined ? { jwksFile: config.jwksFile } : {}),
    ...(now !== undefined ? { now } : {}),
  });
}

export interface AppDeps {
  store: Store;
  authenticator: Authenticator;
  groups: GroupDirectory;
  logger?: Logger;
  /** Overrides over configTuning(config) (tests). */
  tuning?: Partial<Tuning>;
  /** Seconds since epoch; tests move time forward. */
  now?: () => number;
  /** Milliseconds since epoch, for windows shorter than a second matters (refresh reuse grace); default now() x 1000 when `now` is given, else Date.now. */
  nowMs?: () => number;
}

export interface App {
  server: Server;
  context: ServiceContext;
  listen(): Promise<{ port: number }>;
  /** Stops accepting, lets in-flight requests finish (up to tuning.shutdownGraceMs), stops timers. Does not close injected deps. */
  close(): Promise<void>;
}

export async function createApp(config: ServiceConfig, deps: AppDeps): Promise<App> {
  const tuning: Tuning = { ...configTuning(config), ...(deps.tuning ?? {}) };
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  const nowMs = deps.nowMs ?? (deps.now !== undefined ? () => now() * 1000 : Date.now);
  const logger = deps.logger ?? jsonLogger();
  const metrics = new Metrics();
  const keys = configKeyManager(config, tuning, now);
  await keys.init();
  // Revocations also go to every nginx that validates tokens (njs >= 0.8.5), when configured.
  const edge = config.edgeRevocation === undefined ? null : new EdgeRevocationPush(
    { ...config.edgeRevocation, accessTokenTtlSeconds: config.accessTokenTtlSeconds }, { now, logger, metrics });
  const revocations = new Revocations(deps.store, config.refreshTokenTtlSeconds + config.accessTokenTtlSeconds + tuning.leewaySeconds, edge);
  const context: ServiceContext = {
    config,
    tuning,
    store: deps.store,
    keys,
    verifier: new AccessTokenVerifier(keys, { issuer: config.issuer, audiences: config.audience, leewaySeconds: tuning.leewaySeconds, maxTokenLength: MAX_ACCESS_TOKEN_BYTES }),
    authenticator: deps.authenticator,
    groups: deps.groups,
    logger,
    metrics,
    throttle: new LoginThrottle(deps.store, config.throttle),
    csrf: new Csrf(loadOrCreateSecret(config.keyDirectory, 'csrf-hmac.key'), deps.store, tuning.loginFormTtlSeconds),
    codes: new AuthorizationCodes(deps.store, config.authorizationCodeTtlSeconds,
      config.accessTokenTtlSeconds + config.authorizationCodeTtlSeconds, revocations),
    refreshTokens: new RefreshTokens(deps.store, config.refreshTokenTtlSeconds, tuning.refreshReuseGraceSeconds * 1000, revocations, now, nowMs),
    revocations,
    trustedProxies: trustedProxyList(config.trustedProxies),
    now,
  };
  metrics.addGauges(groupGauges(context));
  metrics.addGauges(ldapGauges(context));
  if (edge !== null) metrics.addGauges(edge.gauges);

  const router = new Router()
    .on('GET', '/authorize', (req, res, url) => authorizeGet(context, req, res, url))
    .on('POST', '/authorize', (req, res) => authorizePost(context, req, res))
    .on('POST', '/token', (req, res) => tokenEndpoint(context, req, res))
    .on(['GET', 'POST'], '/userinfo', (req, res) => userinfoEndpoint(context, req, res))
    .on('POST', '/revoke', (req, res) => revokeEndpoint(context, req, res))
    .on(['GET', 'POST'], '/logout', (req, res, url) => logoutEndpoint(context, req, res, url))
    // nginx's auth_request subrequest may carry the original request's method; the body is never read.
    .on(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], '/auth/validate', (req, res) => authValidateEndpoint(context, req, res))
    .on('GET', '/jwks', (_req, res) => sendJson(res, 200, keys.publicJwks(), { 'Cache-Control': 'public, max-age=300' }))
    // For nginx ($ljwt_jwks_location): the keys of access tokens only, not those of ID tokens.
    .on('GET', '/jwks/access-tokens', (_req, res) => sendJson(res, 200, keys.accessPublicJwks(), { 'Cache-Control': 'public, max-age=300' }))
    .on('GET', metadataPaths(config).openid, (_req, res) =>
      sendJson(res, 200, discoveryDocument(context), { 'Cache-Control': 'public, max-age=300' }))
    .on('GET', metadataPaths(config).oauth, (_req, res) =>
      sendJson(res, 200, discoveryDocument(context), { 'Cache-Control': 'public, max-age=300' }))
    .on('GET', '/assets/login.css', (_req, res) => sendText(res, 200, LOGIN_CSS, 'text/css; charset=utf-8', { 'Cache-Control': 'public, max-age=3600' }))
    .on('GET', '/healthz', (_req, res) => sendNoStoreJson(res, 200, { status: 'ok' }))
    .on('GET', '/readyz', async (_req, res) => {
      const r = await readiness(context);
      sendNoStoreJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not_ready', ...(r.reason !== undefined ? { reason: r.reason } : {}), checks: r.checks });
    })
    .on('GET', '/metrics', async (_req, res) =>
      sendText(res, 200, await metrics.render(), 'text/plain; version=0.0.4; charset=utf-8', { 'Cache-Control': 'no-store' }));

  registerAdminRoutes(router, context);

  // Browser sign-in through nginx (service as relying party): only when configured, see browser/session.ts.
  const browser = browserSettings(context);
  if (browser !== null) {
    // Browsers reach these endpoints through nginx: unless it is a trusted proxy, every browser
    // shares nginx's address, and maxFailuresPerIp wrong passwords from anyone lock out all users.
    if (config.trustedProxies.length === 0) logger.warn('browser_untrusted_proxy', { hint: 'list nginx in service/trustedProxies' });
    router
      .on('GET', '/login', (req, res, url) => browserLogin(context, browser, req, res, url))
      .on('GET', '/callback', (req, res, url) => browserCallback(context, browser, req, res, url))
      .on('GET', '/refresh', (req, res, url) => browserRefresh(context, browser, req, res, url));
  }

  const inFlight = new Set<ServerResponse>();
  let closing = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
    // While draining, a finished keep-alive connection would hold server.close() open until its timeout.
    res.on('finish', () => { if (closing) setImmediate(() => server.closeIdleConnections()); });
    baseHeaders(res);
    if (closing) res.setHeader('Connection', 'close');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://service.invalid');
    } catch {
      sendText(res, 400, 'bad request\n');
      return;
    }
    const m = router.match(req.method ?? 'GET', url.pathname);
    if (m === null) { sendText(res, 404, 'not found\n'); return; }
    if ('allow' in m) { sendText(res, 405, 'method not allowed\n', undefined, { Allow: m.allow.join(', ') }); return; }
    try {
      await m.handler(req, res, url);
    } catch (e) {
      if (e instanceof ServiceError) {
        if (!res.headersSent) sendError(res, e, 'json');
        return;
      }
      logger.error('request_failed', { path: url.pathname, error: e instanceof Error ? `${e.name}: ${e.message}` : 'unknown' });
      if (!res.headersSent) sendError(res, new ServiceError('server_error', 'internal error', { status: 500 }), 'json');
      else res.destroy();
    }
  }

  // 64 KB of headers: behind nginx (/_auth/) every request carries the site's cookies, and the
  // access token of a user in a few hundred groups is split over up to 8 cookies of 4 KB.
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 15_000, maxHeaderSize: 64 * 1024 }, (req, res) => { void handle(req, res); });
  // Other instances may rotate keys in a shared key directory; pick that up, and rotate/prune on schedule.
  const maintenance = setInterval(() => {
    keys.maintain().catch((e) => logger.error('key_maintenance_failed', { error: e instanceof Error ? e.message : 'unknown' }));
  }, 60_000);
  maintenance.unref();

  return {
    server,
    context,
    listen: () => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.off('error', reject);
        const port = (server.address() as AddressInfo).port;
        logger.info('listening', { host: config.listen.host, port, store: deps.store.kind, signing_alg: keys.algorithm, kid: keys.activeKid() });
        resolve({ port });
      });
    }),
    close: async () => {
      closing = true;
      clearInterval(maintenance);
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, tuning.shutdownGraceMs).unref());
      await Promise.race([closed, deadline]);
      if (inFlight.size > 0) logger.warn('shutdown_forced', { in_flight: inFlight.size });
      server.closeAllConnections();
      await closed;
      // Revocations made by the last requests: a short chance to reach nginx.
      if (edge !== null) {
        await edge.drain(Math.min(2000, tuning.shutdownGraceMs));
        edge.close();
      }
    },
  };
}
