// The whole browser sign-in path on 127.0.0.1: real slapd, the service
// (in-process, memory store), real nginx running nginx/examples/site-with-login.conf
// (templated by scripts/lib/site-config.mjs, as `npm run demo` does) and the demo
// upstream that reports the identity headers it received.
import { join } from 'node:path';
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import { startNginx, freePort, type NginxInstance } from './nginx.ts';
import { getRuntime, type Runtime } from './runtimes.ts';
import { FixedGroups, hiddenFields, makeConfig, startDirectory, startService, tempDir, type RunningService } from './service-app.ts';
import type { Slapd } from './slapd.ts';
import type { OAuthClientConfig, ServiceConfig } from '../../service/src/config/types.ts';
import { MemoryStore } from '../../service/src/store/memory-store.ts';
import { siteConfig } from '../../scripts/lib/site-config.mjs';
import { startUpstream, type UpstreamRequest } from '../../demo/upstream.mjs';

export const BROWSER_CLIENT = 'site';
export const ACCESS_COOKIE = 'ljwt_at';
export const REFRESH_COOKIE = 'ljwt_rt';

export interface E2eStack {
  origin: string;
  port: number;
  service: RunningService;
  nginx: NginxInstance;
  upstream: { port: number; requests: UpstreamRequest[] };
  groups: FixedGroups;
  /** Added to the service clock (seconds): negative values mint tokens that are already expired. */
  clock: { offset: number };
  slapd: Slapd;
  stop(): Promise<void>;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ host: '127.0.0.1', port }, () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

export async function startE2eStack(runtime: Runtime, opts: {
  slapd?: Slapd;
  config?: Partial<ServiceConfig>;
  /** Clients registered besides the site's own (their URIs depend on the origin, known only here). */
  extraClients?: (origin: string) => OAuthClientConfig[];
} = {}): Promise<E2eStack> {
  const ownSlapd = opts.slapd === undefined;
  const slapd = opts.slapd ?? await startDirectory();
  const keys = tempDir('ljwt-e2e-');
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const clock = { offset: 0 };
  const config = makeConfig(slapd, join(keys.dir, 'keys'), {
    issuer: `${origin}/_auth`,
    audience: [origin],
    accessTokenCookie: ACCESS_COOKIE,
    refreshTokenCookie: REFRESH_COOKIE,
    logoutRedirectUrl: `${origin}/_auth/login`,
    clients: [
      { clientId: BROWSER_CLIENT, redirectUris: [`${origin}/_auth/callback`], grantTypes: ['authorization_code', 'refresh_token'],
        postLogoutRedirectUris: [], scopes: ['openid', 'profile', 'email'] },
      ...(opts.extraClients?.(origin) ?? []),
    ],
    ...opts.config,
  });
  const groups = new FixedGroups({}, ['cn=engineering,ou=groups,dc=example,dc=com', 'cn=developers,ou=groups,dc=example,dc=com']);
  const service = await startService(config, new MemoryStore(), {
    groups,
    tuning: { accessTokenCookie: ACCESS_COOKIE, refreshTokenCookie: REFRESH_COOKIE },
    now: () => Math.floor(Date.now() / 1000) + clock.offset,
  });
  const upstream = await startUpstream();
  const servicePort = Number(new URL(service.base).port);
  let nginx: NginxInstance;
  try {
    nginx = await startNginx({
      runtime,
      ports: [],
      http: '',
      mainConf: siteConfig({ dir: '{{DIR}}', module: runtime.module, qjs: runtime.engine === 'qjs', listen: port,
        upstreamPort: upstream.port, servicePort, origin }),
    });
    const deadline = Date.now() + 15_000;
    while (!(await answers(port))) {
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}:\n${nginx.errorLog()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await upstream.close();
    await service.close();
    keys.remove();
    if (ownSlapd) await slapd.destroy();
    throw e;
  }
  return {
    origin, port, service, nginx, upstream, groups, clock, slapd,
    async stop() {
      await nginx.stop();
      await upstream.close();
      await service.close();
      keys.remove();
      if (ownSlapd) await slapd.destroy();
    },
  };
}

/** Minimal cookie jar for undici flows: name -> value, honouring Max-Age=0 and Path scoping. */
export class CookieJar {
  readonly cookies = new Map<string, { value: string; path: string }>();

  store(setCookie: string | string[] | undefined): void {
    const list = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
    for (const line of list) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const path = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const maxAge = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('max-age='));
      const key = `${name}\u0000${path}`;
      if (maxAge !== undefined && Number(maxAge.slice(8)) <= 0) this.cookies.delete(key);
      else this.cookies.set(key, { value, path });
    }
  }

  header(path: string): string {
    const out: string[] = [];
    for (const [key, c] of this.cookies) {
      const p = c.path.endsWith('/') ? c.path : `${c.path}/`;
      if (path === c.path || path.startsWith(p) || c.path === '/') out.push(`${key.split('\u0000')[0]}=${c.value}`);
    }
    return out.join('; ');
  }

  get(name: string): string | undefined {
    for (const [key, c] of this.cookies) if (key.split('\u0000')[0] === name) return c.value;
    return undefined;
  }

  names(): string[] {
    return [...this.cookies.keys()].map((k) => k.split('\u0000')[0]!);
  }
}


