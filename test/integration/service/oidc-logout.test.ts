// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) by GET and POST with an
// id_token_hint: the session it names ends (refresh family revoked, access tokens refused,
// revocation pushed to nginx, cookies cleared), and the browser returns only to a registered
// post_logout_redirect_uri. A hint this service did not issue ends nothing.
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { newKeyPair } from '../../harness/key-pairs.mjs';
import {
  authorize, decodeJwtParts, form, http, ISSUER, pkcePair, PUBLIC_CLIENT, refreshRequest, serviceSuite, setCookies, tempDir, tokenRequest, type RunningService,
} from '../../harness/service-app.ts';

const BYE = 'https://app.example.test/bye';
const suite = serviceSuite();
const clock = { offset: 0 };

/** Runs fn with the service's clock `seconds` ahead, then sets it back. */
async function withClockAhead(seconds: number, fn: () => Promise<void>): Promise<void> {
  clock.offset = seconds;
  try {
    await fn();
  } finally {
    clock.offset = 0;
  }
}
const pushes: Array<{ sid?: string; jti?: string }> = [];
let edge: Server;
let svc: RunningService;
let other: RunningService;
let secretDir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  // A stand-in for nginx's revocation endpoint (nginx/revocation-endpoint.conf): records every push.
  edge = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      for (const e of (JSON.parse(body) as { revoke: Array<{ sid?: string; jti?: string }> }).revoke) pushes.push(e);
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => edge.listen(0, '127.0.0.1', resolve));
  secretDir = tempDir('ljwt-logout-');
  const secretFile = join(secretDir.dir, 'revocation.secret');
  writeFileSync(secretFile, 'logout-test-secret-0123456789-abcdefghij\n');
  const port = (edge.address() as { port: number }).port;
  svc = await suite.start({
    edgeRevocation: { urls: [`http://127.0.0.1:${port}/_ljwt/revoke`], secretFile, edgeLeewaySeconds: 30 },
  }, undefined, { now: () => Math.floor(Date.now() / 1000) + clock.offset, tuning: { accessTokenCookie: 'ljwt_at', refreshTokenCookie: 'ljwt_rt' } });
  // Same issuer, other keys: its ID tokens are not ours.
  other = await suite.start();
});
afterAll(async () => {
  await new Promise<void>((resolve) => edge?.close(() => resolve()));
  secretDir?.remove();
});

interface Session { access_token: string; refresh_token: string; id_token: string }

async function signIn(base = svc.base): Promise<Session> {
  const p = pkcePair();
  const a = await authorize(base, { client_id: PUBLIC_CLIENT, scope: 'openid profile', code_challenge: p.challenge, code_challenge_method: 'S256', nonce: 'n' }, 'alice', 'alice-pw');
  const code = a.location!.searchParams.get('code')!;
  const t = await tokenRequest(base, { grant_type: 'authorization_code', code, redirect_uri: a.location!.origin + a.location!.pathname, client_id: PUBLIC_CLIENT, code_verifier: p.verifier });
  expect(t.status, t.text).toBe(200);
  return t.json() as Session;
}

/** Whether the session still works: its refresh token rotates and /userinfo accepts its access token. */
async function alive(s: Session): Promise<{ refresh: number; userinfo: number }> {
  const userinfo = (await http(`${svc.base}/userinfo`, { headers: { authorization: `Bearer ${s.access_token}` } })).status;
  const r = await refreshRequest(svc.base, s.refresh_token, PUBLIC_CLIENT);
  if (r.status === 200) s.refresh_token = r.json().refresh_token;
  return { refresh: r.status, userinfo };
}

