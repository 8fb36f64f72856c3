// Generates test/vectors/edge-cases.json: JWT validation cases (valid tokens and
// attacks) for every supported alg, replayed by the Node unit tests and, from
// the built bundle, inside njs and nginx. Run once: `node test/vectors/generate-edge-cases.mjs`.
//
// File format:
//   { now, keySets: { <name>: { jwks?: string, pem?: string } }, cases: [ {
//       name, alg, keys: <keySets name>, token, options (ValidateOptions),
//       expect: "ok" | ERR_*,            // the first error code from loading the keys
//                                        // (keySetFromJwks / keySetFromPem, merged) then validateJwt
//       expectWithoutEd25519?: "ok" | ERR_* // EdDSA cases: expected code on runtimes
//                                        // without Ed25519 (njs < 0.9.7)
//   } ] }
//
// Keys: HMAC, EC and Ed25519 keys are derived from fixed labels, so their
// public keys are stable across runs; RSA keys (no seeded generation in Node)
// and ECDSA/RSA-PSS signatures are random, so tokens differ between runs.
// Tokens expire in 2100 (exp 4102444800) and options fix `now`.

import { createECDH, createHash, createHmac, createPrivateKey, createPublicKey, sign, constants } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newKeyPair } from '../harness/key-pairs.mjs';

export const NOW = 1700000000;
export const EXP_2100 = 4102444800;
export const ISSUER = 'https://issuer.example';
export const AUDIENCE = 'api://edge';
export const ALL_ALGS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const HASH = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

export function b64u(bytes) {
  return Buffer.from(bytes).toString('base64url');
}

function derive(label, len) {
  let out = Buffer.alloc(0);
  let i = 0;
  while (out.length < len) out = Buffer.concat([out, createHash('sha512').update(label + '/' + i++).digest()]);
  return out.subarray(0, len);
}

function ecKey(crv, label) {
  const spec = { 'P-256': ['prime256v1', 32], 'P-384': ['secp384r1', 48], 'P-521': ['secp521r1', 66] }[crv];
  const d = Buffer.from(derive(label, spec[1]));
  d[0] = crv === 'P-521' ? d[0] & 0x01 : d[0] & 0x7f; // keep the scalar below the group order
  const ecdh = createECDH(spec[0]);
  ecdh.setPrivateKey(d);
  const pub = ecdh.getPublicKey();
  const x = pub.subarray(1, 1 + spec[1]);
  const y = pub.subarray(1 + spec[1]);
  return createPrivateKey({ key: { kty: 'EC', crv, d: b64u(d), x: b64u(x), y: b64u(y) }, format: 'jwk' });
}

function ed25519Key(label) {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), derive(label, 32)]);
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

/** One signing key per key family; `keys.attacker*` are keys the relying party does not trust. */
export function makeKeys() {
  const rsa = newKeyPair('rsa', { modulusLength: 2048 }).privateKey;
  return {
    oct: { HS256: derive('ljwt-edge-hs256', 32), HS384: derive('ljwt-edge-hs384', 48), HS512: derive('ljwt-edge-hs512', 64) },
    rsa,
    rsaOld: newKeyPair('rsa', { modulusLength: 2048 }).privateKey,
    rsa1024: newKeyPair('rsa', { modulusLength: 1024 }).privateKey,
    'P-256': ecKey('P-256', 'ljwt-edge-p256'),
    'P-384': ecKey('P-384', 'ljwt-edge-p384'),
    'P-521': ecKey('P-521', 'ljwt-edge-p521'),
    ed25519: ed25519Key('ljwt-edge-ed25519'),
    attackerRsa: newKeyPair('rsa', { modulusLength: 2048 }).privateKey,
    attackerOct: derive('ljwt-edge-attacker-oct', 64),
    'attackerP-256': ecKey('P-256', 'ljwt-edge-attacker-p256'),
    'attackerP-384': ecKey('P-384', 'ljwt-edge-attacker-p384'),
    'attackerP-521': ecKey('P-521', 'ljwt-edge-attacker-p521'),
    attackerEd25519: ed25519Key('ljwt-edge-attacker-ed25519'),
  };
}

