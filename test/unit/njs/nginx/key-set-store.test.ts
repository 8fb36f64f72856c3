// Parsed key files kept for later requests (njs/nginx/key-set-store.ts): with
// the shared zone a key file's text is parsed once, and a fresh VM (a fresh
// module import) reads the keys back instead; another text is parsed anew;
// an invalid file fails every time and is never kept; without a zone nothing
// is kept between VMs.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { freshModule, installDecisionZone, installNjsVersion, removeNjsGlobals } from '../../../harness/njs-globals.ts';
import { keySetFromJwks, type KeySet } from '#njs/keys/key-set.ts';
import { generateTestKeys, jwksText } from '../../../harness/tokens.ts';

const keys = generateTestKeys();

// By a name the type check does not follow: the adapter's types need njs's globals (njs/tsconfig.json).
const STORE_MODULE: string = '#njs/nginx/key-set-store.ts';
interface KeySetStore { keySetOfText(format: string, text: string, parse: (text: string) => KeySet): KeySet }

const freshStore = () => freshModule<KeySetStore>(STORE_MODULE);

const hex = (set: KeySet) => set.keys.map((k) => [k.kty, k.kid, Buffer.from(k.der).toString('hex')]);

afterEach(removeNjsGlobals);

describe('key files kept in the shared zone', () => {
  it('are parsed once per text; a fresh VM reads the same keys back', async () => {
    const entries = installDecisionZone();
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
    const entries = installDecisionZone();
    const parse = vi.fn(keySetFromJwks);
    for (let i = 0; i < 2; i++) {
      const store = await freshStore();
      expect(() => store.keySetOfText('JWKS', '{"keys": 1}', parse)).toThrow();
    }
    expect(parse).toHaveBeenCalledTimes(2);
    expect(entries.size).toBe(0);
  });

  it('parse again when the zone holds something unreadable under the key', async () => {
    const entries = installDecisionZone();
    const text = jwksText([keys.ec256]);
    const parse = vi.fn(keySetFromJwks);
    (await freshStore()).keySetOfText('JWKS', text, parse);
    for (const k of entries.keys()) entries.set(k, '{"keys":[{"kty":"EC"}]}');
    expect(hex((await freshStore()).keySetOfText('JWKS', text, parse))).toEqual(hex(keySetFromJwks(text)));
    expect(parse).toHaveBeenCalledTimes(2);
  });

  it('are parsed again in every fresh VM where there is no zone (njs 0.7)', async () => {
    installNjsVersion('0.7.9');
    const parse = vi.fn(keySetFromJwks);
    const text = jwksText([keys.rsa]);
    (await freshStore()).keySetOfText('JWKS', text, parse);
    (await freshStore()).keySetOfText('JWKS', text, parse);
    expect(parse).toHaveBeenCalledTimes(2);
  });
});
