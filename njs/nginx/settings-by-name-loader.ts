// The settings by variable name (settings-by-name.ts), as the request context
// (context.ts) reaches them when there is no snapshot or one must be checked.
// Like full-check-loader.ts: the build replaces this module in dist/njs/ljwt.js
// with one that holds settings-by-name.ts, bundled, inside loadSettingsByName().

import settingsByNameModule from './settings-by-name.ts';

export function loadSettingsByName(): typeof settingsByNameModule {
  return settingsByNameModule;
}
