// Parsed key files kept for later requests (njs/nginx/key-set-store.ts): with
// the shared zone a key file's text is parsed once, and a fresh VM (a fresh
// module import) reads the keys back instead; another text is parsed anew;
// an invalid file fails every time and is never kept; without a zone nothing
// is kept between VMs.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keySetFromJwks, type KeySet } from '#njs/keys/key-set.ts';
import { generateTestKeys, jwksText } from '../../../harness/tokens.ts';

const g = globalThis as unknown as { ngx?: unknown; njs?: unknown };
const keys = generateTestKeys();

// By a name the type check does not follow: the adapter's types need njs's globals (njs/tsconfig.json).
const STORE_MODULE: string = '#njs/nginx/key-set-store.ts';
interface KeySetStore { keySetOfText(format: string, text: string, parse: (text: string) => KeySet): KeySet }

async function freshStore(): Promise<KeySetStore> {
  vi.resetModules();
  return (await import(STORE_MODULE)) as KeySetStore;
}

function installZone(): Map<string, string> {
  const entries = new Map<string, string>();
  g.ngx = { shared: { ljwt_decisions: { get: (k: string) => entries.get(k), set: (k: string, v: string) => { entries.set(k, v); } } } };
  g.njs = { version: '0.8.9' };
  return entries;
}

const hex = (set: KeySet) => set.keys.map((k) => [k.kty, k.kid, Buffer.from(k.der).toString('hex')]);

afterEach(() => {
  delete g.ngx;
  delete g.njs;
  vi.resetModules();
});

describe('key files kept in the shared zone', () => {
  it('are parsed once per text; a fresh VM reads the same keys back', async () => {
    const entries = installZone();
    const text = jwksText([keys.rsa, keys.ec256, keys.hs256]);
    const parse = vi.fn(keySetFromJwks);
    const first = (await freshStore()).keySetOfText('JWKS', text, parse);
    const again = (await freshStore()).keySetOfText('JWKS', text, parse);
    expect(parse).toHaveBeenCalledTimes(1);
    expect(hex(again)).toEqual(hex(first));
    expect(entries.size).toBe(1);
    (await freshStore()).keySetOfText('JWKS', jwksText([keys.ec256]), parse);
    expect(parse).toHaveBeenCalledTimes(2);
  });

  it('never keep an invalid file: it fails on every read', async () => {
    const entries = installZone();
    const parse = vi.fn(keySetFromJwks);
    for (let i = 0; i < 2; i++) {
      const store = await freshStore();
      expect(() => store.keySetOfText('JWKS', '{"keys": 1}', parse)).toThrow();
    }
    expect(parse).toHaveBeenCalledTimes(2);
    expect(entries.size).toBe(0);
  });

  it('parse again when the zone holds something unreadable under the key', async () => {
    const entries = installZone();
    const text = jwksText([keys.ec256]);
    const parse = vi.fn(keySetFromJwks);
    (await freshStore()).keySetOfText('JWKS', text, parse);
    for (const k of entries.keys()) entries.set(k, '{"keys":[{"kty":"EC"}]}');
    expect(hex((await freshStore()).keySetOfText('JWKS', text, parse))).toEqual(hex(keySetFromJwks(text)));
    expect(parse).toHaveBeenCalledTimes(2);
  });

  it('are parsed again in every fresh VM where there is no zone (njs 0.7)', async () => {
    g.njs = { version: '0.7.9' };
    const parse = vi.fn(keySetFromJwks);
    const text = jwksText([keys.rsa]);
    (await freshStore()).keySetOfText('JWKS', text, parse);
    (await freshStore()).keySetOfText('JWKS', text, parse);
    expect(parse).toHaveBeenCalledTimes(2);
  });
});
