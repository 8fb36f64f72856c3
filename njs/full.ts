// The rarely used entry points, in their own bundle (dist/njs/ljwt-full.js):
// nginx imports it only in the locations that use them (server.conf's
// @ljwt_forbidden, revocation-endpoint.conf, the validating server of
// http-decision-cache.conf), so the per-request bundle
// (njs/main.ts) stays small. `core` exposes the pure functions so the njs CLI
// tests exercise the same code nginx runs.

import { forbidden } from './nginx/forbidden.ts';
import { revoke } from './nginx/revoke.ts';
import { decisionLifetime } from './nginx/decision-lifetime-nginx.ts';
import { probeCapabilities } from './nginx/context.ts';
import { validateJwt } from './jwt/validate.ts';
import { keySetFromJwks, keySetFromPem, mergeKeySets } from './keys/key-set.ts';
import { parseEdgeConfig } from './config.ts';
import { encodeHeaderList, encodeHeaderValue } from './identity/encode.ts';
import { identityFromClaims } from './identity/headers.ts';
import { normalizeDn } from './authz/dn.ts';
import { evaluatePolicy } from './authz/policy.ts';
import { extractToken } from './http/token.ts';

export default {
  forbidden: forbidden,
  revoke: revoke,
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
