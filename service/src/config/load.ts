// Builds the validated ServiceConfig from the XML file (optional) and the
// environment (which wins). Every problem is a ConfigError naming the element
// path or the variable. Defaults are listed in DEFAULTS and in schema.ts docs.
import { accessSync, constants, readFileSync } from 'node:fs';
import { normalizeDn } from '#njs/authz/dn.ts';
import { dcSuffix } from '../ldap/dn.ts';
import { ConfigError } from './errors.ts';
import {
  CLIENT_SECRET_ENV_PREFIX,
  CONFIG_FILE_ENV,
  GLOBAL_ENV,
  clientSecretEnvName,
  readEnv,
  serverEnvName,
  type ReadEnv,
} from './env.ts';
import {
  CONFIG_SCHEMA,
  DEFAULT_ID_TOKEN_ALGORITHM,
  DEFAULT_USER_FILTER,
  DEFAULT_USERNAME_PATTERN,
  type ElementDef,
} from './schema.ts';
import type { IdTokenAlgorithm, LdapServerConfig, OAuthClientConfig, ServiceConfig, SigningAlgorithm } from './types.ts';
import { convertLeaf, type LdapUri } from './values.ts';
import { secretFromFile } from '#njs/revocation/secret.ts';
import { childNamed, childrenNamed, parseConfigXml, type XNode } from './xml.ts';

export { ConfigError } from './errors.ts';

export const DEFAULTS = {
  listen: { host: '127.0.0.1', port: 8080 },
  accessTokenTtlSeconds: 300,
  refreshTokenTtlSeconds: 8 * 3600,
  // RFC 6749 §4.1.2 recommends a maximum of 10 minutes; a browser redirect needs seconds.
  authorizationCodeTtlSeconds: 60,
  signingAlgorithm: 'ES256' as SigningAlgorithm,
  keyDirectory: '/var/lib/nginx-ldap-jwt/keys',
  usernamePattern: DEFAULT_USERNAME_PATTERN,
  userFilter: DEFAULT_USER_FILTER,
  objectIdAttribute: 'entryUUID',
  connectTimeoutMs: 2000,
  operationTimeoutMs: 10_000,
  retryInitialMs: 1000,
  retryMaxMs: 30_000,
  throttle: { maxFailuresPerUsername: 5, maxFailuresPerIp: 20, windowSeconds: 300 },
  groupSyncIntervalSeconds: 300,
  /** maxStaleSeconds defaults to this many intervals. */
  groupSyncStaleIntervals: 3,
  grantTypes: ['authorization_code', 'refresh_token'] as OAuthClientConfig['grantTypes'],
  scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
  logLevel: 'info' as const,
  /** The edge validator's own default $ljwt_leeway (njs/config.ts). */
  edgeLeewaySeconds: 30,
};

export interface LoadConfigOptions {
  /** XML file path; default: $LJWT_CONFIG; without either, configuration comes from the environment alone. */
  file?: string;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
}

function defAt(path: string): ElementDef {
  let d: ElementDef = CONFIG_SCHEMA;
  for (const part of path.split('/')) {
    const next = d.children?.find((c) => c.name === part);
    if (!next) throw new Error(`schema has no ${path}`);
    d = next;
  }
  return d;
}

/** Splits on separators not escaped with "\" (RFC 4514 escapes ";" and "," inside DNs). */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

class Reader {
  constructor(private readonly env: ReadEnv) {}

  /** One value: env variable (if given and set) over XML element over undefined. */
  one<T>(parent: XNode | undefined, schemaPath: string, envName?: string): T | undefined {
    const def = defAt(schemaPath);
    const ev = envName ? this.env.get(envName) : undefined;
    if (ev) return convertLeaf(def.type!, ev.value, ev.where) as T;
    const el = childNamed(parent, def.name);
    if (el) return convertLeaf(def.type!, el.text, el.path) as T;
    return undefined;
  }