async function waitForPush(sid: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!pushes.some((p) => p.sid === sid)) {
    if (Date.now() > deadline) throw new Error(`no revocation of sid ${sid} pushed; got ${JSON.stringify(pushes)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const logoutGet = (params: Record<string, string>, headers: Record<string, string> = {}) =>
  http(`${svc.base}/logout?${new URLSearchParams(params)}`, { headers });

describe('logout with id_token_hint', () => {
  it('GET: ends the session named by the hint and returns to the registered URI with state', async () => {
    const s = await signIn();
    expect(await alive(s)).toEqual({ refresh: 200, userinfo: 200 });
    const sid = decodeJwtParts(s.id_token).payload.sid;
    const r = await logoutGet({ id_token_hint: s.id_token, client_id: PUBLIC_CLIENT, post_logout_redirect_uri: BYE, state: 's t&x' });
    expect(r.status).toBe(303);
    const to = new URL(r.headers.location as string);
    expect(to.origin + to.pathname).toBe(BYE);
    expect(to.searchParams.get('state')).toBe('s t&x');
    // The session cookies are expired too.
    const cleared = setCookies(r).filter((c) => /Max-Age=0/i.test(c)).map((c) => c.split('=')[0]).sort();
    expect(cleared).toEqual(['ljwt_at', 'ljwt_rt']);
    // The refresh token of that login is refused, and so is its access token (by sid).
    const after = await alive(s);
    expect(after.userinfo).toBe(401);
    expect(after.refresh).toBe(400);
    await waitForPush(sid);
  });

  it('POST: the hint alone names the client; its registered URI is honoured', async () => {
    const s = await signIn();
    await alive(s);
    const f = form({ id_token_hint: s.id_token, post_logout_redirect_uri: BYE, state: 'p' });
    const r = await http(`${svc.base}/logout`, { method: 'POST', headers: f.headers, body: f.body });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe(`${BYE}?state=p`);
    expect(await alive(s)).toEqual({ refresh: 400, userinfo: 401 });
  });

  it('accepts an expired ID token as the hint (§2): the session outlives it', async () => {
    const s = await signIn();
    const { exp } = decodeJwtParts(s.id_token).payload;
    await withClockAhead(exp - Math.floor(Date.now() / 1000) + 120, async () => {
      const r = await logoutGet({ id_token_hint: s.id_token });
      expect(r.status).toBe(200);
      expect(r.text).toContain('signed out');
      expect((await refreshRequest(svc.base, s.refresh_token, PUBLIC_CLIENT)).status).toBe(400);
    });
  });

  it('a hint signed by a key that has since rotated still names its session', async () => {
    const s = await signIn();
    await svc.app.context.keys.rotate();
    // Past the access-token retention (300 s + 30 s leeway): the old ID-token key is still published.
    await withClockAhead(600, async () => {
      await svc.app.context.keys.maintain();
      expect(svc.app.context.keys.list().map((k) => k.kid)).toContain(decodeJwtParts(s.id_token).header.kid);
      const r = await logoutGet({ id_token_hint: s.id_token, post_logout_redirect_uri: BYE });
      expect(r.status).toBe(303);
      expect((await refreshRequest(svc.base, s.refresh_token, PUBLIC_CLIENT)).status).toBe(400);
    });
  });

  it('an unregistered post_logout_redirect_uri is never followed; the session still ends', async () => {
    const s = await signIn();
    const r = await logoutGet({ id_token_hint: s.id_token, client_id: PUBLIC_CLIENT, post_logout_redirect_uri: 'https://evil.example/', state: 'x' });
    expect(r.status).toBe(200);
    expect(r.headers.location).toBeUndefined();
    expect(r.text).not.toContain('evil.example');
    expect(await alive(s)).toEqual({ refresh: 400, userinfo: 401 });
  });

  describe('a hint this service did not issue ends nothing', () => {
    let s: Session;
    beforeAll(async () => { s = await signIn(); });

    const refused = async (hint: string, extra: Record<string, string> = {}) => {
      const r = await logoutGet({ id_token_hint: hint, post_logout_redirect_uri: BYE, ...extra });
      expect(r.status).toBe(400);
      expect(r.headers.location).toBeUndefined();
      expect(await alive(s)).toEqual({ refresh: 200, userinfo: 200 });
    };

    it('signed by another key with our issuer and the victim sid', async () => {
      const claims = decodeJwtParts(s.id_token).payload;
      const { privateKey } = newKeyPair('rsa', { modulusLength: 2048 });
      const kid = decodeJwtParts(s.id_token).header.kid;
      await refused(await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey));
    });

    it('an ID token of another service instance (other keys)', async () => {
      await refused((await signIn(other.base)).id_token);
    });

    it('an access token (typ at+jwt) is no ID token', async () => {
      await refused(s.access_token);
    });

    it('garbage', async () => {
      await refused('not.a.token');
    });

    it('client_id other than the hint\'s audience', async () => {
      await refused(s.id_token, { client_id: 'webapp' });
    });
  });

  it('the discovery document advertises the endpoint', async () => {
    expect((await http(`${svc.base}/.well-known/openid-configuration`)).json().end_session_endpoint).toBe(`${ISSUER}/logout`);
  });
});
