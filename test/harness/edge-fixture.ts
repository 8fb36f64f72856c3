// One nginx per runtime for the edge integration tests: the project's
// nginx/http.conf, server.conf and protect.conf included unchanged, several
// locations with different $ljwt_* settings, an echo upstream and a fake
// identity provider serving JWKS documents (for the subrequest + proxy_cache path).
import { createServer, type Server } from 'node:http';
import { startNginx, type NginxInstance } from './nginx.ts';
import { startEchoUpstream, type EchoUpstream, type EchoedRequest } from './echo-upstream.ts';
import { generateTestKeys, jwksText, publicJwk, publicPem, type TestKeys } from './tokens.ts';
import type { Runtime, RuntimeId } from './runtimes.ts';
import { rawRequest, type RawResponse } from './raw-http.ts';

export const ISSUER = 'https://idp.test';
export const AUDIENCE = 'api://edge';
export const LOGIN_URL = 'https://login.test/login';
export const REALM = 'nginx-ldap-jwt';
export const ADMINS_DN = 'cn=admins,ou=groups,dc=example,dc=com';
export const OPS_DN = 'cn=ops,ou=groups,dc=example,dc=com';
/** Bearer secret of the fixture's revocation endpoint (port `revoke`, runtimes with shared dicts). */
export const REVOCATION_SECRET = 'edge-fixture-revocation-secret-0123456789';

export interface FakeIdp {
  port: number;
  hits: { [path: string]: number };
  /** Raw header names of every request received, in order. */
  headerNames: string[][];
  /** Response for a path: [status, body]. */
  routes: { [path: string]: [number, string] };
  close(): Promise<void>;
}

