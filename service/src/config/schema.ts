// The configuration file's schema as data. The original XSD (ldapConfig /
// ldapServer+ / uri, login, password, dnList / dn+) is its core, unchanged;
// everything else is optional extension elements placed after the original
// elements so every file valid under the original XSD stays valid here.
// service/config.xsd is rendered from this tree (xsd.ts) and a unit test
// keeps the two equal.

export type LeafKind =
  | 'string'
  /** Whitespace preserved (xs:string); never logged. */
  | 'secret'
  | 'ldapUrl'
  /** http(s) URL without fragment (redirect URIs, RFC 6749 §3.1.2). */
  | 'httpUrl'
  /** https URL, or http on a loopback host; no query or fragment (RFC 8414 §2). */
  | 'issuerUrl'
  | 'dn'
  /** A DN or empty (<login> may be empty when the URI carries it). */
  | 'optionalDn'
  | 'int'
  | 'bool'
  | 'enum'
  | 'path'
  /** An anchored JavaScript regular expression. */
  | 'regex'
  /** RFC 4515 filter template containing {username}. */
  | 'filter'
  /** LDAP attribute description (descr or numeric OID). */
  | 'attribute'
  /** host:port, :port or port. */
  | 'listen'
  | 'redisUrl'
  /** Comma/space separated IP addresses or CIDR ranges. */
  | 'ipList'
  /** OAuth client_id: 1-128 of [A-Za-z0-9._~-]. */
  | 'clientId'
  /** RFC 6749 §3.3 scope-token. */
  | 'scopeToken'
  /** RFC 6265 §4.1.1 cookie-name (an RFC 7230 token). */
  | 'cookieName';

export interface LeafType {
  kind: LeafKind;
  min?: number;
  max?: number;
  values?: readonly string[];
}

export interface ElementDef {
  name: string;
  minOccurs: number;
  /** Infinity for unbounded. */
  maxOccurs: number;
  doc: string;
  /** Leaf elements have a type; complex elements have children (a strict sequence). */
  type?: LeafType;
  children?: ElementDef[];
  /** Default as documented (the code applying it is in load.ts). */
  default?: string;
}

const leaf = (
  name: string,
  type: LeafType,
  doc: string,
  opts: { min?: number; max?: number; default?: string } = {},
): ElementDef => ({
  name,
  minOccurs: opts.min ?? 0,
  maxOccurs: opts.max ?? 1,
  doc,
  type,
  ...(opts.default !== undefined ? { default: opts.default } : {}),
});

const group = (name: string, doc: string, children: ElementDef[], opts: { min?: number; max?: number } = {}): ElementDef => ({
  name,
  minOccurs: opts.min ?? 0,
  maxOccurs: opts.max ?? 1,
  doc,
  children,
});

export const SIGNING_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA', 'HS256'] as const;
/** OIDC Core §10.1: an HS* ID token is keyed with the client secret, which this service does not do. */
export const ID_TOKEN_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
/** OIDC Discovery 1.0 §3: RS256 MUST be supported for ID tokens, so it is the default. */
export const DEFAULT_ID_TOKEN_ALGORITHM = 'RS256';
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'password'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const DEFAULT_USER_FILTER =
  '(&(|(objectClass=person)(objectClass=user))(|(uid={username})(sAMAccountName={username})(userPrincipalName={username})))';
export const DEFAULT_USERNAME_PATTERN = '^[A-Za-z0-9._@-]{1,256}$';

