// Builds the OAuth service (createApp) in-process on 127.0.0.1:0 for tests,
// with a real slapd-backed Authenticator and either store backend.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, expect } from 'vitest';
import type { LdapServerConfig, ServiceConfig } from '../../service/src/config/types.ts';
import { createApp, type App } from '../../service/src/app.ts';
import type { Authenticator, GroupDirectory, GroupStatus } from '../../service/src/oauth/deps.ts';
import type { Tuning } from '../../service/src/oauth/context.ts';
import type { Store } from '../../service/src/store/store.ts';
import { MemoryStore } from '../../service/src/store/memory-store.ts';
import { jsonLogger, silentLogger, type Logger } from '../../service/src/ops/logger.ts';
import { createLdapAuthenticator, type PooledAuthenticator } from '../../service/src/ldap/login.ts';
import { startGroupDirectory, type GroupDirectoryOptions } from '../../service/src/groups/directory.ts';
import { startSlapd, type Slapd } from './slapd.ts';

export const FIXTURE = new URL('../fixtures/directory.ldif', import.meta.url);
export const AD_SCHEMA = new URL('../fixtures/ad-compat.ldif', import.meta.url).pathname;

export async function startDirectory(): Promise<Slapd> {
  return startSlapd({ ldif: [readFileSync(FIXTURE, 'utf8')], schemas: [AD_SCHEMA] });
}

export function ldapServer(slapd: Slapd): LdapServerConfig {
  return {
    uri: slapd.url,
    bindDn: 'cn=ljwt-reader,ou=service-accounts,dc=example,dc=com',
    bindPassword: 'reader-secret',
    groupDns: ['cn=engineering,ou=groups,dc=example,dc=com'],
    userSearchBase: 'ou=people,dc=example,dc=com',
    userFilter: '(uid={username})',
    objectIdAttribute: 'entryUUID',
    startTls: false,
    connectTimeoutMs: 3000,
    operationTimeoutMs: 3000,
  };
}

export const REDIRECT = 'https://app.example.test/callback';
export const PUBLIC_CLIENT = 'spa';
export const CONF_CLIENT = 'webapp';
export const CONF_SECRET = 'webapp-secret-0123456789';
export const PASSWORD_CLIENT = 'cli';
export const ISSUER = 'https://auth.example.test';

export function makeConfig(slapd: Slapd, keyDirectory: string, over: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    ldapServers: [ldapServer(slapd)],
    listen: { host: '127.0.0.1', port: 0 },
    issuer: ISSUER,
    audience: ['https://app.example.test'],
    accessTokenTtlSeconds: 300,
    refreshTokenTtlSeconds: 3600,
    authorizationCodeTtlSeconds: 60,
    signingAlgorithm: 'ES256',
    keyDirectory,
    jwksFile: join(keyDirectory, '..', 'public', 'jwks.json'),
    usernamePattern: /^[A-Za-z0-9._-]{1,64}$/,
    clients: [
      { clientId: PUBLIC_CLIENT, redirectUris: [REDIRECT, 'http://127.0.0.1:9/cb'], grantTypes: ['authorization_code', 'refresh_token'],
        postLogoutRedirectUris: ['https://app.example.test/bye'], scopes: ['openid', 'profile', 'email', 'api'] },
      { clientId: CONF_CLIENT, clientSecret: CONF_SECRET, redirectUris: [REDIRECT], grantTypes: ['authorization_code', 'refresh_token'],
        postLogoutRedirectUris: [], scopes: ['openid', 'profile', 'api'] },
      { clientId: PASSWORD_CLIENT, redirectUris: [], grantTypes: ['password', 'refresh_token'], postLogoutRedirectUris: [], scopes: ['openid', 'api'] },
    ],
    throttle: { maxFailuresPerUsername: 5, maxFailuresPerIp: 50, windowSeconds: 300 },
    groupSync: { intervalSeconds: 60, maxStaleSeconds: 600 },
    trustedProxies: [],
    ...over,
  };
}

