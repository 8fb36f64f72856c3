// The per-request module nginx loads at http level (`js_import ljwt from
// .../ljwt.js`): the validator only. The njs engine clones the whole module
// into every request's VM and re-runs its top level, so this bundle holds
// nothing else: the 403 page, the revocation endpoint and the pure core are
// in ljwt-full.js (njs/full.ts), imported only where they are used.

import { access, validate } from './nginx/validate.ts';

export default {
  validate: validate,
  access: access,
};
