// The browser sign-in path without a browser: undici through real nginx
// (nginx/examples/site-with-login.conf), the service and slapd. Each request is
// issued by hand so every redirect, status and cookie attribute is asserted.
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import {
  ACCESS_COOKIE, type BrowserResponse, CookieJar, e2eBrowser, NAVIGATION, REFRESH_COOKIE,
} from '../../harness/e2e-stack.ts';
import { hiddenFields } from '../../harness/service-app.ts';

type Res = BrowserResponse;

const site = e2eBrowser();
const { agent, go } = site;
const HTML = NAVIGATION;

/** Follows redirects (same origin only) until a non-redirect or an /authorize form. */
async function follow(jar: CookieJar, start: string, max = 10): Promise<{ last: Res; url: string; trail: string[] }> {
  let url = start;
  const trail: string[] = [url];
  for (let i = 0; i < max; i++) {
    const r = await go(jar, 'GET', url);
    if (r.status < 300 || r.status >= 400 || r.location === undefined) return { last: r, url, trail };
    const next = new URL(r.location, new URL(url, site.stack.origin));
    if (next.origin !== site.stack.origin) return { last: r, url: next.toString(), trail };
    url = next.pathname + next.search;
    trail.push(url);
  }
  throw new Error(`too many redirects: ${trail.join(' -> ')}`);
}

async function submitForm(jar: CookieJar, formPage: Res, username: string, password: string, override: Record<string, string> = {}): Promise<Res> {
  const fields = { ...hiddenFields(formPage.text), username, password, ...override };
  return go(jar, 'POST', '/_auth/authorize', { 'content-type': 'application/x-www-form-urlencoded', origin: site.stack.origin },
    new URLSearchParams(fields).toString());
}

/** Full login starting at a protected path; returns the final page. */
async function login(jar: CookieJar, path: string, username = 'alice', password = 'alice-pw'): Promise<{ page: Res; trail: string[] }> {
  const { last: form, url, trail } = await follow(jar, path);
  expect(form.status).toBe(200);
  expect(url).toMatch(/^\/_auth\/authorize\?/);
  const posted = await submitForm(jar, form, username, password);
  expect(posted.status).toBe(303);
  const cb = new URL(posted.location!);
  expect(cb.pathname).toBe('/_auth/callback');
  const done = await follow(jar, cb.pathname + cb.search);
  return { page: done.last, trail: trail.concat(done.trail) };
}

function cookieLine(list: string[], name: string): string | undefined {
  return list.find((c) => c.startsWith(`${name}=`));
}

