// Parsed location configurations, by the text of the location's settings
// snapshot. A full check needs the configuration; parsing it cost the njs
// engine 55-115 µs of each miss (measured in the njs CLI).
//  - QuickJS keeps contexts: a module-scope table answers there.
//  - With the shared zone, every worker and every later request reads the
//    configuration parsed once, as JSON (shared-store.ts).

import type { EdgeConfig } from '../config.ts';
import { sharedText, shareText } from './shared-store.ts';

/** The parse's result that later requests may reuse. Nothing may modify it. */
export interface StoredConfig {
  cfg: EdgeConfig;
  /** $ljwt_algorithms is set (see hasExplicitAlgorithms): EdDSA listed on purpose. */
  explicitAlgorithms: boolean;
}

const KIND = 'config';
const MAX_CONFIGS = 64;
let bySettings: { [text: string]: StoredConfig } = Object.create(null);
let count = 0;

function remember(settingsText: string, stored: StoredConfig): void {
  // Many locations with distinct settings: start over rather than track age.
  if (count >= MAX_CONFIGS) {
    bySettings = Object.create(null);
    count = 0;
  }
  bySettings[settingsText] = stored;
  count++;
}

function fromZone(settingsText: string): StoredConfig | null {
  const text = sharedText(KIND, settingsText);
  if (text === null) return null;
  try {
    const stored = JSON.parse(text) as StoredConfig;
    return stored !== null && typeof stored === 'object' && typeof stored.cfg === 'object' && stored.cfg !== null ? stored : null;
  } catch (e) {
    return null;
  }
}

/** The configuration parsed for these settings before, or null. */
export function storedConfig(settingsText: string): StoredConfig | null {
  const hit = bySettings[settingsText];
  if (hit !== undefined) return hit;
  const shared = fromZone(settingsText);
  if (shared !== null) remember(settingsText, shared);
  return shared;
}

/** Keeps a configuration just parsed for later requests; a full zone just does not keep it. */
export function storeConfig(settingsText: string, stored: StoredConfig): void {
  remember(settingsText, stored);
  shareText(KIND, settingsText, JSON.stringify(stored));
}
