import type { IdTokenAlgorithm, ServiceConfig } from '../config/types.ts';
import { DEFAULT_ID_TOKEN_ALGORITHM } from '../config/schema.ts';
import type { ServiceContext } from './context.ts';

const OIDC_DISCOVERY = '/.well-known/openid-configuration';
const RFC8414_WELL_KNOWN = '/.well-known/oauth-authorization-server';

/**
 * ID token algorithms: RS256 first (OIDC Discovery 1.0 §3: it MUST be listed), then what the
 * clients chose. Each has an active key (tokens/keys.ts extraAlgorithms).
 */
export function idTokenAlgorithms(config: ServiceConfig): IdTokenAlgorithm[] {
  return [...new Set<IdTokenAlgorithm>([DEFAULT_ID_TOKEN_ALGORITHM, ...config.clients.map((c) => c.idTokenSignedResponseAlg ?? DEFAULT_ID_TOKEN_ALGORITHM)])];
}

/**
 * Where the service answers with its metadata, as paths of the service itself. The OpenID
 * form appends to the issuer (Discovery §4.1); nginx maps <issuer path>/… to the service's
 * /…. RFC 8414 §3 inserts the well-known segment before the issuer's path
 * (https://host/.well-known/oauth-authorization-server/_auth for https://host/_auth), so
 * nginx passes that request on unchanged and the service matches the whole path.
 */
export function metadataPaths(config: ServiceConfig): { openid: string; oauth: string } {
  const issuerPath = new URL(config.issuer).pathname.replace(/\/+$/, '');
  return { openid: OIDC_DISCOVERY, oauth: `${RFC8414_WELL_KNOWN}${issuerPath}` };
}

/**
 * The authorization server's metadata: one document for OpenID Connect Discovery 1.0 §3 and
 * RFC 8414 §2 (the same values wherever the two define the same field). A field whose absence
 * has a default meaning is written out whenever the default is not what this service does
 * (request_uri_parameter_supported defaults to true; response_modes_supported to query and
 * fragment; grant_types_supported to authorization_code and implicit), and every boolean
 * capability is stated, true or false. Endpoints and algorithm lists of features this service
 * lacks (registration, introspection, PAR, request objects, encryption, DPoP) are absent,
 * which is how both specifications say "not supported".
 */
export function discoveryDocument(ctx: ServiceContext): Record<string, unknown> {
  const base = ctx.config.issuer.replace(/\/+$/, '');
  const grants = new Set<string>();
  for (const c of ctx.config.clients) for (const g of c.grantTypes) grants.add(g);
  const scopes = new Set<string>(['openid']);
  for (const c of ctx.config.clients) for (const s of c.scopes) scopes.add(s);
  const clientAuth = ['client_secret_basic', 'client_secret_post', 'none'];
  return {
    issuer: ctx.config.issuer,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/token`,
    userinfo_endpoint: `${base}/userinfo`,
    jwks_uri: `${base}/jwks`,
    revocation_endpoint: `${base}/revoke`,
    // OpenID Connect RP-Initiated Logout 1.0 §2.1.
    end_session_endpoint: `${base}/logout`,
    scopes_supported: [...scopes].sort(),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...grants].sort(),
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: idTokenAlgorithms(ctx.config),
    token_endpoint_auth_methods_supported: clientAuth,
    revocation_endpoint_auth_methods_supported: clientAuth,
    code_challenge_methods_supported: ['S256'],
    claim_types_supported: ['normal'],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'name', 'preferred_username', 'email', 'dns', 'oids'],
    // RFC 9207 §3.
    authorization_response_iss_parameter_supported: true,
    // OIDC Core §5.5 and §6: no claims, request or request_uri parameter (authorize.ts refuses them).
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    require_request_uri_registration: false,
    // RFC 9101 §10.5, RFC 9126 §5, RFC 8705 §3.3.
    require_signed_request_object: false,
    require_pushed_authorization_requests: false,
    tls_client_certificate_bound_access_tokens: false,
    // Front-Channel Logout 1.0 §3 and Back-Channel Logout 1.0 §2.1: only RP-initiated logout.
    frontchannel_logout_supported: false,
    frontchannel_logout_session_supported: false,
    backchannel_logout_supported: false,
    backchannel_logout_session_supported: false,
  };
}
