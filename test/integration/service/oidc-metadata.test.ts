// Authorization server metadata: the OpenID Connect Discovery 1.0 document and the RFC 8414
// one are the same document, every capability the service lacks is stated (a field left out
// may default to "supported": request_uri_parameter_supported does), and ID tokens are signed
// as advertised: RS256 unless the client chose otherwise, access tokens with signingAlgorithm.
import { describe, expect, it } from 'vitest';
import { createLocalJWKSet, jwtVerify } from 'jose';
import {
  authorize, decodeJwtParts, http, ISSUER, pkcePair, PUBLIC_CLIENT, REDIRECT, serviceSuite, tokenRequest, type RunningService,
} from '../../harness/service-app.ts';
import type { OAuthClientConfig } from '../../../service/src/config/types.ts';

const suite = serviceSuite();

/** Every optional boolean capability with its value; the defaults of the first four would claim support. */
const STATED = {
  response_modes_supported: ['query'],
  claim_types_supported: ['normal'],
  token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
  revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
  code_challenge_methods_supported: ['S256'],
  authorization_response_iss_parameter_supported: true,
  claims_parameter_supported: false,
  request_parameter_supported: false,
  request_uri_parameter_supported: false,
  require_request_uri_registration: false,
  require_signed_request_object: false,
  require_pushed_authorization_requests: false,
  tls_client_certificate_bound_access_tokens: false,
  frontchannel_logout_supported: false,
  frontchannel_logout_session_supported: false,
  backchannel_logout_supported: false,
  backchannel_logout_session_supported: false,
};

/** Endpoints and algorithm lists of features the service does not have: absent, which both specifications read as unsupported. */
const ABSENT = [
  'registration_endpoint', 'introspection_endpoint', 'pushed_authorization_request_endpoint', 'device_authorization_endpoint',
  'request_object_signing_alg_values_supported', 'id_token_encryption_alg_values_supported', 'userinfo_signing_alg_values_supported',
  'dpop_signing_alg_values_supported', 'check_session_iframe',
];

const metadata = async (base: string, path: string) => {
  const r = await http(`${base}${path}`);
  expect(r.status, path).toBe(200);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  return r.json() as Record<string, unknown>;
};

async function codeFlowTokens(s: RunningService, clientId: string) {
  const p = pkcePair();
  const a = await authorize(s.base, { client_id: clientId, scope: 'openid', code_challenge: p.challenge, code_challenge_method: 'S256', nonce: 'n1' }, 'alice', 'alice-pw');
  const t = await tokenRequest(s.base, { grant_type: 'authorization_code', code: a.location!.searchParams.get('code')!, redirect_uri: REDIRECT, client_id: clientId, code_verifier: p.verifier });
  expect(t.status, t.text).toBe(200);
  return t.json() as { access_token: string; id_token: string };
}

describe('metadata documents', () => {
  it('issuer without a path: RFC 8414 at /.well-known/oauth-authorization-server, equal to the OpenID document', async () => {
    const s = await suite.start();
    const oidc = await metadata(s.base, '/.well-known/openid-configuration');
    const oauth = await metadata(s.base, '/.well-known/oauth-authorization-server');
    expect(oauth).toEqual(oidc);
    expect(oidc).toMatchObject({ ...STATED, issuer: ISSUER, id_token_signing_alg_values_supported: ['RS256'] });
    for (const f of ABSENT) expect(oidc, f).not.toHaveProperty(f);
  });

  it('issuer with a path: the well-known segment goes before the path (RFC 8414 §3)', async () => {
    const issuer = 'https://login.example.test/_auth';
    const s = await suite.start({ issuer, audience: ['https://app.example.test'] });
    const oauth = await metadata(s.base, '/.well-known/oauth-authorization-server/_auth');
    expect(oauth).toEqual(await metadata(s.base, '/.well-known/openid-configuration'));
    expect(oauth).toMatchObject({ issuer, token_endpoint: `${issuer}/token`, end_session_endpoint: `${issuer}/logout`, request_uri_parameter_supported: false });
    // Not the form of an issuer without a path: that would be another issuer's metadata.
    expect((await http(`${s.base}/.well-known/oauth-authorization-server`)).status).toBe(404);
  });

  it('refuses the request objects and registration it says it does not support (OIDC Core §6, §7.2.1)', async () => {
    const s = await suite.start();
    const p = pkcePair();
    for (const [param, error] of [['request_uri', 'request_uri_not_supported'], ['request', 'request_not_supported'], ['registration', 'registration_not_supported']] as const) {
      const q = new URLSearchParams({ response_type: 'code', client_id: PUBLIC_CLIENT, redirect_uri: REDIRECT, scope: 'openid', state: 'st',
        code_challenge: p.challenge, code_challenge_method: 'S256', [param]: param === 'request_uri' ? 'urn:ietf:params:oauth:request_uri:x' : 'x' });
      const r = await http(`${s.base}/authorize?${q}`);
      expect(r.status, param).toBe(303);
      const to = new URL(r.headers.location as string);
      expect(to.searchParams.get('error')).toBe(error);
      expect(to.searchParams.get('state')).toBe('st');
    }
  });
});

describe('ID token signing', () => {
  it('RS256 by default, verifiable with /jwks; the access token keeps signingAlgorithm', async () => {
    const s = await suite.start();
    const t = await codeFlowTokens(s, PUBLIC_CLIENT);
    const jwks = createLocalJWKSet((await http(`${s.base}/jwks`)).json());
    const id = await jwtVerify(t.id_token, jwks, { algorithms: ['RS256'], issuer: ISSUER, audience: PUBLIC_CLIENT, typ: 'JWT' });
    expect(id.protectedHeader.alg).toBe('RS256');
    expect(id.payload.nonce).toBe('n1');
    expect(decodeJwtParts(t.access_token).header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
  });

  it('a client\'s idTokenSignedResponseAlg picks its algorithm; discovery lists RS256 first, then the chosen ones', async () => {
    const base = (await suite.start()).config.clients;
    const clients: OAuthClientConfig[] = base.map((c) => (c.clientId === PUBLIC_CLIENT ? { ...c, idTokenSignedResponseAlg: 'EdDSA' } : c));
    const s = await suite.start({ clients, signingAlgorithm: 'PS256' });
    expect((await metadata(s.base, '/.well-known/openid-configuration')).id_token_signing_alg_values_supported).toEqual(['RS256', 'EdDSA']);
    const t = await codeFlowTokens(s, PUBLIC_CLIENT);
    const jwks = createLocalJWKSet((await http(`${s.base}/jwks`)).json());
    expect((await jwtVerify(t.id_token, jwks, { algorithms: ['EdDSA'], issuer: ISSUER, audience: PUBLIC_CLIENT })).protectedHeader.alg).toBe('EdDSA');
    expect(decodeJwtParts(t.access_token).header.alg).toBe('PS256');
    expect((await http(`${s.base}/jwks`)).json().keys.map((k: { alg: string }) => k.alg).sort()).toEqual(['EdDSA', 'PS256', 'RS256']);
    // What nginx reads: the access-token key only (every key there is parsed on each request).
    expect((await http(`${s.base}/jwks/access-tokens`)).json().keys.map((k: { alg: string }) => k.alg)).toEqual(['PS256']);
  });
});
