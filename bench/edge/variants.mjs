// The rows of the edge benchmark. Each variant is one `location` of an nginx under test
// and the request wrk sends to it. Add a row here to measure another configuration. Fields:
//   name        what --variants filters on; the location is /v/<name>/
//   group       a (baseline), b (in-nginx validation), c (auth_request to the service),
//               d (rejection), f (the floor: bench/edge/floor/floor.js)
//   what        one line for the legend
//   instance    'project' (default: the nginx with the project's nginx/*.conf and bundle) or
//               'floor' (a second nginx of the same runtime that loads only floor.js)
//   directives  lines put into the location before the include
//   http, server optional lines for the project nginx's http{} / server{} block (each distinct
//               line once), e.g. a proxy_cache_path and the internal location a row uses
//   protect     'auth_request' (nginx/protect.conf), 'js_access' (nginx/protect-access.conf),
//               'cached' (nginx/protect-cached.conf, the nginx-native decision cache) or null
//   service     true: auth_request to the service's /auth/validate instead
//   floorCheck  floor rows: { handler, mode } -> floor.js's <sub|access>_<handler>
//   floor(cache) the floor row this row is held against, given its $ljwt_cache_status
//               (HIT, MISS, OFF, or '' when unknown); null: none
//   floorBasis  'added' (default: worker µs over each nginx's plain proxy) or 'total' (worker µs)
//   target(cache) which target of the report the row is checked against, given its cache status:
//               'hit' (decision from a cache), 'full' (full check of `alg`), 'refusal', or null
//   alg, mode   the row's algorithm and 'auth_request' | 'js_access', for the targets
//   extra       true: runs only when named by --variants or with --all (keeps the default run short)
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

/** The decision cache exists on this runtime (shared dict, or QuickJS's module cache). */
function hasCache(rt) {
  return rt.sharedDict === true || rt.engine === 'qjs';
}

// protect.conf (auth_request subrequest) on every runtime; protect-access.conf (js_access,
// no subrequest) where the runtime has it. `floor` is the floor.js handler prefix.
const MODES = [
  { suffix: '', protect: 'auth_request', floor: 'sub', needs: () => null, how: '' },
  { suffix: '-jsaccess', protect: 'js_access', floor: 'access', how: ', js_access (protect-access.conf)',
    needs: (rt) => (rt.jsAccess === true ? null : 'no js_access in this runtime (njs < 0.9.9)') },
];

/** Algorithms the floor verifies (EdDSA has no runtime with Ed25519 inside nginx). */
export const FLOOR_ALGS = ['HS256', 'RS256', 'ES256', 'PS256'];

/**
 * The floor rows (bench/edge/floor/floor.js in a second nginx of the same runtime): its own
 * plain proxy, then per mode a no-op, a full check per algorithm, a shared-dict hit and
 * the refusal of garbage.
 */
