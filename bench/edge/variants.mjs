// The rows of the edge benchmark. Each variant is one `location` of the nginx under test
// (its own `set $ljwt_...` lines, then the project's include) and the request wrk sends to
// it. Add a row here to measure another configuration. Fields:
//   name        what --variants filters on; the location is /v/<name>/
//   group       a (baseline), b (in-nginx validation), c (auth_request to the service), d (rejection)
//   what        one line for the legend
//   directives  lines put into the location before the include
//   protect     'auth_request' (nginx/protect.conf), 'js_access' (nginx/protect-access.conf),
//               'cached' (nginx/protect-cached.conf, the nginx-native decision cache) or null
//   service     true: auth_request to the service's /auth/validate instead
//   needs(rt)   null, or why the runtime cannot run it (the row then reads "n/a: <why>")
//   request     { kind: 'static',  header, value }           the same header on every request
//               { kind: 'garbage', header, prefix }          prefix + random text, new per request
//               { kind: 'forged',  header, prefix, bytes }   prefix + random canonical base64url
//                                                            signature of `bytes` bytes, new per request
//               { kind: 'none' }                              no credential
//   expect      the only status every response must have

export const ISSUER = 'https://idp.bench.test';
export const AUDIENCE = 'api://bench';
export const COOKIE = 'ljwt_at';
export const CACHE_VARIABLE = 'ljwt_cache_max_age';

/** Algorithms of group (b). EdDSA runs only where the runtime verifies Ed25519 inside nginx. */
export const ALGS = ['HS256', 'RS256', 'ES256', 'PS256', 'EdDSA'];

// The same settings in every validating location (the documented pattern: a location sets
// all its $ljwt_* variables itself, nothing at server level).
const EDGE_SETTINGS = [
  `set $ljwt_issuer "${ISSUER}";`,
  `set $ljwt_audience "${AUDIENCE}";`,
  'set $ljwt_jwks_file "{{DIR}}/keys.jwks";',
];

function edge(extra, jwksFile = 'keys.jwks') {
  return EDGE_SETTINGS.map((l) => l.replace('keys.jwks', jwksFile)).concat(extra);
}

/** Key files the nginx under test gets: `keys.jwks` holds every key; `one-<alg>.jwks` only that alg's key. */
export function keyFiles(h, keys) {
  return {
    'keys.jwks': h.jwksText([keys.rsa, keys.ec256, keys.hs256, keys.ed25519]),
    'one-hs256.jwks': h.jwksText([keys.hs256]),
    'one-rs256.jwks': h.jwksText([keys.rsa]),
  };
}

/**
 * @param {{ tokens: Record<string, string>, forgedPrefix: Record<string, string>, cacheRows: boolean }} ctx
 *   tokens: a valid access token per algorithm; forgedPrefix: "<header>.<payload>." of a valid
 *   token per algorithm (the signature is replaced by random bytes per request).
 */
