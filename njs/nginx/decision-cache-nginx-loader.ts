// The nginx-native decision cache's js_set handlers (decision-cache-nginx.ts),
// as main.ts exports them. Like full-check-loader.ts: the build replaces this
// module in dist/njs/ljwt.js with one that holds decision-cache-nginx.ts,
// bundled, inside loadDecisionCacheNginx(), so that the requests of every
// other location (and every runtime with shared dicts) do not instantiate it.

import decisionCacheNginxModule from './decision-cache-nginx.ts';

export function loadDecisionCacheNginx(): typeof decisionCacheNginxModule {
  return decisionCacheNginxModule;
}
