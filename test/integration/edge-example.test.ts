// nginx/examples/protected-site.conf, templated only for paths, ports, the upstream and the
// JWKS URL, protects an echo "site" on every runtime.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getRuntime, RUNTIME_IDS, type RuntimeId } from '../harness/runtimes.ts';
import { startNginx, REPO_ROOT, type NginxInstance } from '../harness/nginx.ts';
import { startEchoUpstream, headerValues, type EchoUpstream } from '../harness/echo-upstream.ts';
import { startFakeIdp, type FakeIdp } from '../harness/edge-fixture.ts';
import { generateTestKeys, jwksText, nowSeconds, signJwt, type TestKeys } from '../harness/tokens.ts';
import { rawRequest } from '../harness/raw-http.ts';

const EXAMPLE = readFileSync(join(REPO_ROOT, 'nginx/examples/protected-site.conf'), 'utf8');

function templated(module: string, qjs: boolean, echoPort: number, idpPort: number): string {
  const replacements: [string, string][] = [
    ['pid /run/nginx.pid;', 'pid {{DIR}}/nginx.pid;'],
    ['error_log /var/log/nginx/error.log;', 'error_log {{DIR}}/error.log info;'],
    ['include /etc/nginx/modules-enabled/*.conf;', `load_module ${module};`],
    ['access_log /var/log/nginx/access.log;', 'access_log off;\n    client_body_temp_path {{DIR}}/temp/body;\n' +
      '    proxy_temp_path {{DIR}}/temp/proxy;\n    fastcgi_temp_path {{DIR}}/temp/fastcgi;\n' +
      '    uwsgi_temp_path {{DIR}}/temp/uwsgi;\n    scgi_temp_path {{DIR}}/temp/scgi;' + (qjs ? '\n    js_engine qjs;' : '')],
    ['/etc/nginx/nginx-ldap-jwt/', '{{DIR}}/'],
    ['/var/cache/nginx/ljwt-jwks', '{{DIR}}/jwks-cache'],
    ['server 127.0.0.1:8080;', `server 127.0.0.1:${echoPort};`],
    ['http://127.0.0.1:3000/.well-known/jwks.json', `http://127.0.0.1:${idpPort}/.well-known/jwks.json`],
    ['listen 80;', 'listen 127.0.0.1:{{PORT:main}};'],
  ];
  let conf = EXAMPLE;
  for (const [from, to] of replacements) {
    if (conf.indexOf(from) < 0) throw new Error(`protected-site.conf no longer contains ${from}`);
    conf = conf.split(from).join(to);
  }
  return conf;
}

describe.each(RUNTIME_IDS)('nginx/examples/protected-site.conf on %s', (id: RuntimeId) => {
  let nginx: NginxInstance;
  let echo: EchoUpstream;
  let idp: FakeIdp;
  let keys: TestKeys;
  const token = (extra: Record<string, unknown> = {}) => signJwt(keys, 'ES256', Object.assign({
    iss: 'https://login.example.com', aud: 'https://app.example.com', sub: 'bob', exp: nowSeconds() + 300,
  }, extra));

  beforeAll(async () => {
    keys = generateTestKeys();
    const rt = await getRuntime(id);
    echo = await startEchoUpstream();
    idp = await startFakeIdp();
    idp.routes['/.well-known/jwks.json'] = [200, jwksText([keys.ec256, keys.rsa])];
    nginx = await startNginx({ runtime: rt, ports: ['main'], http: '',
      mainConf: templated(rt.module, rt.engine === 'qjs', echo.port, idp.port) });
  });
  afterAll(async () => {
    await nginx?.stop();
    await echo?.close();
    await idp?.close();
  });

  const get = (path: string, headers: [string, string][] = []) => rawRequest(nginx.ports.main, 'GET', path, headers);
  const html: [string, string] = ['Accept', 'text/html'];

  it('redirects browsers to the login page and answers API clients 401', async () => {
    const r = await get('/docs/?q=1', [html]);
    expect(r.status).toBe(302);
    expect(r.header('Location')).toBe('https://login.example.com/login?rd=%2Fdocs%2F%3Fq%3D1');
    const api = await get('/api/items', [html]);
    expect(api.status).toBe(401);
    expect(api.header('WWW-Authenticate')).toBe('Bearer realm="nginx-ldap-jwt"');
  });

  it('passes a valid token (header or cookie) with the identity headers, keys from the cached JWKS URL', async () => {
    const before = echo.requests.length;
    const r = await get('/page', [['Authorization', `Bearer ${token()}`], ['X-Authenticated-User', 'mallory']]);
    expect(r.status).toBe(200);
    const up = echo.requests[before];
    expect(headerValues(up, 'X-Authenticated-User')).toEqual(['bob']);
    expect(headerValues(up, 'X-Forwarded-Proto')).toEqual(['http']);
    const c = await get('/page', [['Cookie', `ljwt_at=${token()}`]]);
    expect(c.status).toBe(200);
    expect(idp.hits['/.well-known/jwks.json']).toBe(1);
  });

  it('applies the group and scope rules', async () => {
    const admin = token({ dns: ['CN=Site-Admins,OU=Groups,DC=example,DC=com'] });
    expect((await get('/admin/', [['Authorization', `Bearer ${admin}`]])).status).toBe(200);
    expect((await get('/admin/', [['Authorization', `Bearer ${token()}`]])).status).toBe(403);
    expect((await get('/api/x', [['Authorization', `Bearer ${token({ scope: 'api' })}`]])).status).toBe(200);
    expect((await get('/api/x', [['Authorization', `Bearer ${token()}`]])).status).toBe(403);
  });

  it('public locations blank client-sent identity headers', async () => {
    const before = echo.requests.length;
    const r = await get('/static/app.css', [['X-Authenticated-User', 'mallory'], ['x-authenticated-group-dns', 'cn=admins']]);
    expect(r.status).toBe(200);
    const up = echo.requests[before];
    expect(up.headers.filter((h) => /^x-authenticated-/i.test(h[0]))).toEqual([]);
    expect(nginx.errorLog()).not.toMatch(/js exception|unhandled promise rejection|using uninitialized/);
  });
});
