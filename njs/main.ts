// The module nginx loads (`js_import ljwt from .../ljwt.js`). The njs engine
// re-runs this top level for every request: nothing here but bindings.
// `core` exposes the pure functions so the njs CLI tests exercise this very bundle.

import { access, validate } from './nginx/validate.ts';
import { unauthorized, forbidden } from './nginx/unauthorized.ts';
import { probeCapabilities } from './nginx/context.ts';
import { validateJwt } from './jwt/validate.ts';
import { keySetFromJwks, keySetFromPem, mergeKeySets } from './keys/key-set.ts';
import { parseEdgeConfig } from './config.ts';
import { encodeHeaderList, encodeHeaderValue } from './identity/encode.ts';
import { identityFromClaims } from './identity/headers.ts';
import { normalizeDn } from './authz/dn.ts';
import { evaluatePolicy } from './authz/policy.ts';
import { extractToken } from './http/token.ts';
import { revoke } from './nginx/revoke.ts';
import { decisionCacheKey, decisionLifetime } from './nginx/decision-cache-nginx.ts';

export default {
  validate: validate,
  access: access,
  unauthorized: unauthorized,
  forbidden: forbidden,
  revoke: revoke,
  decisionCacheKey: decisionCacheKey,
  decisionLifetime: decisionLifetime,
  core: {
    validateJwt: validateJwt,
    keySetFromJwks: keySetFromJwks,
    keySetFromPem: keySetFromPem,
    mergeKeySets: mergeKeySets,
    parseEdgeConfig: parseEdgeConfig,
    encodeHeaderList: encodeHeaderList,
    encodeHeaderValue: encodeHeaderValue,
    identityFromClaims: identityFromClaims,
    normalizeDn: normalizeDn,
    evaluatePolicy: evaluatePolicy,
    extractToken: extractToken,
    probeCapabilities: probeCapabilities,
  },
};
