// A real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core)
// against real nginx (nginx/examples/site-with-login.conf), the service and slapd:
// the sign-in as a user sees it. Screenshots go to test-results/screenshots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { getRuntime, type RuntimeId } from '../../harness/runtimes.ts';
import { ACCESS_COOKIE, REFRESH_COOKIE, startE2eStack, type E2eStack } from '../../harness/e2e-stack.ts';
import { startDirectory } from '../../harness/service-app.ts';
import { REPO_ROOT } from '../../harness/nginx.ts';
import type { Slapd } from '../../harness/slapd.ts';

const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'screenshots');
const RUNTIMES: RuntimeId[] = ['bookworm-njs', 'trixie-njs', 'testing-njs', 'testing-qjs'];

let slapd: Slapd;
let context: BrowserContext;
let profile: string;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  slapd = await startDirectory();
  profile = mkdtempSync(join(tmpdir(), 'ljwt-chromium-'));
  // A fresh profile directory (playwright passes it as --user-data-dir).
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
});
afterAll(async () => {
  await context?.close();
  await slapd?.destroy();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe.each(RUNTIMES)('browser sign-in on %s', (id) => {
  let stack: E2eStack;
  let page: Page | undefined;

  beforeAll(async () => {
    stack = await startE2eStack(await getRuntime(id), { slapd });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function freshPage(): Promise<Page> {
    await page?.close();
    await context.clearCookies();
    page = await context.newPage();
    return page;
  }

  async function signIn(p: Page, path: string, password = 'alice-pw'): Promise<void> {
    await p.goto(`${stack.origin}${path}`);
    await p.getByLabel('Username').fill('alice');
    await p.getByLabel('Password').fill(password);
    await Promise.all([p.waitForLoadState('load'), p.getByRole('button', { name: 'Sign in' }).click()]);
  }

  async function sessionCookies(): Promise<Record<string, { value: string; httpOnly: boolean; path: string; sameSite: string }>> {
    const out: Record<string, { value: string; httpOnly: boolean; path: string; sameSite: string }> = {};
    for (const c of await context.cookies()) out[c.name] = { value: c.value, httpOnly: c.httpOnly, path: c.path, sameSite: c.sameSite };
    return out;
  }

  it('logs in through the form and shows the protected page with the identity headers', async () => {
    const p = await freshPage();
    await p.goto(`${stack.origin}/welcome?tab=1`);
    expect(new URL(p.url()).pathname).toBe('/_auth/authorize');
    await expect(p.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
    await p.screenshot({ path: join(SCREENSHOTS, `login-page-${id}.png`), fullPage: true });
    await p.getByLabel('Username').fill('alice');
    await p.getByLabel('Password').fill('alice-pw');
    await Promise.all([p.waitForURL(`${stack.origin}/welcome?tab=1`), p.getByRole('button', { name: 'Sign in' }).click()]);
    expect(await p.locator('#user').textContent()).toBe('alice');
    expect(await p.locator('#groups li').allTextContents()).toEqual([
      'cn=engineering,ou=groups,dc=example,dc=com', 'cn=developers,ou=groups,dc=example,dc=com']);
    // (Chromium also asks for /favicon.ico, which reaches the upstream signed in too.)
    const seen = stack.upstream.requests.filter((r) => r.url === '/welcome?tab=1');
    expect(seen.length).toBe(1);
    expect(seen[0]!.headers['x-authenticated-user']).toBe('alice');
    expect(seen[0]!.headers['x-authenticated-group-dns']).toBe('cn=engineering%2Cou=groups%2Cdc=example%2Cdc=com,cn=developers%2Cou=groups%2Cdc=example%2Cdc=com');
    await p.screenshot({ path: join(SCREENSHOTS, `protected-page-${id}.png`), fullPage: true });
    const cookies = await sessionCookies();
    expect(cookies[ACCESS_COOKIE]).toMatchObject({ httpOnly: true, path: '/', sameSite: 'Lax' });
    expect(cookies[REFRESH_COOKIE]).toMatchObject({ httpOnly: true, path: '/_auth/', sameSite: 'Lax' });
    // HttpOnly: page scripts never see the tokens.
    expect(await p.evaluate('document.cookie')).toBe('');
  });

  it('shows an error for a wrong password and sets no session cookie', async () => {
    const p = await freshPage();
    await signIn(p, '/x', 'not-the-password');
    expect(new URL(p.url()).pathname).toBe('/_auth/authorize');
    await expect(p.getByRole('alert').textContent()).resolves.toContain('The username or password is incorrect.');
    const cookies = await sessionCookies();
    expect(cookies[ACCESS_COOKIE]).toBeUndefined();
    expect(cookies[REFRESH_COOKIE]).toBeUndefined();
  });

  it('refreshes an expired access token without showing the form', async () => {
    const p = await freshPage();
    stack.clock.offset = -3600; // the sign-in mints tokens that are already expired at the edge
    try {
      await p.goto(`${stack.origin}/start`);
      await p.getByLabel('Username').fill('alice');
      await p.getByLabel('Password').fill('alice-pw');
      await p.getByRole('button', { name: 'Sign in' }).click();
      // The browser lands on /_auth/callback and then /start, where the expired token loops back to
      // refresh; wait only for the callback to have set the cookies.
      await p.waitForURL((u) => u.pathname !== '/_auth/authorize');
    } finally {
      stack.clock.offset = 0;
    }
    const before = (await sessionCookies())[ACCESS_COOKIE]?.value;
    expect(before).toBeDefined();
    const requests: string[] = [];
    p.on('request', (r) => { if (r.isNavigationRequest()) requests.push(new URL(r.url()).pathname); });
    await p.goto(`${stack.origin}/later`);
    expect(new URL(p.url()).pathname).toBe('/later');
    expect(await p.locator('#user').textContent()).toBe('alice');
    expect(requests).toContain('/_auth/refresh');
    expect(requests).not.toContain('/_auth/authorize');
    expect((await sessionCookies())[ACCESS_COOKIE]!.value).not.toBe(before);
    // The page's own fetch() with an expired token would get a 401, never a redirect to a form.
    await context.clearCookies({ name: ACCESS_COOKIE });
    const status = await p.evaluate(async () => (await fetch('/api/data', { headers: { Accept: 'application/json' } })).status);
    expect(status).toBe(401);
  });

  it('logs out: cookies gone, the next visit shows the form', async () => {
    const p = await freshPage();
    await signIn(p, '/home');
    expect(await p.locator('#user').textContent()).toBe('alice');
    await p.getByRole('link', { name: 'Sign out' }).click();
    await p.waitForURL((u) => u.pathname === '/_auth/authorize');
    const cookies = await sessionCookies();
    expect(cookies[ACCESS_COOKIE]).toBeUndefined();
    expect(cookies[REFRESH_COOKIE]).toBeUndefined();
    await p.goto(`${stack.origin}/home`);
    expect(new URL(p.url()).pathname).toBe('/_auth/authorize');
  });

  it('refuses an open redirect after sign-in', async () => {
    const p = await freshPage();
    await p.goto(`${stack.origin}/_auth/login?rd=${encodeURIComponent('//evil.example/phish')}`);
    await p.getByLabel('Username').fill('alice');
    await p.getByLabel('Password').fill('alice-pw');
    await Promise.all([p.waitForURL(`${stack.origin}/`), p.getByRole('button', { name: 'Sign in' }).click()]);
    expect(new URL(p.url()).host).toBe(`127.0.0.1:${stack.port}`);
  });

  it('refuses a login form posted from another site (CSRF)', async () => {
    const p = await freshPage();
    // An attacker's page (another origin: the upstream's port) auto-submits the form with made-up values.
    const evil = `http://localhost:${stack.upstream.port}/`;
    await p.goto(evil);
    await p.setContent(`<form id="f" method="post" action="${stack.origin}/_auth/authorize">
      <input name="response_type" value="code"><input name="client_id" value="site">
      <input name="redirect_uri" value="${stack.origin}/_auth/callback"><input name="csrf_token" value="forged">
      <input name="code_challenge" value="${'A'.repeat(43)}"><input name="code_challenge_method" value="S256">
      <input name="username" value="alice"><input name="password" value="alice-pw"></form>`);
    const [response] = await Promise.all([p.waitForNavigation(), p.evaluate("document.getElementById('f').submit()")]);
    expect(response!.status()).toBe(403);
    expect(new URL(p.url()).pathname).toBe('/_auth/authorize');
    expect((await sessionCookies())[ACCESS_COOKIE]).toBeUndefined();
  });

  it('signs in a user in 200 groups with long DNs (the token split over 8 cookies)', async () => {
    const many = Array.from({ length: 200 }, (_, i) =>
      `cn=department-${String(i).padStart(3, '0')}-long-group-name-for-measuring-cookie-sizes,ou=project-groups,ou=groups,dc=example,dc=com`);
    const saved = stack.groups.fallback;
    stack.groups.fallback = many;
    try {
      const p = await freshPage();
      await signIn(p, '/many');
      expect(new URL(p.url()).pathname).toBe('/many');
      expect(await p.locator('#groups li').count()).toBe(200);
      const chunks = (await context.cookies()).filter((c) => c.name.startsWith(`${ACCESS_COOKIE}.`));
      expect(chunks.length).toBeGreaterThan(1);
    } finally {
      stack.groups.fallback = saved;
    }
  });
});
