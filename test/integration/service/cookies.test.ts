// Cookie-carried tokens (tuning.accessTokenCookie / refreshTokenCookie) for
// /auth/validate and /logout, request size caps, and method handling.
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../service/src/store/memory-store.ts';
import {
  form, http, PASSWORD_CLIENT, refreshRequest, serviceSuite, setCookies, tokenRequest, type RunningService,
} from '../../harness/service-app.ts';

const suite = serviceSuite();
let svc: RunningService;

beforeAll(async () => {
  svc = await suite.start({ logoutRedirectUrl: 'https://portal.example.test/' }, new MemoryStore(), {
    tuning: { accessTokenCookie: 'ljwt_at', refreshTokenCookie: 'ljwt_rt' },
  });
});

const login = async () => (await tokenRequest(svc.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT })).json();

describe('cookie-carried tokens', () => {
  it('/auth/validate accepts the access token cookie, whatever the subrequest method', async () => {
    const t = await login();
    for (const method of ['GET', 'POST', 'DELETE']) {
      const r = await http(`${svc.base}/auth/validate`, { method, headers: { cookie: `other=1; ljwt_at=${t.access_token}` } });
      expect(r.status).toBe(204);
      expect(r.headers['x-authenticated-user']).toBe('alice');
    }
    // The Authorization header wins; a malformed Bearer header does not fall back to the cookie.
    const r = await http(`${svc.base}/auth/validate`, { headers: { authorization: 'Bearer', cookie: `ljwt_at=${t.access_token}` } });
    expect(r.status).toBe(401);
  });

  it('/logout revokes the family named by the refresh cookie, clears cookies, ends on logoutRedirectUrl', async () => {
    const t = await login();
    const out = await http(`${svc.base}/logout`, { headers: { cookie: `ljwt_rt=${t.refresh_token}` } });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('https://portal.example.test/');
    const cleared = setCookies(out);
    expect(cleared.some((c) => c.startsWith('ljwt_at=;') && c.includes('Max-Age=0'))).toBe(true);
    expect(cleared.some((c) => c.startsWith('ljwt_rt=;') && c.includes('Max-Age=0'))).toBe(true);
    expect((await refreshRequest(svc.base, t.refresh_token, PASSWORD_CLIENT)).json().error).toBe('invalid_grant');
    expect((await http(`${svc.base}/auth/validate`, { headers: { authorization: `Bearer ${t.access_token}` } })).status).toBe(401);
  });

  it('/logout via the access token cookie ends that session too', async () => {
    const t = await login();
    await http(`${svc.base}/logout`, { headers: { cookie: `ljwt_at=${t.access_token}` } });
    expect((await refreshRequest(svc.base, t.refresh_token, PASSWORD_CLIENT)).json().error).toBe('invalid_grant');
  });

  it('a refresh token in the logout URL is ignored (secrets never in URLs)', async () => {
    const t = await login();
    await http(`${svc.base}/logout?refresh_token=${encodeURIComponent(t.refresh_token)}`);
    expect((await refreshRequest(svc.base, t.refresh_token, PASSWORD_CLIENT)).status).toBe(200);
  });
});

describe('request limits', () => {
  it('oversized form posts are refused with 413', async () => {
    const big = form({ username: 'alice', password: 'x'.repeat(20_000) });
    expect((await http(`${svc.base}/authorize`, { method: 'POST', ...big })).status).toBe(413);
    expect((await http(`${svc.base}/revoke`, { method: 'POST', ...big })).status).toBe(413);
  });

  it('HEAD on a GET route has no body', async () => {
    const r = await http(`${svc.base}/healthz`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
  });
});
