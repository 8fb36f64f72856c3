// An unmodified certified relying-party library (openid-client 6, on oauth4webapi and jose)
// against the stack with its default settings: real nginx running nginx/examples/site-with-login.conf
// (bookworm's njs), the service behind it under /_auth/, real slapd, and a real Chromium on the
// real login form. No option of the library is changed except one: openid-client refuses
// plain-http issuers unless told otherwise, and this stack is http on 127.0.0.1, so every
// call gets its documented `allowInsecureRequests` execute option.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import * as client from 'openid-client';
import { getRuntime } from '../../harness/runtimes.ts';
import { startE2eStack, type E2eStack } from '../../harness/e2e-stack.ts';

const CLIENT_ID = 'conformance-rp';

let stack: E2eStack;
let rp: Server;
let rpOrigin: string;
let browser: BrowserContext;
let profile: string;
let config: client.Configuration;

beforeAll(async () => {
  // The relying party's own pages: where the browser returns after sign-in and sign-out.
  rp = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('relying party\n'); });
  await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
  rpOrigin = `http://127.0.0.1:${(rp.address() as { port: number }).port}`;
  // Default settings: signingAlgorithm, grace, lifetimes and the client's ID-token algorithm are left alone.
  stack = await startE2eStack(await getRuntime('bookworm-njs'), {
    extraClients: () => [{
      clientId: CLIENT_ID, redirectUris: [`${rpOrigin}/cb`], postLogoutRedirectUris: [`${rpOrigin}/bye`],
      grantTypes: ['authorization_code', 'refresh_token'], scopes: ['openid', 'profile', 'email'],
    }],
  });
  profile = mkdtempSync(join(tmpdir(), 'ljwt-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await new Promise<void>((resolve) => rp?.close(() => resolve()));
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const issuer = () => new URL(`${stack.origin}/_auth`);

/** Sign-in as a user does it: the browser opens the authorization URL, fills in the form, lands on the RP's callback. */
async function signIn(): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: `${rpOrigin}/cb`, scope: 'openid profile email', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  await browser.clearCookies();
  const page = await browser.newPage();
  try {
    await page.goto(url.toString());
    expect(new URL(page.url()).pathname).toBe('/_auth/authorize');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('alice-pw');
    await Promise.all([page.waitForURL((u) => u.toString().startsWith(`${rpOrigin}/cb`)), page.getByRole('button', { name: 'Sign in' }).click()]);
    // The library checks state, iss (RFC 9207), PKCE, then the ID token: signature, alg, iss, aud, nonce, exp, iat.
    return await client.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  } finally {
    await page.close();
  }
}

async function refused(p: Promise<unknown>, error: string): Promise<void> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e, `expected ${error}`).toBeInstanceOf(client.ResponseBodyError);
  expect((e as client.ResponseBodyError).error).toBe(error);
}

async function userinfoRefused(accessToken: string, sub: string): Promise<void> {
  const e = await client.fetchUserInfo(config, accessToken, sub).then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(client.WWWAuthenticateChallengeError);
  expect((e as client.WWWAuthenticateChallengeError).response.status).toBe(401);
}

describe('openid-client 6 against the default configuration', () => {
  it('discovers the issuer by OpenID Discovery and by RFC 8414 (path-inserted, through nginx): the same metadata', async () => {
    config = await client.discovery(issuer(), CLIENT_ID, undefined, client.None(), { execute: [client.allowInsecureRequests] });
    const oauth = await client.discovery(issuer(), CLIENT_ID, undefined, client.None(), { execute: [client.allowInsecureRequests], algorithm: 'oauth2' });
    const m = config.serverMetadata();
    expect(oauth.serverMetadata()).toEqual(m);
    expect(m.issuer).toBe(`${stack.origin}/_auth`);
    expect(m.id_token_signing_alg_values_supported).toContain('RS256');
    expect(m.request_uri_parameter_supported).toBe(false);
    expect(m.end_session_endpoint).toBe(`${stack.origin}/_auth/logout`);
  });

  it('code + PKCE in the browser, ID token validated by the library, userinfo, the protected nginx location', async () => {
    const tokens = await signIn();
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: `${stack.origin}/_auth`, aud: CLIENT_ID, sub: 'alice', preferred_username: 'alice' });
    // The library accepts any algorithm the metadata lists; the client registered none, so RS256 (Discovery §3).
    expect(JSON.parse(Buffer.from(tokens.id_token!.split('.')[0]!, 'base64url').toString()).alg).toBe('RS256');
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: 'alice', preferred_username: 'alice' });
    const res = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${stack.origin}/reports?format=json`), 'GET');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user: 'alice', groups: expect.arrayContaining(['cn=engineering,ou=groups,dc=example,dc=com']) });
    const anonymous = await fetch(`${stack.origin}/reports?format=json`, { headers: { accept: 'application/json' } });
    expect(anonymous.status).toBe(401);
  });

  it('refresh rotates the token; a reuse after the grace is detected and ends the family', async () => {
    const tokens = await signIn();
    const sub = tokens.claims()!.sub;
    const first = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(first.refresh_token).toBeDefined();
    expect(first.refresh_token).not.toBe(tokens.refresh_token);
    expect(first.claims()?.sub).toBe(sub);
    expect((await client.fetchUserInfo(config, first.access_token, sub)).sub).toBe(sub);
    // Two tabs refreshing at once: within the grace the old token gets the same successor.
    const concurrent = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(concurrent.refresh_token).toBe(first.refresh_token);
    // After the grace, presenting it again is theft: the family is revoked (RFC 9700 §4.14.2).
    stack.clock.offset = 11;
    try {
      await refused(client.refreshTokenGrant(config, tokens.refresh_token!), 'invalid_grant');
    } finally {
      stack.clock.offset = 0;
    }
    await refused(client.refreshTokenGrant(config, first.refresh_token!), 'invalid_grant');
    await userinfoRefused(first.access_token, sub);
  });

  it('revocation (RFC 7009) of the access token and of the refresh token', async () => {
    const tokens = await signIn();
    const sub = tokens.claims()!.sub;
    await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    await userinfoRefused(tokens.access_token, sub);
    await client.tokenRevocation(config, tokens.refresh_token!);
    await refused(client.refreshTokenGrant(config, tokens.refresh_token!), 'invalid_grant');
  });

  it('RP-initiated logout by the URL buildEndSessionUrl makes: back on the RP with state, the session ended', async () => {
    const tokens = await signIn();
    const sub = tokens.claims()!.sub;
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${rpOrigin}/bye`, state });
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID);
    const page = await browser.newPage();
    try {
      await page.goto(url.toString());
      const back = new URL(page.url());
      expect(`${back.origin}${back.pathname}`).toBe(`${rpOrigin}/bye`);
      expect(back.searchParams.get('state')).toBe(state);
    } finally {
      await page.close();
    }
    await refused(client.refreshTokenGrant(config, tokens.refresh_token!), 'invalid_grant');
    await userinfoRefused(tokens.access_token, sub);
  });

  it('a post_logout_redirect_uri that is not registered is not followed', async () => {
    const tokens = await signIn();
    const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${rpOrigin}/elsewhere`, state: 's' });
    const page = await browser.newPage();
    try {
      await page.goto(url.toString());
      expect(new URL(page.url()).origin).toBe(stack.origin);
    } finally {
      await page.close();
    }
    await refused(client.refreshTokenGrant(config, tokens.refresh_token!), 'invalid_grant');
  });
});