/** A GroupDirectory from a fixed map (objectId -> group DNs), for tests that are not about group sync. */
export class FixedGroups implements GroupDirectory {
  generation = 1;
  updatedAt: number | null = Date.now() / 1000;
  constructor(public map: Record<string, string[]> = {}, public fallback: string[] = []) {}
  groupsOf(objectId: string): string[] {
    return this.map[objectId] ?? this.fallback;
  }
  status(): GroupStatus {
    const age = this.updatedAt === null ? null : Date.now() / 1000 - this.updatedAt;
    return { generation: this.generation, updatedAt: this.updatedAt, ageSeconds: age, stale: false, groupCount: 2, memberCount: Object.keys(this.map).length,
      lastSyncDurationMs: null, syncErrors: 0 };
  }
  async syncNow(): Promise<unknown> {
    this.generation++;
    this.updatedAt = Date.now() / 1000;
    return { generation: this.generation };
  }
}

/** Wraps an Authenticator and counts calls, so tests can prove a request never reached LDAP. */
export class CountingAuthenticator implements Authenticator {
  calls = 0;
  constructor(private readonly inner: Authenticator) {}
  authenticate(u: string, p: string, beforeBind?: (dn: string) => Promise<boolean>) {
    this.calls++;
    return this.inner.authenticate(u, p, beforeBind);
  }
  findUser(u: string) {
    return this.inner.findUser(u);
  }
  ping() {
    return this.inner.ping();
  }
}

export interface RunningService {
  app: App;
  base: string;
  logs: string[];
  auth: CountingAuthenticator;
  groups: FixedGroups;
  config: ServiceConfig;
  close(): Promise<void>;
}