  /** A repeatable value: env list (if set) replaces all XML elements. */
  many<T>(parent: XNode | undefined, schemaPath: string, envName?: string, sep?: 'comma' | 'semicolon'): T[] | undefined {
    const def = defAt(schemaPath);
    const ev = envName ? this.env.get(envName) : undefined;
    if (ev) {
      const items = sep === 'semicolon' ? splitUnescaped(ev.value, ';') : ev.value.split(',').map((x) => x.trim()).filter((x) => x);
      if (items.length === 0) throw new ConfigError(ev.where, 'empty list');
      return items.map((it, k) => convertLeaf(def.type!, it, items.length === 1 ? ev.where : `${ev.where}[${k + 1}]`) as T);
    }
    const els = childrenNamed(parent, def.name);
    if (els.length === 0) return undefined;
    return els.map((el) => convertLeaf(def.type!, el.text, el.path) as T);
  }
}

function checkReadable(file: string, where: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (e) {
    throw new ConfigError(where, `cannot read ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * The service account carried by the replica URIs (JDBC-like userinfo): replicas of one
 * directory share it, so URIs that carry one must agree; which one was meant is otherwise unknowable.
 */
function replicaCredentials(uris: LdapUri[], where: string): { bindDn?: string; bindPassword?: string } {
  const first = uris.find((u) => u.bindDn !== undefined || u.bindPassword !== undefined);
  for (const u of uris) {
    if (u.bindDn === undefined && u.bindPassword === undefined) continue;
    const sameDn = (u.bindDn === undefined) === (first!.bindDn === undefined) &&
      (u.bindDn === undefined || normalizeDn(u.bindDn) === normalizeDn(first!.bindDn!));
    if (!sameDn || u.bindPassword !== first!.bindPassword) {
      throw new ConfigError(where, 'replica URIs carry different service accounts; give the account once in <login>/<password>');
    }
  }
  return first === undefined ? {} : { ...(first.bindDn !== undefined ? { bindDn: first.bindDn } : {}), ...(first.bindPassword !== undefined ? { bindPassword: first.bindPassword } : {}) };
}

function loadServer(r: Reader, env: ReadEnv, el: XNode | undefined, index: number): LdapServerConfig {
  const path = el?.path ?? `ldapConfig/ldapServer[${index}]`;
  const s = (suffix: string): string => serverEnvName(index, suffix);
  const sp = (elem: string): string => `ldapServer/${elem}`;

  const uris = r.many<LdapUri>(el, sp('uri'), s('URI'), 'comma');
  if (!uris) throw new ConfigError(el ? path : s('URI'), el ? 'missing required element <uri>' : `required for LDAP server ${index}`);
  const uri = replicaCredentials(uris, env.get(s('URI'))?.where ?? `${path}/uri`);

  // Precedence: environment variable, then the URL's userinfo or the element
  // (giving both, differently, is an error: which one was meant is unknowable).
  // A URI from the environment overrides the file, including the credentials it carries.
  const uriFromEnv = env.get(s('URI')) !== undefined;
  const envLogin = env.get(s('LOGIN'));
  const elLogin = r.one<string>(el, sp('login'));
  let bindDn: string | undefined;
  if (envLogin) bindDn = r.one<string>(undefined, sp('login'), s('LOGIN'));
  else if (uriFromEnv && uri.bindDn !== undefined) bindDn = uri.bindDn;
  else {
    if (uri.bindDn !== undefined && elLogin && normalizeDn(elLogin) !== normalizeDn(uri.bindDn)) {
      throw new ConfigError(`${path}/login`, 'differs from the user given in the uri; give it in one place');
    }
    bindDn = uri.bindDn ?? (elLogin || undefined);
  }
  if (!bindDn) {
    throw new ConfigError(`${path}/login`, `service account DN is empty (set <login>, the user part of the uri, or ${s('LOGIN')})`);
  }

  const envPw = env.get(s('PASSWORD'));
  let bindPassword: string | undefined;
  if (envPw) bindPassword = envPw.value;
  else if (uriFromEnv && uri.bindPassword !== undefined) bindPassword = uri.bindPassword;
  else {
    const elPw = r.one<string>(el, sp('password'));
    if (uri.bindPassword !== undefined && elPw && elPw !== uri.bindPassword) {
      throw new ConfigError(`${path}/password`, 'differs from the password given in the uri; give it in one place');
    }
    bindPassword = uri.bindPassword ?? (elPw || undefined);
  }
  if (!bindPassword) {
    // RFC 4513 §5.1.2: an empty password makes an unauthenticated bind, never what is meant.
    throw new ConfigError(`${path}/password`, `service account password is empty (set <password>, the uri, ${s('PASSWORD')} or ${s('PASSWORD')}_FILE)`);
  }

  const groupDns = r.many<string>(childNamed(el, 'dnList'), sp('dnList/dn'), s('GROUP_DNS'), 'semicolon') ?? [];

  let userSearchBase = r.one<string>(el, sp('userSearchBase'), s('USER_SEARCH_BASE'));
  if (userSearchBase === undefined) {
    userSearchBase = dcSuffix(bindDn);
    if (userSearchBase === undefined) {
      throw new ConfigError(`${path}/userSearchBase`, `required: the service account DN has no dc= suffix to derive it from (or set ${s('USER_SEARCH_BASE')})`);
    }
  }
  const startTls = r.one<boolean>(el, sp('startTls'), s('START_TLS')) ?? false;
  if (startTls && uris.some((u) => u.uri.startsWith('ldaps:'))) {
    throw new ConfigError(env.get(s('START_TLS'))?.where ?? `${path}/startTls`, 'StartTLS cannot be used with ldaps:// (already TLS)');
  }
  const caFile = r.one<string>(el, sp('caFile'), s('CA_FILE'));
  if (caFile !== undefined) checkReadable(caFile, env.get(s('CA_FILE'))?.where ?? `${path}/caFile`);
  const loginGroupDn = r.one<string>(el, sp('loginGroup'), s('LOGIN_GROUP'));
  const usernameAttributes = r.many<string>(el, sp('usernameAttribute'), s('USERNAME_ATTRIBUTES'), 'comma');

  const server: LdapServerConfig = {
    uri: uris[0]!.uri,
    uris: [...new Set(uris.map((u) => u.uri))],
    bindDn,
    bindPassword,
    groupDns,
    userSearchBase,
    userFilter: r.one<string>(el, sp('userFilter'), s('USER_FILTER')) ?? DEFAULTS.userFilter,
    objectIdAttribute: r.one<string>(el, sp('objectIdAttribute'), s('OBJECT_ID_ATTRIBUTE')) ?? DEFAULTS.objectIdAttribute,
    startTls,
    connectTimeoutMs: r.one<number>(el, sp('connectTimeoutMs'), s('CONNECT_TIMEOUT_MS')) ?? DEFAULTS.connectTimeoutMs,
    operationTimeoutMs: r.one<number>(el, sp('timeoutMs'), s('TIMEOUT_MS')) ?? DEFAULTS.operationTimeoutMs,
    retryInitialMs: r.one<number>(el, sp('retryInitialMs'), s('RETRY_INITIAL_MS')) ?? DEFAULTS.retryInitialMs,
    retryMaxMs: r.one<number>(el, sp('retryMaxMs'), s('RETRY_MAX_MS')) ?? DEFAULTS.retryMaxMs,
  };
  if (server.retryMaxMs! < server.retryInitialMs!) {
    throw new ConfigError(env.get(s('RETRY_MAX_MS'))?.where ?? `${path}/retryMaxMs`, `must be at least retryInitialMs (${server.retryInitialMs})`);
  }
  if (caFile !== undefined) server.caFile = caFile;
  if (loginGroupDn !== undefined) server.loginGroupDn = loginGroupDn;
  if (usernameAttributes !== undefined) server.usernameAttributes = [...new Set(usernameAttributes)];
  return server;
}

function loadClients(r: Reader, env: ReadEnv, root: XNode | undefined): OAuthClientConfig[] {
  const clients: OAuthClientConfig[] = [];
  const firstPathById = new Map<string, string>();
  const byEnvName = new Map<string, string>();
  for (const el of childrenNamed(childNamed(root, 'clients'), 'client')) {
    const cp = 'clients/client';
    const clientId = r.one<string>(el, `${cp}/id`)!;
    const prev = firstPathById.get(clientId);
    if (prev) throw new ConfigError(`${el.path}/id`, `duplicate client id ${JSON.stringify(clientId)} (also in ${prev})`);
    firstPathById.set(clientId, el.path);
    const envName = clientSecretEnvName(clientId);
    const clash = byEnvName.get(envName);
    if (clash && env.get(envName)) {
      throw new ConfigError(envName, `ambiguous: client ids ${JSON.stringify(clash)} and ${JSON.stringify(clientId)} map to the same variable`);
    }
    byEnvName.set(envName, clientId);

    const envSecret = env.get(envName);
    const secret = envSecret ? envSecret.value : r.one<string>(el, `${cp}/secret`);
    if (secret !== undefined && secret.length < 16) {
      throw new ConfigError(envSecret?.where ?? `${el.path}/secret`, 'client secret must be at least 16 characters (or omit it for a public client)');
    }
    const redirectUris = [...new Set(r.many<string>(el, `${cp}/redirectUri`)!)];
    const c: OAuthClientConfig = {
      clientId,
      redirectUris,
      grantTypes: [...new Set(r.many<OAuthClientConfig['grantTypes'][number]>(el, `${cp}/grantType`) ?? DEFAULTS.grantTypes)],
      postLogoutRedirectUris: [...new Set(r.many<string>(el, `${cp}/postLogoutRedirectUri`) ?? [])],
      scopes: [...new Set(r.many<string>(el, `${cp}/scope`) ?? DEFAULTS.scopes)],
      idTokenSignedResponseAlg: r.one<IdTokenAlgorithm>(el, `${cp}/idTokenSignedResponseAlg`) ?? DEFAULT_ID_TOKEN_ALGORITHM,
    };
    if (secret !== undefined) c.clientSecret = secret;
    clients.push(c);
  }
  for (const name of env.clientSecretNames) {
    if (!byEnvName.has(name)) {
      throw new ConfigError(env.get(name)!.where, `no configured client maps to this variable (${CLIENT_SECRET_ENV_PREFIX}<ID>: client id upper-cased, other characters as "_")`);
    }
  }
  return clients;
}

export function loadConfig(opts: LoadConfigOptions = {}): ServiceConfig {
  const rawEnv = opts.env ?? process.env;
  const env = readEnv(rawEnv);
  const file = opts.file ?? (rawEnv[CONFIG_FILE_ENV] || undefined);
  let root: XNode | undefined;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(opts.file !== undefined ? file : CONFIG_FILE_ENV, `cannot read configuration file ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    root = parseConfigXml(text, file);
  }
  return buildConfig(root, env);
}

/** As loadConfig, from XML text (tests, and callers that fetched the file themselves). */
export function loadConfigFromString(xml: string, env: NodeJS.ProcessEnv = {}): ServiceConfig {
  return buildConfig(parseConfigXml(xml, 'config'), readEnv(env));
}

/** ServiceConfig fields set only when configured: [element below <service>, environment variable]. */
const OPTIONAL_SERVICE_SETTINGS = {
  jwksFile: ['jwksFile', 'LJWT_JWKS_FILE'],
  redisUrl: ['redisUrl', 'REDIS_URL'],
  adminGroupDn: ['adminGroup', 'LJWT_ADMIN_GROUP'],
  logoutRedirectUrl: ['logoutRedirectUrl', 'LJWT_LOGOUT_REDIRECT_URL'],
  keyRotationSeconds: ['keyRotationSeconds', 'LJWT_KEY_ROTATION_SECONDS'],
  refreshReuseGraceSeconds: ['refreshReuseGraceSeconds', 'LJWT_REFRESH_REUSE_GRACE_SECONDS'],
  leewaySeconds: ['leewaySeconds', 'LJWT_LEEWAY_SECONDS'],
  accessTokenCookie: ['accessTokenCookie', 'LJWT_ACCESS_TOKEN_COOKIE'],
  refreshTokenCookie: ['refreshTokenCookie', 'LJWT_REFRESH_TOKEN_COOKIE'],
} as const satisfies Partial<Record<keyof ServiceConfig, readonly [string, string]>>;

function buildConfig(root: XNode | undefined, env: ReadEnv): ServiceConfig {
  const r = new Reader(env);
  const g = (name: string): string => GLOBAL_ENV.find((d) => d.name === name)!.name;

  const serverEls = childrenNamed(root, 'ldapServer');
  const count = Math.max(serverEls.length, env.maxServerIndex);
  if (count === 0) {
    throw new ConfigError('ldapConfig/ldapServer', `at least one LDAP server is required (configuration file or ${serverEnvName(1, 'URI')})`);
  }
  const ldapServers: LdapServerConfig[] = [];
  for (let i = 1; i <= count; i++) ldapServers.push(loadServer(r, env, serverEls[i - 1], i));

  const service = childNamed(root, 'service');
  const sv = 'service';
  const issuer = r.one<string>(service, `${sv}/issuer`, g('LJWT_ISSUER'));
  if (issuer === undefined) throw new ConfigError('ldapConfig/service/issuer', 'required (or set LJWT_ISSUER)');

  const throttleEl = childNamed(root, 'throttle');
  const syncEl = childNamed(root, 'groupSync');
  const intervalSeconds = r.one<number>(syncEl, 'groupSync/intervalSeconds', g('LJWT_GROUP_SYNC_INTERVAL_SECONDS')) ?? DEFAULTS.groupSyncIntervalSeconds;
  const maxStaleSeconds =
    r.one<number>(syncEl, 'groupSync/maxStaleSeconds', g('LJWT_GROUP_SYNC_MAX_STALE_SECONDS')) ??
    intervalSeconds * DEFAULTS.groupSyncStaleIntervals;
  if (maxStaleSeconds < intervalSeconds) {
    throw new ConfigError(
      env.get('LJWT_GROUP_SYNC_MAX_STALE_SECONDS')?.where ?? 'ldapConfig/groupSync/maxStaleSeconds',
      `must be at least intervalSeconds (${intervalSeconds})`,
    );
  }
  const snapshotFile = r.one<string>(syncEl, 'groupSync/snapshotFile', g('LJWT_GROUP_SYNC_SNAPSHOT_FILE'));
  const pageSize = r.one<number>(syncEl, 'groupSync/pageSize', g('LJWT_GROUP_SYNC_PAGE_SIZE'));
  const leaseSeconds = r.one<number>(syncEl, 'groupSync/leaseSeconds', g('LJWT_GROUP_SYNC_LEASE_SECONDS'));

  const cfg: ServiceConfig = {
    ldapServers,
    listen: r.one<{ host: string; port: number }>(service, `${sv}/listen`, g('LJWT_LISTEN')) ?? { ...DEFAULTS.listen },
    issuer,
    audience: [...new Set(r.many<string>(service, `${sv}/audience`, g('LJWT_AUDIENCE'), 'comma') ?? [issuer])],
    accessTokenTtlSeconds: r.one<number>(service, `${sv}/accessTokenTtl`, g('LJWT_ACCESS_TOKEN_TTL')) ?? DEFAULTS.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: r.one<number>(service, `${sv}/refreshTokenTtl`, g('LJWT_REFRESH_TOKEN_TTL')) ?? DEFAULTS.refreshTokenTtlSeconds,
    authorizationCodeTtlSeconds:
      r.one<number>(service, `${sv}/authorizationCodeTtl`, g('LJWT_AUTHORIZATION_CODE_TTL')) ?? DEFAULTS.authorizationCodeTtlSeconds,
    signingAlgorithm: r.one<SigningAlgorithm>(service, `${sv}/signingAlgorithm`, g('LJWT_SIGNING_ALGORITHM')) ?? DEFAULTS.signingAlgorithm,
    keyDirectory: r.one<string>(service, `${sv}/keyDirectory`, g('LJWT_KEY_DIRECTORY')) ?? DEFAULTS.keyDirectory,
    usernamePattern: r.one<RegExp>(service, `${sv}/usernamePattern`, g('LJWT_USERNAME_PATTERN')) ?? new RegExp(DEFAULTS.usernamePattern, 'u'),
    clients: loadClients(r, env, root),
    throttle: {
      maxFailuresPerUsername:
        r.one<number>(throttleEl, 'throttle/maxFailuresPerUsername', g('LJWT_THROTTLE_MAX_FAILURES_PER_USERNAME')) ??
        DEFAULTS.throttle.maxFailuresPerUsername,
      maxFailuresPerIp:
        r.one<number>(throttleEl, 'throttle/maxFailuresPerIp', g('LJWT_THROTTLE_MAX_FAILURES_PER_IP')) ?? DEFAULTS.throttle.maxFailuresPerIp,
      windowSeconds: r.one<number>(throttleEl, 'throttle/windowSeconds', g('LJWT_THROTTLE_WINDOW_SECONDS')) ?? DEFAULTS.throttle.windowSeconds,
    },
    groupSync: { intervalSeconds, maxStaleSeconds },
    trustedProxies: r.one<string[]>(service, `${sv}/trustedProxies`, g('LJWT_TRUSTED_PROXIES')) ?? [],
    logLevel: r.one<ServiceConfig['logLevel']>(service, `${sv}/logLevel`, g('LJWT_LOG_LEVEL')) ?? DEFAULTS.logLevel,
  };
  if (snapshotFile !== undefined) cfg.groupSync.snapshotFile = snapshotFile;
  if (pageSize !== undefined) cfg.groupSync.pageSize = pageSize;
  if (leaseSeconds !== undefined) cfg.groupSync.leaseSeconds = leaseSeconds;
  // Optional settings stay undefined when not configured; the tuning ones (keyRotationSeconds and
  // after) then get the service's own defaults (app.ts DEFAULT_TUNING).
  for (const [key, [element, envName]] of Object.entries(OPTIONAL_SERVICE_SETTINGS)) {
    const value = r.one<string | number>(service, `${sv}/${element}`, g(envName));
    if (value !== undefined) (cfg as unknown as Record<string, unknown>)[key] = value;
  }
  const edgeRevocation = loadEdgeRevocation(r, env, childNamed(root, 'edgeRevocation'));
  if (edgeRevocation !== undefined) cfg.edgeRevocation = edgeRevocation;
  return cfg;
}

function loadEdgeRevocation(r: Reader, env: ReadEnv, el: XNode | undefined): ServiceConfig['edgeRevocation'] {
  const urls = r.many<string>(el, 'edgeRevocation/url', 'LJWT_EDGE_REVOCATION_URLS', 'comma');
  const secretFile = r.one<string>(el, 'edgeRevocation/secretFile', 'LJWT_EDGE_REVOCATION_SECRET_FILE');
  const edgeLeewaySeconds = r.one<number>(el, 'edgeRevocation/edgeLeewaySeconds', 'LJWT_EDGE_LEEWAY_SECONDS');
  if (urls === undefined && secretFile === undefined && edgeLeewaySeconds === undefined) return undefined;
  if (urls === undefined) {
    throw new ConfigError('ldapConfig/edgeRevocation/url', 'required once edge revocation is configured (or set LJWT_EDGE_REVOCATION_URLS)');
  }
  if (secretFile === undefined) {
    throw new ConfigError('ldapConfig/edgeRevocation/secretFile', 'required once edge revocation is configured (or set LJWT_EDGE_REVOCATION_SECRET_FILE)');
  }
  // Checked now, with the rules nginx applies (njs/revocation/secret.ts): a bad file is a startup error,
  // not a stream of 401s from every nginx later.
  const where = env.get('LJWT_EDGE_REVOCATION_SECRET_FILE')?.where ?? 'ldapConfig/edgeRevocation/secretFile';
  let text: string;
  try {
    text = readFileSync(secretFile, 'utf8');
  } catch (e) {
    throw new ConfigError(where, `cannot read ${JSON.stringify(secretFile)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    secretFromFile(text);
  } catch (e) {
    throw new ConfigError(where, (e as Error).message);
  }
  return { urls: [...new Set(urls)], secretFile, edgeLeewaySeconds: edgeLeewaySeconds ?? DEFAULTS.edgeLeewaySeconds };
}
