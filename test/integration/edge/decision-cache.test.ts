// The decision cache inside real nginx (njs/cache/, nginx/http-shared.conf):
// a hit skips the full check, never revocation. Tampered, expired and re-keyed tokens are
// refused as without the cache, the location's policy still applies on every hit,
// and $ljwt_cache_max_age 0 turns it off. On njs 0.7.9 (no shared dicts, a fresh VM
// per request) there is no cache: every request is verified.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getRuntime, type RuntimeId } from '../../harness/runtimes.ts';
import { startEdgeFixture, EDGE_MODE_CASES, type EdgeFixture, type EdgeMode, ISSUER, AUDIENCE, ADMINS_DN,
  REVOCATION_SECRET } from '../../harness/edge-fixture.ts';
import { headerValues } from '../../harness/echo-upstream.ts';
import { jwksText, nowSeconds, publicJwk, signJwt } from '../../harness/tokens.ts';
import { KEY_FILE_CHECK_SECONDS } from '#njs/cache/decision-entry.ts';

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  return Object.assign({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now - 5, exp: now + 300 }, extra);
}

const API: [string, string][] = [['Accept', 'application/json']];
const bearer = (t: string): [string, string][] => [['Authorization', `Bearer ${t}`], ...API];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Flips one character in the middle of the signature, keeping it canonical base64url. */
function tamperSignature(token: string): string {
  const dot = token.lastIndexOf('.');
  const i = dot + 1 + Math.floor((token.length - dot - 1) / 2);
  const c = token[i] === 'A' ? 'B' : 'A';
  return token.slice(0, i) + c + token.slice(i + 1);
}

