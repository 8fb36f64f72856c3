import { issueAccessToken, issueIdToken } from '../tokens/access-token.ts';
import type { ServiceContext } from './context.ts';
import type { Grant } from './grant.ts';
import type { OAuthClientConfig } from '../config/types.ts';
import { groupsForToken } from './group-availability.ts';
import { DEFAULT_ID_TOKEN_ALGORITHM } from '../config/schema.ts';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
}

/**
 * Mints the access token (and ID token for `openid`) for a grant. Group DNs are
 * read from the group directory now, so a refresh always carries current groups; while
 * the groups of the user's directory are not read yet this throws a 503 ServiceError (never a
 * token without them).
 */
export async function mintTokens(ctx: ServiceContext, client: OAuthClientConfig, grant: Grant, grantType: string,
  refreshToken: string | undefined, withIdToken: boolean): Promise<TokenResponse> {
  const now = ctx.now();
  const { config } = ctx;
  const groupDns = groupsForToken(ctx, grant.subject);
  const scope = grant.scope.join(' ');
  const at = await issueAccessToken(ctx.keys, {
    issuer: config.issuer,
    audience: config.audience,
    ttlSeconds: config.accessTokenTtlSeconds,
    subject: grant.subject,
    clientId: client.clientId,
    scope,
    authTime: grant.authTime,
    groupDns,
    sid: grant.familyId,
    now,
  });
  ctx.metrics.tokensIssued.inc({ grant_type: grantType });
  const body: TokenResponse = { access_token: at.token, token_type: 'Bearer', expires_in: config.accessTokenTtlSeconds, scope };
  if (refreshToken !== undefined) body.refresh_token = refreshToken;
  if (withIdToken && grant.scope.includes('openid')) {
    body.id_token = await issueIdToken(ctx.keys, {
      issuer: config.issuer,
      clientId: client.clientId,
      ttlSeconds: config.accessTokenTtlSeconds,
      subject: grant.subject,
      authTime: grant.authTime,
      scope: grant.scope,
      sid: grant.familyId,
      now,
      alg: client.idTokenSignedResponseAlg ?? DEFAULT_ID_TOKEN_ALGORITHM,
      ...(grant.nonce !== undefined ? { nonce: grant.nonce } : {}),
    });
  }
  ctx.logger.info('tokens_issued', { grant_type: grantType, client_id: client.clientId, username: grant.subject.username, jti: at.jti });
  return body;
}
