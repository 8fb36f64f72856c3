// The service's validated configuration. The XML file (the original <ldapConfig>
// plus optional extension elements) and environment variables are turned into
// this shape by config/load.ts; nothing else reads the XML or process.env.

export type SigningAlgorithm = 'ES256' | 'RS256' | 'PS256' | 'EdDSA' | 'HS256';

/** Algorithms an ID token may be signed with: asymmetric only (OIDC Core §10.1 keys HS* with the client secret, which we do not). */
export type IdTokenAlgorithm = Exclude<SigningAlgorithm, 'HS256'>;

/**
 * One directory (an <ldapServer>): its replicas share entries, passwords and the
 * service account; separate LdapServerConfigs are separate directories with their own groups.
 */
export interface LdapServerConfig {
  /**
   * The directory's name in logs, metrics and the snapshot file: its first replica's
   * ldap:// or ldaps:// URL (userinfo of a "JDBC-like" URL already moved to bindDn/bindPassword).
   */
  uri: string;
  /** Replica URLs in order of preference, uri first; absent = [uri]. */
  uris?: string[];
  /** Service account DN (<login>). */
  bindDn: string;
  /** Service account password (<password>); never logged. */
  bindPassword: string;
  /** Group DNs whose (nested) members are synced (<dnList>). */
  groupDns: string[];
  /** Base DN for the user search; defaults to the naming context derived from bindDn (its dc= suffix). */
  userSearchBase: string;
  /** RFC 4515 filter template; `{username}` is replaced by the escaped username. */
  userFilter: string;
  /** entryUUID (OpenLDAP), objectGUID (AD, rendered as canonical GUID string), or any attribute. */
  objectIdAttribute: string;
  /**
   * Attributes whose first present value is the token username, in order; absent =
   * DEFAULT_USERNAME_ATTRIBUTES (ldap/login.ts). One account, one username, whichever
   * of its login names was typed.
   */
  usernameAttributes?: string[];
  startTls: boolean;
  /** PEM CA bundle for ldaps:// and StartTLS; system CAs when absent. */
  caFile?: string;
  /** Opening a connection: TCP, TLS, service bind; a login operation unanswered for a quarter of it probes the replica. */
  connectTimeoutMs: number;
  operationTimeoutMs: number;
  /** First wait before a replica that failed is probed again (doubling up to retryMaxMs); default 1000. */
  retryInitialMs?: number;
  /** Longest wait between probes of a replica that is down; default 30000. */
  retryMaxMs?: number;
  /** Only members (nested) of this group may log in (<loginGroup>). */
  loginGroupDn?: string;
}

export interface OAuthClientConfig {
  clientId: string;
  /** Absent for public clients, which must use PKCE S256. */
  clientSecret?: string;
  /** Exact-match allow-list (RFC 6749 §3.1.2, OAuth 2.1 exact matching). */
  redirectUris: string[];
  /** Grant types this client may use. */
  grantTypes: Array<'authorization_code' | 'refresh_token' | 'password'>;
  /** Logout may end on these URLs (exact match). */
  postLogoutRedirectUris: string[];
  /** Scopes the client may request; requests for others are narrowed. */
  scopes: string[];
  /**
   * JWS algorithm of this client's ID tokens (RFC 7591 §2 / OIDC Registration §2
   * id_token_signed_response_alg). loadConfig always sets it; absent means RS256.
   */
  idTokenSignedResponseAlg?: IdTokenAlgorithm;
}

export interface ServiceConfig {
  ldapServers: LdapServerConfig[];
  listen: { host: string; port: number };
  /** `iss` of every token, and the base of the discovery document's URLs. */
  issuer: string;
  /** `aud` of access tokens. */
  audience: string[];
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  authorizationCodeTtlSeconds: number;
  signingAlgorithm: SigningAlgorithm;
  /** Private keys (mode 0600) live here; generated at first start. */
  keyDirectory: string;
  /** Public JWKS written here for nginx (the edge validator's $ljwt_jwks_file). */
  jwksFile?: string;
  /** Username syntax allowed before any LDAP call. */
  usernamePattern: RegExp;
  clients: OAuthClientConfig[];
  /** Redis URL for the shared store; in-memory when absent. */
  redisUrl?: string;
  throttle: {
    /** Failed logins per username within windowSeconds before 429. */
    maxFailuresPerUsername: number;
    /** Failed logins per client IP within windowSeconds before 429. */
    maxFailuresPerIp: number;
    windowSeconds: number;
  };
  groupSync: {
    intervalSeconds: number;
    /** /readyz reports not ready when the snapshot is older than this. */
    maxStaleSeconds: number;
    /** Last good snapshot persisted here (temp file + rename). */
    snapshotFile?: string;
    /** RFC 2696 page size of the sync's searches (halved when a server limits it); default 500. */
    pageSize?: number;
    /** With redisUrl: the sync lease's lifetime, seconds (groups/shared-sync.ts); default 30. */
    leaseSeconds?: number;
  };
  /** Trust X-Forwarded-For from these proxy addresses (for per-IP throttling). */
  trustedProxies: string[];
  /** Members (nested) of this group may use the operator endpoints (sync now, a user's groups). */
  adminGroupDn?: string;
  /** Where /logout ends when the client gives no post_logout_redirect_uri. */
  logoutRedirectUrl?: string;
  /** Signing key rotation period, seconds (service default 90 days when absent). */
  keyRotationSeconds?: number;
  /** A rotated-away refresh token still works this long (concurrent tabs); 0 disables. Service default 10. */
  refreshReuseGraceSeconds?: number;
  /** Clock skew accepted when validating tokens, seconds. Service default 30. */
  leewaySeconds?: number;
  /** Cookie carrying the access token for /auth/validate and /logout (RFC 6265 cookie-name). */
  accessTokenCookie?: string;
  /** Cookie carrying the refresh token for /logout. */
  refreshTokenCookie?: string;
  /** Push revocations to nginx (edge/revocation-push.ts); absent = nginx learns of none (tokens valid there until exp). */
  edgeRevocation?: {
    urls: string[];
    secretFile: string;
    edgeLeewaySeconds: number;
  };
  /** Minimum level written to the log (loadConfig always sets it; optional so hand-built test configs need not). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}
