// A parsed key set as text, so that a parse can be kept in shared memory and
// read back by another request (njs/nginx/key-set-store.ts). Only what
// key-set.ts produced is written; reading back checks every member against
// the same allow-lists, so an entry that is not such a text is refused (null)
// rather than half-used. The CryptoKeys imported from a key stay behind.

import { base64urlDecodeOrNull, base64urlEncode } from '../lib/base64url.ts';
import type { KeySet, VerificationKey } from './verification-key.ts';

interface StoredKey { kty: string; crv?: string; kid?: string; alg?: string; format: string; der: string }

const CURVES: { [kty: string]: string[] } = { EC: ['P-256', 'P-384', 'P-521'], OKP: ['Ed25519'], RSA: [], oct: [] };

export function encodeKeySet(set: KeySet): string {
  const keys: StoredKey[] = [];
  for (let i = 0; i < set.keys.length; i++) {
    const k = set.keys[i];
    const s: StoredKey = { kty: k.kty, format: k.format, der: base64urlEncode(k.der) };
    if (k.crv !== undefined) s.crv = k.crv;
    if (k.kid !== undefined) s.kid = k.kid;
    if (k.alg !== undefined) s.alg = k.alg;
    keys.push(s);
  }
  return JSON.stringify({ keys: keys });
}

function has(o: object, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, name);
}

function decodeKey(s: StoredKey): VerificationKey | null {
  if (s === null || typeof s !== 'object' || !has(CURVES, s.kty)) return null;
  if (s.format !== (s.kty === 'oct' ? 'raw' : 'spki')) return null;
  const curves = CURVES[s.kty];
  if (curves.length > 0 ? curves.indexOf(s.crv as string) < 0 : s.crv !== undefined) return null;
  if ((s.kid !== undefined && typeof s.kid !== 'string') || (s.alg !== undefined && typeof s.alg !== 'string')) return null;
  const der = typeof s.der === 'string' ? base64urlDecodeOrNull(s.der) : null;
  if (der === null || der.length === 0) return null;
  const key = { kty: s.kty, format: s.format, der: der } as VerificationKey;
  if (s.crv !== undefined) key.crv = s.crv as VerificationKey['crv'];
  if (s.kid !== undefined) key.kid = s.kid;
  if (s.alg !== undefined) key.alg = s.alg;
  return key;
}

/** The key set encodeKeySet wrote, or null for any other text. */
export function decodeKeySet(text: string): KeySet | null {
  let doc: { keys?: StoredKey[] };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return null;
  }
  if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.keys)) return null;
  const keys: VerificationKey[] = [];
  for (let i = 0; i < doc.keys.length; i++) {
    const k = decodeKey(doc.keys[i]);
    if (k === null) return null;
    keys.push(k);
  }
  return { keys: keys };
}