const ldapServer = group(
  'ldapServer',
  'One directory, with its own groups. Several <ldapServer> elements are separate directories: a login searches them in order and binds where the user is found; the group sync reads each one. Replicas of one directory are several <uri> elements of one <ldapServer>.',
  [
    leaf('uri', { kind: 'ldapUrl' }, 'ldap:// or ldaps:// URL (host and port) of a replica; repeat for the replicas of this directory, in order of preference. A login or a sync uses the first replica that is up and falls over to the next one when it is unreachable, times out or refuses the service account (never after a wrong user password). A JDBC-like URL with percent-encoded user:password (ldap://cn%3Dreader%2Cdc%3Dexample:p%40ss@host:389) supplies login and password.', { min: 1, max: Infinity }),
    leaf('login', { kind: 'optionalDn' }, 'Service account DN used to search users and read groups. May be empty when the uri carries it.', { min: 1 }),
    leaf('password', { kind: 'secret' }, 'Service account password. May be empty when the uri or LJWT_LDAP_PASSWORD(_FILE) supplies it.', { min: 1 }),
    group('dnList', 'Groups whose (nested) members the group sync reads.', [
      leaf('dn', { kind: 'dn' }, 'A group DN.', { min: 1, max: Infinity }),
    ], { min: 1 }),
    leaf('userSearchBase', { kind: 'dn' }, 'Subtree searched for the user at login.', { default: 'the dc= suffix of login' }),
    leaf('userFilter', { kind: 'filter' }, 'Filter template; {username} is replaced by the RFC 4515-escaped username.', { default: DEFAULT_USER_FILTER }),
    leaf('objectIdAttribute', { kind: 'attribute' }, 'Stable id of users and groups: entryUUID (OpenLDAP), objectGUID (AD; rendered as a canonical GUID string), or any single-valued attribute.', { default: 'entryUUID' }),
    leaf('usernameAttribute', { kind: 'attribute' }, 'Attribute whose value becomes the token username (sub, X-Authenticated-User), read from the user entry whatever login name was typed; repeat for several, the first one the entry has wins. An entry with none of them cannot log in.', { max: Infinity, default: 'uid, sAMAccountName, userPrincipalName' }),
    leaf('startTls', { kind: 'bool' }, 'Upgrade ldap:// with StartTLS (RFC 4513 §3) before binding. Not allowed with ldaps://.', { default: 'false' }),
    leaf('caFile', { kind: 'path' }, 'PEM CA bundle that verifies the server certificate (ldaps:// and StartTLS).', { default: 'system CAs' }),
    leaf('connectTimeoutMs', { kind: 'int', min: 1, max: 600_000 }, 'Opening a connection to a replica: TCP connect, TLS handshake and the service-account bind, milliseconds. An operation unanswered for a quarter of it makes the login probe the replica; a replica that fails the probe is down.', { default: '2000' }),
    leaf('timeoutMs', { kind: 'int', min: 1, max: 600_000 }, 'Timeout of each LDAP operation (search, user bind, sync page), milliseconds.', { default: '10000' }),
    leaf('retryInitialMs', { kind: 'int', min: 10, max: 3_600_000 }, 'A replica that timed out or refused is skipped and probed in the background after this long, then after twice as long on each further failure, milliseconds.', { default: '1000' }),
    leaf('retryMaxMs', { kind: 'int', min: 10, max: 3_600_000 }, 'Longest wait between two probes of a replica that is down, milliseconds; at least retryInitialMs.', { default: '30000' }),
    leaf('loginGroup', { kind: 'dn' }, 'Only direct or nested members of this group may log in.', { default: 'anyone found may log in' }),
  ],
  { min: 1, max: Infinity },
);

const service = group('service', 'The OAuth2/OIDC service.', [
  leaf('listen', { kind: 'listen' }, 'Address the HTTP service listens on: host:port, :port or port.', { default: '127.0.0.1:8080' }),
  leaf('issuer', { kind: 'issuerUrl' }, 'Token issuer (iss) and base URL of the discovery document. https, or http on a loopback host. Required.'),
  leaf('audience', { kind: 'string' }, 'An aud value of access tokens (repeat for several).', { max: Infinity, default: 'the issuer' }),
  leaf('accessTokenTtl', { kind: 'int', min: 1, max: 86_400 }, 'Access token lifetime, seconds.', { default: '300' }),
  leaf('refreshTokenTtl', { kind: 'int', min: 1, max: 31_536_000 }, 'Refresh token lifetime, seconds.', { default: '28800' }),
  leaf('authorizationCodeTtl', { kind: 'int', min: 1, max: 600 }, 'Authorization code lifetime, seconds (RFC 6749 §4.1.2: at most 10 minutes).', { default: '60' }),
  leaf('signingAlgorithm', { kind: 'enum', values: SIGNING_ALGORITHMS }, 'JWS algorithm of issued tokens.', { default: 'ES256' }),
  leaf('keyDirectory', { kind: 'path' }, 'Directory of the private signing keys (mode 0600), generated at first start.', { default: '/var/lib/nginx-ldap-jwt/keys' }),
  leaf('jwksFile', { kind: 'path' }, 'Public JWKS written here for nginx ($ljwt_jwks_file).', { default: 'not written' }),
  leaf('usernamePattern', { kind: 'regex' }, 'Anchored regular expression every username must match before any LDAP call.', { default: DEFAULT_USERNAME_PATTERN }),
  leaf('redisUrl', { kind: 'redisUrl' }, 'redis:// or rediss:// URL of the shared store.', { default: 'in-memory store (single instance)' }),
  leaf('trustedProxies', { kind: 'ipList' }, 'Proxies whose X-Forwarded-For is trusted, comma separated IPs/CIDRs.', { default: 'none' }),
  leaf('logoutRedirectUrl', { kind: 'httpUrl' }, 'Where /logout ends when the client names no post_logout_redirect_uri.', { default: 'a logged-out page' }),
  leaf('adminGroup', { kind: 'dn' }, 'Members (nested) may use the operator endpoints.', { default: 'no operators' }),
  leaf('logLevel', { kind: 'enum', values: LOG_LEVELS }, 'Minimum log level.', { default: 'info' }),
  leaf('keyRotationSeconds', { kind: 'int', min: 3600, max: 31_536_000 }, 'Signing key rotation period, seconds; the old key stays published until its tokens expire.', { default: '7776000 (90 days)' }),
  leaf('refreshReuseGraceSeconds', { kind: 'int', min: 0, max: 300 }, 'A just-rotated refresh token may be used again for this long (parallel tabs); 0 disables.', { default: '10' }),
  leaf('leewaySeconds', { kind: 'int', min: 0, max: 300 }, 'Clock skew accepted when validating tokens, seconds.', { default: '30' }),
  leaf('accessTokenCookie', { kind: 'cookieName' }, 'Cookie carrying the access token (for /auth/validate and /logout).', { default: 'no cookie' }),
  leaf('refreshTokenCookie', { kind: 'cookieName' }, 'Cookie carrying the refresh token (for /logout).', { default: 'no cookie' }),
]);

