// Edge hardening proved in real nginx on every runtime (each failed
// before its fix): exp is required whatever $ljwt_required_claims says, and the
// access token cookie(s) never reach the upstream while every other cookie does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRuntime, RUNTIME_IDS, type RuntimeId } from '../../harness/runtimes.ts';
import { startEdgeFixture, startOneServerEdge, type EdgeFixture, type OneServerEdge, ISSUER, AUDIENCE } from '../../harness/edge-fixture.ts';
import { headerValues, type EchoedRequest } from '../../harness/echo-upstream.ts';
import { nowSeconds, signJwt } from '../../harness/tokens.ts';
import http2 from 'node:http2';

const API: [string, string][] = [['Accept', 'application/json']];

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  return Object.assign({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now - 5, exp: now + 300 }, extra);
}

describe.each(RUNTIME_IDS)('token expiry and cookie stripping on %s', (id: RuntimeId) => {
  let f: EdgeFixture;
  let token: string;
  beforeAll(async () => {
    f = await startEdgeFixture(await getRuntime(id));
    token = signJwt(f.keys, 'ES256', claims());
  });
  afterAll(async () => { await f?.stop(); });

  describe('exp is always required (RFC 9068 §2.2)', () => {
    it('$ljwt_required_claims "sub email" adds email and keeps exp', async () => {
      const ok = await f.request('/claims-no-exp/x', [['Authorization', `Bearer ${signJwt(f.keys, 'ES256', claims({ email: 'a@x' }))}`]]);
      expect(ok.res.status).toBe(200);
      const noExp = await f.request('/claims-no-exp/x',
        [['Authorization', `Bearer ${signJwt(f.keys, 'ES256', claims({ email: 'a@x', exp: undefined }))}`]].concat(API) as [string, string][]);
      expect(noExp.upstream).toBeNull();
      expect(noExp.res.status).toBe(401);
      expect(noExp.res.header('WWW-Authenticate')).toBe('Bearer realm="nginx-ldap-jwt", error="invalid_token", ' +
        'error_description="The access token claims are not accepted"');
      const noEmail = await f.request('/claims-no-exp/x', [['Authorization', `Bearer ${token}`]]);
      expect(noEmail.res.status).toBe(401);
      // exp: null is no exp either.
      const nullExp = await f.request('/claims-no-exp/x',
        [['Authorization', `Bearer ${signJwt(f.keys, 'ES256', claims({ email: 'a@x', exp: null }))}`]]);
      expect(nullExp.res.status).toBe(401);
    });
  });

  describe('the token cookie never reaches the upstream', () => {
    const cookieOf = (up: EchoedRequest) => headerValues(up, 'Cookie');

    it('a single Cookie line: plain token cookie removed, the others kept in order and byte for byte', async () => {
      const { res, upstream } = await f.request('/cookie/x',
        [['Cookie', `a=1; ljwt_at=${token}; q="x y"; e=a=b==; u=caf\u00c3\u00a9; z=\u00ff; nameless`]]);
      expect(res.status).toBe(200);
      expect(headerValues(upstream!, 'X-Authenticated-User')).toEqual(['alice']);
      // (latin1: one character per byte, so the UTF-8 and raw 0xFF bytes are compared exactly)
      expect(cookieOf(upstream!)).toEqual(['a=1; q="x y"; e=a=b==; u=caf\u00c3\u00a9; z=\u00ff; nameless']);
    });
    it('a single Cookie line: split token cookies removed', async () => {
      const { res, upstream } = await f.request('/cookie/x',
        [['Cookie', `ljwt_at.0=${token.slice(0, 60)}; site=s1; ljwt_at.1=${token.slice(60, 120)}; ljwt_at.2=${token.slice(120)}; other=2`]]);
      expect(res.status).toBe(200);
      expect(cookieOf(upstream!)).toEqual(['site=s1; other=2']);
    });
    it('two Cookie lines (HTTP/1.1): all other cookies of both lines, none of the token cookies', async () => {
      for (const [first, second, want] of [
        [`a=1; ljwt_at=${token}`, 'b=2;c=3', 'a=1; b=2; c=3'],
        ['a=1', `ljwt_at=${token}; b=2`, 'a=1; b=2'],
        [`ljwt_at.0=${token.slice(0, 50)}; a=1`, `b=2; ljwt_at.1=${token.slice(50)}`, 'a=1; b=2'],
        [`x=0; ljwt_at.0=${token.slice(0, 50)}; ljwt_at.1=${token.slice(50)}`, 'y=1', 'x=0; y=1'],
      ]) {
        const { res, upstream } = await f.request('/cookie/x', [['Cookie', first], ['X-Between', '1'], ['Cookie', second]]);
        expect(res.status, first + ' | ' + second).toBe(200);
        expect(cookieOf(upstream!)).toEqual([want]);
        for (const [, v] of upstream!.headers) expect(v).not.toContain(token.slice(40, 60));
      }
    });
    it('only token cookies: the upstream gets no Cookie header at all', async () => {
      for (const jar of [`ljwt_at=${token}`, `ljwt_at.0=${token.slice(0, 50)}; ljwt_at.1=${token.slice(50)}`]) {
        const { res, upstream } = await f.request('/cookie/x', [['Cookie', jar]]);
        expect(res.status).toBe(200);
        expect(cookieOf(upstream!)).toEqual([]);
      }
    });
    it('with a Bearer header the (stale or other) token cookie is removed as well', async () => {
      const { res, upstream } = await f.request('/cookie/x',
        [['Authorization', `Bearer ${token}`], ['Cookie', 'ljwt_at=old.token.value; keep=1; ljwt_at.9=x']]);
      expect(res.status).toBe(200);
      expect(cookieOf(upstream!)).toEqual(['keep=1']);
    });
    it('no Cookie header: none is sent', async () => {
      const { res, upstream } = await f.request('/cookie/x', [['Authorization', `Bearer ${token}`]]);
      expect(res.status).toBe(200);
      expect(cookieOf(upstream!)).toEqual([]);
    });
    it('without $ljwt_cookie every cookie is passed on (several lines as one)', async () => {
      const single = await f.request('/x', [['Authorization', `Bearer ${token}`], ['Cookie', `a=1;ljwt_at=${token}; b=\u00ff`]]);
      expect(single.res.status).toBe(200);
      expect(cookieOf(single.upstream!)).toEqual([`a=1;ljwt_at=${token}; b=\u00ff`]);
      const two = await f.request('/x', [['Authorization', `Bearer ${token}`], ['Cookie', 'a=1'], ['Cookie', 'b=2;c=3']]);
      expect(two.res.status).toBe(200);
      expect(cookieOf(two.upstream!)).toEqual(['a=1; b=2;c=3']);
    });
  });

  it('never logs an uncaught js exception', () => {
    expect(f.nginx.errorLog()).not.toMatch(/js exception|unhandled promise rejection|using uninitialized/);
  });
});

