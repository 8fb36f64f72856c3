import type { ServiceContext } from './context.ts';

/** OpenID Connect Discovery 1.0 §3 / RFC 8414 metadata. */
export function discoveryDocument(ctx: ServiceContext): Record<string, unknown> {
  const base = ctx.config.issuer.replace(/\/+$/, '');
  const grants = new Set<string>();
  for (const c of ctx.config.clients) for (const g of c.grantTypes) grants.add(g);
  const scopes = new Set<string>(['openid']);
  for (const c of ctx.config.clients) for (const s of c.scopes) scopes.add(s);
  return {
    issuer: ctx.config.issuer,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/token`,
    userinfo_endpoint: `${base}/userinfo`,
    jwks_uri: `${base}/jwks`,
    revocation_endpoint: `${base}/revoke`,
    end_session_endpoint: `${base}/logout`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: [...grants].sort(),
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [ctx.keys.algorithm],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: [...scopes].sort(),
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'sid', 'name', 'preferred_username', 'email', 'dns', 'oids'],
    authorization_response_iss_parameter_supported: true,
  };
}
