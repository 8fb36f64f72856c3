// Parsed key sets by the exact text of their file. QuickJS reuses contexts,
// so a key file read again by a later request is not parsed, converted to DER
// and imported again (its VerificationKey objects keep their CryptoKeys, see
// import-key.ts). The njs engine starts every request with fresh module
// state: there this cache is always empty and costs one property lookup.
// Keyed by content, not by path: an edited file is a different key set at once.

import type { KeySet } from './key-set.ts';

const MAX_TEXTS = 16;

let byText: { [text: string]: KeySet } = Object.create(null);
let count = 0;

export function cachedKeySet(text: string, parse: (text: string) => KeySet): KeySet {
  const hit = byText[text];
  if (hit !== undefined) return hit;
  const parsed = parse(text);
  // Old files pile up only when key files change often: start over rather than track age.
  if (count >= MAX_TEXTS) {
    byText = Object.create(null);
    count = 0;
  }
  byText[text] = parsed;
  count++;
  return parsed;
}