export function kidFor(alg) {
  if (alg.startsWith('HS')) return 'hs' + alg.slice(2);
  if (alg.startsWith('RS') || alg.startsWith('PS')) return 'rsa-1';
  if (alg === 'ES256') return 'ec-p256';
  if (alg === 'ES384') return 'ec-p384';
  if (alg === 'ES512') return 'ec-p521';
  return 'ed-1';
}

const CRV = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** The trusted signing key for `alg` (attacker=true: an untrusted key of the same type). */
export function signingKey(keys, alg, attacker) {
  if (alg.startsWith('HS')) return attacker ? keys.attackerOct.subarray(0, Number(alg.slice(2)) / 8) : keys.oct[alg];
  if (alg.startsWith('RS') || alg.startsWith('PS')) return attacker ? keys.attackerRsa : keys.rsa;
  if (alg.startsWith('ES')) return attacker ? keys['attacker' + CRV[alg]] : keys[CRV[alg]];
  return attacker ? keys.attackerEd25519 : keys.ed25519;
}

/** JWS signature (RFC 7518 §3) over `data` with a node:crypto key or an HMAC secret. */
export function signBytes(alg, key, data) {
  const bits = alg === 'EdDSA' ? 0 : Number(alg.slice(2));
  if (alg.startsWith('HS')) return createHmac(HASH[bits], key).update(data).digest();
  if (alg.startsWith('RS')) return sign(HASH[bits], data, key);
  if (alg.startsWith('PS')) return sign(HASH[bits], data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 });
  if (alg.startsWith('ES')) return sign(HASH[bits], data, { key, dsaEncoding: 'ieee-p1363' });
  return sign(null, data, key);
}

export function publicJwk(key, extra) {
  const j = createPublicKey(key).export({ format: 'jwk' });
  return Object.assign(j, extra);
}

export function octJwk(secret, extra) {
  return Object.assign({ kty: 'oct', k: b64u(secret) }, extra);
}

/** Compact JWS from a header object (or raw header bytes) and payload object (or raw bytes). */
export function makeToken(alg, key, header, payload) {
  const h = b64u(Buffer.isBuffer(header) ? header : Buffer.from(JSON.stringify(header)));
  const p = b64u(Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload)));
  return h + '.' + p + '.' + b64u(signBytes(alg, key, Buffer.from(h + '.' + p)));
}

export function baseOptions(extra) {
  return Object.assign({
    algorithms: ALL_ALGS.slice(), maxTokenLength: 8192, issuers: [ISSUER], audiences: [AUDIENCE],
    leewaySeconds: 30, requiredTyp: 'at+jwt', requiredClaims: ['sub', 'exp'], now: NOW,
  }, extra);
}

export function baseClaims(extra) {
  return Object.assign({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: NOW - 60, nbf: NOW - 60, exp: EXP_2100 }, extra);
}

function pemOf(key) {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' });
}

function spkiDerOf(key) {
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}

function flipBit(token, segment, byteIndex) {
  const parts = token.split('.');
  const b = Buffer.from(parts[segment], 'base64url');
  const i = byteIndex < 0 ? b.length + byteIndex : byteIndex;
  b[i] ^= 0x01;
  parts[segment] = b64u(b);
  return parts.join('.');
}

function replaceSig(token, sig) {
  const parts = token.split('.');
  parts[2] = b64u(sig);
  return parts.join('.');
}