// HTTP/2 clients send each cookie as its own header field (RFC 9113 §8.2.3);
// nginx joins them with "; " into one Cookie header (measured on nginx 1.22 and 1.30).
describe.each(RUNTIME_IDS)('token cookies over HTTP/2 on %s', (id: RuntimeId) => {
  let e: OneServerEdge;
  beforeAll(async () => {
    e = await startOneServerEdge(await getRuntime(id), 'h2', ' http2', (echoPort) => `
    set $ljwt_cookie ljwt_at;
    location / {
      include {{DIR}}/protect.conf;
      proxy_pass http://127.0.0.1:${echoPort};
    }`);
  });
  afterAll(async () => { await e?.stop(); });

  function h2get(cookies: string[]): Promise<number> {
    return new Promise((resolve, reject) => {
      const c = http2.connect(`http://127.0.0.1:${e.nginx.ports.h2}`);
      c.on('error', reject);
      const req = c.request({ ':path': '/x', cookie: cookies });
      req.on('response', (h) => { req.resume(); req.on('end', () => { c.close(); resolve(Number(h[':status'])); }); });
      req.on('error', reject);
      req.end();
    });
  }

  it('split cookie fields: the token (plain or chunked) is removed, the others arrive in order', async () => {
    const t = signJwt(e.keys, 'ES256', claims());
    for (const [jar, want] of [
      [['a=1', `ljwt_at=${t}`, 'b=2; c=3'], 'a=1; b=2; c=3'],
      // (node:http2 sends header strings as latin1: 0xE9 alone, not UTF-8, arrives unchanged)
      [[`ljwt_at.0=${t.slice(0, 50)}`, 'a=1', `ljwt_at.1=${t.slice(50)}`, 'z=\u00e9'], 'a=1; z=\u00e9'],
    ] as [string[], string][]) {
      const before = e.echo.requests.length;
      expect(await h2get(jar)).toBe(200);
      expect(e.echo.requests.length).toBe(before + 1);
      const up = e.echo.requests[before];
      expect(headerValues(up, 'X-Authenticated-User')).toEqual(['alice']);
      expect(headerValues(up, 'Cookie')).toEqual([want]);
    }
    expect(e.nginx.errorLog()).not.toMatch(/js exception|unhandled promise rejection|using uninitialized/);
  });
});
