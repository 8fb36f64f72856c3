// Pure pieces of the service: client IP, throttle, CSRF, PKCE, client auth,
// refresh rotation, form parsing, log redaction.
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIp, trustedProxyList } from '../../../../service/src/ops/client-ip.ts';
import { LoginThrottle } from '../../../../service/src/ops/throttle.ts';
import { MemoryStore } from '../../../../service/src/store/memory-store.ts';
import { Csrf } from '../../../../service/src/oauth/csrf.ts';
import { s256, verifyPkce, isValidChallenge } from '../../../../service/src/oauth/pkce.ts';
import { authenticateClient } from '../../../../service/src/oauth/client-auth.ts';
import type { ServiceError } from '../../../../service/src/http/errors.ts';
import { RefreshTokens } from '../../../../service/src/oauth/refresh-tokens.ts';
import { Revocations } from '../../../../service/src/oauth/revocation.ts';
import { parseForm } from '../../../../service/src/http/request.ts';
import { jsonLogger, redact } from '../../../../service/src/ops/logger.ts';
import type { OAuthClientConfig } from '../../../../service/src/config/types.ts';
import type { Grant } from '../../../../service/src/oauth/grant.ts';

describe('clientIp', () => {
  const trusted = trustedProxyList(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32']);
  it('uses the socket address unless the peer is a trusted proxy', () => {
    expect(clientIp('203.0.113.5', '1.2.3.4', trusted)).toBe('203.0.113.5');
    expect(clientIp('::ffff:203.0.113.5', undefined, trusted)).toBe('203.0.113.5');
  });
  it('walks X-Forwarded-For right to left past trusted proxies', () => {
    expect(clientIp('10.1.2.3', '6.6.6.6, 198.51.100.7, 10.9.9.9', trusted)).toBe('198.51.100.7');
    expect(clientIp('192.0.2.1', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientIp('2001:db8::1', '2001:db8::2, 2a00::1', trusted)).toBe('2a00::1');
    expect(clientIp('10.1.2.3', ['1.1.1.1', '198.51.100.8'], trusted)).toBe('198.51.100.8');
  });
  it('garbage in the header falls back to the proxy address', () => {
    expect(clientIp('10.1.2.3', 'not-an-ip', trusted)).toBe('10.1.2.3');
  });
  it('refuses malformed trusted proxy entries', () => {
    expect(() => trustedProxyList(['10.0.0.0/33'])).toThrow();
    expect(() => trustedProxyList(['proxy.example'])).toThrow();
  });
});

describe('LoginThrottle', () => {
  /** n allowed attempts of bob from 1.1.1.1, each released with `outcome`. */
  async function attemptsEnding(t: LoginThrottle, n: number, outcome: 'failure' | 'neutral'): Promise<void> {
    for (let i = 0; i < n; i++) {
      const d = await t.attempt('bob', '1.1.1.1');
      expect(d.allowed).toBe(true);
      if (d.allowed) await d.release(outcome);
    }
  }
  it('reserves before the bind and refuses beyond the limit', async () => {
    const t = new LoginThrottle(new MemoryStore(), { maxFailuresPerUsername: 2, maxFailuresPerIp: 10, windowSeconds: 60 });
    await attemptsEnding(t, 2, 'failure');
    const blocked = await t.attempt('BOB', '2.2.2.2');
    expect(blocked).toMatchObject({ allowed: false, limit: 'username' });
    if (!blocked.allowed) expect(blocked.retryAfterSeconds).toBeGreaterThan(0);
  });
  it('a directory outage does not count as a failure', async () => {
    const t = new LoginThrottle(new MemoryStore(), { maxFailuresPerUsername: 1, maxFailuresPerIp: 1, windowSeconds: 60 });
    await attemptsEnding(t, 3, 'neutral');
  });
  it('an IP refusal does not consume the username budget', async () => {
    const store = new MemoryStore();
    const t = new LoginThrottle(store, { maxFailuresPerUsername: 1, maxFailuresPerIp: 1, windowSeconds: 60 });
    const d = await t.attempt('a', '9.9.9.9');
    if (d.allowed) await d.release('failure');
    expect(await t.attempt('b', '9.9.9.9')).toMatchObject({ allowed: false, limit: 'ip' });
    expect((await t.attempt('b', '8.8.8.8')).allowed).toBe(true);
  });
});

describe('Csrf', () => {
  const key = Buffer.alloc(32, 7);
  it('accepts a token once, for its own cookie, before expiry', async () => {
    const c = new Csrf(key, new MemoryStore(), 600);
    const binding = c.newBinding();
    const tok = c.issue(binding, 1000);
    expect(await c.verify(c.newBinding(), tok, 1000)).toBe(false);
    expect(await c.verify(binding, tok, 1601)).toBe(false);
    expect(await c.verify(binding, tok, 1000)).toBe(true);
    expect(await c.verify(binding, tok, 1000)).toBe(false);
    expect(await c.verify(undefined, c.issue(binding, 1000), 1000)).toBe(false);
    expect(await c.verify(binding, undefined, 1000)).toBe(false);
  });
  it('a token signed with another key is refused', async () => {
    const store = new MemoryStore();
    const a = new Csrf(key, store, 600);
    const b = new Csrf(Buffer.alloc(32, 8), store, 600);
    const binding = a.newBinding();
    expect(await a.verify(binding, b.issue(binding, 1000), 1000)).toBe(false);
  });
});

describe('PKCE', () => {
  it('RFC 7636 Appendix B vector', () => {
    expect(s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(verifyPkce('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toBe(true);
  });
  it('rejects short or malformed verifiers and challenges', () => {
    expect(verifyPkce('short', s256('short'))).toBe(false);
    expect(verifyPkce('a'.repeat(129), s256('a'.repeat(129)))).toBe(false);
    expect(isValidChallenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=')).toBe(false);
  });
});

describe('authenticateClient', () => {
  const clients: OAuthClientConfig[] = [
    { clientId: 'pub', redirectUris: [], grantTypes: ['authorization_code'], postLogoutRedirectUris: [], scopes: [] },
    { clientId: 'c:1', clientSecret: 's p+c', redirectUris: [], grantTypes: ['authorization_code'], postLogoutRedirectUris: [], scopes: [] },
  ];
  const req = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;
  const basic = (id: string, s: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString('base64')}`;
  const code = (f: () => unknown) => { try { f(); return 'ok'; } catch (e) { return (e as ServiceError).code; } };

  it('basic with form-urlencoded id and secret (RFC 6749 §2.3.1)', () => {
    expect(authenticateClient(req(basic('c:1', 's p+c')), new Map(), clients).method).toBe('client_secret_basic');
    expect(code(() => authenticateClient(req(basic('c:1', 'wrong')), new Map(), clients))).toBe('invalid_client');
  });
  it('post, none, and the refusals', () => {
    expect(authenticateClient(req(), new Map([['client_id', 'c:1'], ['client_secret', 's p+c']]), clients).method).toBe('client_secret_post');
    expect(authenticateClient(req(), new Map([['client_id', 'pub']]), clients).method).toBe('none');
    expect(code(() => authenticateClient(req(), new Map([['client_id', 'c:1']]), clients))).toBe('invalid_client');
    expect(code(() => authenticateClient(req(), new Map([['client_id', 'pub'], ['client_secret', 'x']]), clients))).toBe('invalid_client');
    expect(code(() => authenticateClient(req(), new Map([['client_id', 'ghost']]), clients))).toBe('invalid_client');
    expect(code(() => authenticateClient(req(basic('c:1', 's p+c')), new Map([['client_secret', 's p+c']]), clients))).toBe('invalid_request');
    expect(code(() => authenticateClient(req(basic('c:1', 's p+c')), new Map([['client_id', 'pub']]), clients))).toBe('invalid_request');
  });
});

describe('RefreshTokens', () => {
  const grant: Grant = { clientId: 'c', subject: { username: 'u', objectId: 'o', dn: 'uid=u' }, scope: ['api'], authTime: 1, familyId: 'fam1' };
  function setup(grace: number) {
    const store = new MemoryStore();
    const clock = { t: 1000 };
    const rev = new Revocations(store, 3600);
    return { store, clock, rev, rt: new RefreshTokens(store, 3600, grace * 1000, rev, () => clock.t) };
  }
  it('rotation, grace (same successor), then family revocation', async () => {
    const { rt, clock, rev, store } = setup(10);
    const t0 = await rt.issue(grant);
    const reuse: string[] = [];
    const r1 = await rt.rotate(t0, 'c', (o) => reuse.push(o));
    expect(r1.outcome).toBe('rotated');
    clock.t += 5;
    const again = await rt.rotate(t0, 'c', (o) => reuse.push(o));
    expect(again).toMatchObject({ outcome: 'grace', refreshToken: r1.refreshToken });
    // The store never holds a refresh token in clear.
    const dump = JSON.stringify([...(store as unknown as { entries: Map<string, unknown> }).entries]);
    expect(dump).not.toContain(t0);
    expect(dump).not.toContain(r1.refreshToken);
    clock.t += 6;
    await expect(rt.rotate(t0, 'c', (o) => reuse.push(o))).rejects.toMatchObject({ code: 'invalid_grant' });
    expect(reuse).toEqual(['grace', 'family_revoked']);
    expect(await rev.isFamilyRevoked('fam1')).toBe(true);
    await expect(rt.rotate(r1.refreshToken, 'c', () => {})).rejects.toMatchObject({ code: 'invalid_grant' });
  });
  it('grace 0 revokes on any reuse; wrong client is refused', async () => {
    const { rt } = setup(0);
    const t0 = await rt.issue({ ...grant, familyId: 'fam2' });
    await expect(rt.rotate(t0, 'other', () => {})).rejects.toMatchObject({ code: 'invalid_grant' });
    await rt.rotate(t0, 'c', () => {});
    await expect(rt.rotate(t0, 'c', () => {})).rejects.toMatchObject({ code: 'invalid_grant' });
  });
});

describe('parseForm', () => {
  it('refuses repeated parameters', () => {
    expect(parseForm('a=1&b=2').get('b')).toBe('2');
    expect(() => parseForm('a=1&a=2')).toThrow(/repeated/);
  });
});

describe('logger', () => {
  it('redacts secret-looking fields and writes one JSON line per event', () => {
    const lines: string[] = [];
    const log = jsonLogger((l) => lines.push(l));
    log.info('x', { username: 'u', password: 'pw', refresh_token: 'rt', code: 'c', client_secret: 's', grant_type: 'password' });
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]!);
    expect(o).toMatchObject({ level: 'info', event: 'x', username: 'u', password: '[redacted]', refresh_token: '[redacted]', code: '[redacted]', client_secret: '[redacted]', grant_type: 'password' });
    expect(redact({ authorization: 'Bearer x' }).authorization).toBe('[redacted]');
    log.debug('hidden');
    expect(lines).toHaveLength(1);
  });
});

describe('Csrf encoding', () => {
  it('refuses a non-canonical spelling of a valid MAC', async () => {
    const c = new Csrf(Buffer.alloc(32, 1), new MemoryStore(), 600);
    const binding = c.newBinding();
    for (let i = 0; i < 20; i++) {
      const tok = c.issue(binding, 1000);
      const last = tok[tok.length - 1]!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const idx = alphabet.indexOf(last);
      const twin = tok.slice(0, -1) + alphabet[idx ^ 1];
      expect(await c.verify(binding, twin, 1000)).toBe(false);
      expect(await c.verify(binding, tok, 1000)).toBe(true);
    }
  });
});