/** A self-signed X.509 certificate (DER) for `key`, made with the openssl CLI. */
export function selfSignedCertDer(key, cn) {
  const dir = mkdtempSync(join(tmpdir(), 'ljwt-cert-'));
  try {
    writeFileSync(join(dir, 'k.pem'), key.export({ type: 'pkcs8', format: 'pem' }));
    execFileSync('openssl', ['req', '-x509', '-new', '-key', join(dir, 'k.pem'), '-subj', '/CN=' + cn, '-days', '36500',
      '-outform', 'DER', '-out', join(dir, 'c.der')], { stdio: 'ignore' });
    return readFileSync(join(dir, 'c.der'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Minimal DER ECDSA-Sig-Value (RFC 3279 §2.2.3) from a raw r||s signature. */
function derEcdsaSignature(raw) {
  const half = raw.length / 2;
  const int = (b) => {
    let s = 0;
    while (s < b.length - 1 && b[s] === 0) s++;
    let v = b.subarray(s);
    if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const body = Buffer.concat([int(raw.subarray(0, half)), int(raw.subarray(half))]);
  const len = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
  return Buffer.concat([Buffer.from([0x30]), len, body]);
}

export function buildEdgeCases(keys) {
  const trustedJwks = [
    octJwk(keys.oct.HS256, { kid: 'hs256' }), octJwk(keys.oct.HS384, { kid: 'hs384' }), octJwk(keys.oct.HS512, { kid: 'hs512' }),
    publicJwk(keys.rsa, { kid: 'rsa-1', use: 'sig' }),
    publicJwk(keys['P-256'], { kid: 'ec-p256' }), publicJwk(keys['P-384'], { kid: 'ec-p384' }), publicJwk(keys['P-521'], { kid: 'ec-p521' }),
    publicJwk(keys.ed25519, { kid: 'ed-1' }),
  ];
  const asymJwks = trustedJwks.filter((j) => j.kty !== 'oct');
  const keySets = {
    all: { jwks: JSON.stringify({ keys: trustedJwks }) },
    asymmetric: { jwks: JSON.stringify({ keys: asymJwks }) },
    'asymmetric-pem': { pem: [keys.rsa, keys['P-256'], keys['P-384'], keys['P-521'], keys.ed25519].map(pemOf).join('') },
    'asymmetric-plus-unrelated-oct': { jwks: JSON.stringify({ keys: asymJwks.concat([octJwk(derive('ljwt-edge-unrelated', 64), { kid: 'other' })]) }) },
    'rotation-same-kid': {
      jwks: JSON.stringify({ keys: [publicJwk(keys.rsaOld, { kid: 'rsa-1' })].concat(trustedJwks) }),
    },
    'no-kids': { jwks: JSON.stringify({ keys: trustedJwks.map((j) => { const c = Object.assign({}, j); delete c.kid; return c; }) }) },
    'short-hmac': { jwks: JSON.stringify({ keys: [octJwk(keys.oct.HS256.subarray(0, 31), { kid: 'hs256' })] }) },
    'hs256-key-only': { jwks: JSON.stringify({ keys: [octJwk(keys.oct.HS256, { kid: 'hs512' })] }) },
    'p256-only-no-kid': { jwks: JSON.stringify({ keys: [publicJwk(keys['P-256'])] }) },
    'rsa-1024': { jwks: JSON.stringify({ keys: [publicJwk(keys.rsa1024, { kid: 'rsa-1' })] }) },
  };
  // Each key pinned by its JWK "alg" to another alg than the token's; RS256 and
  // ES256 are pinned to their own alg as controls.
  keySets['alg-pinned-elsewhere'] = {
    jwks: JSON.stringify({ keys: [
      octJwk(keys.oct.HS512, { kid: 'hs256', alg: 'HS512' }), octJwk(keys.oct.HS512, { kid: 'hs384', alg: 'HS512' }), octJwk(keys.oct.HS512, { kid: 'hs512', alg: 'HS384' }),
      publicJwk(keys.rsa, { kid: 'rsa-1', alg: 'RS256' }),
      publicJwk(keys['P-256'], { kid: 'ec-p256', alg: 'ES256' }),
    ] }),
  };

  const cases = [];
  const add = (c) => cases.push(Object.assign({ keys: 'all', options: baseOptions() }, c));

  const attackerCertB64 = selfSignedCertDer(keys['attackerP-256'], 'attacker').toString('base64');

  for (const alg of ALL_ALGS) {
    const key = signingKey(keys, alg, false);
    const evil = signingKey(keys, alg, true);
    const kid = kidFor(alg);
    const hdr = (extra) => Object.assign({ alg, typ: 'at+jwt', kid }, extra);
    const tok = (hExtra, cExtra) => makeToken(alg, key, hdr(hExtra), baseClaims(cExtra));
    const valid = tok();
    // sig: true when the outcome is decided at or after key import and the
    // signature check (so a runtime without Ed25519 reports ERR_JOSE_NOT_SUPPORTED).
    const c = (name, token, expect, sig, extra) => add(Object.assign({ name: alg + ' ' + name, alg, token, expect, sig }, extra));

    c('valid', valid, 'ok', true);
    c('valid without kid in token', tok({ kid: undefined }), 'ok', true);
    c('valid against key set without kids', valid, 'ok', true, { keys: 'no-kids' });
    c('valid, aud array containing ours', tok({}, { aud: ['other', AUDIENCE] }), 'ok', true);
    // > 1024 bytes (njs limits Function.prototype.apply arguments), ASCII and non-ASCII.
    c('valid, 3 KB payload with non-ASCII group DNs', tok({}, { dns: Array.from({ length: 40 }, (_, i) => 'cn=Gr\u00fcppe \u00e9\u20ac\ud83d\ude00 ' + i + ',ou=groups,dc=example,dc=com') }), 'ok', true);
    c('valid, 3 KB ASCII payload', tok({}, { dns: Array.from({ length: 60 }, (_, i) => 'cn=group' + i + ',ou=groups,dc=example,dc=com') }), 'ok', true);
    c('valid, typ application/AT+JWT', tok({ typ: 'application/AT+JWT' }), 'ok', true);
    c('valid, rotation: older key with same kid listed first', valid, 'ok', true, { keys: 'rotation-same-kid' });
    c('tampered header', (() => { const p = valid.split('.'); p[0] = b64u(Buffer.from(JSON.stringify(hdr({ x: 1 })))); return p.join('.'); })(),
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', true);
    c('tampered payload', (() => { const p = valid.split('.'); p[1] = b64u(Buffer.from(JSON.stringify(baseClaims({ sub: 'mallory' })))); return p.join('.'); })(),
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', true);
    c('tampered signature (first byte)', flipBit(valid, 2, 0), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', true);
    c('tampered signature (last byte)', flipBit(valid, 2, -1), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', true);
    const fixedLen = alg.startsWith('ES') || alg === 'EdDSA';
    c('truncated signature', replaceSig(valid, Buffer.from(valid.split('.')[2], 'base64url').subarray(0, -1)),
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', !fixedLen);
    c('signed by an untrusted key', makeToken(alg, evil, hdr(), baseClaims()), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', true);
    c('expired', tok({}, { exp: NOW - 100 }), 'ERR_JWT_EXPIRED', true);
    c('expired, inside leeway', tok({}, { exp: NOW - 10 }), 'ok', true);
    c('expired exactly now, leeway 0', tok({}, { exp: NOW }), 'ERR_JWT_EXPIRED', true, { options: baseOptions({ leewaySeconds: 0 }) });
    c('expired 10 s ago, leeway 0', tok({}, { exp: NOW - 10 }), 'ERR_JWT_EXPIRED', true, { options: baseOptions({ leewaySeconds: 0 }) });
    c('nbf in the future', tok({}, { nbf: NOW + 100 }), 'ERR_JWT_NOT_YET_VALID', true);
    c('nbf in the future, inside leeway', tok({}, { nbf: NOW + 10 }), 'ok', true);
    c('nbf 10 s ahead, leeway 0', tok({}, { nbf: NOW + 10 }), 'ERR_JWT_NOT_YET_VALID', true, { options: baseOptions({ leewaySeconds: 0 }) });
    c('iat in the future', tok({}, { iat: NOW + 100 }), 'ERR_JWT_NOT_YET_VALID', true);
    c('exp not a number', tok({}, { exp: String(EXP_2100) }), 'ERR_JWT_CLAIM_VALIDATION_FAILED', true);
    c('wrong iss', tok({}, { iss: 'https://evil.example' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED', true);
    c('missing iss', tok({}, { iss: undefined }), 'ERR_JWT_CLAIM_VALIDATION_FAILED', true);
    c('wrong aud', tok({}, { aud: 'api://other' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED', true);
    c('aud array without ours', tok({}, { aud: ['a', 'b'] }), 'ERR_JWT_CLAIM_VALIDATION_FAILED', true);
    c('wrong typ JWT', tok({ typ: 'JWT' }), 'ERR_JWT_CLAIM_VALIDATION_FAILED', true);
    c('missing typ', tok({ typ: undefined }), 'ERR_JWT_CLAIM_VALIDATION_FAILED', true);
    c('missing required sub', tok({}, { sub: undefined }), 'ERR_JWT_CLAIM_VALIDATION_FAILED', true);
    c('payload is a JSON array', makeToken(alg, key, hdr(), Buffer.from('[1,2]')), 'ERR_JWT_MALFORMED', true);
    c('payload is a JSON string', makeToken(alg, key, hdr(), Buffer.from('"sub"')), 'ERR_JWT_MALFORMED', true);
    c('payload is invalid UTF-8', makeToken(alg, key, hdr(), Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])), 'ERR_JWT_MALFORMED', true);
    c('header is invalid UTF-8', makeToken(alg, key, Buffer.concat([Buffer.from('{"alg":"' + alg + '","x":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), baseClaims()), 'ERR_JWT_MALFORMED', false);
    c('header is a JSON array', makeToken(alg, key, Buffer.from('["' + alg + '"]'), baseClaims()), 'ERR_JWT_MALFORMED', false);
    c('unknown kid', tok({ kid: 'no-such-key' }), 'ERR_JWKS_NO_MATCHING_KEY', false);
    c('kid is a number', tok({ kid: 1 }), 'ERR_JWS_INVALID', false);
    c('alg not in allow-list', valid, 'ERR_JOSE_ALG_NOT_ALLOWED', false, { options: baseOptions({ algorithms: ALL_ALGS.filter((a) => a !== alg) }) });
    c('alg in different case', (() => { const p = valid.split('.'); p[0] = b64u(Buffer.from(JSON.stringify(hdr({ alg: alg.toLowerCase() })))); return p.join('.'); })(),
      'ERR_JOSE_ALG_NOT_ALLOWED', false);
    c('crit present', tok({ crit: ['exp'], exp: EXP_2100 }), 'ERR_JWS_INVALID', false);
    c('b64 false (RFC 7797)', tok({ b64: false, crit: undefined }), 'ERR_JWS_INVALID', false);
    for (const m of ['jwk', 'jku', 'x5u', 'x5c']) {
      const evilPub = alg.startsWith('HS') ? octJwk(evil) : publicJwk(evil);
      const value = { jwk: evilPub, jku: 'https://evil.example/jwks.json', x5u: 'https://evil.example/cert.pem', x5c: [attackerCertB64] }[m];
      const t = (kidValue) => makeToken(alg, evil, hdr({ [m]: value, kid: kidValue }), baseClaims());
      c('embedded ' + m + ' with attacker key, no kid', t(undefined), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', true);
      c('embedded ' + m + ' with attacker key, attacker kid', t('attacker'), 'ERR_JWKS_NO_MATCHING_KEY', false);
    }
    c('key pinned to another alg', valid, alg === 'RS256' || alg === 'ES256' ? 'ok' : 'ERR_JWKS_NO_MATCHING_KEY', alg === 'RS256' || alg === 'ES256',
      { keys: 'alg-pinned-elsewhere' });
    c('signature with "=" padding', valid + (valid.split('.')[2].length % 4 ? '=' : '===='), 'ERR_JWT_MALFORMED', false);
    // Node's base64url decoder also accepts the base64 alphabet: the same bytes, another string.
    const std = valid.replace(/-/g, '+').replace(/_/g, '/');
    c('base64 alphabet ("+", "/") instead of base64url', std === valid ? valid.slice(0, -1) + '+' : std, 'ERR_JWT_MALFORMED', false);
    c('header with "=" padding', valid.replace('.', '=.'), 'ERR_JWT_MALFORMED', false);
    c('whitespace inside the signature', valid.slice(0, -4) + ' ' + valid.slice(-4), 'ERR_JWT_MALFORMED', false);
    // njs 0.7.9's PCRE `$` matches before a final newline and Buffer.from() skips it:
    // a newline after each segment hits every length residue.
    c('trailing newline', valid + '\n', 'ERR_JWT_MALFORMED', false);
    c('trailing CRLF', valid + '\r\n', 'ERR_JWT_MALFORMED', false);
    c('newline after the header segment', valid.replace('.', '\n.'), 'ERR_JWT_MALFORMED', false);
    c('newline after the payload segment', (() => { const p = valid.split('.'); p[1] += '\n'; return p.join('.'); })(), 'ERR_JWT_MALFORMED', false);
    c('trailing newline plus one char', valid + '\nA', 'ERR_JWT_MALFORMED', false);
    const sigSeg = valid.split('.')[2];
    if (sigSeg.length % 4 !== 0) {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(sigSeg[sigSeg.length - 1]);
      const noncanon = alphabet[last | 1];
      c('signature with non-canonical trailing bits', valid.slice(0, -1) + noncanon, 'ERR_JWT_MALFORMED', false);
    }
    c('two segments', valid.split('.').slice(0, 2).join('.'), 'ERR_JWT_MALFORMED', false);
    c('four segments', valid + '.' + valid.split('.')[2], 'ERR_JWT_MALFORMED', false);
    c('empty signature', valid.split('.').slice(0, 2).join('.') + '.', 'ERR_JWT_MALFORMED', false);
    c('token one char over maxTokenLength', valid, 'ERR_JWT_MALFORMED', false, { options: baseOptions({ maxTokenLength: valid.length - 1 }) });
    c('token exactly maxTokenLength', valid, 'ok', true, { options: baseOptions({ maxTokenLength: valid.length }) });
    if (alg.startsWith('ES')) {
      const n = { ES256: 64, ES384: 96, ES512: 132 }[alg];
      const raw = Buffer.from(valid.split('.')[2], 'base64url');
      c('only an EC key on P-256, token without kid', tok({ kid: undefined }), alg === 'ES256' ? 'ok' : 'ERR_JWKS_NO_MATCHING_KEY', alg === 'ES256',
        { keys: 'p256-only-no-kid' });
      c('ECDSA r=s=0', replaceSig(valid, Buffer.alloc(n)), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', false);
      c('ECDSA r=0', replaceSig(valid, Buffer.concat([Buffer.alloc(n / 2), raw.subarray(n / 2)])), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', false);
      c('ECDSA s=0', replaceSig(valid, Buffer.concat([raw.subarray(0, n / 2), Buffer.alloc(n / 2)])), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', false);
      c('ECDSA DER-encoded signature', replaceSig(valid, derEcdsaSignature(raw)), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', false);
    }
    if (alg.startsWith('HS')) {
      c('HMAC key shorter than the hash', valid, 'ERR_JWKS_INVALID', false, { keys: 'short-hmac' });
      if (alg !== 'HS256') c('only a key too short for this alg', tok({ kid: undefined }), 'ERR_JWKS_NO_MATCHING_KEY', false, { keys: 'hs256-key-only' });
    }
    if (alg.startsWith('RS') || alg.startsWith('PS')) {
      // The key set fails to load, so the signature never matters (PS512 cannot even sign with 1024 bits).
      c('RSA 1024-bit key in JWKS', valid, 'ERR_JWKS_INVALID', false, { keys: 'rsa-1024' });
    }
  }

  // Algorithm confusion: an HMAC over the token keyed with a trusted public key.
  const hsConfusion = [
    ['RSA', keys.rsa], ['P-256', keys['P-256']], ['P-384', keys['P-384']], ['P-521', keys['P-521']], ['Ed25519', keys.ed25519],
  ];
  for (const [label, pk] of hsConfusion) {
    const secrets = [['PEM text', Buffer.from(pemOf(pk))], ['SPKI DER', spkiDerOf(pk)]];
    for (const [form, secret] of secrets) {
      for (const hs of ['HS256', 'HS384', 'HS512']) {
        const hdr = { alg: hs, typ: 'at+jwt' };
        const t = makeToken(hs, secret, hdr, baseClaims());
        const base = { alg: hs, token: t, sig: false };
        add(Object.assign({ name: hs + ' keyed with the ' + label + ' public key (' + form + '), JWKS without oct keys', keys: 'asymmetric', expect: 'ERR_JWKS_NO_MATCHING_KEY' }, base));
        add(Object.assign({ name: hs + ' keyed with the ' + label + ' public key (' + form + '), PEM key set', keys: 'asymmetric-pem', expect: 'ERR_JWKS_NO_MATCHING_KEY' }, base));
        add(Object.assign({ name: hs + ' keyed with the ' + label + ' public key (' + form + '), with kid of that key', keys: 'asymmetric',
          token: makeToken(hs, secret, Object.assign({ kid: label === 'RSA' ? 'rsa-1' : label === 'Ed25519' ? 'ed-1' : 'ec-p' + label.slice(2) }, hdr), baseClaims()),
          expect: 'ERR_JWKS_NO_MATCHING_KEY', alg: hs, sig: false }));
        add(Object.assign({ name: hs + ' keyed with the ' + label + ' public key (' + form + '), unrelated oct key present', keys: 'asymmetric-plus-unrelated-oct',
          expect: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' }, base, { sig: true }));
      }
    }
  }

  // Unsecured JWS (RFC 7515 A.5) in every spelling, even when "none" is listed.
  const claimsB64 = b64u(Buffer.from(JSON.stringify(baseClaims())));
  for (const none of ['none', 'None', 'NONE', 'nOnE']) {
    const h = b64u(Buffer.from(JSON.stringify({ alg: none, typ: 'at+jwt' })));
    add({ name: 'alg ' + none + ', empty signature', alg: none, token: h + '.' + claimsB64 + '.', expect: 'ERR_JWT_MALFORMED', sig: false });
    add({ name: 'alg ' + none + ', non-empty signature', alg: none, token: h + '.' + claimsB64 + '.' + b64u(Buffer.from('sig')), expect: 'ERR_JOSE_ALG_NOT_ALLOWED', sig: false });
    add({ name: 'alg ' + none + ', non-empty signature, listed in algorithms', alg: none, token: h + '.' + claimsB64 + '.' + b64u(Buffer.from('sig')),
      expect: 'ERR_JOSE_ALG_NOT_ALLOWED', sig: false, options: baseOptions({ algorithms: ALL_ALGS.concat(['none', 'None', 'NONE', 'nOnE']) }) });
  }
  const noAlg = b64u(Buffer.from(JSON.stringify({ typ: 'at+jwt' })));
  add({ name: 'header without alg', alg: '', token: noAlg + '.' + claimsB64 + '.' + b64u(Buffer.from('sig')), expect: 'ERR_JWS_INVALID', sig: false });
  add({ name: 'oversized garbage token (maxTokenLength + 1)', alg: '', token: '!'.repeat(8193), expect: 'ERR_JWT_MALFORMED', sig: false });
  add({ name: 'oversized garbage token with dots', alg: '', token: ('a'.repeat(1023) + '.').repeat(8) + 'a', expect: 'ERR_JWT_MALFORMED', sig: false });
  add({ name: 'empty token', alg: '', token: '', expect: 'ERR_JWT_MALFORMED', sig: false });

  const ordered = cases.map((c) => {
    const o = { name: c.name, alg: c.alg, keys: c.keys, expect: c.expect };
    // Ed25519 keys load on every runtime (SPKI is parsed in JS); the runtime is
    // only asked at import, just before the signature check.
    if (c.alg === 'EdDSA') o.expectWithoutEd25519 = c.sig ? 'ERR_JOSE_NOT_SUPPORTED' : c.expect;
    o.options = c.options;
    o.token = c.token;
    return o;
  });
  return { now: NOW, keySets, cases: ordered };
}

function main() {
  const out = buildEdgeCases(makeKeys());
  const file = fileURLToPath(new URL('./edge-cases.json', import.meta.url));
  // One case per line keeps the file small and its diffs readable.
  const text = '{\n"description": ' + JSON.stringify('JWT validation edge cases generated by test/vectors/generate-edge-cases.mjs; see the header of that script for the format.') +
    ',\n"now": ' + out.now + ',\n"keySets": ' + JSON.stringify(out.keySets, null, 1) +
    ',\n"cases": [\n' + out.cases.map((c) => JSON.stringify(c)).join(',\n') + '\n]\n}\n';
  JSON.parse(text);
  writeFileSync(file, text);
  console.log('wrote ' + out.cases.length + ' cases to ' + file);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
