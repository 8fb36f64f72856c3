import type { IncomingMessage } from 'node:http';
import type { OAuthClientConfig } from '../config/types.ts';
import { ServiceError } from '../http/errors.ts';
import { safeEqual } from './secrets.ts';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

function basicCredentials(header: string): { id: string; secret: string } | null {
  const m = /^Basic[ ]+([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return null;
  }
}

function invalidClient(usedBasic: boolean): ServiceError {
  // RFC 6749 §5.2: 401 + WWW-Authenticate when the client tried the Authorization header.
  return new ServiceError('invalid_client', 'client authentication failed', {
    status: 401, headers: usedBasic ? { 'WWW-Authenticate': 'Basic realm="token", charset="UTF-8"' } : {},
  });
}

/**
 * Authenticates the client of a token/revocation request. Confidential clients
 * (with a secret) use client_secret_basic or client_secret_post; public clients
 * send only client_id (RFC 6749 §2.3, their codes are bound by PKCE). Using two
 * methods at once is invalid_request (RFC 6749 §2.3).
 */
export function authenticateClient(req: IncomingMessage, form: Map<string, string>, clients: OAuthClientConfig[]):
  { client: OAuthClientConfig; method: ClientAuthMethod } {
  const authz = req.headers.authorization;
  const postSecret = form.get('client_secret');
  const formId = form.get('client_id');
  if (authz !== undefined && /^Basic\b/i.test(authz.trim())) {
    if (postSecret !== undefined) throw new ServiceError('invalid_request', 'more than one client authentication method');
    const cred = basicCredentials(authz);
    if (cred === null) throw invalidClient(true);
    if (formId !== undefined && formId !== cred.id) throw new ServiceError('invalid_request', 'client_id does not match the Authorization header');
    const client = clients.find((c) => c.clientId === cred.id);
    // Compare even for an unknown client so timing does not reveal which ids exist.
    const ok = safeEqual(cred.secret, client?.clientSecret ?? '\u0000never');
    if (!client || client.clientSecret === undefined || !ok) throw invalidClient(true);
    return { client, method: 'client_secret_basic' };
  }
  if (authz !== undefined && authz !== '') throw new ServiceError('invalid_request', 'unsupported Authorization scheme for client authentication');
  if (formId === undefined || formId === '') throw invalidClient(false);
  const client = clients.find((c) => c.clientId === formId);
  if (postSecret !== undefined) {
    const ok = safeEqual(postSecret, client?.clientSecret ?? '\u0000never');
    if (!client || client.clientSecret === undefined || !ok) throw invalidClient(false);
    return { client, method: 'client_secret_post' };
  }
  // A confidential client must authenticate; only public clients may send just their id.
  if (!client || client.clientSecret !== undefined) throw invalidClient(false);
  return { client, method: 'none' };
}
