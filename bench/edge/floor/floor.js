// The floor of the edge benchmark: the least work any njs validator must do per request,
// written for the benchmark, not the product. No configuration is parsed; the keys are
// written into KEYS when the benchmark starts its nginx (bench/edge/stack.mjs).
// A full check splits the bearer token, decodes it (base64url), checks that the header
// names the location's algorithm, verifies the signature with crypto.subtle, parses the
// payload and checks exp. A cache hit is one shared-dict lookup by the token string.
// Plain ES5 + async/await: it runs unchanged on njs 0.7.9, 0.8 and 1.0 (both engines).

var KEYS = /* FLOOR_KEYS */ {};

var SPEC = {
  HS256: { format: 'raw', importAlg: { name: 'HMAC', hash: 'SHA-256' }, verifyAlg: { name: 'HMAC' } },
  RS256: { format: 'spki', importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verifyAlg: { name: 'RSASSA-PKCS1-v1_5' } },
  PS256: { format: 'spki', importAlg: { name: 'RSA-PSS', hash: 'SHA-256' }, verifyAlg: { name: 'RSA-PSS', saltLength: 32 } },
  ES256: { format: 'spki', importAlg: { name: 'ECDSA', namedCurve: 'P-256' }, verifyAlg: { name: 'ECDSA', hash: 'SHA-256' } },
};

// Imported keys by algorithm. The njs engine runs every request in a fresh copy of this
// module, so there this stays empty and each request imports its key; QuickJS keeps the
// module between requests and imports each key once.
var imported = {};

function keyFor(alg) {
  if (!imported[alg]) {
    var s = SPEC[alg];
    imported[alg] = crypto.subtle.importKey(s.format, Buffer.from(KEYS[alg], 'base64'), s.importAlg, false, ['verify']);
  }
  return imported[alg];
}

function bearer(r) {
  var h = r.headersIn.Authorization;
  return h && h.substring(0, 7) === 'Bearer ' ? h.substring(7) : '';
}

// The token's claims when it is a JWS signed with `alg` by our key and not expired; else null.
async function verify(token, alg) {
  var parts = token.split('.');
  if (parts.length !== 3) return null;
  var header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
  if (header.alg !== alg) return null;
  var key = await keyFor(alg); // njs: no await inside call arguments
  var ok = await crypto.subtle.verify(SPEC[alg].verifyAlg, key,
    Buffer.from(parts[2], 'base64url'), Buffer.from(parts[0] + '.' + parts[1]));
  if (!ok) return null;
  var claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  return typeof claims.exp === 'number' && claims.exp > Date.now() / 1000 ? claims : null;
}

async function check(r, alg, allow) {
  var claims = null;
  try {
    claims = await verify(bearer(r), alg);
  } catch (e) {
    claims = null; // undecodable token: refused like a bad signature
  }
  if (claims === null) {
    r.return(401);
    return;
  }
  r.variables.floor_user = claims.sub;
  allow(r);
}

// Cache hit: the token string itself is the key. A miss verifies (ES256) and stores.
function cached(r, allow) {
  var token = bearer(r);
  var user = token ? ngx.shared.floor_decisions.get(token) : undefined;
  if (user === undefined) return fill(r, token, allow);
  r.variables.floor_user = user;
  allow(r);
}

async function fill(r, token, allow) {
  var claims = null;
  try {
    claims = await verify(token, 'ES256');
  } catch (e) {
    claims = null;
  }
  if (claims === null) {
    r.return(401);
    return;
  }
  ngx.shared.floor_decisions.set(token, claims.sub);
  r.variables.floor_user = claims.sub;
  allow(r);
}

// auth_request handlers (js_content of the subrequest): 204 allows.
function subAllow(r) { r.return(204); }
// js_access handlers: finishing without r.return() allows.
function accessAllow(r) {}

export default {
  sub_noop: function (r) { r.return(204); },
  sub_hs256: function (r) { return check(r, 'HS256', subAllow); },
  sub_rs256: function (r) { return check(r, 'RS256', subAllow); },
  sub_ps256: function (r) { return check(r, 'PS256', subAllow); },
  sub_es256: function (r) { return check(r, 'ES256', subAllow); },
  sub_hit: function (r) { return cached(r, subAllow); },
  access_noop: function (r) {},
  access_hs256: function (r) { return check(r, 'HS256', accessAllow); },
  access_rs256: function (r) { return check(r, 'RS256', accessAllow); },
  access_ps256: function (r) { return check(r, 'PS256', accessAllow); },
  access_es256: function (r) { return check(r, 'ES256', accessAllow); },
  access_hit: function (r) { return cached(r, accessAllow); },
};