const throttle = group('throttle', 'Failed-login throttling (HTTP 429 once exceeded within the window).', [
  leaf('maxFailuresPerUsername', { kind: 'int', min: 1, max: 1_000_000 }, 'Failed logins per username per window.', { default: '5' }),
  leaf('maxFailuresPerIp', { kind: 'int', min: 1, max: 1_000_000 }, 'Failed logins per client IP per window.', { default: '20' }),
  leaf('windowSeconds', { kind: 'int', min: 1, max: 86_400 }, 'Window length, seconds.', { default: '300' }),
]);

const groupSync = group('groupSync', 'Background sync of the dnList group memberships.', [
  leaf('intervalSeconds', { kind: 'int', min: 5, max: 86_400 }, 'Seconds between syncs.', { default: '300' }),
  leaf('maxStaleSeconds', { kind: 'int', min: 5, max: 604_800 }, '/readyz fails when the last good snapshot is older than this; at least intervalSeconds.', { default: '3 x intervalSeconds' }),
  leaf('snapshotFile', { kind: 'path' }, 'Last good snapshot persisted here (used at start when LDAP is down).', { default: 'not persisted' }),
  leaf('leaseSeconds', { kind: 'int', min: 1, max: 3600 }, 'With service/redisUrl: one instance holds the sync lease in Redis for this long (renewed while it runs), syncs and publishes the snapshot through Redis; the others load it. When the holder stops, another instance takes over within this long plus a tenth of it.', { default: '30' }),
  leaf('pageSize', { kind: 'int', min: 10, max: 100_000 }, 'Entries per page of the sync\'s paged searches (RFC 2696). A server that refuses this size (OpenLDAP size.pr, AD MaxPageSize) gets halved pages down to 10, then one unpaged search; set it to the server\'s limit to skip those retries.', { default: '500' }),
]);

const client = group('client', 'An OAuth client.', [
  leaf('id', { kind: 'clientId' }, 'client_id.', { min: 1 }),
  leaf('secret', { kind: 'secret' }, 'client_secret of a confidential client; absent for public clients (PKCE S256 required).', { default: 'public client' }),
  leaf('redirectUri', { kind: 'httpUrl' }, 'Allowed redirect_uri, matched exactly.', { min: 1, max: Infinity }),
  leaf('postLogoutRedirectUri', { kind: 'httpUrl' }, 'Allowed post_logout_redirect_uri, matched exactly.', { max: Infinity }),
  leaf('grantType', { kind: 'enum', values: GRANT_TYPES }, 'Allowed grant type (repeat).', { max: Infinity, default: 'authorization_code, refresh_token' }),
  leaf('scope', { kind: 'scopeToken' }, 'Allowed scope (repeat).', { max: Infinity, default: 'openid profile email groups offline_access' }),
  leaf('idTokenSignedResponseAlg', { kind: 'enum', values: ID_TOKEN_ALGORITHMS }, 'JWS algorithm of the ID tokens of this client (RFC 7591 id_token_signed_response_alg). Access tokens keep signingAlgorithm.', { default: DEFAULT_ID_TOKEN_ALGORITHM }),
], { max: Infinity });

const edgeRevocation = group('edgeRevocation', 'Revocation at the edge: the service pushes every revoked session (sid) and access token (jti) to each nginx, which then refuses those tokens at once instead of at their exp. Needs njs >= 0.8.5 in nginx (nginx/revocation-endpoint.conf and http-shared.conf).', [
  leaf('url', { kind: 'httpUrl' }, 'Revocation endpoint of one nginx, e.g. http://127.0.0.1:8091/_ljwt/revoke (repeat for every nginx). Required with secretFile.', { max: Infinity }),
  leaf('secretFile', { kind: 'path' }, 'File holding the secret shared with nginx ($ljwt_revocation_secret_file): 32-512 printable ASCII characters without space, a final newline ignored. Re-read for every push. Required with url.'),
  leaf('edgeLeewaySeconds', { kind: 'int', min: 0, max: 3600 }, 'The largest $ljwt_leeway of those nginx: an entry is kept until the last token it matches is expired there.', { default: '30' }),
]);

export const CONFIG_SCHEMA: ElementDef = group(
  'ldapConfig',
  'nginx-ldap-jwt configuration (root).',
  [ldapServer, service, throttle, groupSync, group('clients', 'OAuth clients.', [client]), edgeRevocation],
  { min: 1 },
);

/** All element definitions, depth first, with their slash paths (for docs and the XSD sync test). */
export function walkSchema(def: ElementDef = CONFIG_SCHEMA, prefix = ''): Array<{ path: string; def: ElementDef }> {
  const path = prefix ? `${prefix}/${def.name}` : def.name;
  return [{ path, def }, ...(def.children ?? []).flatMap((c) => walkSchema(c, path))];
}
