// Runs one edge case the way an adapter would: load keys, then validate.
import { keySetFromJwks, keySetFromPem, mergeKeySets } from '#njs/keys/key-set.ts';
import type { KeySet } from '#njs/keys/key-set.ts';
import { validateJwt } from '#njs/jwt/validate.ts';
import type { webcrypto } from 'node:crypto';
import type { EdgeCase, EdgeKeySet } from '../../../vectors/generate-edge-cases.mjs';

export async function runCase(c: EdgeCase, keySets: { [name: string]: EdgeKeySet }): Promise<string> {
  try {
    const ks = keySets[c.keys];
    const sets: KeySet[] = [];
    if (ks.jwks !== undefined) sets.push(keySetFromJwks(ks.jwks));
    if (ks.pem !== undefined) sets.push(keySetFromPem(ks.pem));
    await validateJwt(c.token, mergeKeySets(sets), c.options);
    return 'ok';
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? code : 'UNEXPECTED ' + String(e);
  }
}

/** Runs `f` with crypto.subtle.importKey refusing Ed25519, as njs < 0.9.7 does. */
export async function withoutEd25519<T>(f: () => Promise<T>): Promise<T> {
  const subtle = globalThis.crypto.subtle;
  const orig = subtle.importKey;
  (subtle as { importKey: unknown }).importKey = function (this: webcrypto.SubtleCrypto, ...args: unknown[]) {
    const algo = args[2] as { name?: string } | string;
    if ((typeof algo === 'string' ? algo : algo.name) === 'Ed25519') return Promise.reject(new TypeError('unknown algorithm name'));
    return (orig as (...a: unknown[]) => Promise<webcrypto.CryptoKey>).apply(subtle, args);
  };
  try {
    return await f();
  } finally {
    (subtle as { importKey: unknown }).importKey = orig;
  }
}
