// Two service instances sharing one real redis-server (and one key directory):
// a code issued by A is redeemed at B; a family revoked at one is dead at both;
// throttling counts across both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slapd } from '../../harness/slapd.ts';
import { RedisStore } from '../../../service/src/store/redis-store.ts';
import { startRedis, type RedisHandle } from '../../harness/redis.ts';
import {
  authorize, form, http, makeConfig, PASSWORD_CLIENT, pkcePair, PUBLIC_CLIENT, REDIRECT, refreshRequest, refreshTwiceAtOnce, startDirectory, startService, tempDir, tokenRequest, type RunningService,
} from '../../harness/service-app.ts';

let slapd: Slapd;
let redis: RedisHandle;
let dir: ReturnType<typeof tempDir>;
let a: RunningService;
let b: RunningService;
const stores: RedisStore[] = [];

beforeAll(async () => {
  [slapd, redis] = await Promise.all([startDirectory(), startRedis()]);
  dir = tempDir();
  const config = makeConfig(slapd, `${dir.dir}/keys`, { redisUrl: redis.url, throttle: { maxFailuresPerUsername: 4, maxFailuresPerIp: 100, windowSeconds: 60 } });
  const sa = new RedisStore(redis.url);
  const sb = new RedisStore(redis.url);
  stores.push(sa, sb);
  a = await startService(config, sa);
  b = await startService(config, sb);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  for (const s of stores) await s.close();
  await redis?.stop();
  await slapd?.destroy();
  dir?.remove();
});

describe('shared Redis store', () => {
  it('code issued by A is redeemed at B, exactly once', async () => {
    const p = pkcePair();
    const { location } = await authorize(a.base, { client_id: PUBLIC_CLIENT, code_challenge: p.challenge, code_challenge_method: 'S256' }, 'alice', 'alice-pw');
    const code = location!.searchParams.get('code')!;
    const params = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: PUBLIC_CLIENT, code_verifier: p.verifier };
    const [r1, r2] = await Promise.all([tokenRequest(b.base, params), tokenRequest(a.base, params)]);
    expect([r1.status, r2.status].sort()).toEqual([200, 400]);
    const t = (r1.status === 200 ? r1 : r2).json();
    // The replay at the other instance revoked what the first redemption got.
    expect((await http(`${a.base}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } })).status).toBe(401);
  });

  it('refresh family revoked through A is refused at B; access tokens too', async () => {
    const t = (await tokenRequest(a.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT })).json();
    expect((await http(`${b.base}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } })).status).toBe(200);
    const r1 = (await refreshRequest(b.base, t.refresh_token, PASSWORD_CLIENT)).json();
    expect(typeof r1.refresh_token).toBe('string');
    const rev = await http(`${a.base}/revoke`, { method: 'POST', ...form({ token: r1.refresh_token, client_id: PASSWORD_CLIENT }) });
    expect(rev.status).toBe(200);
    expect((await refreshRequest(b.base, r1.refresh_token, PASSWORD_CLIENT)).json().error).toBe('invalid_grant');
    expect((await http(`${b.base}/auth/validate`, { headers: { authorization: `Bearer ${r1.access_token}` } })).status).toBe(401);
  });

  it('refresh reuse detected across instances revokes the family everywhere', async () => {
    const t = (await tokenRequest(a.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT })).json();
    // Concurrent use within the grace window: both get the same successor.
    await refreshTwiceAtOnce(a.base, b.base, t.refresh_token, PASSWORD_CLIENT);
  });

  it('throttling counts failures across instances', async () => {
    for (let i = 0; i < 2; i++) {
      expect((await tokenRequest(a.base, { grant_type: 'password', username: 'carol', password: 'bad', client_id: PASSWORD_CLIENT })).status).toBe(400);
      expect((await tokenRequest(b.base, { grant_type: 'password', username: 'carol', password: 'bad', client_id: PASSWORD_CLIENT })).status).toBe(400);
    }
    const calls = a.auth.calls + b.auth.calls;
    const blocked = await tokenRequest(a.base, { grant_type: 'password', username: 'carol', password: 'carol-pw', client_id: PASSWORD_CLIENT });
    expect(blocked.status).toBe(429);
    expect(a.auth.calls + b.auth.calls).toBe(calls);
  });

  it('readyz reports the Redis store', async () => {
    const r = (await http(`${b.base}/readyz`)).json();
    expect(r.checks.find((c: { name: string }) => c.name === 'store')).toEqual({ name: 'store', ok: true, detail: 'redis' });
  });
});
