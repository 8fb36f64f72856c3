// Full OAuth2/OIDC flows over real HTTP against createApp with a real slapd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slapd } from '../../harness/slapd.ts';
import { MemoryStore } from '../../../service/src/store/memory-store.ts';
import {
  authorize, basicAuth, CONF_CLIENT, CONF_SECRET, decodeJwtParts, FixedGroups, form, http, ISSUER, makeConfig, openLoginForm, PASSWORD_CLIENT, pkcePair, PUBLIC_CLIENT, REDIRECT, refreshRequest, refreshTwiceAtOnce, startDirectory, startService, submitLogin, tempDir, tokenRequest, type RunningService,
} from '../../harness/service-app.ts';

const ENG = 'cn=engineering,ou=groups,dc=example,dc=com';
const SMITH_GROUP = 'cn=Smith\\, John,ou=people,dc=example,dc=com';

let slapd: Slapd;
let svc: RunningService;
let dir: ReturnType<typeof tempDir>;
let clockOffset = 0;

beforeAll(async () => {
  slapd = await startDirectory();
  dir = tempDir();
  const store = new MemoryStore();
  svc = await startService(makeConfig(slapd, `${dir.dir}/keys`), store, {
    groups: new FixedGroups({}, [ENG]),
    now: () => Math.floor(Date.now() / 1000) + clockOffset,
  });
});

afterAll(async () => {
  await svc?.close();
  await slapd?.destroy();
  dir?.remove();
});

async function codeFlow(opts: { client?: string; pkce?: boolean; scope?: string; nonce?: string; user?: string; password?: string } = {}) {
  const p = pkcePair();
  const state = `st-${Math.random()}`;
  const { res, location } = await authorize(svc.base, {
    client_id: opts.client ?? PUBLIC_CLIENT,
    state,
    scope: opts.scope ?? 'openid profile api',
    ...(opts.pkce === false ? {} : { code_challenge: p.challenge, code_challenge_method: 'S256' }),
    ...(opts.nonce ? { nonce: opts.nonce } : {}),
  }, opts.user ?? 'alice', opts.password ?? 'alice-pw');
  return { res, location, state, verifier: p.verifier, code: location?.searchParams.get('code') ?? '' };
}

