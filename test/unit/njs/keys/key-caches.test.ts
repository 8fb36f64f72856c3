// Key caches for runtimes that keep module state between requests (QuickJS):
// parsed key sets by file text, CryptoKeys by key and alg. Only successes are kept.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cachedKeySet } from '#njs/keys/key-set-cache.ts';
import { keySetFromJwks } from '#njs/keys/key-set.ts';
import { importVerifyKey } from '#njs/keys/import-key.ts';
import { generateTestKeys, jwksText } from '../../../harness/tokens.ts';

const keys = generateTestKeys();

afterEach(() => { vi.restoreAllMocks(); });

describe('cachedKeySet', () => {
  it('parses a file text once and a changed text again', () => {
    const parse = vi.fn(keySetFromJwks);
    const a = jwksText([keys.ec256]);
    const b = jwksText([keys.rsa]);
    const first = cachedKeySet(a, parse);
    expect(cachedKeySet(a, parse)).toBe(first);
    expect(cachedKeySet(b, parse)).not.toBe(first);
    expect(parse).toHaveBeenCalledTimes(2);
  });
  it('does not keep a text whose parse failed', () => {
    const parse = vi.fn(keySetFromJwks);
    expect(() => cachedKeySet('{"keys": 1}', parse)).toThrow();
    expect(() => cachedKeySet('{"keys": 1}', parse)).toThrow();
    expect(parse).toHaveBeenCalledTimes(2);
  });
  it('stays bounded when key files keep changing', () => {
    const parse = vi.fn(keySetFromJwks);
    const text = (i: number) => JSON.stringify({ keys: [], n: i });
    const first = cachedKeySet(text(0), parse);
    for (let i = 1; i < 40; i++) cachedKeySet(text(i), parse);
    expect(cachedKeySet(text(0), parse)).not.toBe(first);
  });
});

describe('importVerifyKey keeps the CryptoKey on the key object', () => {
  it('imports once per key and alg', async () => {
    const set = keySetFromJwks(jwksText([keys.rsa]));
    const spy = vi.spyOn(globalThis.crypto.subtle, 'importKey');
    const k1 = await importVerifyKey(set.keys[0], 'RS256');
    const k2 = await importVerifyKey(set.keys[0], 'RS256');
    expect(k2).toBe(k1);
    await importVerifyKey(set.keys[0], 'PS256');
    expect(spy).toHaveBeenCalledTimes(2);
  });
  it('never caches a refusal', async () => {
    const set = keySetFromJwks(jwksText([keys.rsa]));
    await expect(importVerifyKey(set.keys[0], 'ES256')).rejects.toMatchObject({ code: 'ERR_JWKS_INVALID' });
    expect(set.keys[0].imported).toBeUndefined();
  });
});
