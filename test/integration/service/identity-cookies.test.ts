// One username per account (whichever login name was typed), and the access
// cookie of users in many groups: /auth/validate and /logout read the split
// form <name>.0 … <name>.7 exactly as the edge does, up to the eight chunks the
// browser flow writes. Real slapd, real HTTP.
import { beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { MemoryStore } from '../../../service/src/store/memory-store.ts';
import { accessTokenCookies, CHUNK_SIZE, MAX_CHUNKS } from '../../../service/src/browser/cookies.ts';
import { DEFAULT_USER_FILTER } from '../../../service/src/config/schema.ts';
import { http, ldapServer, PASSWORD_CLIENT, refreshRequest, serviceSuite, tokenRequest, type RunningService } from '../../harness/service-app.ts';

const S = { access: 'ljwt_at', refresh: 'ljwt_rt', prefix: '/_auth' };

const suite = serviceSuite();
let svc: RunningService;

beforeAll(async () => {
  // The default user filter: uid, sAMAccountName or userPrincipalName, OpenLDAP and AD-flavoured entries.
  const server = { ...ldapServer(suite.slapd), userSearchBase: 'dc=example,dc=com', userFilter: DEFAULT_USER_FILTER };
  svc = await suite.start({
    logoutRedirectUrl: 'https://portal.example.test/', ldapServers: [server], usernamePattern: /^[A-Za-z0-9._@-]{1,256}$/,
  }, new MemoryStore(), {
    tuning: { accessTokenCookie: S.access, refreshTokenCookie: S.refresh },
  });
});

const login = async (username: string, password: string) => {
  const r = await tokenRequest(svc.base, { grant_type: 'password', username, password, client_id: PASSWORD_CLIENT });
  expect(r.status, r.text).toBe(200);
  return r.json() as { access_token: string; refresh_token: string };
};
const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
const groups = (n: number) => Array.from({ length: n }, (_, i) => `cn=group-${String(i).padStart(4, '0')},ou=a-rather-long-organisational-unit,ou=groups,dc=example,dc=com`);

/** GET with response headers larger than the 16 KB client default (X-Authenticated-Group-DNs). */
function get(path: string, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${svc.base}${path}`, { headers, maxHeaderSize: 256 * 1024 }, (res) => { res.resume(); res.on('end', () => resolve(res)); });
    req.on('error', reject);
    req.end();
  });
}

/** The Cookie header a browser sends back for the Set-Cookie values the service writes. */
const cookieHeader = (setCookie: string[]) => setCookie.map((c) => c.split(';')[0]).join('; ');

describe('one username per account', () => {
  it('the sAMAccountName and the userPrincipalName logins give the same sub and X-Authenticated-User', async () => {
    const subs = new Set<unknown>();
    const users = new Set<unknown>();
    for (const typed of ['eevans', 'EEvans@AD.example.com', 'eevans@ad.example.com']) {
      const t = await login(typed, 'eevans-pw');
      subs.add(claims(t.access_token).sub);
      const v = await http(`${svc.base}/auth/validate`, { headers: { authorization: `Bearer ${t.access_token}` } });
      expect(v.status).toBe(204);
      users.add(v.headers['x-authenticated-user']);
      const info = await http(`${svc.base}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } });
      expect(info.json().sub).toBe('eevans');
    }
    expect([...subs]).toEqual(['eevans']);
    expect([...users]).toEqual(['eevans']);
  });
});

