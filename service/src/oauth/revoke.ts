import type { IncomingMessage, ServerResponse } from 'node:http';
import { readForm } from '../http/request.ts';
import { sendNoStoreJson } from '../http/respond.ts';
import { authenticateClient } from './client-auth.ts';
import type { ServiceContext } from './context.ts';
import { sendError, ServiceError, serviceError } from '../http/errors.ts';

/**
 * RFC 7009. A refresh token revokes its whole family (and with it the access
 * tokens carrying that family as sid); an access token is put on the
 * revocation list by jti until it expires. Unknown or foreign tokens get 200
 * too (§2.2), so the endpoint cannot be used to probe for valid tokens.
 */
export async function revokeEndpoint(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const form = await readForm(req, ctx.tuning.maxBodyBytes);
    const { client } = authenticateClient(req, form, ctx.config.clients);
    const token = form.get('token');
    if (token === undefined || token === '') throw new ServiceError('invalid_request', 'missing parameter token');
    const hint = form.get('token_type_hint');
    const tryRefresh = async () => {
      const grant = await ctx.refreshTokens.find(token);
      if (grant === null) return false;
      if (grant.clientId === client.clientId) {
        await ctx.revocations.revokeFamily(grant.familyId);
        ctx.logger.info('refresh_family_revoked', { client_id: client.clientId, reason: 'revocation_request' });
      } else {
        ctx.logger.warn('revocation_foreign_token', { client_id: client.clientId });
      }
      return true;
    };
    const tryAccess = async () => {
      if (token.split('.').length !== 3) return false;
      let claims: { [k: string]: unknown };
      try {
        claims = (await ctx.verifier.verify(token, ctx.now())).claims;
      } catch {
        return false; // invalid or expired: nothing to revoke
      }
      if (claims.client_id !== client.clientId) {
        ctx.logger.warn('revocation_foreign_token', { client_id: client.clientId });
        return true;
      }
      const exp = typeof claims.exp === 'number' ? claims.exp : 0;
      await ctx.revocations.revokeJti(String(claims.jti), exp - ctx.now() + ctx.tuning.leewaySeconds);
      ctx.logger.info('access_token_revoked', { client_id: client.clientId, jti: String(claims.jti) });
      return true;
    };
    // §2.1: the hint only decides the lookup order.
    if (hint === 'access_token') { if (!(await tryAccess())) await tryRefresh(); }
    else if (!(await tryRefresh())) await tryAccess();
    sendNoStoreJson(res, 200, {});
  } catch (e) {
    sendError(res, serviceError(e), 'oauth');
  }
}
