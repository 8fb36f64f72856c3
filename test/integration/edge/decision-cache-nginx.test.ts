// The nginx-native decision cache (nginx/http-decision-cache.conf, server-decision-cache.conf,
// protect-cached.conf; njs/nginx/decision-cache-nginx.ts) inside real nginx: an allowed
// token's answer is served by proxy_cache, only for the whole same token at a location with
// the same settings and key files, never past exp + leeway or $ljwt_cache_max_age; refusals
// are never stored; the identity headers of a stored answer are the validator's, and a
// client's own X-Authenticated-* headers never pass. On runtimes whose nginx can revoke
// tokens (http-shared.conf) the cache steps aside and revocation applies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY_FILE_CHECK_SECONDS } from '#njs/cache/decision-entry.ts';
import { getRuntime, type RuntimeId } from '../../harness/runtimes.ts';
import { startNginx, type NginxInstance } from '../../harness/nginx.ts';
import { startEchoUpstream, headerValues, type EchoUpstream, type EchoedRequest } from '../../harness/echo-upstream.ts';
import { rawRequest, type RawResponse } from '../../harness/raw-http.ts';
import { generateTestKeys, jwksText, nowSeconds, publicJwk, signJwt, type TestKeys } from '../../harness/tokens.ts';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'api://edge';
const ADMINS_DN = 'cn=admins,ou=groups,dc=example,dc=com';
const REVOCATION_SECRET = 'decision-cache-nginx-revocation-secret-0123456789';

const API: [string, string][] = [['Accept', 'application/json']];
const bearer = (t: string, more: [string, string][] = []): [string, string][] =>
  [['Authorization', `Bearer ${t}`], ...API, ...more];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  return Object.assign({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now - 5, exp: now + 300 }, extra);
}

/** Flips one character in the middle of the signature, keeping it canonical base64url. */
function tamperSignature(token: string): string {
  const dot = token.lastIndexOf('.');
  const i = dot + 1 + Math.floor((token.length - dot - 1) / 2);
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}

// [path, directives]: every location includes protect-cached.conf and proxies to the echo upstream.
const LOCATIONS: [string, string][] = [
  ['/', ''],
  ['/group/', `set $ljwt_require_any_group "${ADMINS_DN}";`],
  ['/leeway0/', 'set $ljwt_leeway 0;'],
  ['/short-age/', 'set $ljwt_cache_max_age 4;'],
  ['/nocache/', 'set $ljwt_cache_max_age 0;'],
  ['/rotation/', 'set $ljwt_jwks_file "{{DIR}}/rotation.jwks";'],
  ['/cookie/', 'set $ljwt_cookie ljwt_at;'],
  ['/claimmap/', 'set $ljwt_claim_map "email=email";'],
  ['/login/', 'set $ljwt_login_url "https://login.test/login";'],
  ['/pass-auth/', 'set $ljwt_pass_authorization on;'],
];