describe('large access tokens in split cookies', () => {
  it('/auth/validate accepts a token in eight cookie chunks and sends every group upstream', async () => {
    svc.groups.fallback = groups(255);
    const t = await login('alice', 'alice-pw');
    const chunks = accessTokenCookies({ headers: {} } as never, S, t.access_token, 300, false);
    // The largest the browser flow writes: all eight chunks, far beyond the edge's 8192-byte default.
    expect(t.access_token.length).toBeGreaterThan((MAX_CHUNKS - 1) * CHUNK_SIZE);
    expect(chunks).toHaveLength(MAX_CHUNKS);
    const res = await get('/auth/validate', { cookie: `other=1; ${cookieHeader(chunks)}` });
    expect(res.headers['x-ljwt-error']).toBeUndefined();
    expect(res.statusCode).toBe(204);
    expect(res.headers['x-authenticated-user']).toBe('alice');
    // Comma-separated, a comma inside a DN percent-encoded (README "Identity headers").
    const dns = String(res.headers['x-authenticated-group-dns']).split(',').map(decodeURIComponent);
    expect(dns.length).toBe(255);
    expect(dns.join('\n') === groups(255).join('\n')).toBe(true);
  });

  it('/auth/validate applies the edge rules to split cookies: duplicates, plain next to chunks, gaps', async () => {
    svc.groups.fallback = groups(100);
    const t = await login('alice', 'alice-pw');
    const pairs = accessTokenCookies({ headers: {} } as never, S, t.access_token, 300, false).map((c) => c.split(';')[0]!);
    expect(pairs.length).toBeGreaterThan(2);
    const bad: Record<string, string> = {
      'duplicate chunk': [...pairs, pairs[1]!].join('; '),
      'plain cookie next to chunks': [...pairs, `ljwt_at=${t.access_token}`].join('; '),
      'gap (chunk 1 missing)': pairs.filter((_, i) => i !== 1).join('; '),
      'chunk beyond the eighth': [...pairs, 'ljwt_at.8=x'].join('; '),
    };
    for (const [what, cookie] of Object.entries(bad)) {
      const res = await get('/auth/validate', { cookie });
      expect(res.statusCode, what).toBe(401);
      expect(res.headers['x-ljwt-error'], what).toBe('ERR_JWT_MALFORMED');
    }
    // A truncated set (the last chunk lost) is a broken signature, never a pass.
    const truncated = await get('/auth/validate', { cookie: pairs.slice(0, -1).join('; ') });
    expect(truncated.statusCode).toBe(401);
    expect((await get('/auth/validate', { cookie: pairs.join('; ') })).statusCode).toBe(204);
  });

  it('keeps a cap: a token longer than eight chunks is refused', async () => {
    svc.groups.fallback = groups(300);
    const t = await login('alice', 'alice-pw');
    expect(t.access_token.length).toBeGreaterThan(MAX_CHUNKS * CHUNK_SIZE);
    const res = await get('/auth/validate', { authorization: `Bearer ${t.access_token}` });
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-ljwt-error']).toBe('ERR_JWT_MALFORMED');
  });

  it('/logout ends the session named by a large split access cookie', async () => {
    svc.groups.fallback = groups(255);
    const t = await login('alice', 'alice-pw');
    const chunks = accessTokenCookies({ headers: {} } as never, S, t.access_token, 300, false);
    expect(chunks).toHaveLength(MAX_CHUNKS);
    // Only the access cookie: the session must be found through its sid.
    const out = await http(`${svc.base}/logout`, { headers: { cookie: cookieHeader(chunks) } });
    expect(out.status).toBe(303);
    expect((await refreshRequest(svc.base, t.refresh_token, PASSWORD_CLIENT)).json().error).toBe('invalid_grant');
    expect((await get('/auth/validate', { cookie: cookieHeader(chunks) })).statusCode).toBe(401);
  });

  it('/logout names no session from ambiguous split cookies', async () => {
    svc.groups.fallback = groups(100);
    const t = await login('alice', 'alice-pw');
    const pairs = accessTokenCookies({ headers: {} } as never, S, t.access_token, 300, false).map((c) => c.split(';')[0]!);
    await http(`${svc.base}/logout`, { headers: { cookie: [...pairs, pairs[0]!].join('; ') } });
    // The session survives (what a planted duplicate would otherwise decide is unknowable).
    expect((await refreshRequest(svc.base, t.refresh_token, PASSWORD_CLIENT)).status).toBe(200);
  });
});