export async function startFakeIdp(): Promise<FakeIdp> {
  const hits: { [path: string]: number } = {};
  const routes: { [path: string]: [number, string] } = {};
  const headerNames: string[][] = [];
  const server: Server = createServer((req, res) => {
    headerNames.push(req.rawHeaders.filter((_h, i) => i % 2 === 0));
    const path = req.url ?? '';
    hits[path] = (hits[path] ?? 0) + 1;
    const r = routes[path] ?? [404, 'not found'];
    res.writeHead(r[0], { 'Content-Type': 'application/json' });
    res.end(r[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    hits,
    headerNames,
    routes,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export interface EdgeFixture {
  runtime: Runtime;
  keys: TestKeys;
  nginx: NginxInstance;
  echo: EchoUpstream;
  idp: FakeIdp;
  /** $ljwt_cache_status of the last request to the main server (from its access log). */
  lastCacheStatus(): Promise<string>;
  /** Request to the main server; returns the response and what the upstream got (if reached). */
  request(path: string, headers?: [string, string][], method?: string, server?: string): Promise<EdgeResult>;
  stop(): Promise<void>;
}

export interface EdgeResult {
  res: RawResponse;
  upstream: EchoedRequest | null;
}

// `location` blocks: [path prefix, extra directives]. Every one proxies to the echo upstream.
const LOCATIONS: [string, string][] = [
  ['/', ''],
  ['/hs/', 'set $ljwt_algorithms "HS256 HS384 HS512 RS256";'],
  ['/es256-only/', 'set $ljwt_algorithms "ES256";'],
  ['/eddsa/', 'set $ljwt_algorithms "EdDSA";'],
  ['/leeway0/', 'set $ljwt_leeway 0;'],
  ['/typ-off/', 'set $ljwt_typ off;'],
  ['/aud-off/', 'set $ljwt_audience off;'],
  ['/short/', 'set $ljwt_max_token_length 1000;'],
  ['/group-any/', `set $ljwt_require_any_group "CN=Admins, OU=Groups, DC=Example, DC=com | ${OPS_DN}";`],
  ['/group-all/', `set $ljwt_require_all_groups "${ADMINS_DN}|${OPS_DN}";`],
  ['/scope/', 'set $ljwt_require_scope "read write";'],
  ['/claim/', 'set $ljwt_require_claim "department=eng level=3";'],
  ['/cookie/', 'set $ljwt_cookie ljwt_at;'],
  ['/nocache/', 'set $ljwt_cache_max_age 0;'],
  ['/pass-authorization/', 'set $ljwt_pass_authorization on;'],
  ['/claims-no-exp/', 'set $ljwt_required_claims "sub email";'],
  ['/nologin/', 'set $ljwt_login_url "";'],
  ['/pem/', 'set $ljwt_jwks_file ""; set $ljwt_pem_files "{{DIR}}/rsa.pem {{DIR}}/ec256.pem {{DIR}}/rsa2-pkcs1.pem";'],
  ['/rotation/', 'set $ljwt_jwks_file "{{DIR}}/rotation.jwks";'],
  ['/jwks-sub/', 'set $ljwt_jwks_file ""; set $ljwt_jwks_location /_ljwt/jwks;'],
  ['/jwks-big/', 'set $ljwt_jwks_file ""; set $ljwt_jwks_location /_ljwt/jwks-big;'],
  ['/jwks-fallback/', 'set $ljwt_jwks_location /_ljwt/jwks-broken;'],
  ['/jwks-broken-only/', 'set $ljwt_jwks_file ""; set $ljwt_jwks_location /_ljwt/jwks-broken;'],
  ['/missing-key/', 'set $ljwt_jwks_file "{{DIR}}/does-not-exist.jwks";'],
  ['/unreadable-key/', 'set $ljwt_jwks_file "{{DIR}}/unreadable.jwks";'],
  ['/bad-config/', 'set $ljwt_leeway "soon";'],
  ['/claimmap-undeclared/', 'set $ljwt_claim_map "nope=email";'],
  // Checked here, then redirected internally (try_files runs after the access phase) to
  // @ljwt_admins, which checks again with its own policy.
  ['/redirect-to-admins/', 'try_files /ljwt-no-such-file @ljwt_admins;'],
  ['/claimmap/', 'set $ljwt_claim_map "email=email dept=org.department";\n' +
    '      proxy_set_header X-Email $ljwt_claim_email;\n      proxy_set_header X-Dept $ljwt_claim_dept;'],
];

// Settings shared by the locations of the main server, repeated in each location (the
// documented pattern: nginx re-runs server-level `set` for the auth subrequest, which
// would reset a value that a location overrides). Location-specific `set`s follow and win.
const COMMON = `set $ljwt_audience "${AUDIENCE}";
      set $ljwt_jwks_file "{{DIR}}/keys.jwks";
      set $ljwt_login_url "${LOGIN_URL}";`;

/**
 * How the fixture protects its locations. `auth_request`: protect.conf (every runtime).
 * `js_access`: protect-access.conf (njs >= 0.9.9). Where the runtime has shared dicts,
 * nginx/http-shared.conf is included too, so every test also runs with the shared
 * verified-token cache and revocation zone (QuickJS without it uses its module cache).
 */
export type EdgeMode = 'auth_request' | 'js_access';

/**
 * An nginx `location /` protected by protect.conf for `issuers` and
 * AUDIENCE with the key file {{DIR}}/keys.jwks, proxying to the upstream
 * `ljwt_echo` and reporting $ljwt_cache_status as X-Ljwt-Cache: the site of
 * the tests that watch the shared zones.
 */
export function cachedEchoLocation(issuers: string): string {
  return `
    location / {
      set $ljwt_issuer "${issuers}";
      set $ljwt_audience "${AUDIENCE}";
      set $ljwt_jwks_file "{{DIR}}/keys.jwks";
      include {{DIR}}/protect.conf;
      add_header X-Ljwt-Cache $ljwt_cache_status always;
      proxy_pass http://ljwt_echo;
    }`;
}

/** Every runtime with protect.conf, plus the runtimes that have js_access with protect-access.conf. */
export const EDGE_MODE_CASES: [RuntimeId, EdgeMode][] = [
  ['bookworm-njs', 'auth_request'], ['trixie-njs', 'auth_request'], ['testing-njs', 'auth_request'], ['testing-qjs', 'auth_request'],
  ['testing-njs', 'js_access'], ['testing-qjs', 'js_access'],
];

function nginxHttp(echoPort: number, idpPort: number, runtime: Runtime, mode: EdgeMode): string {
  const protect = mode === 'js_access' ? 'protect-access.conf' : 'protect.conf';
  const locs = LOCATIONS.map(([path, extra]) => `
    location ${path} {
      ${COMMON}
      ${extra}
      include {{DIR}}/${protect};
      add_header X-Ljwt-Cache $ljwt_cache_status always;
      proxy_pass http://ljwt_echo;
    }`).join('\n');
  return `
  include {{DIR}}/http.conf;${runtime.sharedDict ? '\n  include {{DIR}}/http-shared.conf;' : ''}
  js_var $ljwt_claim_email;
  js_var $ljwt_claim_dept;
  # Bearer headers near the 8 KiB token limit must reach the validator.
  large_client_header_buffers 4 32k;
  proxy_cache_path {{DIR}}/jwks-cache levels=1 keys_zone=ljwt_jwks:1m max_size=10m inactive=1d use_temp_path=off;
  upstream ljwt_echo { server 127.0.0.1:${echoPort}; }
  # $ljwt_cache_status of every request, refused ones too (their response comes from
  # server.conf's error page, which the location's add_header does not reach).
  log_format ljwt_cache_status '$request_uri $ljwt_cache_status';
  server {
    listen 127.0.0.1:{{PORT:main}};
    access_log {{DIR}}/cache-status.log ljwt_cache_status;
    include {{DIR}}/server.conf;
    # Not inherited by locations that include protect.conf (they define proxy_set_header).
    proxy_set_header X-From-Server "yes";
    # Server level: only values that no location of this server sets again.
    set $ljwt_issuer "${ISSUER} https://other-idp.test";

    # The JWKS URL location as documented (commented) in nginx/server.conf.
    location = /_ljwt/jwks {
      internal;
      proxy_pass http://127.0.0.1:${idpPort}/jwks.json;
      proxy_method GET;
      proxy_pass_request_headers off;
      proxy_pass_request_body off;
      proxy_set_header Accept "application/json";
      proxy_cache ljwt_jwks;
      proxy_cache_key "ljwt_jwks";
      proxy_cache_valid 200 2s;
      proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
      proxy_cache_lock on;
      proxy_ignore_headers Cache-Control Expires Set-Cookie Vary;
    }
    location = /_ljwt/jwks-big {
      internal;
      proxy_pass http://127.0.0.1:${idpPort}/big.json;
      proxy_pass_request_headers off;
    }
    location = /_ljwt/jwks-broken {
      internal;
      proxy_pass http://127.0.0.1:${idpPort}/broken.json;
      proxy_pass_request_headers off;
    }
${locs}
    location @ljwt_admins {
      ${COMMON}
      set $ljwt_require_any_group "${ADMINS_DN}";
      include {{DIR}}/${protect};
      add_header X-Ljwt-Cache $ljwt_cache_status always;
      proxy_pass http://ljwt_echo;
    }
  }
  ${runtime.sharedDict ? `# The service's revocation push target (nginx/revocation-endpoint.conf).
  server {
    listen 127.0.0.1:{{PORT:revoke}};
    set $ljwt_revocation_secret_file {{DIR}}/revocation.secret;
    include {{DIR}}/revocation-endpoint.conf;
  }` : ''}
  # Server-wide defaults that locations override, written with the guard documented in
  # nginx/server.conf: the auth subrequest re-runs this server-level block and must not
  # reset the location's value.
  server {
    listen 127.0.0.1:{{PORT:guard}};
    include {{DIR}}/server.conf;
    set $ljwt_issuer "${ISSUER}";
    set $ljwt_audience "${AUDIENCE}";
    if ($ljwt_jwks_file = "") { set $ljwt_jwks_file "{{DIR}}/keys.jwks"; }
    location / {
      include {{DIR}}/protect.conf;
      proxy_pass http://ljwt_echo;
    }
    location /rotation/ {
      set $ljwt_jwks_file "{{DIR}}/rotation.jwks";
      include {{DIR}}/protect.conf;
      proxy_pass http://ljwt_echo;
    }
  }
  # The pitfall itself, kept as a regression check of the nginx behaviour the guard is for.
  server {
    listen 127.0.0.1:{{PORT:unguarded}};
    include {{DIR}}/server.conf;
    set $ljwt_issuer "${ISSUER}";
    set $ljwt_audience "${AUDIENCE}";
    set $ljwt_jwks_file "{{DIR}}/keys.jwks";
    location /rotation/ {
      set $ljwt_jwks_file "{{DIR}}/rotation.jwks";
      include {{DIR}}/protect.conf;
      proxy_pass http://ljwt_echo;
    }
  }`;
}

export async function startEdgeFixture(runtime: Runtime, keys: TestKeys = generateTestKeys(),
  mode: EdgeMode = 'auth_request'): Promise<EdgeFixture> {
  if (mode === 'js_access' && !runtime.jsAccess) throw new Error(`${runtime.id} has no js_access`);
  const echo = await startEchoUpstream();
  const idp = await startFakeIdp();
  idp.routes['/jwks.json'] = [200, jwksText([keys.rsa2, keys.ec384])];
  idp.routes['/broken.json'] = [500, '{"error":"down"}'];
  // Far beyond one page (the default subrequest_output_buffer_size): 40 RSA keys.
  const many = [];
  for (let i = 0; i < 40; i++) many.push(publicJwk(keys.stranger, { kid: `old-${i}` }));
  many.push(publicJwk(keys.rsa2));
  idp.routes['/big.json'] = [200, JSON.stringify({ keys: many })];
  idp.routes['/stranger.jwks'] = [200, jwksText([keys.stranger])];
  const files: Record<string, string> = {
    'keys.jwks': jwksText([keys.rsa, keys.ec256, keys.ec384, keys.ec521, keys.ed25519, keys.hs256, keys.hs384,
      keys.hs512]),
    'rotation.jwks': jwksText([publicJwk(keys.rsa, { alg: 'RS256' }), publicJwk(keys.rsa2, { alg: 'RS256' }),
      publicJwk(keys.ec256, { use: 'enc' })]),
    'rsa.pem': publicPem(keys.rsa),
    'ec256.pem': publicPem(keys.ec256),
    'rsa2-pkcs1.pem': publicPem(keys.rsa2, 'pkcs1'),
    'unreadable.jwks': jwksText([keys.rsa]),
    'revocation.secret': REVOCATION_SECRET,
  };
  let nginx: NginxInstance;
  try {
    nginx = await startNginx({ runtime, ports: ['main', 'guard', 'unguarded'].concat(runtime.sharedDict ? ['revoke'] : []), http: nginxHttp(echo.port, idp.port, runtime, mode), files });
  } catch (e) {
    await echo.close();
    await idp.close();
    throw e;
  }
  // Readable only by root: the www-data worker cannot open it.
  const { chmodSync } = await import('node:fs');
  chmodSync(`${nginx.hostDir}/unreadable.jwks`, 0o600);
  const { readFileSync } = await import('node:fs');
  const cacheLog = () => readFileSync(`${nginx.hostDir}/cache-status.log`, 'utf8').split('\n').filter(Boolean);
  let cacheLogBefore = 0;

  return {
    runtime,
    keys,
    nginx,
    echo,
    idp,
    async lastCacheStatus() {
      // The log line is written after the response: wait for it.
      for (let i = 0; i < 80; i++) {
        const lines = cacheLog();
        if (lines.length > cacheLogBefore) return lines[lines.length - 1].split(' ')[1] ?? '';
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no access log line for the last request');
    },
    async request(path, headers = [], method = 'GET', server = 'main') {
      const before = echo.requests.length;
      if (server === 'main') cacheLogBefore = cacheLog().length;
      const res = await rawRequest(nginx.ports[server], method, path, headers);
      const upstream = echo.requests.length > before ? echo.requests[echo.requests.length - 1] : null;
      return { res, upstream };
    },
    async stop() {
      await nginx.stop();
      await echo.close();
      await idp.close();
    },
  };
}

export interface OneServerEdge {
  keys: TestKeys;
  nginx: NginxInstance;
  echo: EchoUpstream;
  stop(): Promise<void>;
}

/**
 * One nginx server on {{PORT:<port>}} (`listen` parameters after the address, e.g. " http2")
 * with the fixture's issuer and audience and an ES256 key file; `settings(echoPort)` adds the
 * rest of the server block (more `set`s and the locations).
 */
export async function startOneServerEdge(runtime: Runtime, port: string, listen: string,
  settings: (echoPort: number) => string): Promise<OneServerEdge> {
  const keys = generateTestKeys();
  const echo = await startEchoUpstream();
  let nginx: NginxInstance;
  try {
    nginx = await startNginx({ runtime, ports: [port], files: { 'keys.jwks': jwksText([keys.ec256]) },
      http: `
  include {{DIR}}/http.conf;
  server {
    listen 127.0.0.1:{{PORT:${port}}}${listen};
    include {{DIR}}/server.conf;
    set $ljwt_issuer "${ISSUER}";
    set $ljwt_audience "${AUDIENCE}";
    set $ljwt_jwks_file "{{DIR}}/keys.jwks";${settings(echo.port)}
  }` });
  } catch (e) {
    await echo.close();
    throw e;
  }
  return {
    keys,
    nginx,
    echo,
    async stop() {
      await nginx.stop();
      await echo.close();
    },
  };
}
