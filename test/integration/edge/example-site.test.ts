// nginx/examples/protected-site.conf, templated only for paths, ports, the upstream and the
// JWKS URL, protects an echo "site" on every runtime.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRuntime, RUNTIME_IDS, type RuntimeId } from '../../harness/runtimes.ts';
import { headerValues } from '../../harness/echo-upstream.ts';
import { startExampleSite, type ExampleSite } from '../../harness/example-site.ts';
import { rawRequest } from '../../harness/raw-http.ts';

describe.each(RUNTIME_IDS)('nginx/examples/protected-site.conf on %s', (id: RuntimeId) => {
  let site: ExampleSite;
  beforeAll(async () => { site = await startExampleSite(await getRuntime(id), (k) => [k.ec256, k.rsa]); });
  afterAll(async () => { await site?.stop(); });

  const get = (path: string, headers: [string, string][] = []) => rawRequest(site.nginx.ports.main, 'GET', path, headers);
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
    const before = site.echo.requests.length;
    const r = await get('/page', [['Authorization', `Bearer ${site.token()}`], ['X-Authenticated-User', 'mallory']]);
    expect(r.status).toBe(200);
    const up = site.echo.requests[before];
    expect(headerValues(up, 'X-Authenticated-User')).toEqual(['bob']);
    expect(headerValues(up, 'X-Forwarded-Proto')).toEqual(['http']);
    const c = await get('/page', [['Cookie', `ljwt_at=${site.token()}`]]);
    expect(c.status).toBe(200);
    expect(site.idp.hits['/.well-known/jwks.json']).toBe(1);
  });

  it('applies the group and scope rules', async () => {
    const admin = site.token({ dns: ['CN=Site-Admins,OU=Groups,DC=example,DC=com'] });
    expect((await get('/admin/', [['Authorization', `Bearer ${admin}`]])).status).toBe(200);
    expect((await get('/admin/', [['Authorization', `Bearer ${site.token()}`]])).status).toBe(403);
    expect((await get('/api/x', [['Authorization', `Bearer ${site.token({ scope: 'api' })}`]])).status).toBe(200);
    expect((await get('/api/x', [['Authorization', `Bearer ${site.token()}`]])).status).toBe(403);
  });

  it('public locations blank client-sent identity headers', async () => {
    const before = site.echo.requests.length;
    const r = await get('/static/app.css', [['X-Authenticated-User', 'mallory'], ['x-authenticated-group-dns', 'cn=admins']]);
    expect(r.status).toBe(200);
    const up = site.echo.requests[before];
    expect(up.headers.filter((h) => /^x-authenticated-/i.test(h[0]))).toEqual([]);
    expect(site.nginx.errorLog()).not.toMatch(/js exception|unhandled promise rejection|using uninitialized/);
  });
});