export function tempDir(prefix = 'ljwt-svc-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startService(config: ServiceConfig, store: Store, opts: { groups?: FixedGroups; tuning?: Partial<Tuning>; now?: () => number; authenticator?: Authenticator } = {}): Promise<RunningService> {
  const logs: string[] = [];
  const auth = new CountingAuthenticator(opts.authenticator ?? createLdapAuthenticator(config.ldapServers, config.usernamePattern));
  const groups = opts.groups ?? new FixedGroups();
  const app = await createApp(config, {
    store,
    authenticator: auth,
    groups,
    logger: jsonLogger((l) => { logs.push(l); }, 'debug'),
    ...(opts.tuning ? { tuning: opts.tuning } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const { port } = await app.listen();
  return { app, base: `http://127.0.0.1:${port}`, logs, auth, groups, config, close: () => app.close() };
}

export interface ServiceWithGroupSync {
  app: App;
  base: string;
  /** Every log line of the app (debug and up). */
  logs: string[];
  auth: PooledAuthenticator;
  groups: Awaited<ReturnType<typeof startGroupDirectory>>;
  config: ServiceConfig;
  /** Closes the app, the authenticator's connections and the group directory. */
  close(): Promise<void>;
}

/**
 * The app wired as main.ts wires it, with a memory store: the real LDAP authenticator and a
 * real group directory syncing the configured servers, in this thread unless `sync` says otherwise.
 */
export async function startWithGroupSync(config: ServiceConfig,
  opts: { sync?: GroupDirectoryOptions; syncLog?: Logger; tuning?: Partial<Tuning> } = {}): Promise<ServiceWithGroupSync> {
  const groups = await startGroupDirectory(config, opts.syncLog ?? silentLogger, { mode: 'in-thread', ...opts.sync });
  const auth = createLdapAuthenticator(config.ldapServers, config.usernamePattern);
  const logs: string[] = [];
  const app = await createApp(config, {
    store: new MemoryStore(),
    authenticator: auth,
    groups,
    logger: jsonLogger((l) => { logs.push(l); }, 'debug'),
    ...(opts.tuning ? { tuning: opts.tuning } : {}),
  });
  const { port } = await app.listen();
  const close = async (): Promise<void> => {
    await app.close();
    await auth.close();
    await groups.close();
  };
  return { app, base: `http://127.0.0.1:${port}`, logs, auth, groups, config, close };
}

/** POST /token with the password grant for PASSWORD_CLIENT, scope "openid api". */
export function passwordGrant(base: string, username: string, password: string): Promise<HttpResult> {
  return tokenRequest(base, { grant_type: 'password', username, password, client_id: PASSWORD_CLIENT, scope: 'openid api' });
}

export interface ServiceSuite {
  /** The fixture directory (valid once the suite's beforeAll has run). */
  readonly slapd: Slapd;
  /** A service on makeConfig(slapd, a fresh key directory, over), closed after the file. */
  start(over?: Partial<ServiceConfig>, store?: Store, opts?: Parameters<typeof startService>[2]): Promise<RunningService>;
}

/**
 * The setup most service tests share: one fixture slapd and one temporary directory for
 * the file (registers its beforeAll/afterAll where it is called), and services started
 * through start() closed before the directory goes.
 */
export function serviceSuite(): ServiceSuite {
  let slapd: Slapd;
  let dir: ReturnType<typeof tempDir>;
  const running: RunningService[] = [];
  beforeAll(async () => {
    slapd = await startDirectory();
    dir = tempDir();
  });
  afterAll(async () => {
    for (const s of running) await s.close();
    await slapd?.destroy();
    dir?.remove();
  });
  return {
    get slapd() { return slapd; },
    async start(over = {}, store = new MemoryStore(), opts = {}) {
      const s = await startService(makeConfig(slapd, `${dir.dir}/keys-${running.length}`, over), store, opts);
      running.push(s);
      return s;
    },
  };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

export async function http(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpResult> {
  const r = await request(url, { method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {}, body: init.body ?? null });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) };
}

export function form(params: Record<string, string>): { headers: Record<string, string>; body: string } {
  return { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() };
}

export function setCookies(h: HttpResult): string[] {
  const v = h.headers['set-cookie'];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Hidden inputs of the login form. */
export function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) out[unescape(m[1]!)] = unescape(m[2]!);
  return out;
}

export interface AuthzParams {
  client_id: string;
  redirect_uri?: string;
  scope?: string;
  state?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  nonce?: string;
  response_type?: string;
}

/** GET /authorize and return the form, its cookie and fields. */
export async function openLoginForm(base: string, p: AuthzParams): Promise<{ page: HttpResult; cookie: string; fields: Record<string, string> }> {
  const q = new URLSearchParams({ response_type: 'code', redirect_uri: REDIRECT, ...p } as Record<string, string>);
  const page = await http(`${base}/authorize?${q}`);
  const c = setCookies(page).find((s) => s.startsWith('ljwt_csrf='));
  const cookie = c ? c.split(';')[0]! : '';
  return { page, cookie, fields: hiddenFields(page.text) };
}

export async function submitLogin(base: string, cookie: string, fields: Record<string, string>, username: string, password: string): Promise<HttpResult> {
  const f = form({ ...fields, username, password });
  return http(`${base}/authorize`, { method: 'POST', headers: { ...f.headers, ...(cookie ? { cookie } : {}) }, body: f.body });
}

/** Full browser leg: form, login, returns the redirect URL (with code) or the failed response. */
export async function authorize(base: string, p: AuthzParams, username: string, password: string): Promise<{ res: HttpResult; location?: URL }> {
  const { cookie, fields } = await openLoginForm(base, p);
  const res = await submitLogin(base, cookie, fields, username, password);
  const loc = res.headers.location;
  return { res, ...(typeof loc === 'string' ? { location: new URL(loc) } : {}) };
}

export async function tokenRequest(base: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<HttpResult> {
  const f = form(params);
  return http(`${base}/token`, { method: 'POST', headers: { ...f.headers, ...headers }, body: f.body });
}

/** POST /token with grant_type=refresh_token for a public or password client (RFC 6749 §6). */
export function refreshRequest(base: string, refreshToken: string, clientId: string): Promise<HttpResult> {
  return tokenRequest(base, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
}

/**
 * Two refreshes of one refresh token at once, at bases a and b (one instance twice, or two
 * sharing a store): within the reuse grace both succeed with the same successor, returned.
 */
export async function refreshTwiceAtOnce(a: string, b: string, refreshToken: string, clientId: string): Promise<HttpResult> {
  const [x, y] = await Promise.all([refreshRequest(a, refreshToken, clientId), refreshRequest(b, refreshToken, clientId)]);
  expect(x.status).toBe(200);
  expect(y.status).toBe(200);
  expect(x.json().refresh_token).toBe(y.json().refresh_token);
  return x;
}

export function basicAuth(id: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` };
}

export function decodeJwtParts(jwt: string): { header: any; payload: any } {
  const [h, p] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}
