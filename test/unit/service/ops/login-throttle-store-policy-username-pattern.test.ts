// LoginThrottle keying and store growth on the real MemoryStore, the production store policy, and usernamePattern anchoring.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../service/src/config/load.ts';
import { LoginThrottle } from '../../../../service/src/ops/throttle.ts';
import { createStore } from '../../../../service/src/store/create-store.ts';
import { MemoryStore } from '../../../../service/src/store/memory-store.ts';

const limits = { maxFailuresPerUsername: 3, maxFailuresPerIp: 2, windowSeconds: 300 };

describe('LoginThrottle', () => {
  it('counts every spelling of one IPv6 /64 together, IPv4 addresses apart', async () => {
    const t = new LoginThrottle(new MemoryStore(), limits);
    expect((await t.attempt('a', '2001:db8:0:1::1')).allowed).toBe(true);
    expect((await t.attempt('b', '2001:0DB8:0000:0001:aaaa:bbbb:cccc:dddd')).allowed).toBe(true);
    expect(await t.attempt('c', '2001:db8::1:0:0:0:7')).toMatchObject({ allowed: false, limit: 'ip' });
    expect((await t.attempt('c', '2001:db8:0:2::1')).allowed).toBe(true);
    expect((await t.attempt('c', '192.0.2.1')).allowed).toBe(true);
    expect((await t.attempt('c', '192.0.2.2')).allowed).toBe(true);
  });

  it('a client over its IP limit adds no store entries, whatever usernames it tries', async () => {
    const store = new MemoryStore();
    const t = new LoginThrottle(store, limits);
    for (let i = 0; i < 2; i++) expect((await t.attempt(`u${i}`, '192.0.2.9')).allowed).toBe(true);
    const size = store.size();
    for (let i = 0; i < 50; i++) expect((await t.attempt(`flood${i}`, '192.0.2.9')).allowed).toBe(false);
    expect(store.size()).toBe(size);
  });

  it('the account budget is shared by every name that resolves to the DN, reserved once per attempt', async () => {
    const t = new LoginThrottle(new MemoryStore(), { ...limits, maxFailuresPerIp: 100 });
    const dn = 'CN=Erin Evans,OU=ad,DC=example,DC=com';
    for (const name of ['eevans', 'eevans@ad.example.com', 'EEVANS']) {
      const d = await t.attempt(name, '192.0.2.1');
      if (!d.allowed) throw new Error('unexpected throttle');
      expect(await d.account(dn)).toEqual({ allowed: true });
      expect(await d.account(dn)).toEqual({ allowed: true }); // failover to a replica: same slot
      await d.release('failure');
    }
    const d = await t.attempt('erin.evans', '192.0.2.1');
    if (!d.allowed) throw new Error('unexpected throttle');
    expect(await d.account(dn.toLowerCase())).toMatchObject({ allowed: false });
    await d.release('neutral');
  });
});

describe('the production memory store policy (createStore)', () => {
  it('a flood of evictable entries never drops counters or revocations, nor a reuse mark before its token', async () => {
    const store = createStore(undefined) as MemoryStore;
    await store.incr('thr:a:victim', 300);
    await store.set('famrev:f', '1', 3600);
    await store.set('rt:old', '{}', 3600);
    await store.set('rtused:old', '{}', 3600);
    let markWithoutToken = false;
    for (let i = 0; i < 120_000; i++) {
      await store.set(`rt:flood${i}`, '{}', 3600);
      if (i % 1000 === 0 && (await store.get('rtused:old')) !== null && (await store.get('rt:old')) === null) markWithoutToken = true;
    }
    expect(store.size()).toBeLessThanOrEqual(100_000);
    expect((await store.incr('thr:a:victim', 300)).count).toBe(2);
    expect(await store.get('famrev:f')).toBe('1');
    expect(markWithoutToken).toBe(false);
    expect(await store.get('rt:old')).toBeNull();
    await store.close();
  });
});

describe('usernamePattern anchoring', () => {
  it('an alternation cannot leave half of the pattern unanchored', () => {
    const original = fileURLToPath(new URL('../../../fixtures/config/original-format.xml', import.meta.url));
    const cfg = loadConfig({ file: original, env: { LJWT_ISSUER: 'https://login.example.com', LJWT_USERNAME_PATTERN: '^[a-z]+|[0-9]+$' } });
    expect(cfg.usernamePattern.test('alice')).toBe(true);
    expect(cfg.usernamePattern.test('42')).toBe(true);
    expect(cfg.usernamePattern.test('alice)(uid=*')).toBe(false);
    expect(cfg.usernamePattern.test('*)(x=1')).toBe(false);
  });
});