describe('discovery and JWKS', () => {
  it('publishes the OIDC discovery document', async () => {
    const r = await http(`${svc.base}/.well-known/openid-configuration`);
    expect(r.status).toBe(200);
    const d = r.json();
    expect(d.issuer).toBe(ISSUER);
    expect(d.authorization_endpoint).toBe(`${ISSUER}/authorize`);
    expect(d.token_endpoint).toBe(`${ISSUER}/token`);
    expect(d.userinfo_endpoint).toBe(`${ISSUER}/userinfo`);
    expect(d.jwks_uri).toBe(`${ISSUER}/jwks`);
    expect(d.revocation_endpoint).toBe(`${ISSUER}/revoke`);
    expect(d.end_session_endpoint).toBe(`${ISSUER}/logout`);
    expect(d.response_types_supported).toEqual(['code']);
    expect(d.grant_types_supported).toEqual(['authorization_code', 'password', 'refresh_token']);
    expect(d.subject_types_supported).toEqual(['public']);
    // OIDC Discovery 1.0 §3: RS256 is required for ID tokens; access tokens keep ES256.
    expect(d.id_token_signing_alg_values_supported).toEqual(['RS256']);
    expect(d.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none']);
    expect(d.code_challenge_methods_supported).toEqual(['S256']);
    expect(d.scopes_supported).toContain('openid');
    expect(d.claims_supported).toEqual(expect.arrayContaining(['sub', 'dns', 'oids']));
  });

  it('serves /jwks with the signing keys (access tokens, ID tokens)', async () => {
    const r = await http(`${svc.base}/jwks`);
    const jwks = r.json();
    expect(jwks.keys).toHaveLength(2);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[1]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    for (const k of jwks.keys) expect(k.d).toBeUndefined();
  });
});

describe('authorization code flow', () => {
  it('login form is accessible, script-free and CSP protected', async () => {
    const { page, cookie } = await openLoginForm(svc.base, { client_id: PUBLIC_CLIENT, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(page.text).not.toMatch(/<script|\son[a-z]+=|javascript:/i);
    expect(page.text).toContain('<label for="username">');
    expect(page.text).toContain('<label for="password">');
    expect(page.text).toContain('autocomplete="username"');
    expect(page.text).toContain('autocomplete="current-password"');
    expect(cookie).toMatch(/^ljwt_csrf=/);
  });

  it('public client with PKCE: code, tokens, RFC 9068 claims, ID token with nonce', async () => {
    const f = await codeFlow({ nonce: 'n-123' });
    expect(f.res.status).toBe(303);
    expect(f.location!.origin + f.location!.pathname).toBe(REDIRECT);
    expect(f.location!.searchParams.get('state')).toBe(f.state);
    expect(f.location!.searchParams.get('iss')).toBe(ISSUER);
    const t = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: f.code, redirect_uri: REDIRECT, client_id: PUBLIC_CLIENT, code_verifier: f.verifier });
    expect(t.status).toBe(200);
    expect(t.headers['cache-control']).toBe('no-store');
    const body = t.json();
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(300);
    expect(body.scope).toBe('openid profile api');
    expect(typeof body.refresh_token).toBe('string');
    const at = decodeJwtParts(body.access_token);
    expect(at.header.typ).toBe('at+jwt');
    expect(at.header.alg).toBe('ES256');
    const jwks = (await http(`${svc.base}/jwks`)).json();
    expect(at.header.kid).toBe(jwks.keys[0].kid);
    expect(at.payload).toMatchObject({ iss: ISSUER, aud: 'https://app.example.test', sub: 'alice', scope: 'openid profile api', client_id: PUBLIC_CLIENT, dns: [ENG], name: 'Alice Anderson' });
    expect(at.payload.oids).toHaveLength(1);
    expect(at.payload.oids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(at.payload.exp - at.payload.iat).toBe(300);
    expect(typeof at.payload.jti).toBe('string');
    expect(typeof at.payload.auth_time).toBe('number');
    expect(at.payload.nbf).toBeUndefined();
    const id = decodeJwtParts(body.id_token);
    expect(id.header.typ).toBe('JWT');
    expect(id.payload).toMatchObject({ iss: ISSUER, aud: PUBLIC_CLIENT, sub: 'alice', nonce: 'n-123', preferred_username: 'alice' });
  });

  it('confidential client with client_secret_basic and client_secret_post (PKCE optional)', async () => {
    const a = await codeFlow({ client: CONF_CLIENT, pkce: false, scope: 'api' });
    expect(a.res.status).toBe(303);
    const tb = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT }, basicAuth(CONF_CLIENT, CONF_SECRET));
    expect(tb.status).toBe(200);
    expect(tb.json().id_token).toBeUndefined();
    const b = await codeFlow({ client: CONF_CLIENT, scope: 'openid api' });
    const tp = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: b.code, redirect_uri: REDIRECT, client_id: CONF_CLIENT, client_secret: CONF_SECRET, code_verifier: b.verifier });
    expect(tp.status).toBe(200);
    expect(typeof tp.json().id_token).toBe('string');
  });

  it('client authentication failures', async () => {
    const a = await codeFlow({ client: CONF_CLIENT, pkce: false });
    const wrong = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT }, basicAuth(CONF_CLIENT, 'nope'));
    expect(wrong.status).toBe(401);
    expect(wrong.json().error).toBe('invalid_client');
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic/);
    const two = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT, client_secret: CONF_SECRET }, basicAuth(CONF_CLIENT, CONF_SECRET));
    expect(two.status).toBe(400);
    expect(two.json().error).toBe('invalid_request');
    // A confidential client may not fall back to "none".
    const none = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT, client_id: CONF_CLIENT });
    expect(none.status).toBe(401);
    expect(none.json().error).toBe('invalid_client');
  });

  it('refuses non-form bodies, repeated parameters and unknown grant types', async () => {
    const json = await http(`${svc.base}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"password"}' });
    expect(json.status).toBe(400);
    expect(json.json().error).toBe('invalid_request');
    const rep = await http(`${svc.base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password&grant_type=password&client_id=cli' });
    expect(rep.json().error).toBe('invalid_request');
    const unk = await tokenRequest(svc.base, { grant_type: 'client_credentials', client_id: PUBLIC_CLIENT });
    expect(unk.json().error).toBe('unsupported_grant_type');
    const big = await http(`${svc.base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=' + 'x'.repeat(20_000) });
    expect(big.status).toBe(413);
  });

  it('unknown client or unregistered redirect_uri: error page, never a redirect', async () => {
    for (const p of [
      { client_id: 'nobody' },
      { client_id: PUBLIC_CLIENT, redirect_uri: 'https://evil.example/callback' },
      { client_id: PUBLIC_CLIENT, redirect_uri: REDIRECT + '/' },
      { client_id: PUBLIC_CLIENT, redirect_uri: REDIRECT + '?x=1' },
    ]) {
      const { page } = await openLoginForm(svc.base, { ...p, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
      expect(page.status).toBe(400);
      expect(page.headers.location).toBeUndefined();
      expect(page.text).toContain('role="alert"');
    }
  });

  it('PKCE: required for public clients, plain refused, verifier checked', async () => {
    const { page: noPkce } = await openLoginForm(svc.base, { client_id: PUBLIC_CLIENT, state: 's1' });
    expect(noPkce.status).toBe(303);
    const loc = new URL(noPkce.headers.location as string);
    expect(loc.searchParams.get('error')).toBe('invalid_request');
    expect(loc.searchParams.get('state')).toBe('s1');
    const { page: plain } = await openLoginForm(svc.base, { client_id: PUBLIC_CLIENT, code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
    expect(new URL(plain.headers.location as string).searchParams.get('error')).toBe('invalid_request');
    const { page: noMethod } = await openLoginForm(svc.base, { client_id: PUBLIC_CLIENT, code_challenge: 'a'.repeat(43) });
    expect(new URL(noMethod.headers.location as string).searchParams.get('error')).toBe('invalid_request');
    const { page: badType } = await openLoginForm(svc.base, { client_id: PUBLIC_CLIENT, response_type: 'token', code_challenge: pkcePair().challenge, code_challenge_method: 'S256' });
    expect(new URL(badType.headers.location as string).searchParams.get('error')).toBe('unsupported_response_type');

    const missing = await codeFlow();
    const r1 = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: missing.code, redirect_uri: REDIRECT, client_id: PUBLIC_CLIENT });
    expect(r1.json().error).toBe('invalid_grant');
    const wrong = await codeFlow();
    const r2 = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: wrong.code, redirect_uri: REDIRECT, client_id: PUBLIC_CLIENT, code_verifier: pkcePair().verifier });
    expect(r2.json().error).toBe('invalid_grant');
    // A failed PKCE check consumed the code: the right verifier no longer helps.
    const r3 = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: wrong.code, redirect_uri: REDIRECT, client_id: PUBLIC_CLIENT, code_verifier: wrong.verifier });
    expect(r3.json().error).toBe('invalid_grant');
  });

  it('redirect_uri at the token endpoint must equal the one of the authorization request', async () => {
    const f = await codeFlow();
    const r = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: f.code, redirect_uri: 'http://127.0.0.1:9/cb', client_id: PUBLIC_CLIENT, code_verifier: f.verifier });
    expect(r.json().error).toBe('invalid_grant');
  });

  it('code reuse: invalid_grant and the tokens of the first redemption are revoked', async () => {
    const reuseBefore = svc.app.context.metrics.codeReuse.get();
    const f = await codeFlow();
    const params = { grant_type: 'authorization_code', code: f.code, redirect_uri: REDIRECT, client_id: PUBLIC_CLIENT, code_verifier: f.verifier };
    const first = await tokenRequest(svc.base, params);
    expect(first.status).toBe(200);
    const { access_token, refresh_token } = first.json();
    expect((await http(`${svc.base}/userinfo`, { headers: { authorization: `Bearer ${access_token}` } })).status).toBe(200);
    const second = await tokenRequest(svc.base, params);
    expect(second.status).toBe(400);
    expect(second.json().error).toBe('invalid_grant');
    const ui = await http(`${svc.base}/userinfo`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(ui.status).toBe(401);
    const rt = await tokenRequest(svc.base, { grant_type: 'refresh_token', refresh_token, client_id: PUBLIC_CLIENT });
    expect(rt.json().error).toBe('invalid_grant');
    expect(svc.app.context.metrics.codeReuse.get()).toBe(reuseBefore + 1);
  });

  it('a code issued to one client cannot be redeemed by another', async () => {
    const f = await codeFlow();
    const r = await tokenRequest(svc.base, { grant_type: 'authorization_code', code: f.code, redirect_uri: REDIRECT, code_verifier: f.verifier }, basicAuth(CONF_CLIENT, CONF_SECRET));
    expect(r.json().error).toBe('invalid_grant');
  });

  it('wrong password: 401 on the form, no code', async () => {
    const f = await codeFlow({ user: 'carol', password: 'wrong' });
    expect(f.res.status).toBe(401);
    expect(f.location).toBeUndefined();
    expect(f.res.text).toContain('role="alert"');
    expect(f.res.text).toContain('incorrect');
  });

  it('CSRF: POST without cookie, with a forged token, or a replayed token is refused', async () => {
    const p = pkcePair();
    const { cookie, fields } = await openLoginForm(svc.base, { client_id: PUBLIC_CLIENT, code_challenge: p.challenge, code_challenge_method: 'S256' });
    const noCookie = await submitLogin(svc.base, '', fields, 'alice', 'alice-pw');
    expect(noCookie.status).toBe(403);
    expect(noCookie.headers.location).toBeUndefined();
    const forged = await submitLogin(svc.base, cookie, { ...fields, csrf_token: fields.csrf_token!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) }, 'alice', 'alice-pw');
    expect(forged.status).toBe(403);
    const otherCookie = await submitLogin(svc.base, 'ljwt_csrf=' + 'x'.repeat(43), fields, 'alice', 'alice-pw');
    expect(otherCookie.status).toBe(403);
    const ok = await submitLogin(svc.base, cookie, fields, 'alice', 'alice-pw');
    expect(ok.status).toBe(303);
    const replay = await submitLogin(svc.base, cookie, fields, 'alice', 'alice-pw');
    expect(replay.status).toBe(403);
    expect(replay.headers.location).toBeUndefined();
  });
});

describe('password grant', () => {
  it('issues tokens to a client allowed to use it', async () => {
    const r = await tokenRequest(svc.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT, scope: 'api' });
    expect(r.status).toBe(200);
    const b = r.json();
    expect(decodeJwtParts(b.access_token).payload).toMatchObject({ sub: 'alice', scope: 'api', client_id: PASSWORD_CLIENT });
    expect(typeof b.refresh_token).toBe('string');
  });

  it('refuses wrong passwords and clients without the grant', async () => {
    const w = await tokenRequest(svc.base, { grant_type: 'password', username: 'carol', password: 'nope', client_id: PASSWORD_CLIENT });
    expect(w.status).toBe(400);
    expect(w.json().error).toBe('invalid_grant');
    const u = await tokenRequest(svc.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PUBLIC_CLIENT });
    expect(u.json().error).toBe('unauthorized_client');
  });
});

describe('refresh tokens', () => {
  async function passwordTokens() {
    return (await tokenRequest(svc.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT })).json();
  }

  it('rotates on every use; groups are re-read', async () => {
    const t0 = await passwordTokens();
    svc.groups.map['__never__'] = [];
    const r1 = await refreshRequest(svc.base, t0.refresh_token, PASSWORD_CLIENT);
    expect(r1.status).toBe(200);
    const t1 = r1.json();
    expect(t1.refresh_token).not.toBe(t0.refresh_token);
    const r2 = await refreshRequest(svc.base, t1.refresh_token, PASSWORD_CLIENT);
    expect(r2.status).toBe(200);
  });

  it('within the grace window a reused token gets the same successor', async () => {
    const t0 = await passwordTokens();
    const a = await refreshTwiceAtOnce(svc.base, svc.base, t0.refresh_token, PASSWORD_CLIENT);
    const next = await refreshRequest(svc.base, a.json().refresh_token, PASSWORD_CLIENT);
    expect(next.status).toBe(200);
  });

  it('reuse after the grace window revokes the whole family', async () => {
    const t0 = await passwordTokens();
    const r1 = (await refreshRequest(svc.base, t0.refresh_token, PASSWORD_CLIENT)).json();
    clockOffset += 11;
    try {
      const replay = await refreshRequest(svc.base, t0.refresh_token, PASSWORD_CLIENT);
      expect(replay.status).toBe(400);
      expect(replay.json().error).toBe('invalid_grant');
      const successor = await refreshRequest(svc.base, r1.refresh_token, PASSWORD_CLIENT);
      expect(successor.json().error).toBe('invalid_grant');
      const ui = await http(`${svc.base}/userinfo`, { headers: { authorization: `Bearer ${r1.access_token}` } });
      expect(ui.status).toBe(401);
    } finally {
      clockOffset -= 11;
    }
    expect((await http(`${svc.base}/metrics`)).text).toMatch(/ljwt_refresh_token_reuse_total\{outcome="family_revoked"\} 1/);
  });

  it('a refresh token works only for its client; scope can narrow, not widen', async () => {
    const t0 = await passwordTokens();
    const other = await refreshRequest(svc.base, t0.refresh_token, PUBLIC_CLIENT);
    expect(other.json().error).toBe('invalid_grant');
    const wide = await tokenRequest(svc.base, { grant_type: 'refresh_token', refresh_token: t0.refresh_token, client_id: PASSWORD_CLIENT, scope: 'api admin' });
    expect(wide.json().error).toBe('invalid_scope');
  });
});

describe('userinfo, revocation, logout', () => {
  it('userinfo returns fresh groups from the directory', async () => {
    const t = (await tokenRequest(svc.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT })).json();
    const oid = decodeJwtParts(t.access_token).payload.oids[0];
    svc.groups.map[oid] = [SMITH_GROUP];
    try {
      const r = await http(`${svc.base}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } });
      expect(r.status).toBe(200);
      expect(r.json()).toMatchObject({ sub: 'alice', dns: [SMITH_GROUP], oids: [oid] });
    } finally {
      delete svc.groups.map[oid];
    }
    const bad = await http(`${svc.base}/userinfo`, { headers: { authorization: `Bearer ${t.access_token.slice(0, -3)}abc` } });
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toContain('error="invalid_token"');
    const none = await http(`${svc.base}/userinfo`);
    expect(none.status).toBe(401);
  });

  it('revoke: refresh token revokes its family, access token by jti, unknown -> 200', async () => {
    const t = (await tokenRequest(svc.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT })).json();
    const unknown = await http(`${svc.base}/revoke`, { method: 'POST', ...form({ token: 'nonsense', client_id: PASSWORD_CLIENT }) });
    expect(unknown.status).toBe(200);
    const rr = await http(`${svc.base}/revoke`, { method: 'POST', ...form({ token: t.refresh_token, token_type_hint: 'refresh_token', client_id: PASSWORD_CLIENT }) });
    expect(rr.status).toBe(200);
    expect((await refreshRequest(svc.base, t.refresh_token, PASSWORD_CLIENT)).json().error).toBe('invalid_grant');
    expect((await http(`${svc.base}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } })).status).toBe(401);

    const t2 = (await tokenRequest(svc.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT })).json();
    const ra = await http(`${svc.base}/revoke`, { method: 'POST', ...form({ token: t2.access_token, token_type_hint: 'access_token', client_id: PASSWORD_CLIENT }) });
    expect(ra.status).toBe(200);
    expect((await http(`${svc.base}/userinfo`, { headers: { authorization: `Bearer ${t2.access_token}` } })).status).toBe(401);
    // Only the access token was revoked: the refresh token still works.
    expect((await refreshRequest(svc.base, t2.refresh_token, PASSWORD_CLIENT)).status).toBe(200);
  });

  it('logout revokes the family and ends only on a registered post_logout_redirect_uri', async () => {
    const f = await codeFlow();
    const t = (await tokenRequest(svc.base, { grant_type: 'authorization_code', code: f.code, redirect_uri: REDIRECT, client_id: PUBLIC_CLIENT, code_verifier: f.verifier })).json();
    const out = await http(`${svc.base}/logout`, { method: 'POST', ...form({ refresh_token: t.refresh_token, client_id: PUBLIC_CLIENT, post_logout_redirect_uri: 'https://app.example.test/bye', state: 'xyz' }) });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('https://app.example.test/bye?state=xyz');
    expect((await refreshRequest(svc.base, t.refresh_token, PUBLIC_CLIENT)).json().error).toBe('invalid_grant');
    const evil = await http(`${svc.base}/logout?client_id=${PUBLIC_CLIENT}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`);
    expect(evil.status).toBe(200);
    expect(evil.headers.location).toBeUndefined();
    expect(evil.text).toContain('signed out');
  });
});

describe('/auth/validate (auth_request)', () => {
  it('204 with identity headers; 401 with the RFC 6750 challenge; 403 by policy headers', async () => {
    const t = (await tokenRequest(svc.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT })).json();
    const ok = await http(`${svc.base}/auth/validate`, { headers: { authorization: `Bearer ${t.access_token}` } });
    expect(ok.status).toBe(204);
    expect(ok.headers['x-authenticated-user']).toBe('alice');
    expect(ok.headers['x-authenticated-group-dns']).toBe('cn=engineering%2Cou=groups%2Cdc=example%2Cdc=com');
    expect(ok.headers['x-authenticated-oids']).toMatch(/^[0-9a-f-]{36}$/);
    const none = await http(`${svc.base}/auth/validate`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="nginx-ldap-jwt"');
    const bad = await http(`${svc.base}/auth/validate`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toContain('error="invalid_token"');
    const allowed = await http(`${svc.base}/auth/validate`, { headers: { authorization: `Bearer ${t.access_token}`, 'x-ljwt-require-any-group': 'CN=Engineering,OU=Groups,DC=example,DC=com|cn=other,dc=x', 'x-ljwt-require-scope': 'api' } });
    expect(allowed.status).toBe(204);
    const denied = await http(`${svc.base}/auth/validate`, { headers: { authorization: `Bearer ${t.access_token}`, 'x-ljwt-require-all-groups': 'cn=admins,ou=groups,dc=example,dc=com' } });
    expect(denied.status).toBe(403);
    expect(denied.headers['www-authenticate']).toContain('insufficient_scope');
    const broken = await http(`${svc.base}/auth/validate`, { headers: { authorization: `Bearer ${t.access_token}`, 'x-ljwt-require-any-group': 'not a dn' } });
    expect(broken.status).toBe(500);
    // Revocation is honoured here, unlike at the stateless edge.
    await http(`${svc.base}/revoke`, { method: 'POST', ...form({ token: t.refresh_token, client_id: PASSWORD_CLIENT }) });
    expect((await http(`${svc.base}/auth/validate`, { headers: { authorization: `Bearer ${t.access_token}` } })).status).toBe(401);
  });
});

describe('operations', () => {
  it('healthz, readyz and metrics', async () => {
    expect((await http(`${svc.base}/healthz`)).status).toBe(200);
    const ready = await http(`${svc.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.json().checks.map((c: { name: string }) => c.name)).toEqual(['ldap', 'keys', 'store', 'groups']);
    const m = (await http(`${svc.base}/metrics`)).text;
    expect(m).toMatch(/ljwt_logins_total\{outcome="success"\} \d+/);
    expect(m).toMatch(/ljwt_tokens_issued_total\{grant_type="password"\} \d+/);
    expect(m).toMatch(/ljwt_ldap_bind_duration_seconds_count \d+/);
    expect(m).toMatch(/ljwt_group_snapshot_generation 1/);
  });

  it('readyz reports a stale group snapshot', async () => {
    const saved = svc.groups.updatedAt;
    svc.groups.updatedAt = Date.now() / 1000 - 10_000;
    try {
      const r = await http(`${svc.base}/readyz`);
      expect(r.status).toBe(503);
      expect(r.json().checks.find((c: { name: string }) => c.name === 'groups').ok).toBe(false);
    } finally {
      svc.groups.updatedAt = saved;
    }
  });

  it('unknown paths and methods', async () => {
    expect((await http(`${svc.base}/nope`)).status).toBe(404);
    const r = await http(`${svc.base}/token`);
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('POST');
  });

  it('logs are JSON lines and never contain passwords, codes or tokens', async () => {
    const f = await codeFlow({ user: 'alice', password: 'alice-pw' });
    const t = (await tokenRequest(svc.base, { grant_type: 'authorization_code', code: f.code, redirect_uri: REDIRECT, client_id: PUBLIC_CLIENT, code_verifier: f.verifier })).json();
    await tokenRequest(svc.base, { grant_type: 'password', username: 'carol', password: 'Sup3r-Secret-Guess', client_id: PASSWORD_CLIENT });
    const all = svc.logs.join('');
    for (const line of svc.logs) expect(() => JSON.parse(line)).not.toThrow();
    expect(all).toContain('login_succeeded');
    expect(all).toContain('login_failed');
    for (const secret of ['alice-pw', 'Sup3r-Secret-Guess', f.code, f.verifier, t.access_token, t.refresh_token, t.id_token, CONF_SECRET, 'reader-secret']) {
      expect(all).not.toContain(secret);
    }
  });
});