/** Request headers of a top-level navigation (Fetch Metadata: Sec-Fetch-Mode / Sec-Fetch-Dest). */
export const NAVIGATION = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

export interface BrowserResponse { status: number; location: string | undefined; setCookie: string[]; text: string; headers: Record<string, unknown> }

export interface E2eBrowser {
  /** The stack (valid once the beforeAll this registers has run). */
  readonly stack: E2eStack;
  /** A split token arrives as ~30 KB of Set-Cookie; browsers accept 256 KB of response headers, undici 16 KB by default. */
  readonly agent: Agent;
  /** One navigation-like request: the jar's cookies for the path go out, the Set-Cookie lines come back into the jar; no redirect followed. */
  go(jar: CookieJar, method: string, target: string, headers?: Record<string, string>, body?: string): Promise<BrowserResponse>;
}

/** The stack on bookworm-njs for a test file (started in beforeAll, stopped in afterAll) and a browser-like client for it. */
export function e2eBrowser(): E2eBrowser {
  let stack: E2eStack;
  const agent = new Agent({ maxHeaderSize: 256 * 1024 });
  beforeAll(async () => {
    stack = await startE2eStack(await getRuntime('bookworm-njs'));
  });
  afterAll(async () => {
    await stack?.stop();
    await agent.close();
  });
  return {
    get stack() { return stack; },
    agent,
    async go(jar, method, target, headers = {}, body) {
      const url = new URL(target, stack.origin);
      const cookie = jar.header(url.pathname);
      const r = await request(url, {
        method: method as 'GET',
        headers: { ...NAVIGATION, ...(cookie ? { cookie } : {}), ...headers },
        body: body ?? null,
        dispatcher: agent,
      });
      const text = await r.body.text();
      const sc = r.headers['set-cookie'];
      const setCookie = sc === undefined ? [] : Array.isArray(sc) ? sc : [sc];
      jar.store(setCookie);
      const loc = r.headers.location;
      return { status: r.statusCode, location: typeof loc === 'string' ? loc : undefined, setCookie, text, headers: r.headers };
    },
  };
}

/** A cookie-keeping client that walks the sign-in like a browser (same-origin redirects only). */
export class SiteClient {
  readonly jar = new CookieJar();
  constructor(readonly origin: string) {}

  async go(method: string, target: string, headers: Record<string, string> = {}, body?: string) {
    const url = new URL(target, this.origin);
    const cookie = this.jar.header(url.pathname);
    const r = await request(url, {
      method: method as 'GET',
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', ...(cookie ? { cookie } : {}), ...headers },
      body: body ?? null,
    });
    const text = await r.body.text();
    this.jar.store(r.headers['set-cookie']);
    const loc = r.headers.location;
    return { status: r.statusCode, location: typeof loc === 'string' ? loc : undefined, text };
  }

  /** GET `path`, follow redirects, sign in on the form, follow back; returns the final response. */
  async signIn(path: string, username: string, password: string) {
    let url = path;
    for (let i = 0; i < 10; i++) {
      const r = await this.go('GET', url);
      if (r.location === undefined) {
        if (new URL(url, this.origin).pathname !== '/_auth/authorize') return r;
        const fields = hiddenFields(r.text);
        const posted = await this.go('POST', '/_auth/authorize', { 'content-type': 'application/x-www-form-urlencoded' },
          new URLSearchParams({ ...fields, username, password }).toString());
        if (posted.location === undefined) return posted;
        url = posted.location;
        continue;
      }
      url = new URL(r.location, new URL(url, this.origin)).toString();
    }
    throw new Error('too many redirects');
  }
}
