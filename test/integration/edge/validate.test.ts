// The edge validator inside real nginx on every runtime: token validation,
// identity header injection and stripping, RFC 6750 challenges, login redirects,
// location policies and the key sources (JWKS file, PEM, JWKS subrequest).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRuntime, type RuntimeId } from '../../harness/runtimes.ts';
import { startEdgeFixture, EDGE_MODE_CASES, type EdgeFixture, type EdgeMode, ISSUER, AUDIENCE, LOGIN_URL, ADMINS_DN, OPS_DN } from '../../harness/edge-fixture.ts';
import { headerValues } from '../../harness/echo-upstream.ts';
import { b64u, nowSeconds, publicJwk, publicPemBytes, signInput, signJwt, type Alg } from '../../harness/tokens.ts';

const API = [['Accept', 'application/json']] as [string, string][];
const BROWSER = [['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
  ['Sec-Fetch-Mode', 'navigate'], ['Sec-Fetch-Dest', 'document']] as [string, string][];

const CHALLENGE = 'Bearer realm="nginx-ldap-jwt"';
const invalid = (desc: string) => `${CHALLENGE}, error="invalid_token", error_description="${desc}"`;

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  return Object.assign({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now - 5, exp: now + 300 }, extra);
}

function bearer(token: string): [string, string][] {
  return [['Authorization', `Bearer ${token}`]];
}

