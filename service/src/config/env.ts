// Environment variables that override the configuration file. Each one maps
// to an element of the schema (same type checks). Every variable NAME may
// instead be given as NAME_FILE (the file's content, trailing newlines
// removed), the usual way to pass Docker/Kubernetes secrets; setting both is
// an error. Empty values count as unset. Unknown LJWT_* variables are errors,
// so a typo cannot silently leave a setting at its default.
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';

export interface EnvVarDef {
  name: string;
  /** Element path below ldapConfig (service/issuer), or ldapServer/<element> for server variables. */
  target: string;
  /** How a value lists several items. */
  list?: 'comma' | 'semicolon';
  doc: string;
}

/** Variables that are not per server or per client. */
export const GLOBAL_ENV: EnvVarDef[] = [
  { name: 'LJWT_LISTEN', target: 'service/listen', doc: 'host:port, :port or port' },
  { name: 'LJWT_ISSUER', target: 'service/issuer', doc: 'token issuer URL' },
  { name: 'LJWT_AUDIENCE', target: 'service/audience', list: 'comma', doc: 'comma-separated aud values' },
  { name: 'LJWT_ACCESS_TOKEN_TTL', target: 'service/accessTokenTtl', doc: 'seconds' },
  { name: 'LJWT_REFRESH_TOKEN_TTL', target: 'service/refreshTokenTtl', doc: 'seconds' },
  { name: 'LJWT_AUTHORIZATION_CODE_TTL', target: 'service/authorizationCodeTtl', doc: 'seconds' },
  { name: 'LJWT_SIGNING_ALGORITHM', target: 'service/signingAlgorithm', doc: 'ES256, RS256, PS256, EdDSA or HS256' },
  { name: 'LJWT_KEY_DIRECTORY', target: 'service/keyDirectory', doc: 'directory of private keys' },
  { name: 'LJWT_JWKS_FILE', target: 'service/jwksFile', doc: 'public JWKS output file' },
  { name: 'LJWT_USERNAME_PATTERN', target: 'service/usernamePattern', doc: 'anchored regular expression' },
  { name: 'REDIS_URL', target: 'service/redisUrl', doc: 'redis:// or rediss:// URL (may hold a password: REDIS_URL_FILE)' },
  { name: 'LJWT_TRUSTED_PROXIES', target: 'service/trustedProxies', doc: 'comma-separated IPs/CIDRs' },
  { name: 'LJWT_LOGOUT_REDIRECT_URL', target: 'service/logoutRedirectUrl', doc: 'http(s) URL' },
  { name: 'LJWT_ADMIN_GROUP', target: 'service/adminGroup', doc: 'group DN' },
  { name: 'LJWT_LOG_LEVEL', target: 'service/logLevel', doc: 'debug, info, warn or error' },
  { name: 'LJWT_KEY_ROTATION_SECONDS', target: 'service/keyRotationSeconds', doc: 'seconds' },
  { name: 'LJWT_REFRESH_REUSE_GRACE_SECONDS', target: 'service/refreshReuseGraceSeconds', doc: 'seconds (0 disables)' },
  { name: 'LJWT_LEEWAY_SECONDS', target: 'service/leewaySeconds', doc: 'seconds' },
  { name: 'LJWT_ACCESS_TOKEN_COOKIE', target: 'service/accessTokenCookie', doc: 'cookie name' },
  { name: 'LJWT_REFRESH_TOKEN_COOKIE', target: 'service/refreshTokenCookie', doc: 'cookie name' },
  { name: 'LJWT_THROTTLE_MAX_FAILURES_PER_USERNAME', target: 'throttle/maxFailuresPerUsername', doc: 'count' },
  { name: 'LJWT_THROTTLE_MAX_FAILURES_PER_IP', target: 'throttle/maxFailuresPerIp', doc: 'count' },
  { name: 'LJWT_THROTTLE_WINDOW_SECONDS', target: 'throttle/windowSeconds', doc: 'seconds' },
  { name: 'LJWT_GROUP_SYNC_INTERVAL_SECONDS', target: 'groupSync/intervalSeconds', doc: 'seconds' },
  { name: 'LJWT_GROUP_SYNC_MAX_STALE_SECONDS', target: 'groupSync/maxStaleSeconds', doc: 'seconds' },
  { name: 'LJWT_GROUP_SYNC_SNAPSHOT_FILE', target: 'groupSync/snapshotFile', doc: 'file path' },
  { name: 'LJWT_GROUP_SYNC_LEASE_SECONDS', target: 'groupSync/leaseSeconds', doc: 'seconds' },
  { name: 'LJWT_GROUP_SYNC_PAGE_SIZE', target: 'groupSync/pageSize', doc: 'entries per page' },
  { name: 'LJWT_EDGE_REVOCATION_URLS', target: 'edgeRevocation/url', list: 'comma', doc: 'comma-separated nginx revocation endpoint URLs' },
  { name: 'LJWT_EDGE_REVOCATION_SECRET_FILE', target: 'edgeRevocation/secretFile', doc: 'file holding the secret shared with nginx' },
  { name: 'LJWT_EDGE_LEEWAY_SECONDS', target: 'edgeRevocation/edgeLeewaySeconds', doc: 'seconds (the largest $ljwt_leeway)' },
];

