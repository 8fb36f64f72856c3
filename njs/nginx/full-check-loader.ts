// The full check (full-check.ts), as the hot path (validate.ts) reaches it.
// The njs engine clones the per-request bundle into every request's VM and
// re-runs its top level, instantiating every function declared there: the
// bigger the module, the dearer every request, even one that a cached
// decision or a malformed token answers. A function that is declared inside
// another function is instantiated only when that one runs. So the build
// (scripts/build.mjs) replaces this module in dist/njs/ljwt.js with one that
// holds full-check.ts, bundled, inside loadFullCheck(): only a request that
// needs the full check pays for its code. Type checks and the Node tests see
// this plain version.

import fullCheckModule from './full-check.ts';

export function loadFullCheck(): typeof fullCheckModule {
  return fullCheckModule;
}
