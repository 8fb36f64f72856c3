// Attacks on the browser sign-in: each test is an attack or
// a race against the real stack (nginx/examples/site-with-login.conf, the
// service, slapd), driven by undici like a browser would be.
import { describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { getRuntime } from '../../harness/runtimes.ts';
import {
  ACCESS_COOKIE, type BrowserResponse, CookieJar, e2eBrowser, type E2eStack, NAVIGATION, REFRESH_COOKIE, startE2eStack,
} from '../../harness/e2e-stack.ts';
import { hiddenFields } from '../../harness/service-app.ts';
import type { MemoryStore } from '../../../service/src/store/memory-store.ts';

type Res = BrowserResponse;

const site = e2eBrowser();
const { agent, go } = site;
const HTML = NAVIGATION;

const rel = (u: string) => { const x = new URL(u, site.stack.origin); return x.pathname + x.search; };

/** From a /_auth/login response to the callback URL: open the form, post the password. */
async function throughForm(jar: CookieJar, loginResponse: Res, username = 'alice', password = 'alice-pw'): Promise<string> {
  expect(loginResponse.status).toBe(303);
  const form = await go(jar, 'GET', rel(loginResponse.location!));
  expect(form.status).toBe(200);
  const posted = await go(jar, 'POST', '/_auth/authorize', { 'content-type': 'application/x-www-form-urlencoded', origin: site.stack.origin },
    new URLSearchParams({ ...hiddenFields(form.text), username, password }).toString());
  expect(posted.status).toBe(303);
  return rel(posted.location!);
}

async function signIn(jar: CookieJar, rd = '/'): Promise<void> {
  const cb = await throughForm(jar, await go(jar, 'GET', `/_auth/login?rd=${encodeURIComponent(rd)}`));
  const done = await go(jar, 'GET', cb);
  expect(done.status).toBe(303);
  expect(done.location).toBe(rd);
}

const storeSize = () => (site.stack.service.app.context.store as MemoryStore as unknown as { entries: Map<string, unknown> }).entries.size;

describe('browser sign-in under attack', () => {
  it('an anonymous GET /_auth/login writes nothing to the shared store (no store-filling DoS)', async () => {
    // The memory store refuses writes when full (100,000 live entries) and Redis grows without bound:
    // an unauthenticated, unthrottled request must not create a 15-minute entry.
    const before = storeSize();
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 20 }, async () => {
        const r = await request(`${site.stack.origin}/_auth/login?rd=%2Fx`, { headers: HTML, dispatcher: agent });
        await r.body.text();
        expect(r.statusCode).toBe(303);
      }));
    }
    expect(storeSize() - before).toBe(0);
  });

  it('two tabs that start signing in at the same moment (no cookies yet, e.g. a session restore) both succeed', async () => {
    const jar = new CookieJar();
    const [a, b] = await Promise.all([go(jar, 'GET', '/_auth/login?rd=%2Fa'), go(jar, 'GET', '/_auth/login?rd=%2Fb')]);
    const cbA = await throughForm(jar, a!);
    const cbB = await throughForm(jar, b!);
    const doneA = await go(jar, 'GET', cbA);
    const doneB = await go(jar, 'GET', cbB);
    expect([doneA.status, doneA.location]).toEqual([303, '/a']);
    expect([doneB.status, doneB.location]).toEqual([303, '/b']);
  });

  it('keeps at most 8 logins pending per browser (a page that keeps calling login cannot grow the Cookie header)', async () => {
    const jar = new CookieJar();
    const first = await go(jar, 'GET', '/_auth/login?rd=%2Ffirst');
    for (let i = 0; i < 12; i++) await go(jar, 'GET', `/_auth/login?rd=%2F${i}`);
    const pending = jar.names().filter((n) => n.startsWith(`${REFRESH_COOKIE}_login.`));
    expect(pending.length).toBe(8);
    // The oldest was expired: its callback is refused; the newest still works.
    const stale = await go(jar, 'GET', await throughForm(jar, first));
    expect(stale.status).toBe(400);
    const done = await go(jar, 'GET', await throughForm(jar, await go(jar, 'GET', '/_auth/login?rd=%2Flast')));
    expect([done.status, done.location]).toEqual([303, '/last']);
  });

  it('logout also expires the logins still pending in this browser', async () => {
    const jar = new CookieJar();
    await signIn(jar);
    await go(jar, 'GET', '/_auth/login?rd=%2Fx');
    expect(jar.names().some((n) => n.startsWith(`${REFRESH_COOKIE}_login.`))).toBe(true);
    await go(jar, 'GET', '/_auth/logout');
    expect(jar.names().filter((n) => n !== 'ljwt_csrf')).toEqual([]);
  });

  it('a session restore of 30 tabs refreshing at once is not mistaken for a refresh loop', async () => {
    const jar = new CookieJar();
    await signIn(jar);
    const cookie = jar.header('/_auth/refresh');
    const tabs = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const r = await request(`${site.stack.origin}/_auth/refresh?rd=%2Ftab${i}`, { headers: { ...HTML, cookie }, dispatcher: agent });
      await r.body.text();
      return [r.statusCode, r.headers.location];
    }));
    expect(tabs).toEqual(Array.from({ length: 30 }, (_, i) => [303, `/tab${i}`]));
    expect(site.stack.service.logs.join('\n')).not.toContain('browser_refresh_loop');
  });

  it('still stops a real loop: a site that refuses every fresh token ends on an error page after 20 rotations', async () => {
    const jar = new CookieJar();
    await signIn(jar);
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) statuses.push((await go(jar, 'GET', '/_auth/refresh?rd=%2Floop')).status);
    expect(statuses.slice(0, 20).every((s) => s === 303)).toBe(true);
    expect(statuses.slice(20)).toEqual([500, 500]);
  });

  it('a dead refresh cookie in one tab does not break a sign-in pending in another', async () => {
    const jar = new CookieJar();
    const pending = await go(jar, 'GET', '/_auth/login?rd=%2Fpending');
    jar.store(`${REFRESH_COOKIE}=dead-token; Path=/_auth/`);
    const refresh = await go(jar, 'GET', '/_auth/refresh?rd=%2Fother');
    expect(refresh.location).toBe('/_auth/login?rd=%2Fother');
    const done = await go(jar, 'GET', await throughForm(jar, pending));
    expect([done.status, done.location]).toEqual([303, '/pending']);
  });

  it('the callback state is single-use and bound to the browser that started the login', async () => {
    const victim = new CookieJar();
    const attacker = new CookieJar();
    const cb = await throughForm(attacker, await go(attacker, 'GET', '/_auth/login?rd=%2Fx'));
    // Login CSRF: the attacker's own code and state, delivered to the victim's browser.
    const injected = await go(victim, 'GET', cb);
    expect(injected.status).toBe(400);
    expect(victim.get(ACCESS_COOKIE)).toBeUndefined();
    // The same URL in the attacker's own browser afterwards still works once, then never again.
    const first = await go(attacker, 'GET', cb);
    expect([first.status, first.location]).toEqual([303, '/x']);
    const again = await go(attacker, 'GET', cb);
    expect(again.status).toBe(400);
    expect(again.setCookie.some((c) => c.startsWith(`${ACCESS_COOKIE}=`) && !c.includes('Max-Age=0'))).toBe(false);
  });

  it('requires iss on the callback (RFC 9207 §2.4: the server advertises authorization_response_iss_parameter_supported)', async () => {
    const jar = new CookieJar();
    const cb = new URL(await throughForm(jar, await go(jar, 'GET', '/_auth/login?rd=%2F')), site.stack.origin);
    expect(cb.searchParams.get('iss')).toBe(`${site.stack.origin}/_auth`);
    cb.searchParams.delete('iss');
    const r = await go(jar, 'GET', cb.pathname + cb.search);
    expect(r.status).toBe(400);
    expect(jar.get(ACCESS_COOKIE)).toBeUndefined();
  });

  it('error pages reflect nothing from the URL and are never cached', async () => {
    const evil = '<script>alert(1)</script>';
    const r = await go(new CookieJar(), 'GET', `/_auth/callback?code=${encodeURIComponent(evil)}&state=${encodeURIComponent(evil)}&error=${encodeURIComponent(evil)}&error_description=${encodeURIComponent(evil)}`);
    expect(r.status).toBe(400);
    expect(r.text).not.toContain('<script');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(String(r.headers['content-security-policy'])).toContain("default-src 'none'");
    for (const p of ['/_auth/login?rd=%2F', '/_auth/refresh?rd=%2F', '/_auth/logout']) {
      expect((await go(new CookieJar(), 'GET', p)).headers['cache-control'], p).toBe('no-store');
    }
    // The login form cannot be framed (clickjacking) and runs no script.
    const jar = new CookieJar();
    const form = await go(jar, 'GET', rel((await go(jar, 'GET', '/_auth/login?rd=%2F')).location!));
    expect(form.status).toBe(200);
    expect(form.headers['x-frame-options']).toBe('DENY');
    expect(String(form.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect(form.headers['cache-control']).toBe('no-store');
  });

  it('open redirect forms browsers fold into another host all end on /', async () => {
    for (const rd of ['/\t/evil.example', '/\n/evil.example', '/\\/evil.example', '\\/evil.example',
      '/\u3000/evil.example', '\uff0f\uff0fevil.example', ' //evil.example', '/\r\nSet-Cookie: x=1', 'http:evil.example', '//evil.example%2F..']) {
      const r = await go(new CookieJar(), 'GET', `/_auth/refresh?rd=${encodeURIComponent(rd)}`);
      expect(r.location, JSON.stringify(rd)).toBe('/_auth/login?rd=%2F');
    }
    // Percent-encoded forms stay a path on this site: the browser does not decode them before resolving.
    const jar = new CookieJar();
    await signIn(jar, '/%09/evil.example');
    await signIn(jar, '/%2F%2Fevil.example');
  });

  it('a forged chunk planted next to real ones (cookie tossing) is refused by the signature', async () => {
    const jar = new CookieJar();
    await signIn(jar);
    const token = jar.get(ACCESS_COOKIE)!;
    const half = Math.floor(token.length / 2);
    const chunked = `${ACCESS_COOKIE}.0=${token.slice(0, half)}; ${ACCESS_COOKIE}.1=${token.slice(half)}`;
    const ok = await request(`${site.stack.origin}/r?format=json`, { headers: { ...HTML, cookie: chunked }, dispatcher: agent });
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(await ok.body.text()).user).toBe('alice');
    const other = new CookieJar();
    await signIn(other);
    const mallory = other.get(ACCESS_COOKIE)!;
    for (const cookie of [
      `${ACCESS_COOKIE}.0=${token.slice(0, half)}; ${ACCESS_COOKIE}.1=${mallory.slice(half)}`, // a replaced chunk
      `${chunked}; ${ACCESS_COOKIE}.1=${mallory.slice(half)}`, // a duplicate chunk
      `${chunked}; ${ACCESS_COOKIE}.2=x`, // an extra chunk
      `${ACCESS_COOKIE}.0=${token.slice(0, half)}; ${ACCESS_COOKIE}.2=${token.slice(half)}`, // a gap
    ]) {
      const r = await request(`${site.stack.origin}/r?format=json`, { headers: { ...HTML, cookie }, dispatcher: agent });
      await r.body.text();
      expect(r.statusCode, cookie.slice(-40)).toBe(302);
    }
  });

  it('keeps operator endpoints off the site in every spelling nginx normalizes', async () => {
    for (const p of ['/_auth/%6detrics', '/_auth//metrics', '/_auth/./metrics', '/_auth/login/../metrics', '/_auth/metrics/',
      '/_auth/METRICS', '/_auth/readyz?x=1', '/_auth/auth/validate', '/_auth/%61uth/validate', '/_auth/admin/groups/sync', '/_ljwt/jwks',
      '/_auth/login%2F..%2Fmetrics', '/_auth/.well-known/../metrics']) {
      const r = await request(`${site.stack.origin}${p}`, { headers: HTML, dispatcher: agent });
      const body = await r.body.text();
      expect([404, 400], p).toContain(r.statusCode);
      expect(body, p).not.toMatch(/ljwt_|# HELP/);
    }
  });

  it('ignores identity headers sent by the client on /_auth/ endpoints', async () => {
    const r = await request(`${site.stack.origin}/_auth/userinfo`, {
      headers: { 'x-authenticated-user': 'alice', 'x-authenticated-group-dns': 'cn=admins', accept: 'application/json' }, dispatcher: agent,
    });
    await r.body.text();
    expect(r.statusCode).toBe(401);
  });

  it('logout through a cross-site link only signs out: no redirect outside the configured page', async () => {
    const jar = new CookieJar();
    await signIn(jar);
    const r = await go(jar, 'GET', `/_auth/logout?client_id=site&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`,
      { 'sec-fetch-site': 'cross-site' });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`${site.stack.origin}/_auth/login`);
    expect(jar.get(ACCESS_COOKIE)).toBeUndefined();
  });
});