/** Per-server suffixes: LJWT_LDAP_<SUFFIX> for server 1, LJWT_LDAP_<n>_<SUFFIX> for server n >= 2. */
export const SERVER_ENV: Array<{ suffix: string; element: string; list?: 'comma' | 'semicolon'; doc: string }> = [
  { suffix: 'URI', element: 'uri', list: 'comma', doc: 'ldap:// or ldaps:// URL (JDBC-like user:password allowed); comma-separated replicas of one directory' },
  { suffix: 'LOGIN', element: 'login', doc: 'service account DN' },
  { suffix: 'PASSWORD', element: 'password', doc: 'service account password' },
  { suffix: 'GROUP_DNS', element: 'dn', list: 'semicolon', doc: 'group DNs separated by ";" (a ";" inside a DN is escaped as \\; per RFC 4514)' },
  { suffix: 'USER_SEARCH_BASE', element: 'userSearchBase', doc: 'DN' },
  { suffix: 'USER_FILTER', element: 'userFilter', doc: 'filter template with {username}' },
  { suffix: 'OBJECT_ID_ATTRIBUTE', element: 'objectIdAttribute', doc: 'attribute name' },
  { suffix: 'USERNAME_ATTRIBUTES', element: 'usernameAttribute', list: 'comma', doc: 'comma-separated attribute names, first present wins' },
  { suffix: 'START_TLS', element: 'startTls', doc: 'true or false' },
  { suffix: 'CA_FILE', element: 'caFile', doc: 'PEM file' },
  { suffix: 'CONNECT_TIMEOUT_MS', element: 'connectTimeoutMs', doc: 'milliseconds' },
  { suffix: 'TIMEOUT_MS', element: 'timeoutMs', doc: 'milliseconds' },
  { suffix: 'RETRY_INITIAL_MS', element: 'retryInitialMs', doc: 'milliseconds' },
  { suffix: 'RETRY_MAX_MS', element: 'retryMaxMs', doc: 'milliseconds' },
  { suffix: 'LOGIN_GROUP', element: 'loginGroup', doc: 'group DN' },
];

/** LJWT_CONFIG names the XML file (used when loadConfig gets no `file`); no _FILE form. */
export const CONFIG_FILE_ENV = 'LJWT_CONFIG';
/** LJWT_CLIENT_SECRET_<ID>: <ID> is the client id upper-cased with every other character than A-Z 0-9 turned into "_". */
export const CLIENT_SECRET_ENV_PREFIX = 'LJWT_CLIENT_SECRET_';