function floorVariants(ctx) {
  const v = [{
    name: 'f-proxy', group: 'f', instance: 'floor', what: 'floor nginx: plain proxy_pass (its baseline)',
    directives: [], request: { kind: 'none' }, expect: 200,
  }];
  for (const mode of MODES) {
    const row = (name, handler, what, request, expect, needs) => v.push({
      name: `f-${name}${mode.suffix}`, group: 'f', instance: 'floor', what: `floor: ${what}${mode.how.replace(' (protect-access.conf)', '')}`,
      floorCheck: { handler, mode: mode.floor }, directives: [], request, expect,
      needs: needs ? (rt) => mode.needs(rt) ?? needs(rt) : mode.needs,
    });
    row('noop', 'noop', 'an njs handler that allows without looking at the request', { kind: 'none' }, 200);
    for (const alg of FLOOR_ALGS) {
      row(alg.toLowerCase(), alg.toLowerCase(), `${alg} full check (key imported per request on the njs engine, once on QuickJS)`,
        { kind: 'static', header: 'Authorization', value: `Bearer ${ctx.tokens[alg]}` }, 200);
    }
    row('hit', 'hit', 'shared-dict lookup by the token string (ES256 token), one header set',
      { kind: 'static', header: 'Authorization', value: `Bearer ${ctx.tokens.ES256}` }, 200,
      (rt) => (rt.sharedDict === true ? null : 'no js_shared_dict_zone in this runtime (njs < 0.8)'));
    row('garbage', 'es256', 'random garbage bearer value refused (401)',
      { kind: 'garbage', header: 'Authorization', prefix: 'Bearer ' }, 401);
  }
  return v;
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
  // An auth_request subrequest to an njs handler that only answers 204, in the project's
  // nginx (bench/edge/noop.js, imported next to the project's bundle): what the bundle
  // loaded beside it costs (compare with f-noop).
  v.push({
    name: 'a2-njs-noop', group: 'a', what: 'auth_request to an njs handler that answers 204, next to the project\'s bundle',
    protect: null, directives: ['auth_request /_bench/noop;'], request: { kind: 'none' }, expect: 200, extra: true,
    floor: () => 'f-noop',
  });
  for (const mode of MODES) {
    for (const alg of ALGS) {
      const lc = alg.toLowerCase();
      const needs = alg === 'EdDSA'
        ? (rt) => mode.needs(rt) ?? (rt.ed25519 ? null : 'no Ed25519 in this runtime\'s nginx js module (runtimes.ts: ed25519=false)')
        : mode.needs;
      // A verdict from the cache is held against the floor's hit, a full check against the
      // floor's check of the same algorithm.
      const full = FLOOR_ALGS.includes(alg) ? `f-${lc}${mode.suffix}` : null;
      const floor = (cache) => (cache === 'HIT' ? `f-hit${mode.suffix}` : full);
      const algs = `set $ljwt_algorithms "${alg}";`;
      const bearer = { kind: 'static', header: 'Authorization', value: `Bearer ${ctx.tokens[alg]}` };
      v.push({
        name: `b-${lc}-bearer${mode.suffix}`, group: 'b', what: `${alg} token in Authorization: Bearer${mode.how}`, needs,
        protect: mode.protect, directives: edge([algs]), request: bearer, expect: 200, floor,
        alg, mode: mode.protect, target: (cache) => (cache === 'HIT' ? 'hit' : 'full'),
      });
      if (ctx.cacheRows) {
        v.push({
          name: `b-${lc}-bearer${mode.suffix}-nocache`, group: 'b',
          what: `${alg} bearer, decision cache off ($${CACHE_VARIABLE} 0): the full check${mode.how}`,
          // Without a cache the bearer row is this row already.
          needs: (rt) => needs(rt) ?? (hasCache(rt) ? null : 'no decision cache in this runtime: its b-*-bearer rows are full checks'),
          protect: mode.protect, directives: edge([algs, `set $${CACHE_VARIABLE} 0;`]), request: bearer, expect: 200,
          floor: () => full, alg, mode: mode.protect, target: () => 'full',
        });
      }
      if (mode.protect === 'auth_request' && (alg === 'HS256' || alg === 'RS256')) {
        // What the size of the key file costs (the njs engine reads it on every request).
        v.push({
          name: `b-${lc}-bearer-1key`, group: 'b', what: `${alg} bearer, a key file with only that key`, needs, extra: true,
          protect: mode.protect, directives: edge([algs], `one-${lc}.jwks`), request: bearer, expect: 200, floor,
        });
      }
      if (mode.protect === 'auth_request') {
        v.push({
          name: `b-${lc}-cookie`, group: 'b', what: `${alg} token in the ${COOKIE} cookie ($ljwt_cookie)`, needs, extra: true,
          protect: mode.protect, directives: edge([algs, `set $ljwt_cookie ${COOKIE};`]),
          request: { kind: 'static', header: 'Cookie', value: `${COOKIE}=${ctx.tokens[alg]}` }, expect: 200, floor,
        });
      }
    }
  }
  // The nginx-native decision cache (protect-cached.conf, proxy_cache of the validator's
  // allow answers) for runtimes without shared dicts: wrk repeats one token, so these rows
  // measure the cache hit (one miss per $ljwt_cache_max_age).
  for (const alg of ['RS256', 'ES256']) {
    const lc = alg.toLowerCase();
    v.push({
      name: `b-${lc}-bearer-nginxcache`, group: 'b',
      what: `${alg} bearer, nginx-native decision cache hit (protect-cached.conf)`,
      needs: (rt) => (rt.sharedDict === true
        ? 'the shared-dict cache applies here (http-shared.conf); protect-cached.conf steps aside' : null),
      protect: 'cached', directives: edge([`set $ljwt_algorithms "${alg}";`]),
      request: { kind: 'static', header: 'Authorization', value: `Bearer ${ctx.tokens[alg]}` }, expect: 200,
      // $ljwt_cache_status here is nginx's $upstream_cache_status (HIT, MISS, EXPIRED, BYPASS).
      floor: (cache) => (cache === 'HIT' ? 'f-hit' : `f-${lc}`), alg, mode: 'auth_request',
      target: (cache) => (cache === 'HIT' ? 'hit' : 'full'),
    });
  }
  v.push({
    name: 'c-auth-request', group: 'c', what: 'auth_request to the service\'s /auth/validate (ES256 bearer)',
    service: true, protect: null, directives: [], target: () => 'service', request: { kind: 'static', header: 'Authorization', value: `Bearer ${ctx.tokens.ES256}` },
    expect: 200,
  });
  // The rejection path goes to a location with the default algorithm list, as most sites run.
  for (const mode of MODES) {
    v.push({
      name: `d1-garbage${mode.suffix}`, group: 'd', what: `random garbage bearer value, new on every request${mode.how}`,
      needs: mode.needs, protect: mode.protect, directives: edge([]),
      request: { kind: 'garbage', header: 'Authorization', prefix: 'Bearer ' }, expect: 401,
      // A refusal never reaches the upstream, so its floor is compared in total worker µs:
      // the floor's refusal can cost less than proxying, leaving no added µs to divide by.
      floor: () => `f-garbage${mode.suffix}`, floorBasis: 'total', mode: mode.protect, target: () => 'refusal',
    });
    v.push({
      name: `d2-forged-rs256${mode.suffix}`, group: 'd', needs: mode.needs, extra: true,
      what: `valid RS256 header and claims, random 256-byte signature, new on every request${mode.how}`,
      protect: mode.protect, directives: edge([]),
      request: { kind: 'forged', header: 'Authorization', prefix: `Bearer ${ctx.forgedPrefix.RS256}`, bytes: 256 }, expect: 401,
      floor: () => `f-rs256${mode.suffix}`,
    });
    v.push({
      name: `d2-forged-es256${mode.suffix}`, group: 'd', needs: mode.needs, extra: true,
      what: `valid ES256 header and claims, random 64-byte signature, new on every request${mode.how}`,
      protect: mode.protect, directives: edge([]),
      request: { kind: 'forged', header: 'Authorization', prefix: `Bearer ${ctx.forgedPrefix.ES256}`, bytes: 64 }, expect: 401,
      floor: () => `f-es256${mode.suffix}`,
    });
  }
  return v.concat(floorVariants(ctx));
}

/**
 * Variants measured by --memory (worker RSS over --memory-requests requests): a valid token
 * (a cache hit where the runtime has a cache, the full HS256 check where not) and garbage.
 */
export const MEMORY_VARIANTS = ['b-hs256-bearer', 'd1-garbage'];
