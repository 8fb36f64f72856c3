// Parse results that every worker and every later request may reuse, in the
// decision zone (nginx/http-shared.conf): a location's parsed settings
// (config-store.ts) and parsed key files (key-set-store.ts). The njs engine
// starts every request in a fresh VM, where these parses were paid on every
// cache miss; read back as JSON they cost a few µs.
// What a parse gives depends only on its input, the njs version
// (capabilities) and this code: an entry's key names all three, so after a
// reload with another build or another njs an older entry is never read.
// Anything unreadable is a miss: the caller parses again.

import { sharedZone } from './decision-cache.ts';

declare const LJWT_BUILD_ID: string | undefined;

// Set by scripts/build.mjs from the njs sources; absent when the sources run in Node.
const BUILD_ID = typeof LJWT_BUILD_ID === 'string' ? LJWT_BUILD_ID : 'source';
// Unused entries leave the zone; an evicted or expired one costs one parse.
const TTL_MS = 3600 * 1000;

function entryKey(kind: string, id: string): string {
  return kind + ' ' + BUILD_ID + ' ' + String((njs as unknown as { version: string }).version) + '\n' + id;
}

/** Whether there is a zone to keep parse results in (else storing them is work for nothing). */
export function sharedStoreAvailable(): boolean {
  return sharedZone() !== null;
}

/** The text stored for (kind, id), or null: no zone, no entry, or the zone failed. */
export function sharedText(kind: string, id: string): string | null {
  const zone = sharedZone();
  if (zone === null) return null;
  try {
    const text = zone.get(entryKey(kind, id));
    return typeof text === 'string' ? text : null;
  } catch (e) {
    return null;
  }
}

/** Stores `text` for (kind, id) where there is a zone; a full zone just does not keep it. */
export function shareText(kind: string, id: string, text: string): void {
  const zone = sharedZone();
  if (zone === null) return;
  try {
    zone.set(entryKey(kind, id), text, TTL_MS);
  } catch (e) {
    // A full zone without `evict`: the next miss parses again.
  }
}
