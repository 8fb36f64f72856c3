// The refusals (refusal.ts), as the hot path (validate.ts, outcome.ts)
// reaches them. Like full-check-loader.ts: the build replaces this module in
// dist/njs/ljwt.js with one that holds refusal.ts, bundled, inside
// loadRefusal(), so only a refused request instantiates its code. Type
// checks and the Node tests see this plain version.

import refusalModule from './refusal.ts';

export function loadRefusal(): typeof refusalModule {
  return refusalModule;
}