describe.each(EDGE_MODE_CASES)('decision cache on %s with %s', (id: RuntimeId, mode: EdgeMode) => {
  let f: EdgeFixture;
  let cached: boolean;

  beforeAll(async () => {
    const rt = await getRuntime(id);
    f = await startEdgeFixture(rt, undefined, mode);
    // The shared zone (njs >= 0.8, both engines) or QuickJS's module cache.
    cached = rt.sharedDict || rt.engine === 'qjs';
  });
  afterAll(async () => { await f?.stop(); });

  async function pass(path: string, token: string): Promise<string | undefined> {
    const { res, upstream } = await f.request(path, bearer(token));
    expect(res.status).toBe(200);
    expect(upstream).not.toBeNull();
    expect(headerValues(upstream!, 'X-Authenticated-User')).toEqual(['alice']);
    return res.header('X-Ljwt-Cache');
  }

  async function refused(path: string, token: string, code: string): Promise<void> {
    const mark = f.nginx.logMark();
    const { res, upstream } = await f.request(path, bearer(token));
    expect(upstream).toBeNull();
    expect(res.status).toBe(401);
    expect(f.nginx.logSince(mark)).toContain(code);
  }

  it('verifies a token once and reuses the verdict (or reports OFF where no cache exists)', async () => {
    const t = signJwt(f.keys, 'ES256', claims());
    expect(await pass('/first/', t)).toBe(cached ? 'MISS' : 'OFF');
    expect(await pass('/first/', t)).toBe(cached ? 'HIT' : 'OFF');
    expect(await pass('/other/', t)).toBe(cached ? 'HIT' : 'OFF');
  });

  it('refuses a tampered token whose header and payload match a cached token', async () => {
    const t = signJwt(f.keys, 'RS256', claims({ sub: 'alice' }));
    await pass('/', t);
    await pass('/', t);
    await refused('/', tamperSignature(t), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    // Same header, other payload, the cached token's signature.
    const forged = t.split('.');
    const other = signJwt(f.keys, 'RS256', claims({ sub: 'mallory' })).split('.');
    await refused('/', `${forged[0]}.${other[1]}.${forged[2]}`, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    // Another header (same alg, other typ) over the cached token's payload and signature.
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'x' })).toString('base64url');
    await refused('/', `${header}.${forged[1]}.${forged[2]}`, 'ERR_');
    // A longer token that starts with the cached one.
    const { res } = await f.request('/', bearer(t + 'A'));
    expect(res.status).toBe(401);
    // The cached token with a fourth segment, and with a dot inside its payload:
    // the lookup reads only the token's ends, so these are looked up and miss.
    const parts = t.split('.');
    for (const longer of [t + '.A', `${parts[0]}.${parts[1].slice(0, 8)}.${parts[1].slice(8)}.${parts[2]}`]) {
      const r = await f.request('/', bearer(longer));
      expect(r.res.status).toBe(401);
      expect(r.upstream).toBeNull();
      expect(await f.lastCacheStatus()).toBe(cached ? 'MISS' : 'OFF');
    }
    // The cached token itself still hits.
    expect(await pass('/', t)).toBe(cached ? 'HIT' : 'OFF');
  });

  it('says BYPASS (or OFF without a cache) for a request refused before any lookup', async () => {
    for (const headers of [API, bearer('not-a-jws'), bearer('a.b'), [['Authorization', 'Bearer '] as [string, string], ...API]]) {
      const { res, upstream } = await f.request('/', headers);
      expect(upstream).toBeNull();
      expect(res.status).toBe(401);
      expect(await f.lastCacheStatus()).toBe(cached ? 'BYPASS' : 'OFF');
    }
    // A well-formed token that fails its check was looked up first.
    const { res } = await f.request('/', bearer(tamperSignature(signJwt(f.keys, 'ES256', claims()))));
    expect(res.status).toBe(401);
    expect(await f.lastCacheStatus()).toBe(cached ? 'MISS' : 'OFF');
  });

  it('refuses a cached token once it has expired', async () => {
    const exp = nowSeconds() + 2;
    const t = signJwt(f.keys, 'ES256', claims({ exp }));
    await pass('/leeway0/', t);
    expect(await pass('/leeway0/', t)).toBe(cached ? 'HIT' : 'OFF');
    await sleep((exp - Date.now() / 1000) * 1000 + 300);
    await refused('/leeway0/', t, 'ERR_JWT_EXPIRED');
  });

  it('applies the location policy on every hit', async () => {
    const t = signJwt(f.keys, 'ES256', claims({ dns: ['cn=users,ou=groups,dc=example,dc=com'] }));
    await pass('/', t);
    expect(await pass('/', t)).toBe(cached ? 'HIT' : 'OFF');
    const { res, upstream } = await f.request('/group-any/', bearer(t));
    expect(upstream).toBeNull();
    expect(res.status).toBe(403);
    const ok = signJwt(f.keys, 'ES256', claims({ dns: [ADMINS_DN] }));
    expect(await pass('/group-any/', ok)).toBe(cached ? 'MISS' : 'OFF');
  });

  it('forgets verdicts reached with a key that is removed from the key file', async () => {
    const file = join(f.nginx.hostDir, 'rotation.jwks');
    const before = jwksText([publicJwk(f.keys.rsa, { alg: 'RS256' }), publicJwk(f.keys.rsa2, { alg: 'RS256' }),
      publicJwk(f.keys.ec256, { use: 'enc' })]);
    const t = signJwt(f.keys, 'RS256', claims(), { key: f.keys.rsa2 });
    try {
      await pass('/rotation/', t);
      expect(await pass('/rotation/', t)).toBe(cached ? 'HIT' : 'OFF');
      writeFileSync(file, jwksText([publicJwk(f.keys.rsa, { alg: 'RS256' })]));
      // A hit trusts the key files' identity for KEY_FILE_CHECK_SECONDS, then stats them again.
      await sleep(KEY_FILE_CHECK_SECONDS * 1000 + 200);
      await refused('/rotation/', t, 'ERR_');
    } finally {
      writeFileSync(file, before);
    }
    await pass('/rotation/', t);
  });

  it('refuses a cached token once its session or the token itself is revoked (njs >= 0.8)', async () => {
    if (!f.runtime.sharedDict) return; // no shared dicts on njs 0.7.9: revocation at the edge does not exist there
    const revoke = async (entry: Record<string, unknown>) => {
      const body = JSON.stringify({ revoke: [Object.assign({ until: nowSeconds() + 600 }, entry)] });
      const res = await fetch(f.nginx.url('revoke', '/_ljwt/revoke'), { method: 'POST', body,
        headers: { Authorization: `Bearer ${REVOCATION_SECRET}`, 'Content-Type': 'application/json' } });
      expect(res.status).toBe(204);
    };
    const bySession = signJwt(f.keys, 'ES256', claims({ sid: 'session-1', jti: 'token-1' }));
    const sameSession = signJwt(f.keys, 'ES256', claims({ sid: 'session-1', jti: 'token-2' }));
    const byToken = signJwt(f.keys, 'ES256', claims({ sid: 'session-2', jti: 'token-3' }));
    for (const t of [bySession, sameSession, byToken]) {
      await pass('/', t);
      expect(await pass('/', t)).toBe('HIT');
    }
    await revoke({ sid: 'session-1' });
    await refused('/', bySession, 'ERR_JWT_REVOKED');
    await refused('/', sameSession, 'ERR_JWT_REVOKED');
    expect(await pass('/', byToken)).toBe('HIT');
    await revoke({ jti: 'token-3' });
    await refused('/', byToken, 'ERR_JWT_REVOKED');
  });

  it('does not cache where $ljwt_cache_max_age is 0, and says OFF', async () => {
    const t = signJwt(f.keys, 'ES256', claims());
    expect(await pass('/nocache/', t)).toBe('OFF');
    expect(await pass('/nocache/', t)).toBe('OFF');
    const { res } = await f.request('/nocache/', API);
    expect(res.status).toBe(401);
    expect(await f.lastCacheStatus()).toBe('OFF');
  });
});
