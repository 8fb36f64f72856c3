// docker-compose.yml for real: the stack is built and started with Debian's
// docker-compose from local base images (docker-compose.local.yml; built from
// Debian packages, cached by content hash), a headless Chromium signs in as the
// demo user through the stack's nginx, and `docker-compose down -v` leaves
// nothing of the project behind. Skipped, with the reason in its name, only
// where no Docker engine can be used (test/harness/ldap-backend-setup.ts).
//
// The stack's site origin is http://127.0.0.1:8080 (issuer and redirect URI in
// demo/config.xml). nginx is published on a free host port instead
// (LJWT_COMPOSE_PORT) and the browser reaches http://127.0.0.1:8080 through it as
// an HTTP proxy, so the test neither needs port 8080 free nor changes the stack.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { ensureComposeBases } from '../../../scripts/lib/debian-images.mjs';
import { dockerApi, socketOf } from '../../harness/docker.ts';
import { REPO_ROOT } from '../../harness/nginx.ts';
import { freePort } from '../../harness/slapd.ts';

const unavailable = process.env.TEST_DOCKER_UNAVAILABLE;
const ORIGIN = 'http://127.0.0.1:8080';
const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'screenshots');
const BUILD_TIMEOUT_MS = 40 * 60_000;

function compose(project: string, port: number, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('docker-compose', ['-p', project, '-f', 'docker-compose.yml', '-f', 'docker-compose.local.yml', ...args], {
      cwd: REPO_ROOT,
      // The classic builder: BuildKit would pull its Dockerfile frontend from a registry.
      env: { ...process.env, LJWT_COMPOSE_PORT: String(port), DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out = (out + d).slice(-20_000)));
    p.stderr.on('data', (d) => (out = (out + d).slice(-20_000)));
    const t = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`docker-compose ${args.join(' ')} exited ${code}:\n${out.slice(-6000)}`));
    });
  });
}

/** Containers, networks and volumes labelled with the compose project. */
async function projectResources(socketPath: string, project: string): Promise<string[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${project}`] }));
  const found: string[] = [];
  for (const [kind, path] of [
    ['container', `/containers/json?all=true&filters=${filters}`],
    ['network', `/networks?filters=${filters}`],
    ['volume', `/volumes?filters=${filters}`],
  ] as const) {
    const res = await dockerApi(socketPath, 'GET', path);
    const body = JSON.parse(res.body) as Array<{ Id?: string; Name?: string; Names?: string[] }> | { Volumes: Array<{ Name: string }> | null };
    const items = Array.isArray(body) ? body : (body.Volumes ?? []);
    for (const i of items as Array<{ Id?: string; Name?: string; Names?: string[] }>) found.push(`${kind} ${i.Names?.[0] ?? i.Name ?? i.Id}`);
  }
  return found;
}

/** The login form answers through the published port (nginx, the service and its LDAP are up). */
async function waitForSite(port: number, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  let last = '';
  while (Date.now() < end) {
    try {
      // Absolute-form request, as the browser sends it to its proxy.
      const res = await fetch(`http://127.0.0.1:${port}/_auth/login`, { headers: { host: '127.0.0.1:8080' }, redirect: 'manual' });
      if (res.status < 500) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`the stack's site did not answer on 127.0.0.1:${port} within ${deadlineMs} ms (${last})`);
}

describe.skipIf(!!unavailable)(
  `docker-compose stack from local Debian base images${unavailable ? ` (skipped: Docker cannot be used here: ${unavailable})` : ''}`,
  () => {
    const project = `ljwt-compose-test-${process.env.TEST_RUN_OWNER_PID || process.pid}`;
    let socketPath: string;
    let port: number;
    let up = false;
    let browser: Browser | undefined;
    let profile: string | undefined;

    beforeAll(async () => {
      socketPath = socketOf(process.env.DOCKER_HOST ?? '') ?? '/var/run/docker.sock';
      await ensureComposeBases(process.env.DOCKER_HOST ?? `unix://${socketPath}`);
      port = await freePort();
      up = true;
      await compose(project, port, ['up', '-d', '--build'], BUILD_TIMEOUT_MS);
      await waitForSite(port, 180_000);
    }, BUILD_TIMEOUT_MS + 240_000);

    afterAll(async () => {
      await browser?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
      if (up) await compose(project, port, ['down', '-v', '--remove-orphans'], 120_000).catch(() => undefined);
    }, 180_000);

    it('signs the demo user in through the browser and shows the protected page', async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      profile = mkdtempSync(join(tmpdir(), 'ljwt-chromium-'));
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        proxy: { server: `http://127.0.0.1:${port}` },
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
          '--disable-sync', '--no-first-run'],
      });
      const page = await browser.newPage();
      await page.goto(`${ORIGIN}/`);
      expect(new URL(page.url()).pathname).toBe('/_auth/authorize');
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('alice-demo');
      await Promise.all([page.waitForURL(`${ORIGIN}/`), page.getByRole('button', { name: 'Sign in' }).click()]);
      expect(await page.locator('#user').textContent()).toBe('alice');
      // Her groups come from the stack's OpenLDAP (demo/directory.ldif) through the group sync.
      expect(await page.locator('li').allTextContents()).toContain('cn=staff,ou=groups,dc=example,dc=com');
      await page.screenshot({ path: join(SCREENSHOTS, 'compose-stack-signed-in.png'), fullPage: true });
      const cookies = Object.fromEntries((await page.context().cookies()).map((c) => [c.name, c]));
      expect(cookies.ljwt_at?.httpOnly).toBe(true);
      expect(cookies.ljwt_rt?.httpOnly).toBe(true);
    }, 120_000);

    it('stops cleanly: docker-compose down -v leaves no container, network or volume of the project', async () => {
      expect((await projectResources(socketPath, project)).filter((r) => r.startsWith('container')).length).toBe(5);
      up = false;
      await compose(project, port, ['down', '-v', '--remove-orphans'], 120_000);
      expect(await projectResources(socketPath, project)).toEqual([]);
    }, 180_000);
  },
);
