// Login throttling happens before the LDAP bind: once over the limit, even the
// right password gets 429 and slapd sees no bind for the user.
import { describe, expect, it } from 'vitest';
import {
  authorize, makeConfig, PASSWORD_CLIENT, pkcePair, PUBLIC_CLIENT, REDIRECT, type RunningService, serviceSuite, tokenRequest,
} from '../../harness/service-app.ts';

const suite = serviceSuite();

const service = (over: Parameters<typeof makeConfig>[2]) => suite.start(over);

function formLogin(s: RunningService, user: string, pw: string) {
  const p = pkcePair();
  return authorize(s.base, { client_id: PUBLIC_CLIENT, code_challenge: p.challenge, code_challenge_method: 'S256' }, user, pw);
}

const CAROL_DN = 'uid=carol,ou=people,dc=example,dc=com';

describe('login throttling', () => {
  it('per username: after the limit even the correct password gets 429 + Retry-After, without an LDAP bind', async () => {
    const s = await service({ throttle: { maxFailuresPerUsername: 3, maxFailuresPerIp: 100, windowSeconds: 120 } });
    for (let i = 0; i < 3; i++) expect((await formLogin(s, 'carol', `wrong-${i}`)).res.status).toBe(401);
    const callsBefore = s.auth.calls;
    const bindsBefore = (await suite.slapd.boundDns()).filter((d) => d === CAROL_DN).length;
    const blocked = await formLogin(s, 'carol', 'carol-pw');
    expect(blocked.res.status).toBe(429);
    expect(blocked.location).toBeUndefined();
    const retry = Number(blocked.res.headers['retry-after']);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(120);
    expect(blocked.res.text).toContain('role="alert"');
    // Case variants share the budget.
    expect((await formLogin(s, 'CAROL', 'carol-pw')).res.status).toBe(429);
    const viaToken = await tokenRequest(s.base, { grant_type: 'password', username: 'carol', password: 'carol-pw', client_id: PASSWORD_CLIENT });
    expect(viaToken.status).toBe(429);
    expect(viaToken.headers['retry-after']).toBeDefined();
    expect(s.auth.calls).toBe(callsBefore);
    expect((await suite.slapd.boundDns()).filter((d) => d === CAROL_DN).length).toBe(bindsBefore);
    expect((await formLogin(s, 'alice', 'alice-pw')).res.status).toBe(303); // other users are unaffected
    expect(s.app.context.metrics.throttled.get({ limit: 'username' })).toBe(3);
  });

  it('a successful login clears the username counter', async () => {
    const s = await service({ throttle: { maxFailuresPerUsername: 3, maxFailuresPerIp: 100, windowSeconds: 120 } });
    for (let i = 0; i < 2; i++) expect((await formLogin(s, 'carol', 'bad')).res.status).toBe(401);
    expect((await formLogin(s, 'carol', 'carol-pw')).res.status).toBe(303);
    for (let i = 0; i < 3; i++) expect((await formLogin(s, 'carol', 'bad')).res.status).toBe(401);
    expect((await formLogin(s, 'carol', 'carol-pw')).res.status).toBe(429);
  });

  it('parallel guesses cannot exceed the limit', async () => {
    const s = await service({ throttle: { maxFailuresPerUsername: 3, maxFailuresPerIp: 100, windowSeconds: 120 } });
    const before = s.auth.calls;
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      tokenRequest(s.base, { grant_type: 'password', username: 'carol', password: `guess-${i}`, client_id: PASSWORD_CLIENT })));
    expect(s.auth.calls - before).toBe(3);
    expect(results.filter((r) => r.status === 429)).toHaveLength(7);
  });

  it('per client IP, with X-Forwarded-For believed only from a trusted proxy', async () => {
    const s = await service({ throttle: { maxFailuresPerUsername: 100, maxFailuresPerIp: 4, windowSeconds: 120 }, trustedProxies: ['127.0.0.1'] });
    const xff = (ip: string) => ({ 'x-forwarded-for': `198.51.100.99, ${ip}` });
    for (let i = 0; i < 4; i++) {
      const r = await tokenRequest(s.base, { grant_type: 'password', username: `user${i}`, password: 'x', client_id: PASSWORD_CLIENT }, xff('203.0.113.7'));
      expect(r.status).toBe(400);
    }
    const calls = s.auth.calls;
    const blocked = await tokenRequest(s.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT }, xff('203.0.113.7'));
    expect(blocked.status).toBe(429);
    expect(s.auth.calls).toBe(calls);
    const other = await tokenRequest(s.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT }, xff('203.0.113.8'));
    expect(other.status).toBe(200);
  });

  it('X-Forwarded-For from an untrusted peer is ignored', async () => {
    const s = await service({ throttle: { maxFailuresPerUsername: 100, maxFailuresPerIp: 2, windowSeconds: 120 } });
    for (let i = 0; i < 2; i++) {
      await tokenRequest(s.base, { grant_type: 'password', username: `u${i}`, password: 'x', client_id: PASSWORD_CLIENT }, { 'x-forwarded-for': `192.0.2.${i}` });
    }
    const r = await tokenRequest(s.base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT }, { 'x-forwarded-for': '192.0.2.200' });
    expect(r.status).toBe(429);
  });
});

describe('authorization code lifetime', () => {
  it('an expired code is invalid_grant', async () => {
    const s = await service({ authorizationCodeTtlSeconds: 1 });
    const p = pkcePair();
    const { location } = await authorize(s.base, { client_id: PUBLIC_CLIENT, code_challenge: p.challenge, code_challenge_method: 'S256' }, 'alice', 'alice-pw');
    await new Promise((r) => setTimeout(r, 2100));
    const t = await tokenRequest(s.base, { grant_type: 'authorization_code', code: location!.searchParams.get('code')!, redirect_uri: REDIRECT, client_id: PUBLIC_CLIENT, code_verifier: p.verifier });
    expect(t.status).toBe(400);
    expect(t.json().error).toBe('invalid_grant');
  });
});