function httpBlock(echoPort: number, sharedDict: boolean): string {
  const locs = LOCATIONS.map(([path, extra]) => `
    location ${path} {
      set $ljwt_audience "${AUDIENCE}";
      set $ljwt_jwks_file "{{DIR}}/keys.jwks";
      ${extra}
      include {{DIR}}/protect-cached.conf;
      add_header X-Ljwt-Cache $ljwt_cache_status always;
      proxy_pass http://ljwt_echo;
    }`).join('\n');
  return `
  include {{DIR}}/http.conf;
  include {{DIR}}/http-decision-cache.conf;${sharedDict ? '\n  include {{DIR}}/http-shared.conf;' : ''}
  js_var $ljwt_claim_email;
  # Tokens of users in many groups exceed one 8k header buffer.
  large_client_header_buffers 4 32k;
  # Test-only: every request's decision cache status, also for refused ones (whose
  # error_page response has no add_header of the location).
  log_format ljwt_cache '$request_uri $status cache=$ljwt_cache_status';
  upstream ljwt_echo { server 127.0.0.1:${echoPort}; }
  server {
    listen 127.0.0.1:{{PORT:main}};
    access_log {{DIR}}/cache.log ljwt_cache;
    include {{DIR}}/server.conf;
    include {{DIR}}/server-decision-cache.conf;
    set $ljwt_issuer "${ISSUER}";
    # protect.conf, uncached, as the reference for the identity headers.
    location /plain/ {
      set $ljwt_audience "${AUDIENCE}";
      set $ljwt_jwks_file "{{DIR}}/keys.jwks";
      include {{DIR}}/protect.conf;
      proxy_pass http://ljwt_echo;
    }
${locs}
  }
  # A server-level value that a location sets again: the auth subrequest re-runs the
  # server's \`set\` (nginx/server.conf), which must never turn into the location's policy.
  server {
    listen 127.0.0.1:{{PORT:unguarded}};
    include {{DIR}}/server.conf;
    include {{DIR}}/server-decision-cache.conf;
    set $ljwt_issuer "${ISSUER}";
    set $ljwt_audience "api://other";
    set $ljwt_jwks_file "{{DIR}}/keys.jwks";
    location / {
      set $ljwt_audience "${AUDIENCE}";
      include {{DIR}}/protect-cached.conf;
      proxy_pass http://ljwt_echo;
    }
  }${sharedDict ? `
  server {
    listen 127.0.0.1:{{PORT:revoke}};
    set $ljwt_revocation_secret_file {{DIR}}/revocation.secret;
    include {{DIR}}/revocation-endpoint.conf;
  }` : ''}`;
}

interface Fixture {
  keys: TestKeys;
  nginx: NginxInstance;
  echo: EchoUpstream;
  request(path: string, headers: [string, string][], method?: string): Promise<{ res: RawResponse; upstream: EchoedRequest | null; cache: string }>;
  stop(): Promise<void>;
}

function rotationJwks(keys: TestKeys, withSecond: boolean): string {
  const list = [publicJwk(keys.rsa, { alg: 'RS256' })];
  if (withSecond) list.push(publicJwk(keys.rsa2, { alg: 'RS256' }));
  return jwksText(list);
}

async function startFixture(id: RuntimeId, sharedDict: boolean): Promise<Fixture> {
  const runtime = await getRuntime(id);
  const keys = generateTestKeys();
  const echo = await startEchoUpstream();
  let nginx: NginxInstance;
  try {
    nginx = await startNginx({
      runtime,
      ports: sharedDict ? ['main', 'unguarded', 'revoke'] : ['main', 'unguarded'],
      http: httpBlock(echo.port, sharedDict),
      files: {
        'keys.jwks': jwksText([keys.rsa, keys.ec256]),
        'rotation.jwks': rotationJwks(keys, true),
        'revocation.secret': REVOCATION_SECRET,
      },
    });
  } catch (e) {
    await echo.close();
    throw e;
  }
  const cacheLog = () => { try { return readFileSync(join(nginx.hostDir, 'cache.log'), 'utf8'); } catch { return ''; } };
  return {
    keys,
    nginx,
    echo,
    async request(path, headers, method = 'GET') {
      const before = echo.requests.length;
      const logged = cacheLog().length;
      const res = await rawRequest(nginx.ports.main, method, path, headers);
      const upstream = echo.requests.length > before ? echo.requests[echo.requests.length - 1] : null;
      // nginx writes the access log line after the response; wait for it.
      let line = '';
      for (let i = 0; i < 50 && line === ''; i++) {
        line = cacheLog().slice(logged).trim();
        if (line === '') await sleep(10);
      }
      const m = / cache=(\S*)$/.exec(line);
      return { res, upstream, cache: m ? m[1] : '' };
    },
    async stop() {
      await nginx.stop();
      await echo.close();
    },
  };
}

function identity(up: EchoedRequest): string[][] {
  return ['X-Authenticated-User', 'X-Authenticated-Group-DNs', 'X-Authenticated-OIDs'].map((h) => headerValues(up, h));
}