describe.each(EDGE_MODE_CASES)('edge validator on %s with %s', (id: RuntimeId, mode: EdgeMode) => {
  let f: EdgeFixture;
  let sign: (alg: Alg, payload?: Record<string, unknown> | string, opts?: Parameters<typeof signJwt>[3]) => string;

  beforeAll(async () => {
    f = await startEdgeFixture(await getRuntime(id), undefined, mode);
    sign = (alg, payload = claims(), opts = {}) => signJwt(f.keys, alg, payload, opts);
  });
  afterAll(async () => { await f?.stop(); });

  async function expect401(path: string, token: string, desc?: string) {
    const { res, upstream } = await f.request(path, bearer(token).concat(API));
    expect(upstream).toBeNull();
    expect(res.status).toBe(401);
    expect(res.all('WWW-Authenticate')).toHaveLength(1);
    if (desc) expect(res.header('WWW-Authenticate')).toBe(invalid(desc));
    else expect(res.header('WWW-Authenticate')).toMatch(/^Bearer realm="nginx-ldap-jwt", error="invalid_token", error_description="[^"]+"$/);
    return res;
  }

  async function expectPass(path: string, token: string, extra: [string, string][] = []) {
    const { res, upstream } = await f.request(path, bearer(token).concat(extra));
    expect(res.status, res.body).toBe(200);
    expect(upstream).not.toBeNull();
    return upstream!;
  }

  describe('algorithms', () => {
    const asym: Alg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
    it.each(asym)('%s token from the JWKS file passes and sets the identity', async (alg) => {
      const up = await expectPass('/x', sign(alg));
      expect(headerValues(up, 'X-Authenticated-User')).toEqual(['alice']);
    });
    it.each(['HS256', 'HS384', 'HS512'] as Alg[])('%s passes where listed, is refused by default', async (alg) => {
      await expectPass('/hs/x', sign(alg));
      await expect401('/x', sign(alg), 'The access token signing algorithm is not accepted');
    });
    it('EdDSA: verified where nginx has Ed25519, else a configuration error (500) when listed', async () => {
      const token = sign('EdDSA');
      if (f.runtime.ed25519) {
        await expectPass('/eddsa/x', token);
        await expectPass('/x', token);
      } else {
        const mark = f.nginx.logMark();
        const { res, upstream } = await f.request('/eddsa/x', bearer(token));
        expect(res.status).toBe(500);
        expect(upstream).toBeNull();
        // The reason as it is: too old an njs, or a recent one built without Ed25519.
        const why = /testing/.test(f.runtime.id) ? 'this build of njs \\(1\\.[0-9.]+\\) has no Ed25519' : 'EdDSA needs njs >= 0\\.9\\.7';
        expect(f.nginx.logSince(mark)).toMatch(new RegExp(`\\[error\\].*ljwt: configuration error.*\\$ljwt_algorithms lists EdDSA, but ${why}`));
        // Silently dropped from the default list: an EdDSA token is just not accepted.
        await expect401('/x', token, 'The access token signing algorithm is not accepted');
      }
    });
    it('an algorithm outside the location allow-list is refused', async () => {
      await expect401('/es256-only/x', sign('RS256'), 'The access token signing algorithm is not accepted');
      await expectPass('/es256-only/x', sign('ES256'));
    });
  });

  describe('tampering and forgery', () => {
    it('tampered header, payload and signature are refused', async () => {
      const [h, p, s] = sign('RS256').split('.');
      const h2 = b64u(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'rsa-1', x: 1 }));
      const p2 = b64u(JSON.stringify(claims({ sub: 'admin' })));
      const s2 = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
      await expect401('/x', `${h2}.${p}.${s}`, 'The access token signature is invalid');
      await expect401('/x', `${h}.${p2}.${s}`, 'The access token signature is invalid');
      await expect401('/x', `${h}.${p}.${s2}`, 'The access token signature is invalid');
      const [eh, ep, es] = sign('ES256').split('.');
      const es2 = (es[3] === 'A' ? 'B' : 'A');
      await expect401('/x', `${eh}.${ep}.${es.slice(0, 3)}${es2}${es.slice(4)}`);
    });
    it.each(['none', 'None', 'NONE', 'nOnE'])('alg %s is refused (with and without a signature)', async (alg) => {
      const h = b64u(JSON.stringify({ alg, typ: 'at+jwt' }));
      const p = b64u(JSON.stringify(claims()));
      await expect401('/x', `${h}.${p}.`);
      await expect401('/hs/x', `${h}.${p}.`);
      const real = sign('RS256').split('.')[2];
      await expect401('/x', `${h}.${p}.${real}`);
    });
    it('HS256 keyed with the RSA or EC public key (algorithm confusion) is refused', async () => {
      for (const key of [f.keys.rsa, f.keys.ec256]) {
        const pem = publicPemBytes(key);
        const der = key.publicKey!.export({ format: 'der', type: 'spki' }) as Buffer;
        for (const secret of [pem, der]) {
          await expect401('/hs/x', sign('HS256', claims(), { key: secret, header: { kid: key.kid } }));
          await expect401('/hs/x', sign('HS256', claims(), { key: secret }));
        }
      }
    });
    it('embedded jwk, jku, x5u and x5c never supply the key', async () => {
      const s = f.keys.stranger;
      const jku = `http://127.0.0.1:${f.idp.port}/stranger.jwks`;
      const variants: Record<string, unknown>[] = [
        { jwk: publicJwk(s), kid: undefined },
        { jwk: publicJwk(s) },
        { jku, kid: 'rsa-1' },
        { x5u: jku },
        { x5c: [(s.publicKey!.export({ format: 'der', type: 'spki' }) as Buffer).toString('base64')] },
      ];
      for (const header of variants) {
        await expect401('/x', sign('RS256', claims(), { key: s, header }));
      }
      expect(f.idp.hits['/stranger.jwks'] ?? 0).toBe(0);
    });
    it('unknown kid and a key that is not configured are refused', async () => {
      await expect401('/x', sign('RS256', claims(), { header: { kid: 'nope' } }));
      await expect401('/x', sign('RS256', claims(), { key: f.keys.stranger }), 'The access token signature is invalid');
    });
    it('ECDSA r=s=0 and DER-encoded signatures are refused without a 500', async () => {
      const [h, p] = sign('ES256').split('.');
      await expect401('/x', `${h}.${p}.${b64u(Buffer.alloc(64))}`);
      await expect401('/x', sign('ES256', claims(), { ecdsaDer: true }));
      const [h3, p3] = sign('ES384').split('.');
      await expect401('/x', `${h3}.${p3}.${b64u(Buffer.alloc(96))}`);
      await expect401('/x', sign('ES512', claims(), { ecdsaDer: true }));
    });
    it('a crit header is refused', async () => {
      await expect401('/x', sign('RS256', claims(), { header: { crit: ['exp'], exp: 1 } }), 'The access token header is invalid');
      await expect401('/x', sign('RS256', claims(), { header: { crit: [] } }), 'The access token header is invalid');
    });
  });

  describe('malformed tokens', () => {
    it('bad base64url, wrong segment counts and oversize are refused as malformed', async () => {
      const t = sign('RS256');
      const [h, p, s] = t.split('.');
      const malformed = 'The access token is malformed';
      await expect401('/x', `${h}.${p}.${s}.${s}`, malformed);
      await expect401('/x', `${h}.${p}`, malformed);
      await expect401('/x', `${h}.${p}.${s}.${s}.${s}`, malformed);
      await expect401('/x', `${h}.${p.slice(0, 10)}+${p.slice(11)}.${s}`);
      await expect401('/x', `${h}.${p}=.${s}`);
      await expect401('/x', `${h}.${p}.${s}=`);
      await expect401('/x', `${h}..${s}`);
      await expect401('/x', `.${p}.${s}`);
      await expect401('/x', `${b64u('{"alg":"RS256"')}.${p}.${s}`);
      await expect401('/x', `${h}.${b64u('not json')}.${s}`);
    });
    it('an Authorization header that is not a well-formed Bearer token', async () => {
      const t = sign('RS256');
      for (const v of [`Bearer ${t} x`, `Bearer\t${t}`, `Bearer ${t}!`, 'Bearer']) {
        const { res, upstream } = await f.request('/x', [['Authorization', v]].concat(API) as [string, string][]);
        expect(upstream).toBeNull();
        expect(res.status).toBe(401);
      }
      const ok = await f.request('/x', [['Authorization', `bearer ${t}`]]);
      expect(ok.res.status).toBe(200);
    });
    it('two Authorization headers never let the second token decide', async () => {
      const good = sign('RS256');
      const bad = sign('RS256', claims({ exp: 1 }));
      const a = await f.request('/x', [['Authorization', `Bearer ${bad}`], ['Authorization', `Bearer ${good}`]]);
      expect(a.upstream).toBeNull();
      expect([400, 401]).toContain(a.res.status);
    });
    it('oversized tokens are refused before decoding', async () => {
      const big = sign('RS256', claims({ pad: 'x'.repeat(9000) }));
      await expect401('/x', big, 'The access token is malformed');
      const medium = sign('RS256', claims({ pad: 'x'.repeat(1200) }));
      await expectPass('/x', medium);
      await expect401('/short/x', medium, 'The access token is malformed');
    });
  });

  describe('time and claims', () => {
    it('expired and not-yet-valid, with and without leeway', async () => {
      const now = nowSeconds();
      await expect401('/x', sign('ES256', claims({ exp: now - 120 })), 'The access token expired');
      await expectPass('/x', sign('ES256', claims({ exp: now - 10 })));
      await expect401('/leeway0/x', sign('ES256', claims({ exp: now - 10 })), 'The access token expired');
      await expect401('/x', sign('ES256', claims({ nbf: now + 120 })), 'The access token is not yet valid');
      await expectPass('/x', sign('ES256', claims({ nbf: now + 10 })));
      await expect401('/leeway0/x', sign('ES256', claims({ nbf: now + 10 })), 'The access token is not yet valid');
    });
    it('wrong iss, aud and typ are refused; off switches work', async () => {
      const refused = 'The access token claims are not accepted';
      await expect401('/x', sign('RS256', claims({ iss: 'https://evil.test' })), refused);
      await expectPass('/x', sign('RS256', claims({ iss: 'https://other-idp.test' })));
      await expect401('/x', sign('RS256', claims({ aud: 'api://other' })), refused);
      await expectPass('/x', sign('RS256', claims({ aud: ['api://other', AUDIENCE] })));
      await expectPass('/aud-off/x', sign('RS256', claims({ aud: 'api://other' })));
      const jwtTyp = sign('RS256', claims(), { header: { typ: 'JWT' } });
      await expect401('/x', jwtTyp);
      await expectPass('/typ-off/x', jwtTyp);
      await expectPass('/x', sign('RS256', claims(), { header: { typ: 'application/at+jwt' } }));
      await expect401('/x', sign('RS256', claims({ sub: undefined })));
      await expect401('/x', sign('RS256', claims({ exp: undefined })));
    });
  });

  describe('identity headers', () => {
    it('CR/LF/NUL and non-ASCII claim values reach the upstream only percent-encoded', async () => {
      const token = sign('RS256', claims({
        sub: 'alice\r\nX-Injected: 1',
        dns: ['cn=Smith\\, John,ou=people,dc=example,dc=com', 'cn=x\nX-Evil: 2', 'cn=zo\u00eb\u0000'],
        oids: ['11111111-2222-3333-4444-555555555555', 'a b'],
      }));
      const up = await expectPass('/x', token);
      expect(headerValues(up, 'X-Authenticated-User')).toEqual(['alice%0D%0AX-Injected:%201']);
      expect(headerValues(up, 'X-Authenticated-Group-DNs')).toEqual([
        'cn=Smith\\%2C%20John%2Cou=people%2Cdc=example%2Cdc=com,cn=x%0AX-Evil:%202,cn=zo%C3%AB%00']);
      expect(headerValues(up, 'X-Authenticated-OIDs')).toEqual(['11111111-2222-3333-4444-555555555555,a%20b']);
      expect(headerValues(up, 'X-Injected')).toEqual([]);
      expect(headerValues(up, 'X-Evil')).toEqual([]);
      for (const [, v] of up.headers) expect(v).toMatch(/^[\x20-\x7e]*$/);
    });
    it('client-sent identity headers never reach the upstream (any case, with or without a token)', async () => {
      const spoof: [string, string][] = [
        ['X-Authenticated-User', 'admin'], ['x-authenticated-user', 'root'], ['X-AUTHENTICATED-USER', 'r2'],
        ['X-Authenticated-Group-DNs', ADMINS_DN], ['x-authenticated-group-dns', OPS_DN],
        ['X-Authenticated-OIDs', 'oid-admin'], ['X-AUTHENTICATED-oids', 'oid-2'],
        ['X_Authenticated_User', 'underscore'],
      ];
      // A token without dns/oids: the upstream must get no group or OID header at all.
      const up = await expectPass('/x', sign('RS256'), spoof);
      expect(headerValues(up, 'X-Authenticated-User')).toEqual(['alice']);
      expect(headerValues(up, 'X-Authenticated-Group-DNs')).toEqual([]);
      expect(headerValues(up, 'X-Authenticated-OIDs')).toEqual([]);
      // The protect.conf note: its proxy_set_header lines stop server-level inheritance.
      expect(headerValues(up, 'X-From-Server')).toEqual([]);
      expect(up.headers.filter((h) => /authenticated/i.test(h[0]) && h[0] !== 'X-Authenticated-User')).toEqual([]);
      const anon = await f.request('/x', spoof);
      expect(anon.res.status).toBe(401);
      expect(anon.upstream).toBeNull();
      const bad = await f.request('/x', spoof.concat(bearer(sign('RS256', claims({ exp: 1 })))));
      expect(bad.res.status).toBe(401);
      expect(bad.upstream).toBeNull();
    });
    it('the claim map fills operator-declared variables', async () => {
      const up = await expectPass('/claimmap/x', sign('ES256', claims({ email: 'a b@example.com', org: { department: 'R&D' } })));
      expect(headerValues(up, 'X-Email')).toEqual(['a%20b@example.com']);
      expect(headerValues(up, 'X-Dept')).toEqual(['R&D']);
      const up2 = await expectPass('/claimmap/x', sign('ES256'), [['X-Email', 'spoof@example.com']]);
      expect(headerValues(up2, 'X-Email')).toEqual([]);
    });
  });

  describe('responses', () => {
    it('API client without a token: 401 with the bare RFC 6750 challenge and a JSON body', async () => {
      const { res, upstream } = await f.request('/x?a=1', API);
      expect(upstream).toBeNull();
      expect(res.status).toBe(401);
      expect(res.all('WWW-Authenticate')).toEqual([CHALLENGE]);
      expect(res.header('Content-Type')).toBe('application/json');
      expect(res.header('Cache-Control')).toBe('no-store');
      expect(JSON.parse(res.body)).toEqual({ error: 'unauthorized', error_description: 'No access token was presented' });
    });
    it('API client with an invalid token: error="invalid_token" and a fixed description', async () => {
      const res = await expect401('/x', sign('RS256', claims({ exp: nowSeconds() - 600 })), 'The access token expired');
      expect(JSON.parse(res.body)).toEqual({ error: 'invalid_token', error_description: 'The access token expired' });
    });
    it('browser navigation: 302 to the login URL with the original path and query', async () => {
      const { res, upstream } = await f.request('/some/page?a=1&b=%2F', BROWSER);
      expect(upstream).toBeNull();
      expect(res.status).toBe(302);
      expect(res.header('Location')).toBe(`${LOGIN_URL}?rd=${encodeURIComponent('/some/page?a=1&b=%2F')}`);
      expect(res.all('WWW-Authenticate')).toEqual([]);
      expect(res.header('Cache-Control')).toBe('no-store');
      const expired = await f.request('/p', BROWSER.concat(bearer(sign('RS256', claims({ exp: 1 })))));
      expect(expired.res.status).toBe(302);
      expect(expired.res.all('WWW-Authenticate')).toEqual([]);
      // fetch()/XHR and non-GET are API clients.
      const xhr = await f.request('/p', [['Accept', 'text/html'], ['Sec-Fetch-Mode', 'cors']]);
      expect(xhr.res.status).toBe(401);
      const post = await f.request('/p', BROWSER, 'POST');
      expect(post.res.status).toBe(401);
      // Without $ljwt_login_url browsers get the 401 too.
      const nologin = await f.request('/nologin/p', BROWSER);
      expect(nologin.res.status).toBe(401);
      expect(nologin.res.header('WWW-Authenticate')).toBe(CHALLENGE);
    });
    it('raw non-UTF-8 bytes in the request target still give a well-formed Location', async () => {
      const { res } = await f.request('/caf\xe9/\xff?x=\xfe', BROWSER);
      expect(res.status).toBe(302);
      expect(res.header('Location')).toMatch(/^https:\/\/login\.test\/login\?rd=[A-Za-z0-9%._~!*'()-]+$/);
    });
    it('a protocol-relative request target never becomes an open redirect', async () => {
      const { res } = await f.request('//evil.test/x', BROWSER);
      expect(res.status).toBe(302);
      expect(res.header('Location')).toMatch(/^https:\/\/login\.test\/login\?rd=%2F/);
      expect(res.header('Location')).not.toMatch(/rd=%2F%2F/);
    });
  });

  describe('policies', () => {
    it('any-of groups compare as DNs (case, spacing), 403 otherwise', async () => {
      await expectPass('/group-any/x', sign('RS256', claims({ dns: ['CN=Admins,OU=Groups,DC=example,DC=com'] })));
      await expectPass('/group-any/x', sign('RS256', claims({ dns: ['cn=x,dc=example,dc=com', 'cn=OPS, ou=groups, dc=example, dc=com'] })));
      const { res, upstream } = await f.request('/group-any/x', bearer(sign('RS256', claims({ dns: ['cn=admins,ou=other,dc=example,dc=com'] }))).concat(API));
      expect(upstream).toBeNull();
      expect(res.status).toBe(403);
      expect(res.header('WWW-Authenticate')).toBe(`${CHALLENGE}, error="insufficient_scope", error_description="The access token does not grant access to this resource"`);
      expect(JSON.parse(res.body).error).toBe('insufficient_scope');
      const none = await f.request('/group-any/x', bearer(sign('RS256')));
      expect(none.res.status).toBe(403);
      const browser = await f.request('/group-any/x', bearer(sign('RS256')).concat(BROWSER));
      expect(browser.res.status).toBe(403);
      expect(browser.res.header('Content-Type')).toMatch(/^text\/html/);
      expect(browser.res.body).toContain('403');
    });
    it('all-of groups need every DN', async () => {
      await expectPass('/group-all/x', sign('RS256', claims({ dns: [OPS_DN, 'CN=ADMINS,OU=GROUPS,DC=EXAMPLE,DC=COM'] })));
      const { res } = await f.request('/group-all/x', bearer(sign('RS256', claims({ dns: [ADMINS_DN] }))));
      expect(res.status).toBe(403);
    });
    it('scopes (space-delimited scope or scp array) and claim values', async () => {
      await expectPass('/scope/x', sign('RS256', claims({ scope: 'openid read write' })));
      await expectPass('/scope/x', sign('RS256', claims({ scp: ['write', 'read'] })));
      expect((await f.request('/scope/x', bearer(sign('RS256', claims({ scope: 'read' }))))).res.status).toBe(403);
      expect((await f.request('/scope/x', bearer(sign('RS256', claims({ scope: 'readwrite' }))))).res.status).toBe(403);
      await expectPass('/claim/x', sign('RS256', claims({ department: 'eng', level: 3 })));
      await expectPass('/claim/x', sign('RS256', claims({ department: ['ops', 'eng'], level: '3' })));
      expect((await f.request('/claim/x', bearer(sign('RS256', claims({ department: 'Eng', level: 3 }))))).res.status).toBe(403);
      expect((await f.request('/claim/x', bearer(sign('RS256', claims({ department: 'eng' }))))).res.status).toBe(403);
    });
    it('the policy of one location does not leak into another', async () => {
      await expectPass('/x', sign('RS256'));
      expect((await f.request('/group-all/x', bearer(sign('RS256')))).res.status).toBe(403);
      await expectPass('/x', sign('RS256'));
    });
  });

  describe('token sources and key sources', () => {
    it('token from the configured cookie only', async () => {
      const t = sign('ES256');
      const viaCookie = await f.request('/cookie/x', [['Cookie', `other=1; ljwt_at=${t}`]]);
      expect(viaCookie.res.status).toBe(200);
      expect(headerValues(viaCookie.upstream!, 'X-Authenticated-User')).toEqual(['alice']);
      const chunked = await f.request('/cookie/x', [['Cookie', `ljwt_at.0=${t.slice(0, 100)}; ljwt_at.1=${t.slice(100)}`]]);
      expect(chunked.res.status).toBe(200);
      const twice = await f.request('/cookie/x', [['Cookie', `ljwt_at=${t}; ljwt_at=${t}`]]);
      expect(twice.res.status).toBe(401);
      // Browsers send one Cookie header; HTTP/1.1 clients may send several lines.
      const lines = await f.request('/cookie/x', [['Cookie', 'other=1'], ['Cookie', `ljwt_at=${t}`]]);
      expect(lines.res.status).toBe(200);
      const elsewhere = await f.request('/x', [['Cookie', `ljwt_at=${t}`]]);
      expect(elsewhere.res.status).toBe(401);
    });
    it('JWKS with several keys selects by kid (rotation) and honours alg/use', async () => {
      await expectPass('/rotation/x', sign('RS256'));
      await expectPass('/rotation/x', sign('RS256', claims(), { key: f.keys.rsa2 }));
      // Signed by rsa-1 but labelled rsa-2.
      await expect401('/rotation/x', sign('RS256', claims(), { header: { kid: 'rsa-2' } }));
      // The JWK says alg RS256.
      await expect401('/rotation/x', sign('PS256'));
      // use: enc keys never verify.
      await expect401('/rotation/x', sign('ES256'));
    });
    it('PEM files: SPKI and PKCS#1 RSA, EC', async () => {
      await expectPass('/pem/x', sign('RS256', claims(), { header: { kid: undefined } }));
      await expectPass('/pem/x', sign('ES256'));
      await expectPass('/pem/x', sign('PS256', claims(), { key: f.keys.rsa2 }));
      await expect401('/pem/x', sign('ES384'));
    });
    it('JWKS via a proxy_cache location subrequest, cached', async () => {
      const before = f.idp.hits['/jwks.json'] ?? 0;
      await expectPass('/jwks-sub/x', sign('RS256', claims(), { key: f.keys.rsa2 }));
      await expectPass('/jwks-sub/x', sign('ES384'));
      await expect401('/jwks-sub/x', sign('RS256'));
      expect((f.idp.hits['/jwks.json'] ?? 0) - before).toBe(1);
      // The provider never sees the client's token or cookies.
      expect(f.idp.headerNames.length).toBeGreaterThan(0);
      for (const names of f.idp.headerNames) {
        expect(names.map((n) => n.toLowerCase())).not.toContain('authorization');
        expect(names.map((n) => n.toLowerCase())).not.toContain('cookie');
      }
    });
    it('a JWKS far larger than one page fits the subrequest buffer set in http.conf', async () => {
      expect(f.idp.routes['/big.json'][1].length).toBeGreaterThan(16_000);
      await expectPass('/jwks-big/x', sign('RS256', claims(), { key: f.keys.rsa2 }));
    });
    it('the cached JWKS keeps working (stale) while the provider fails', async () => {
      await expectPass('/jwks-sub/x', sign('ES384'));
      const saved = f.idp.routes['/jwks.json'];
      f.idp.routes['/jwks.json'] = [500, '{"error":"down"}'];
      try {
        const hits = f.idp.hits['/jwks.json'] ?? 0;
        await new Promise((r) => setTimeout(r, 3500)); // proxy_cache_valid 200 2s
        await expectPass('/jwks-sub/x', sign('RS256', claims(), { key: f.keys.rsa2 }));
        expect(f.idp.hits['/jwks.json']).toBeGreaterThan(hits);
      } finally {
        f.idp.routes['/jwks.json'] = saved;
      }
    });
    it('a failing JWKS subrequest falls back to the file keys; with no keys at all it is a 500', async () => {
      let mark = f.nginx.logMark();
      await expectPass('/jwks-fallback/x', sign('RS256'));
      expect(f.nginx.logSince(mark)).toMatch(/\[warn\].*JWKS subrequest \/_ljwt\/jwks-broken answered 500/);
      mark = f.nginx.logMark();
      const { res, upstream } = await f.request('/jwks-broken-only/x', bearer(sign('RS256')));
      expect(res.status).toBe(500);
      expect(upstream).toBeNull();
      expect(f.nginx.logSince(mark)).toMatch(/\[error\].*ljwt: configuration error.*no usable verification key/);
    });
    it('missing or unreadable key files and bad settings are configuration errors (500 + error log)', async () => {
      for (const [path, pattern] of [
        ['/missing-key/x', /cannot read key file .*does-not-exist\.jwks/],
        ['/unreadable-key/x', /cannot read key file .*unreadable\.jwks/],
        ['/bad-config/x', /\$ljwt_leeway must be/],
        ['/claimmap-undeclared/x', /\$ljwt_claim_nope is not declared/],
      ] as [string, RegExp][]) {
        const mark = f.nginx.logMark();
        const { res, upstream } = await f.request(path, bearer(sign('RS256')));
        expect(res.status, path).toBe(500);
        expect(upstream).toBeNull();
        const log = f.nginx.logSince(mark);
        expect(log).toMatch(/\[error\].*ljwt: configuration error/);
        expect(log).toMatch(pattern);
      }
    });
  });

  it('server-wide defaults: the `if` guard keeps a location override; a plain server-level set is a 500', async () => {
    const rsa2 = sign('RS256', claims(), { key: f.keys.rsa2 });
    expect((await f.request('/x', bearer(sign('ES256')), 'GET', 'guard')).res.status).toBe(200);
    expect((await f.request('/x', bearer(rsa2), 'GET', 'guard')).res.status).toBe(401);
    expect((await f.request('/rotation/x', bearer(rsa2), 'GET', 'guard')).res.status).toBe(200);
    expect((await f.request('/rotation/x', bearer(sign('ES256')), 'GET', 'guard')).res.status).toBe(401);
    // Without the guard the auth subrequest sees the server value: protect.conf's snapshot
    // of the location value no longer matches, a configuration error (see edge/location-settings-and-example-site.test.ts).
    expect((await f.request('/rotation/x', bearer(rsa2), 'GET', 'unguarded')).res.status).toBe(500);
    expect((await f.request('/rotation/x', bearer(sign('ES256')), 'GET', 'unguarded')).res.status).toBe(500);
  });

  it('never logs an uncaught js exception', () => {
    const log = f.nginx.errorLog();
    expect(log).not.toMatch(/js exception|unhandled promise rejection|pending events/);
    expect(log).not.toMatch(/using uninitialized/);
  });
});