export function serverEnvName(index: number, suffix: string): string {
  return index === 1 ? `LJWT_LDAP_${suffix}` : `LJWT_LDAP_${index}_${suffix}`;
}

export function clientSecretEnvName(clientId: string): string {
  return CLIENT_SECRET_ENV_PREFIX + clientId.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

export interface EnvValue {
  value: string;
  /** The variable the value came from (NAME or NAME_FILE): used as the error location. */
  where: string;
}

const SERVER_SUFFIXES = SERVER_ENV.map((s) => s.suffix).join('|');
const SERVER_VAR = new RegExp(`^LJWT_LDAP_(?:(\\d+)_)?(${SERVER_SUFFIXES})$`);

export interface ReadEnv {
  get(name: string): EnvValue | undefined;
  /** Highest server index that has any variable set (0 when none). */
  maxServerIndex: number;
  /** Names (without _FILE) of set LJWT_CLIENT_SECRET_* variables. */
  clientSecretNames: string[];
}

/** Resolves NAME / NAME_FILE pairs and rejects unknown LJWT_* variables. */
export function readEnv(env: NodeJS.ProcessEnv): ReadEnv {
  const known = new Set<string>([...GLOBAL_ENV.map((d) => d.name)]);
  const values = new Map<string, EnvValue>();
  let maxServerIndex = 0;
  const clientSecretNames: string[] = [];

  const isKnown = (name: string): boolean => {
    if (known.has(name)) return true;
    const m = SERVER_VAR.exec(name);
    if (m) {
      if (m[1] !== undefined) {
        const n = Number(m[1]);
        if (n < 2 || String(n) !== m[1]) return false;
      }
      return true;
    }
    // A client id ending in "_file" cannot be addressed: NAME_FILE is always the file form.
    return name.startsWith(CLIENT_SECRET_ENV_PREFIX) && name.length > CLIENT_SECRET_ENV_PREFIX.length && !name.endsWith('_FILE');
  };

  for (const [rawName, v] of Object.entries(env)) {
    if (v === undefined || v === '') continue;
    if (rawName === CONFIG_FILE_ENV) continue;
    const relevant = rawName.startsWith('LJWT_') || rawName === 'REDIS_URL' || rawName === 'REDIS_URL_FILE';
    if (!relevant) continue;
    // Some names end in _FILE themselves (LJWT_JWKS_FILE): a known name is
    // always itself; NAME_FILE is the file form of a known NAME.
    let name = rawName;
    let isFile = false;
    if (!isKnown(rawName)) {
      const stripped = rawName.endsWith('_FILE') ? rawName.slice(0, -'_FILE'.length) : '';
      if (stripped === '' || !isKnown(stripped)) {
        if (rawName === 'LJWT_CONFIG_FILE') throw new ConfigError(rawName, `unknown variable; the configuration file path is ${CONFIG_FILE_ENV}`);
        throw new ConfigError(rawName, 'unknown configuration variable (see the README for the list)');
      }
      name = stripped;
      isFile = true;
    }
    if (values.has(name)) {
      throw new ConfigError(name, `both ${name} and ${name}_FILE are set; set only one`);
    }
    let value = v;
    if (isFile) {
      try {
        value = readFileSync(v, 'utf8');
      } catch (e) {
        throw new ConfigError(rawName, `cannot read ${JSON.stringify(v)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      // The file's trailing newline(s) are an editor artefact, not part of the secret.
      value = value.replace(/[\r\n]+$/, '');
      if (value === '') throw new ConfigError(rawName, `file ${JSON.stringify(v)} is empty`);
    }
    values.set(name, { value, where: rawName });
    const m = SERVER_VAR.exec(name);
    if (m) maxServerIndex = Math.max(maxServerIndex, m[1] === undefined ? 1 : Number(m[1]));
    if (name.startsWith(CLIENT_SECRET_ENV_PREFIX)) clientSecretNames.push(name);
  }
  return { get: (n) => values.get(n), maxServerIndex, clientSecretNames };
}