const CASES: RuntimeId[] = ['bookworm-njs', 'trixie-njs', 'testing-njs', 'testing-qjs'];

describe.each(CASES)('nginx-native decision cache on %s', (id: RuntimeId) => {
  let f: Fixture;
  beforeAll(async () => { f = await startFixture(id, false); });
  afterAll(async () => { await f?.stop(); });

  async function allowed(path: string, token: string, more: [string, string][] = []): Promise<{ up: EchoedRequest; cache: string }> {
    const { res, upstream, cache } = await f.request(path, bearer(token, more));
    expect(res.status, res.body).toBe(200);
    expect(upstream).not.toBeNull();
    return { up: upstream!, cache };
  }

  async function refused(path: string, token: string, status: number): Promise<string> {
    const { res, upstream, cache } = await f.request(path, bearer(token));
    expect(res.status).toBe(status);
    expect(upstream).toBeNull();
    expect(cache).not.toBe('HIT');
    return cache;
  }

  it('answers a second request with the same token from the cache', async () => {
    const t = signJwt(f.keys, 'ES256', claims());
    expect((await allowed('/', t)).cache).toBe('MISS');
    expect((await allowed('/', t)).cache).toBe('HIT');
    expect((await allowed('/', t)).cache).toBe('HIT');
    // The auth subrequest is a GET whatever the client's method: a POST reuses the answer too.
    const { res, cache } = await f.request('/', bearer(t), 'POST');
    expect(res.status).toBe(200);
    expect(cache).toBe('HIT');
  });

  it('sends a browser without a valid token to the login page, an API client a challenge', async () => {
    const browser: [string, string][] = [['Accept', 'text/html,application/xhtml+xml'], ['Sec-Fetch-Mode', 'navigate']];
    const nav = await f.request('/login/page?x=1', browser);
    expect(nav.res.status).toBe(302);
    expect(nav.res.header('Location')).toBe('https://login.test/login?rd=%2Flogin%2Fpage%3Fx%3D1');
    const api = await f.request('/login/page', bearer(tamperSignature(signJwt(f.keys, 'ES256', claims()))));
    expect(api.res.status).toBe(401);
    expect(api.res.header('WWW-Authenticate')).toBe('Bearer realm="nginx-ldap-jwt", error="invalid_token", ' +
      'error_description="The access token signature is invalid"');
  });

  it('never answers a token that differs in any byte from a cached one', async () => {
    const t = signJwt(f.keys, 'RS256', claims());
    await allowed('/', t);
    expect((await allowed('/', t)).cache).toBe('HIT');
    await refused('/', tamperSignature(t), 401);
    // Same header and signature, another payload.
    const parts = t.split('.');
    const other = signJwt(f.keys, 'RS256', claims({ sub: 'mallory' })).split('.');
    await refused('/', `${parts[0]}.${other[1]}.${parts[2]}`, 401);
    // Another header (typ) under the same payload and signature.
    const hdr = signJwt(f.keys, 'RS256', claims(), { header: { typ: 'JWT' } }).split('.')[0];
    await refused('/', `${hdr}.${parts[1]}.${parts[2]}`, 401);
    await refused('/', t + 'A', 401);
    // The good token is still served from the cache after the bad ones.
    expect((await allowed('/', t)).cache).toBe('HIT');
  });

  it('never stores a refusal: 401 and 403 are decided afresh every time', async () => {
    const tampered = tamperSignature(signJwt(f.keys, 'ES256', claims()));
    expect(await refused('/', tampered, 401)).toBe('MISS');
    expect(await refused('/', tampered, 401)).toBe('MISS');
    const outsider = signJwt(f.keys, 'ES256', claims({ dns: ['cn=users,ou=groups,dc=example,dc=com'] }));
    expect(await refused('/group/', outsider, 403)).toBe('MISS');
    expect(await refused('/group/', outsider, 403)).toBe('MISS');
    // A token refused as not yet valid passes once its nbf is reached: the 401 was not kept.
    const nbf = nowSeconds() + 2;
    const early = signJwt(f.keys, 'ES256', claims({ nbf }));
    await refused('/leeway0/', early, 401);
    await sleep((nbf - Date.now() / 1000) * 1000 + 300);
    expect((await allowed('/leeway0/', early)).cache).toBe('MISS');
    // No token at all: not cacheable, refused by the validator every time.
    const { res, cache } = await f.request('/', API);
    expect(res.status).toBe(401);
    expect(res.header('WWW-Authenticate')).toMatch(/^Bearer realm="nginx-ldap-jwt"$/);
    expect(cache).toBe('BYPASS');
    // An invalid token is reported as such by the error page (the code comes back from the validator).
    const bad = await f.request('/', bearer(tampered));
    expect(bad.res.header('WWW-Authenticate')).toContain('error="invalid_token"');
  });

  it('never serves a stored answer past the token\'s exp', async () => {
    const exp = nowSeconds() + 5;
    const t = signJwt(f.keys, 'ES256', claims({ exp }));
    expect((await allowed('/leeway0/', t)).cache).toBe('MISS');
    expect((await allowed('/leeway0/', t)).cache).toBe('HIT');
    await sleep((exp - Date.now() / 1000) * 1000 + 300);
    const mark = f.nginx.logMark();
    await refused('/leeway0/', t, 401);
    expect(f.nginx.logSince(mark)).toContain('ERR_JWT_EXPIRED');
    // A token too close to its exp is not stored at all.
    const soon = signJwt(f.keys, 'ES256', claims({ exp: nowSeconds() + 2 }));
    expect((await allowed('/leeway0/', soon)).cache).toBe('MISS');
    expect((await allowed('/leeway0/', soon)).cache).toBe('MISS');
  });

  it('keeps an answer no longer than $ljwt_cache_max_age, and not at all with 0', async () => {
    const t = signJwt(f.keys, 'ES256', claims());
    expect((await allowed('/short-age/', t)).cache).toBe('MISS');
    expect((await allowed('/short-age/', t)).cache).toBe('HIT');
    await sleep(3200); // 4 s max age, stored for 2 s
    expect((await allowed('/short-age/', t)).cache).toMatch(/^(MISS|EXPIRED)$/);
    expect((await allowed('/nocache/', t)).cache).toBe('BYPASS');
    expect((await allowed('/nocache/', t)).cache).toBe('BYPASS');
  });

  it('never reuses an answer at a location with other settings', async () => {
    const t = signJwt(f.keys, 'ES256', claims());
    await allowed('/', t);
    expect((await allowed('/', t)).cache).toBe('HIT');
    expect(await refused('/group/', t, 403)).toBe('MISS');
    expect((await allowed('/leeway0/', t)).cache).toBe('MISS');
  });

  it('forgets answers reached with a key file that has changed', async () => {
    const file = join(f.nginx.hostDir, 'rotation.jwks');
    const t = signJwt(f.keys, 'RS256', claims(), { key: f.keys.rsa2 });
    try {
      await allowed('/rotation/', t);
      expect((await allowed('/rotation/', t)).cache).toBe('HIT');
      writeFileSync(file, rotationJwks(f.keys, false));
      // Another key file identity: the stored answer is never found again.
      expect((await f.request('/rotation/', bearer(t))).cache).not.toBe('HIT');
      // The validator behind the cache trusts a key file's identity for
      // KEY_FILE_CHECK_SECONDS (QuickJS keeps parsed keys), then reads it again.
      await sleep(KEY_FILE_CHECK_SECONDS * 1000 + 200);
      await refused('/rotation/', t, 401);
    } finally {
      writeFileSync(file, rotationJwks(f.keys, true));
    }
    expect((await allowed('/rotation/', t)).cache).toBe('MISS');
  });

  it('gives the upstream the validator\'s identity headers on a hit, never the client\'s', async () => {
    const t = signJwt(f.keys, 'ES256', claims({ dns: [ADMINS_DN, 'cn=Smith\\, John,ou=people,dc=example,dc=com'],
      oids: ['11111111-2222-3333-4444-555555555555', 'a b'] }));
    const spoofed: [string, string][] = [['X-Authenticated-User', 'admin'], ['x-authenticated-group-dns', 'cn=root'],
      ['X-Authenticated-OIDs', 'oid-root'], ['X-Ljwt-User', 'admin']];
    const reference = (await f.request('/plain/', bearer(t, spoofed))).upstream!;
    expect(identity(reference)[0]).toEqual(['alice']);
    const miss = await allowed('/group/', t, spoofed);
    const hit = await allowed('/group/', t, spoofed);
    expect(miss.cache).toBe('MISS');
    expect(hit.cache).toBe('HIT');
    expect(identity(miss.up)).toEqual(identity(reference));
    expect(identity(hit.up)).toEqual(identity(reference));
    // A token without groups: no group or OID header at all, also on a hit.
    const bare = signJwt(f.keys, 'ES256', claims({ sub: 'bob' }));
    await allowed('/', bare, spoofed);
    const bareHit = await allowed('/', bare, spoofed);
    expect(bareHit.cache).toBe('HIT');
    expect(identity(bareHit.up)).toEqual([['bob'], [], []]);
    expect(headerValues(bareHit.up, 'X-Ljwt-User')).toEqual(['admin']); // not ours: passed on untouched
  });

  it('keeps the identity of a user in many groups (answer headers beyond one page)', async () => {
    const dns = [ADMINS_DN];
    for (let i = 0; i < 95; i++) dns.push(`cn=group-${i},ou=projects,ou=groups,dc=example,dc=com`);
    const t = signJwt(f.keys, 'ES256', claims({ dns }));
    const plain = await f.request('/plain/', bearer(t));
    expect(plain.res.status, plain.res.body + f.nginx.errorLog().slice(-600)).toBe(200);
    const reference = plain.upstream!;
    expect(identity(reference)[1][0].length).toBeGreaterThan(4500);
    const miss = await allowed('/group/', t);
    const hit = await allowed('/group/', t);
    expect(hit.cache).toBe('HIT');
    expect(identity(miss.up)).toEqual(identity(reference));
    expect(identity(hit.up)).toEqual(identity(reference));
  });

  it('removes the token cookie from the upstream request per request, on a hit too', async () => {
    const t = signJwt(f.keys, 'ES256', claims());
    const one = await f.request('/cookie/', [['Cookie', `a=1; ljwt_at=${t}`], ...API]);
    expect(one.res.status).toBe(200);
    expect(one.cache).toBe('MISS');
    expect(headerValues(one.upstream!, 'Cookie')).toEqual(['a=1']);
    const two = await f.request('/cookie/', [['Cookie', `ljwt_at=${t}; b=2`], ...API]);
    expect(two.cache).toBe('HIT');
    expect(headerValues(two.upstream!, 'Cookie')).toEqual(['b=2']);
    expect(identity(two.upstream!)[0]).toEqual(['alice']);
  });

  it('removes the bearer Authorization header from the upstream request, on a hit too', async () => {
    const t = signJwt(f.keys, 'ES256', claims());
    const one = await f.request('/', bearer(t));
    expect(one.res.status).toBe(200);
    expect(one.cache).toBe('MISS');
    expect(headerValues(one.upstream!, 'Authorization')).toEqual([]);
    const two = await f.request('/', bearer(t));
    expect(two.cache).toBe('HIT');
    expect(headerValues(two.upstream!, 'Authorization')).toEqual([]);
    // Another scheme passes unchanged (the token came in the cookie).
    const basic = await f.request('/cookie/', [['Cookie', `ljwt_at=${t}`], ['Authorization', 'Basic YTpi'], ...API]);
    expect(basic.res.status).toBe(200);
    expect(headerValues(basic.upstream!, 'Authorization')).toEqual(['Basic YTpi']);
    // $ljwt_pass_authorization on: the API behind verifies the token itself.
    await f.request('/pass-auth/', bearer(t));
    const passed = await f.request('/pass-auth/', bearer(t));
    expect(passed.cache).toBe('HIT');
    expect(headerValues(passed.upstream!, 'Authorization')).toEqual([`Bearer ${t}`]);
  });

  it('answers a refused API client with the JSON error of the validator', async () => {
    const api = await f.request('/', bearer(tamperSignature(signJwt(f.keys, 'ES256', claims()))));
    expect(api.res.status).toBe(401);
    expect(api.res.header('Cache-Control')).toBe('no-store');
    expect(JSON.parse(api.res.body)).toEqual({ error: 'invalid_token', error_description: 'The access token signature is invalid' });
    const none = await f.request('/', API);
    expect(none.res.status).toBe(401);
    expect(JSON.parse(none.res.body).error).toBe('unauthorized');
  });

  it('refuses $ljwt_claim_map with a configuration error', async () => {
    const mark = f.nginx.logMark();
    const { res, upstream } = await f.request('/claimmap/', bearer(signJwt(f.keys, 'ES256', claims({ email: 'a@b' }))));
    expect(res.status).toBe(500);
    expect(upstream).toBeNull();
    expect(f.nginx.logSince(mark)).toContain('$ljwt_claim_map is not supported with protect-cached.conf');
  });

  it('answers 500 when the auth subrequest sees other settings than the location', async () => {
    const mark = f.nginx.logMark();
    const res = await rawRequest(f.nginx.ports.unguarded, 'GET', '/', bearer(signJwt(f.keys, 'ES256', claims())));
    expect(res.status).toBe(500);
    expect(f.nginx.logSince(mark)).toContain('$ljwt_audience differs from its value where protect.conf was included');
  });

  it('stores no token in the cache files', async () => {
    const t = signJwt(f.keys, 'ES256', claims({ sub: 'carol' }));
    await allowed('/', t);
    expect((await allowed('/', t)).cache).toBe('HIT');
    const { execFileSync } = await import('node:child_process');
    const files = execFileSync('find', [join(f.nginx.hostDir, 'decisions'), '-type', 'f'], { encoding: 'utf8' })
      .split('\n').filter(Boolean);
    expect(files.length).toBeGreaterThan(0);
    const contents = files.map((p) => readFileSync(p, 'latin1'));
    expect(contents.some((c) => c.includes('carol'))).toBe(true);
    const signature = t.split('.')[2];
    for (const c of contents) expect(c.includes(signature)).toBe(false);
  });
});

describe.each(['testing-njs', 'testing-qjs'] as RuntimeId[])('nginx-native decision cache with revocation on %s', (id) => {
  let f: Fixture;
  beforeAll(async () => { f = await startFixture(id, true); });
  afterAll(async () => { await f?.stop(); });

  it('steps aside where nginx can revoke tokens: revocation applies to every request', async () => {
    const t = signJwt(f.keys, 'ES256', claims({ sid: 'session-1' }));
    for (let i = 0; i < 2; i++) {
      const { res, cache } = await f.request('/', bearer(t));
      expect(res.status).toBe(200);
      expect(cache).toBe('BYPASS');
    }
    const body = JSON.stringify({ revoke: [{ sid: 'session-1', until: nowSeconds() + 600 }] });
    const push = await fetch(f.nginx.url('revoke', '/_ljwt/revoke'), { method: 'POST', body,
      headers: { Authorization: `Bearer ${REVOCATION_SECRET}`, 'Content-Type': 'application/json' } });
    expect(push.status).toBe(204);
    const { res, upstream } = await f.request('/', bearer(t));
    expect(res.status).toBe(401);
    expect(upstream).toBeNull();
  });
});
