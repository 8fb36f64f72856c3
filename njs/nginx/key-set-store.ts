// Parsed key files, by their text. The njs engine parsed every key file again
// on every cache miss: 50-90 µs for a JWKS of four keys (njs CLI), more than
// the signature check. With the shared zone, a text is parsed once and read
// back by its SHA-256 (stored-key-set.ts); QuickJS keeps parsed sets, with
// their CryptoKeys, in module scope (key-set-cache.ts). Keyed by content, as
// before: an edited file is a different key set on the next read.

import { cachedKeySet } from '../keys/key-set-cache.ts';
import { decodeKeySet, encodeKeySet } from '../keys/stored-key-set.ts';
import type { KeySet } from '../keys/key-set.ts';
import { sha256Hex } from './decision-cache.ts';
import { sharedStoreAvailable, sharedText, shareText } from './shared-store.ts';

const STORE_KIND = 'keys';

/** The key set of a key file's `text` (`kind`: 'JWKS' or 'PEM', the parser's); `parse`'s error when it is invalid. */
export function keySetOfText(kind: string, text: string, parse: (text: string) => KeySet): KeySet {
  return cachedKeySet(text, function (t: string) {
    if (!sharedStoreAvailable()) return parse(t);
    const id = kind + ' ' + sha256Hex(t);
    const shared = sharedText(STORE_KIND, id);
    const stored = shared === null ? null : decodeKeySet(shared);
    if (stored !== null) return stored;
    const parsed = parse(t);
    shareText(STORE_KIND, id, encodeKeySet(parsed));
    return parsed;
  });
}