describe('browser sign-in through nginx (undici)', () => {
  it('redirects to refresh, login and the form, then back to the original URL with the identity headers', async () => {
    const jar = new CookieJar();
    const first = await go(jar, 'GET', '/reports/q?format=json&x=1');
    expect(first.status).toBe(302);
    // nginx makes the edge's relative Location absolute (absolute_redirect on).
    expect(first.location).toBe(`${site.stack.origin}/_auth/refresh?rd=%2Freports%2Fq%3Fformat%3Djson%26x%3D1`);
    const { page, trail } = await login(jar, '/reports/q?format=json&x=1');
    expect(trail.slice(0, 3)).toEqual(['/reports/q?format=json&x=1', '/_auth/refresh?rd=%2Freports%2Fq%3Fformat%3Djson%26x%3D1',
      '/_auth/login?rd=%2Freports%2Fq%3Fformat%3Djson%26x%3D1']);
    expect(trail[trail.length - 1]).toBe('/reports/q?format=json&x=1');
    expect(page.status).toBe(200);
    const body = JSON.parse(page.text);
    expect(body.user).toBe('alice');
    expect(body.groups).toEqual(['cn=engineering,ou=groups,dc=example,dc=com', 'cn=developers,ou=groups,dc=example,dc=com']);
    expect(body.oids.length).toBeGreaterThan(0);
    expect(jar.get(ACCESS_COOKIE)).toMatch(/^eyJ/);
    expect(jar.get(REFRESH_COOKIE)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('sets HttpOnly SameSite=Lax cookies: the access token on /, the refresh token on /_auth/ only', async () => {
    const jar = new CookieJar();
    const { last: form } = await follow(jar, '/');
    const posted = await submitForm(jar, form, 'alice', 'alice-pw');
    const cb = new URL(posted.location!);
    const r = await go(jar, 'GET', cb.pathname + cb.search);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/');
    const at = cookieLine(r.setCookie, ACCESS_COOKIE)!;
    const rt = cookieLine(r.setCookie, REFRESH_COOKIE)!;
    expect(at).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Max-Age=300$/);
    expect(rt).toMatch(/; Path=\/_auth\/; HttpOnly; SameSite=Lax; Max-Age=3600$/);
    // Plain http here: no Secure (the browser would drop a Secure cookie from http). Over https the service adds it.
    expect(at).not.toMatch(/Secure/);
    // The callback's state is single use.
    const again = await go(jar, 'GET', cb.pathname + cb.search);
    expect(again.status).toBe(400);
    expect(again.text).toContain('did not start in this browser');
  });

  it('answers API and XHR requests without a token with 401 and a challenge, not a redirect', async () => {
    const jar = new CookieJar();
    const api = await go(jar, 'GET', '/api/items', { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' });
    expect(api.status).toBe(401);
    expect(api.headers['www-authenticate']).toBe('Bearer realm="nginx-ldap-jwt"');
    const xhr = await go(jar, 'GET', '/page', { 'x-requested-with': 'XMLHttpRequest' });
    expect(xhr.status).toBe(401);
  });

  it('shows an error and sets no session cookie for a wrong password', async () => {
    const jar = new CookieJar();
    const { last: form } = await follow(jar, '/secret');
    const r = await submitForm(jar, form, 'alice', 'wrong-password');
    expect(r.status).toBe(401);
    expect(r.text).toContain('role="alert"');
    expect(r.text).toContain('The username or password is incorrect.');
    expect(r.setCookie.some((c) => c.startsWith(ACCESS_COOKIE) || c.startsWith(REFRESH_COOKIE))).toBe(false);
    expect(jar.get(ACCESS_COOKIE)).toBeUndefined();
  });

  it('refuses a forged login form post (CSRF): no code, no cookie', async () => {
    // The attacker's page posts to the form without the victim's ljwt_csrf cookie / with a made-up token.
    const jar = new CookieJar();
    const { last: form } = await follow(jar, '/');
    const forged = new CookieJar();
    const noCookie = await (async () => {
      const fields = { ...hiddenFields(form.text), username: 'alice', password: 'alice-pw' };
      return go(forged, 'POST', '/_auth/authorize', { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
        new URLSearchParams(fields).toString());
    })();
    expect(noCookie.status).toBe(403);
    expect(noCookie.location).toBeUndefined();
    const badToken = await submitForm(jar, form, 'alice', 'alice-pw', { csrf_token: 'forged' });
    expect(badToken.status).toBe(403);
    expect(badToken.location).toBeUndefined();
    expect(jar.get(ACCESS_COOKIE)).toBeUndefined();
  });

  it('refuses open redirects: only same-site paths survive login and refresh', async () => {
    for (const rd of ['https://evil.example/x', '//evil.example/x', '/\\evil.example/x', '/\t/evil.example', 'javascript:alert(1)']) {
      const jar = new CookieJar();
      const { last: form } = await follow(jar, `/_auth/login?rd=${encodeURIComponent(rd)}`);
      const posted = await submitForm(jar, form, 'alice', 'alice-pw');
      const cb = new URL(posted.location!);
      const r = await go(jar, 'GET', cb.pathname + cb.search);
      expect(r.status, rd).toBe(303);
      expect(r.location, rd).toBe('/');
      const refreshed = await go(jar, 'GET', `/_auth/refresh?rd=${encodeURIComponent(rd)}`);
      expect(refreshed.location, rd).toBe('/');
    }
  });

  it('refreshes an expired access token transparently for browsers; API calls get 401 invalid_token', async () => {
    const jar = new CookieJar();
    const { last: form } = await follow(jar, '/');
    const posted = await submitForm(jar, form, 'alice', 'alice-pw');
    const cb = new URL(posted.location!);
    site.stack.clock.offset = -3600; // tokens minted an hour ago: expired at the edge
    try {
      expect((await go(jar, 'GET', cb.pathname + cb.search)).status).toBe(303);
    } finally {
      site.stack.clock.offset = 0;
    }
    const oldAt = jar.get(ACCESS_COOKIE)!;
    const oldRt = jar.get(REFRESH_COOKIE)!;
    const api = await go(jar, 'GET', '/api/x', { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' });
    expect(api.status).toBe(401);
    expect(api.headers['www-authenticate']).toContain('error="invalid_token"');
    const { last, trail } = await follow(jar, '/docs?format=json');
    expect(trail).toEqual(['/docs?format=json', '/_auth/refresh?rd=%2Fdocs%3Fformat%3Djson', '/docs?format=json']);
    expect(last.status).toBe(200);
    expect(JSON.parse(last.text).user).toBe('alice');
    expect(jar.get(ACCESS_COOKIE)).not.toBe(oldAt);
    expect(jar.get(REFRESH_COOKIE)).not.toBe(oldRt);
  });

  it('lets concurrent refreshes share one successor; reuse after the grace window revokes the family', async () => {
    const jar = new CookieJar();
    await login(jar, '/');
    const cookie = jar.header('/_auth/refresh');
    const oldRt = jar.get(REFRESH_COOKIE)!;
    const tabs = await Promise.all([1, 2, 3].map(async (i) => {
      const r = await request(`${site.stack.origin}/_auth/refresh?rd=%2Ftab${i}`, { headers: { ...HTML, cookie } });
      await r.body.text();
      const sc = r.headers['set-cookie'];
      return { status: r.statusCode, location: r.headers.location, rt: cookieLine(Array.isArray(sc) ? sc : [String(sc)], REFRESH_COOKIE) };
    }));
    for (const [i, t] of tabs.entries()) {
      expect(t.status).toBe(303);
      expect(t.location).toBe(`/tab${i + 1}`);
    }
    const successors = new Set(tabs.map((t) => t.rt!.split(';')[0]));
    expect(successors.size).toBe(1);
    // The same old token 60 s later is a replay: the whole family, successor included, is revoked.
    site.stack.clock.offset = 60;
    try {
      const replay = await request(`${site.stack.origin}/_auth/refresh?rd=%2F`, { headers: { ...HTML, cookie: `${REFRESH_COOKIE}=${oldRt}` } });
      await replay.body.text();
      expect(replay.statusCode).toBe(303);
      expect(replay.headers.location).toBe('/_auth/login?rd=%2F');
      const successor = [...successors][0]!;
      const after = await request(`${site.stack.origin}/_auth/refresh?rd=%2F`, { headers: { ...HTML, cookie: successor } });
      await after.body.text();
      expect(after.headers.location).toBe('/_auth/login?rd=%2F');
    } finally {
      site.stack.clock.offset = 0;
    }
  });

  it('logout clears every cookie, revokes the refresh family and ends on the configured page', async () => {
    const jar = new CookieJar();
    await login(jar, '/');
    const rt = jar.get(REFRESH_COOKIE)!;
    const r = await go(jar, 'GET', '/_auth/logout');
    expect(r.status).toBe(303);
    expect(r.location).toBe(`${site.stack.origin}/_auth/login`);
    for (const name of [ACCESS_COOKIE, `${ACCESS_COOKIE}.0`, `${ACCESS_COOKIE}.7`]) {
      expect(cookieLine(r.setCookie, name), name).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0/);
    }
    expect(cookieLine(r.setCookie, REFRESH_COOKIE)).toMatch(/^ljwt_rt=; Path=\/_auth\/; .*Max-Age=0/);
    expect(jar.get(ACCESS_COOKIE)).toBeUndefined();
    expect(jar.get(REFRESH_COOKIE)).toBeUndefined();
    const page = await go(jar, 'GET', '/after-logout');
    expect(page.status).toBe(302);
    // The old refresh token no longer works.
    const replay = await request(`${site.stack.origin}/_auth/refresh?rd=%2F`, { headers: { ...HTML, cookie: `${REFRESH_COOKIE}=${rt}` } });
    await replay.body.text();
    expect(replay.headers.location).toBe('/_auth/login?rd=%2F');
  });

  it('keeps the operator endpoints off the site', async () => {
    const jar = new CookieJar();
    for (const p of ['/_auth/metrics', '/_auth/readyz', '/_auth/auth/validate']) {
      expect((await go(jar, 'GET', p)).status, p).toBe(404);
    }
  });

  // Group DNs of at least 100 characters, for measuring token and cookie sizes.
  const longGroupDns = (n: number) => Array.from({ length: n }, (_, i) =>
    `cn=department-${String(i).padStart(3, '0')}-long-group-name-for-measuring-cookie-sizes,ou=project-groups,ou=groups,dc=example,dc=com`);
  // alice signs in from '/' and the browser follows the redirect to the callback.
  const loginToCallback = async (jar: CookieJar) => {
    const { last: form } = await follow(jar, '/');
    const posted = await submitForm(jar, form, 'alice', 'alice-pw');
    const cb = new URL(posted.location!);
    return go(jar, 'GET', cb.pathname + cb.search);
  };

  it('gets a user in 200 groups with 100-character DNs in: split cookies under 4 KB, raised nginx buffers', async () => {
    const many = longGroupDns(200);
    expect(many.every((d) => d.length >= 100)).toBe(true);
    const saved = site.stack.groups.fallback;
    site.stack.groups.fallback = many;
    const jar = new CookieJar();
    try {
      const r = await loginToCallback(jar);
      expect(r.status).toBe(303);
      const chunks = r.setCookie.filter((c) => /^ljwt_at\.\d=/.test(c));
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks.length).toBeLessThanOrEqual(8);
      // Browsers drop a cookie whose name, value and attributes exceed 4096 bytes.
      for (const c of chunks) expect(Buffer.byteLength(c)).toBeLessThan(4096);
      expect(cookieLine(r.setCookie, ACCESS_COOKIE)).toBeUndefined();
      const token = chunks.map((c) => c.split(';')[0]!.split('=')[1]).join('');
      const cookieHeader = jar.header('/');
      const page = await go(jar, 'GET', '/big?format=json');
      expect(page.status).toBe(200);
      const body = JSON.parse(page.text);
      expect(body.user).toBe('alice');
      expect(body.groups).toEqual(many);
      const groupHeader = String(site.stack.upstream.requests[site.stack.upstream.requests.length - 1]!.headers['x-authenticated-group-dns']);
      // Measured figures (README "Large tokens"): printed so CI logs keep them.
      console.log(`200 groups x ${many[0]!.length}-char DNs: access token ${token.length} B in ${chunks.length} cookies, ` +
        `Cookie header ${cookieHeader.length} B, X-Authenticated-Group-DNs ${groupHeader.length} B`);
      expect(cookieHeader.length).toBeLessThan(64 * 1024);

      // The token shrinks on refresh: one plain cookie again, every stale chunk expired.
      site.stack.groups.fallback = saved;
      const refreshed = await go(jar, 'GET', '/_auth/refresh?rd=%2F');
      expect(refreshed.status).toBe(303);
      expect(cookieLine(refreshed.setCookie, ACCESS_COOKIE)).toMatch(/^ljwt_at=eyJ/);
      for (let i = 0; i < chunks.length; i++) expect(cookieLine(refreshed.setCookie, `${ACCESS_COOKIE}.${i}`)).toMatch(/Max-Age=0/);
      expect(jar.names().filter((n) => n.startsWith(`${ACCESS_COOKIE}.`))).toEqual([]);
      const small = await go(jar, 'GET', '/small?format=json');
      expect(JSON.parse(small.text).groups).toEqual(saved);
    } finally {
      site.stack.groups.fallback = saved;
    }
  });

  it('ends on a clear error page, not a loop or a broken cookie, for a token beyond 8 cookies (300 such groups)', async () => {
    const saved = site.stack.groups.fallback;
    site.stack.groups.fallback = longGroupDns(300);
    const jar = new CookieJar();
    try {
      const r = await loginToCallback(jar);
      expect(r.status).toBe(500);
      expect(r.text).toContain('too many of the configured groups');
      expect(jar.get(ACCESS_COOKIE)).toBeUndefined();
      expect(jar.names().filter((n) => n.startsWith(ACCESS_COOKIE))).toEqual([]);
      expect(site.stack.service.logs.some((l) => l.includes('"browser_token_too_large"'))).toBe(true);
    } finally {
      site.stack.groups.fallback = saved;
    }
  });

  it('marks cookies Secure when a trusted proxy forwarded https, and only then', async () => {
    const jar = new CookieJar();
    await login(jar, '/');
    const refreshVia = async (proto: string) => {
      const r = await request(`${site.stack.service.base}/refresh?rd=%2F`, {
        headers: { cookie: `${REFRESH_COOKIE}=${jar.get(REFRESH_COOKIE)}`, 'x-forwarded-proto': proto }, dispatcher: agent,
      });
      await r.body.text();
      const sc = r.headers['set-cookie'];
      const list = Array.isArray(sc) ? sc : [String(sc)];
      jar.store(list);
      return list;
    };
    // 127.0.0.1 is not (yet) a trusted proxy: its X-Forwarded-Proto is ignored.
    for (const c of await refreshVia('https')) expect(c).not.toMatch(/Secure/);
    site.stack.service.app.context.trustedProxies.addAddress('127.0.0.1');
    const secure = await refreshVia('https');
    expect(cookieLine(secure, ACCESS_COOKIE)).toMatch(/; Secure$/);
    expect(cookieLine(secure, REFRESH_COOKIE)).toMatch(/; Secure$/);
    for (const c of await refreshVia('http')) expect(c).not.toMatch(/Secure/);
  });
});