export function buildVariants(ctx) {
  const v = [];
  v.push({
    name: 'a-proxy', group: 'a', what: 'plain proxy_pass, no auth (the baseline)',
    protect: null, directives: [], request: { kind: 'none' }, expect: 200,
  });
  // The floor of any in-nginx check: an auth_request subrequest to an njs handler that only
  // answers 204 (bench/edge/noop.js, imported next to the project's bundle).
  v.push({
    name: 'a2-njs-noop', group: 'a', what: 'auth_request to an njs handler that answers 204 (no validation)',
    protect: null, directives: ['auth_request /_bench/noop;'], request: { kind: 'none' }, expect: 200,
  });
  // protect.conf (auth_request subrequest) on every runtime; protect-access.conf (js_access,
  // no subrequest) where the runtime has it.
  const modes = [
    { suffix: '', protect: 'auth_request', needs: () => null, how: '' },
    { suffix: '-jsaccess', protect: 'js_access', how: ', js_access (protect-access.conf)',
      needs: (rt) => (rt.jsAccess === true ? null : 'no js_access in this runtime (njs < 0.9.9)') },
  ];
  for (const mode of modes) {
    for (const alg of ALGS) {
      const lc = alg.toLowerCase();
      const needs = alg === 'EdDSA'
        ? (rt) => mode.needs(rt) ?? (rt.ed25519 ? null : 'no Ed25519 in this runtime\'s nginx js module (runtimes.ts: ed25519=false)')
        : mode.needs;
      const algs = `set $ljwt_algorithms "${alg}";`;
      const bearer = { kind: 'static', header: 'Authorization', value: `Bearer ${ctx.tokens[alg]}` };
      v.push({
        name: `b-${lc}-bearer${mode.suffix}`, group: 'b', what: `${alg} token in Authorization: Bearer${mode.how}`, needs,
        protect: mode.protect, directives: edge([algs]), request: bearer, expect: 200,
      });
      if (ctx.cacheRows) {
        v.push({
          name: `b-${lc}-bearer${mode.suffix}-nocache`, group: 'b', needs,
          what: `${alg} bearer, decision cache off ($${CACHE_VARIABLE} 0)${mode.how}`,
          protect: mode.protect, directives: edge([algs, `set $${CACHE_VARIABLE} 0;`]), request: bearer, expect: 200,
        });
      }
      if (mode.protect === 'auth_request' && (alg === 'HS256' || alg === 'RS256')) {
        // What the size of the key file costs (the njs engine reads it on every request).
        v.push({
          name: `b-${lc}-bearer-1key`, group: 'b', what: `${alg} bearer, a key file with only that key`, needs,
          protect: mode.protect, directives: edge([algs], `one-${lc}.jwks`), request: bearer, expect: 200,
        });
      }
      if (mode.protect === 'auth_request') {
        v.push({
          name: `b-${lc}-cookie`, group: 'b', what: `${alg} token in the ${COOKIE} cookie ($ljwt_cookie)`, needs,
          protect: mode.protect, directives: edge([algs, `set $ljwt_cookie ${COOKIE};`]),
          request: { kind: 'static', header: 'Cookie', value: `${COOKIE}=${ctx.tokens[alg]}` }, expect: 200,
        });
      }
    }
  }
  // The nginx-native decision cache (protect-cached.conf, proxy_cache of the validator's
  // allow answers) for runtimes without shared dicts: wrk repeats one token, so these rows
  // measure the cache hit (one miss per $ljwt_cache_max_age).
  for (const alg of ['RS256', 'ES256']) {
    v.push({
      name: `b-${alg.toLowerCase()}-bearer-nginxcache`, group: 'b',
      what: `${alg} bearer, nginx-native decision cache hit (protect-cached.conf)`,
      needs: (rt) => (rt.sharedDict === true
        ? 'the shared-dict cache applies here (http-shared.conf); protect-cached.conf steps aside' : null),
      protect: 'cached', directives: edge([`set $ljwt_algorithms "${alg}";`]),
      request: { kind: 'static', header: 'Authorization', value: `Bearer ${ctx.tokens[alg]}` }, expect: 200,
    });
  }
  v.push({
    name: 'c-auth-request', group: 'c', what: 'auth_request to the service\'s /auth/validate (ES256 bearer)',
    service: true, protect: null, directives: [], request: { kind: 'static', header: 'Authorization', value: `Bearer ${ctx.tokens.ES256}` },
    expect: 200,
  });
  // The rejection path goes to a location with the default algorithm list, as most sites run.
  for (const mode of modes) {
    v.push({
      name: `d1-garbage${mode.suffix}`, group: 'd', what: `random garbage bearer value, new on every request${mode.how}`,
      needs: mode.needs, protect: mode.protect, directives: edge([]),
      request: { kind: 'garbage', header: 'Authorization', prefix: 'Bearer ' }, expect: 401,
    });
    v.push({
      name: `d2-forged-rs256${mode.suffix}`, group: 'd', needs: mode.needs,
      what: `valid RS256 header and claims, random 256-byte signature, new on every request${mode.how}`,
      protect: mode.protect, directives: edge([]),
      request: { kind: 'forged', header: 'Authorization', prefix: `Bearer ${ctx.forgedPrefix.RS256}`, bytes: 256 }, expect: 401,
    });
    v.push({
      name: `d2-forged-es256${mode.suffix}`, group: 'd', needs: mode.needs,
      what: `valid ES256 header and claims, random 64-byte signature, new on every request${mode.how}`,
      protect: mode.protect, directives: edge([]),
      request: { kind: 'forged', header: 'Authorization', prefix: `Bearer ${ctx.forgedPrefix.ES256}`, bytes: 64 }, expect: 401,
    });
  }
  return v;
}

/** Variants measured by --memory (worker RSS before/after N requests). */
export const MEMORY_VARIANTS = ['b-rs256-cookie', 'd2-forged-rs256'];