describe('the per-IP login throttle behind nginx', () => {
  // Every browser reaches the service through nginx. Unless nginx is a trusted proxy, the service
  // sees one client address for everybody, and 20 failed passwords from anyone lock out all users.
  /** One browser at source address `from`: starts a login and posts the form. Returns the POST's status. */
  async function tryPassword(s: E2eStack, from: string, username: string, password: string): Promise<number> {
    const a = new Agent({ localAddress: from });
    try {
      const jar = new CookieJar();
      const get = async (path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) => {
        const u = new URL(path, s.origin);
        const r = await request(u, { method: (init.method ?? 'GET') as 'GET', body: init.body ?? null, dispatcher: a,
          headers: { ...HTML, cookie: jar.header(u.pathname), ...(init.headers ?? {}) } });
        const text = await r.body.text();
        const sc = r.headers['set-cookie'];
        jar.store(sc === undefined ? [] : Array.isArray(sc) ? sc : [sc]);
        return { status: r.statusCode, location: r.headers.location as string | undefined, text };
      };
      const login = await get('/_auth/login?rd=%2F');
      const form = await get(login.location!);
      const posted = await get('/_auth/authorize', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: s.origin },
        body: new URLSearchParams({ ...hiddenFields(form.text), username, password }).toString() });
      return posted.status;
    } finally {
      await a.close();
    }
  }

  /** maxFailuresPerIp wrong passwords from `from`; the next attempt from there is throttled. */
  async function failedLogins(s: E2eStack, from: string): Promise<void> {
    const limit = s.service.config.throttle.maxFailuresPerIp;
    for (let i = 0; i <= limit; i++) expect(await tryPassword(s, from, `guess${i}`, 'wrong')).toBe(i < limit ? 401 : 429);
  }

  const victimSignsIn = (s: E2eStack) => tryPassword(s, '127.0.0.3', 'alice', 'alice-pw');

  it('without trustedProxies, one guesser locks every user out (maxFailuresPerIp, 20 by default) (why the documented config lists nginx), and the service warns', async () => {
    const s = await startE2eStack(await getRuntime('bookworm-njs'), { slapd: site.stack.slapd });
    try {
      await failedLogins(s, '127.0.0.2');
      expect(await victimSignsIn(s)).toBe(429);
      expect(s.service.logs.some((l) => l.includes('browser_untrusted_proxy'))).toBe(true);
    } finally {
      await s.stop();
    }
  });

  it('with nginx listed in trustedProxies (the documented config), a guesser only throttles their own address', async () => {
    const s = await startE2eStack(await getRuntime('bookworm-njs'), { slapd: site.stack.slapd, config: { trustedProxies: ['127.0.0.1'] } });
    try {
      expect(s.service.logs.some((l) => l.includes('browser_untrusted_proxy'))).toBe(false);
      await failedLogins(s, '127.0.0.2');
      expect(await victimSignsIn(s)).toBe(303);
      expect(s.service.logs.filter((l) => l.includes('"login_throttled"')).every((l) => l.includes('"ip":"127.0.0.2"'))).toBe(true);
    } finally {
      await s.stop();
    }
  });
});
