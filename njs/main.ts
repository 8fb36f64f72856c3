// The per-request module nginx loads at http level (`js_import ljwt from
// .../ljwt.js`): the validator and the nginx-native decision cache's key
// (run on every request of a protect-cached.conf location) and refusal
// redirect. The njs engine clones the whole module into every request's VM
// and re-runs its top level, so this bundle holds nothing else: the 403 page,
// the revocation endpoint, the decision cache's lifetime (a miss only) and
// the pure core are in ljwt-full.js (njs/full.ts), imported only where they
// are used. Within it, what only some requests need (the full check, the
// refusals, the nginx-native cache) is instantiated only when called (the
// *-loader.ts modules).

import { access, validate } from './nginx/validate.ts';
import { loadDecisionCacheNginx } from './nginx/decision-cache-nginx-loader.ts';

export default {
  validate: validate,
  access: access,
  decisionCacheKey: function (r: NginxHTTPRequest): string | Promise<string> {
    return loadDecisionCacheNginx().decisionCacheKey(r);
  },
  decisionRedirect: function (r: NginxHTTPRequest): string {
    return loadDecisionCacheNginx().decisionRedirect(r);
  },
};
