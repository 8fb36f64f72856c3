// Minimal DER (ITU-T X.690) reader and writer: just enough to turn JWKs into
// SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) for crypto.subtle.importKey('spki'),
// because njs 0.7.9 has no 'jwk' import, and to pull the SPKI out of PEM files.
// Every read is bounds-checked; only definite, minimal lengths are accepted.

import { ljwtError } from './errors.ts';
import type { LjwtError } from './errors.ts';
import { matchesWhole } from './text.ts';

export type SpkiKty = 'RSA' | 'EC' | 'OKP';
export type SpkiCrv = 'P-256' | 'P-384' | 'P-521' | 'Ed25519';

export interface SpkiInfo {
  kty: SpkiKty;
  crv?: SpkiCrv;
  /** RSA modulus length in bits. */
  rsaBits?: number;
  /** The complete SPKI DER. */
  der: Uint8Array;
}

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  pos: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the content (= just past the TLV). */
  end: number;
}

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;
const TAG_CONTEXT_0 = 0xa0;

// OID contents (X.690 §8.19), written out as bytes.
const OID_RSA_ENCRYPTION = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]; // 1.2.840.113549.1.1.1 (RFC 8017 App. C)
const OID_EC_PUBLIC_KEY = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]; // 1.2.840.10045.2.1 (RFC 5480 §2.1.1)
const OID_P256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]; // 1.2.840.10045.3.1.7 prime256v1
const OID_P384 = [0x2b, 0x81, 0x04, 0x00, 0x22]; // 1.3.132.0.34 secp384r1
const OID_P521 = [0x2b, 0x81, 0x04, 0x00, 0x23]; // 1.3.132.0.35 secp521r1
const OID_ED25519 = [0x2b, 0x65, 0x70]; // 1.3.101.112 (RFC 8410 §3)

/** Field element size in bytes per curve (SEC 1 §2.3.5; P-521 is 66 bytes). */
export const EC_COORD_LENGTH: { [crv: string]: number } = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

// RSA keys below 2048 bits are refused (RFC 7518 §3.3, NIST SP 800-131A);
// the upper bound keeps a hostile key file from making each verify very slow.
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 16384;

function invalid(msg: string): LjwtError {
  return ljwtError('ERR_JWKS_INVALID', msg);
}

// ---------------------------------------------------------------- reader

export function readTlv(buf: Uint8Array, pos: number, limit: number): Tlv {
  if (limit > buf.length || pos < 0 || pos + 2 > limit) throw invalid('DER: truncated element');
  const tag = buf[pos];
  // High tag numbers (X.690 §8.1.2.4) never occur in the structures we read.
  if ((tag & 0x1f) === 0x1f) throw invalid('DER: unsupported tag form');
  let p = pos + 1;
  const first = buf[p++];
  let len: number;
  if (first < 0x80) {
    len = first;
  } else {
    const count = first & 0x7f;
    // 0x80 = indefinite length (BER only, X.690 §10.1); > 4 bytes is absurd here.
    if (count === 0 || count > 4) throw invalid('DER: unsupported length form');
    if (p + count > limit) throw invalid('DER: truncated length');
    if (buf[p] === 0) throw invalid('DER: non-minimal length');
    len = 0;
    for (let k = 0; k < count; k++) len = len * 256 + buf[p++];
    if (len < 0x80) throw invalid('DER: non-minimal length');
  }
  const end = p + len;
  if (end > limit) throw invalid('DER: element exceeds its container');
  return { tag: tag, pos: pos, start: p, end: end };
}

function expectTlv(buf: Uint8Array, pos: number, limit: number, tag: number, what: string): Tlv {
  const t = readTlv(buf, pos, limit);
  if (t.tag !== tag) throw invalid('DER: expected ' + what);
  return t;
}

function bytesEqual(buf: Uint8Array, start: number, end: number, expected: number[]): boolean {
  if (end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (buf[start + i] !== expected[i]) return false;
  return true;
}

/** Positive INTEGER contents, minimal encoding (X.690 §8.3.2); returns the magnitude bytes. */
function readUnsignedInteger(buf: Uint8Array, t: Tlv, what: string): Uint8Array {
  const len = t.end - t.start;
  if (len === 0) throw invalid('DER: empty INTEGER ' + what);
  if (buf[t.start] & 0x80) throw invalid('DER: negative INTEGER ' + what);
  if (len > 1 && buf[t.start] === 0 && (buf[t.start + 1] & 0x80) === 0) throw invalid('DER: non-minimal INTEGER ' + what);
  let s = t.start;
  while (s < t.end - 1 && buf[s] === 0) s++;
  return buf.subarray(s, t.end);
}

function bitLength(magnitude: Uint8Array): number {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  if (i === magnitude.length) return 0;
  let top = magnitude[i];
  let bits = 0;
  while (top > 0) { bits++; top = top >> 1; }
  return (magnitude.length - i - 1) * 8 + bits;
}

/** RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 App. A.1.1). */
function parseRsaPublicKey(buf: Uint8Array, start: number, end: number): number {
  const seq = expectTlv(buf, start, end, TAG_SEQUENCE, 'RSAPublicKey');
  if (seq.end !== end) throw invalid('DER: trailing data after RSAPublicKey');
  const nT = expectTlv(buf, seq.start, seq.end, TAG_INTEGER, 'modulus');
  const eT = expectTlv(buf, nT.end, seq.end, TAG_INTEGER, 'publicExponent');
  if (eT.end !== seq.end) throw invalid('DER: trailing data in RSAPublicKey');
  const n = readUnsignedInteger(buf, nT, 'modulus');
  const e = readUnsignedInteger(buf, eT, 'publicExponent');
  checkRsaParameters(n, e);
  return bitLength(n);
}

/** The RSA public key checks of parseSpki, on the modulus and exponent magnitudes (a JWK's n and e). */
export function checkRsaParameters(n: Uint8Array, e: Uint8Array): void {
  const bits = bitLength(n);
  if (bits < RSA_MIN_BITS) throw invalid('RSA modulus of ' + bits + ' bits is below the ' + RSA_MIN_BITS + '-bit minimum');
  if (bits > RSA_MAX_BITS) throw invalid('RSA modulus of ' + bits + ' bits exceeds ' + RSA_MAX_BITS);
  if ((n[n.length - 1] & 1) === 0) throw invalid('RSA modulus is even');
  // RFC 8017 §3.1: 3 <= e < n, e odd. Exponents wider than 64 bits are not in use.
  if (e.length > 8 || (e[e.length - 1] & 1) === 0 || (e.length === 1 && e[0] < 3)) throw invalid('RSA public exponent is invalid');
}

/**
 * Parses and checks a SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) for the key
 * types we verify with. The whole buffer must be exactly one SPKI.
 */
export function parseSpki(der: Uint8Array): SpkiInfo {
  const top = expectTlv(der, 0, der.length, TAG_SEQUENCE, 'SubjectPublicKeyInfo');
  if (top.end !== der.length) throw invalid('DER: trailing data after SubjectPublicKeyInfo');
  const algId = expectTlv(der, top.start, top.end, TAG_SEQUENCE, 'AlgorithmIdentifier');
  const bits = expectTlv(der, algId.end, top.end, TAG_BIT_STRING, 'subjectPublicKey');
  if (bits.end !== top.end) throw invalid('DER: trailing data in SubjectPublicKeyInfo');
  if (bits.end - bits.start < 2 || der[bits.start] !== 0) throw invalid('DER: subjectPublicKey must be whole bytes');
  const keyStart = bits.start + 1;
  const keyLen = bits.end - keyStart;

  const oid = expectTlv(der, algId.start, algId.end, TAG_OID, 'algorithm OID');
  if (bytesEqual(der, oid.start, oid.end, OID_RSA_ENCRYPTION)) {
    // parameters: NULL (RFC 3279 §2.3.1); tolerate their absence as many encoders do.
    if (oid.end !== algId.end) {
      const p = expectTlv(der, oid.end, algId.end, TAG_NULL, 'NULL parameters');
      if (p.start !== p.end || p.end !== algId.end) throw invalid('DER: bad rsaEncryption parameters');
    }
    const rsaBits = parseRsaPublicKey(der, keyStart, bits.end);
    return { kty: 'RSA', rsaBits: rsaBits, der: der };
  }
  if (bytesEqual(der, oid.start, oid.end, OID_EC_PUBLIC_KEY)) {
    // namedCurve only (RFC 5480 §2.1.1: implicit/specified curves MUST NOT be used).
    const c = expectTlv(der, oid.end, algId.end, TAG_OID, 'namedCurve');
    if (c.end !== algId.end) throw invalid('DER: trailing data in AlgorithmIdentifier');
    let crv: SpkiCrv;
    if (bytesEqual(der, c.start, c.end, OID_P256)) crv = 'P-256';
    else if (bytesEqual(der, c.start, c.end, OID_P384)) crv = 'P-384';
    else if (bytesEqual(der, c.start, c.end, OID_P521)) crv = 'P-521';
    else throw invalid('unsupported EC curve');
    // Uncompressed point 04||X||Y (SEC 1 §2.3.3); compressed points are not
    // importable on every runtime we support.
    const size = EC_COORD_LENGTH[crv];
    if (keyLen !== 1 + 2 * size || der[keyStart] !== 0x04) throw invalid('EC public key must be an uncompressed ' + crv + ' point');
    return { kty: 'EC', crv: crv, der: der };
  }
  if (bytesEqual(der, oid.start, oid.end, OID_ED25519)) {
    // RFC 8410 §3: parameters MUST be absent.
    if (oid.end !== algId.end) throw invalid('DER: Ed25519 AlgorithmIdentifier has parameters');
    if (keyLen !== 32) throw invalid('Ed25519 public key must be 32 bytes');
    return { kty: 'OKP', crv: 'Ed25519', der: der };
  }
  throw invalid('unsupported public key algorithm');
}

/** PKCS#1 RSAPublicKey (PEM "RSA PUBLIC KEY") -> SPKI. */
export function spkiFromPkcs1(der: Uint8Array): Uint8Array {
  parseRsaPublicKey(der, 0, der.length);
  return wrapSpki(derTlv(TAG_SEQUENCE, concatBytes([derTlv(TAG_OID, new Uint8Array(OID_RSA_ENCRYPTION)), derTlv(TAG_NULL, new Uint8Array(0))])), der);
}

/**
 * X.509 Certificate (RFC 5280 §4.1) -> its tbsCertificate.subjectPublicKeyInfo.
 * The certificate's own signature, validity and chain are not evaluated: the
 * operator pins this key by configuring the file.
 */
export function spkiFromCertificate(der: Uint8Array): Uint8Array {
  const cert = expectTlv(der, 0, der.length, TAG_SEQUENCE, 'Certificate');
  if (cert.end !== der.length) throw invalid('DER: trailing data after Certificate');
  const tbs = expectTlv(der, cert.start, cert.end, TAG_SEQUENCE, 'tbsCertificate');
  let t = readTlv(der, tbs.start, tbs.end);
  if (t.tag === TAG_CONTEXT_0) t = readTlv(der, t.end, tbs.end); // [0] EXPLICIT version, DEFAULT v1
  if (t.tag !== TAG_INTEGER) throw invalid('DER: expected serialNumber');
  t = expectTlv(der, t.end, tbs.end, TAG_SEQUENCE, 'signature AlgorithmIdentifier');
  t = expectTlv(der, t.end, tbs.end, TAG_SEQUENCE, 'issuer');
  t = expectTlv(der, t.end, tbs.end, TAG_SEQUENCE, 'validity');
  t = expectTlv(der, t.end, tbs.end, TAG_SEQUENCE, 'subject');
  t = expectTlv(der, t.end, tbs.end, TAG_SEQUENCE, 'subjectPublicKeyInfo');
  return der.subarray(t.pos, t.end);
}

// ---------------------------------------------------------------- writer

function derLength(len: number): number[] {
  if (len < 0x80) return [len];
  const out: number[] = [];
  let v = len;
  while (v > 0) { out.unshift(v & 0xff); v = Math.floor(v / 256); }
  out.unshift(0x80 | out.length);
  return out;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (let i = 0; i < parts.length; i++) total += parts[i].length;
  const out = new Uint8Array(total);
  let off = 0;
  for (let i = 0; i < parts.length; i++) { out.set(parts[i], off); off += parts[i].length; }
  return out;
}

export function derTlv(tag: number, content: Uint8Array): Uint8Array {
  const hdr = derLength(content.length);
  hdr.unshift(tag);
  const out = new Uint8Array(hdr.length + content.length);
  out.set(hdr, 0);
  out.set(content, hdr.length);
  return out;
}

/** INTEGER from an unsigned big-endian magnitude: minimal, with 0x00 prepended when the high bit is set. */
export function derUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let s = 0;
  while (s < magnitude.length - 1 && magnitude[s] === 0) s++;
  const m = magnitude.subarray(s);
  if (m.length === 0) return derTlv(TAG_INTEGER, new Uint8Array([0]));
  if (m[0] & 0x80) return derTlv(TAG_INTEGER, concatBytes([new Uint8Array([0]), m]));
  return derTlv(TAG_INTEGER, m);
}

function wrapSpki(algorithmIdentifier: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const bitString = derTlv(TAG_BIT_STRING, concatBytes([new Uint8Array([0]), publicKey]));
  return derTlv(TAG_SEQUENCE, concatBytes([algorithmIdentifier, bitString]));
}

/** JWK RSA (RFC 7518 §6.3.1 n, e) -> SPKI. */
export function rsaSpki(n: Uint8Array, e: Uint8Array): Uint8Array {
  const rsaPublicKey = derTlv(TAG_SEQUENCE, concatBytes([derUnsignedInteger(n), derUnsignedInteger(e)]));
  const algId = derTlv(TAG_SEQUENCE, concatBytes([derTlv(TAG_OID, new Uint8Array(OID_RSA_ENCRYPTION)), derTlv(TAG_NULL, new Uint8Array(0))]));
  return wrapSpki(algId, rsaPublicKey);
}

/** The checks of ecSpki on a JWK's crv, x and y (parseSpki's on the point it builds). */
export function checkEcCoordinates(crv: string, x: Uint8Array, y: Uint8Array): void {
  const size = EC_COORD_LENGTH[crv];
  if (size === undefined) throw invalid('unsupported EC curve');
  // RFC 7518 §6.2.1.2/§6.2.1.3: the full coordinate size, leading zeros kept.
  if (x.length !== size || y.length !== size) throw invalid('EC coordinates must be ' + size + ' bytes for ' + crv);
}

/** JWK EC (RFC 7518 §6.2.1 crv, x, y) -> SPKI. x and y must have the exact field size. */
export function ecSpki(crv: string, x: Uint8Array, y: Uint8Array): Uint8Array {
  let curveOid: number[];
  if (crv === 'P-256') curveOid = OID_P256;
  else if (crv === 'P-384') curveOid = OID_P384;
  else if (crv === 'P-521') curveOid = OID_P521;
  else throw invalid('unsupported EC curve');
  checkEcCoordinates(crv, x, y);
  const algId = derTlv(TAG_SEQUENCE, concatBytes([derTlv(TAG_OID, new Uint8Array(OID_EC_PUBLIC_KEY)), derTlv(TAG_OID, new Uint8Array(curveOid))]));
  return wrapSpki(algId, concatBytes([new Uint8Array([0x04]), x, y]));
}

/** JWK OKP Ed25519 (RFC 8037 §2 x) -> SPKI (RFC 8410 §4). */
export function ed25519Spki(x: Uint8Array): Uint8Array {
  if (x.length !== 32) throw invalid('Ed25519 public key must be 32 bytes');
  return wrapSpki(derTlv(TAG_SEQUENCE, derTlv(TAG_OID, new Uint8Array(OID_ED25519))), x);
}

// ---------------------------------------------------------------- PEM

export interface PemBlock { label: string; der: Uint8Array }

/** All PEM blocks (RFC 7468 §2) in `text`; text outside the blocks is ignored (RFC 7468 §5.2 explanatory text). */
export function pemBlocks(text: string): PemBlock[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  const out: PemBlock[] = [];
  let m = re.exec(text);
  while (m !== null) {
    if (m[1] !== m[3]) throw invalid('PEM: BEGIN ' + m[1] + ' does not match END ' + m[3]);
    const body = m[2].replace(/[ \t\r\n]+/g, '');
    // RFC 7468 §3 strict base64; headers (e.g. encrypted legacy keys) are refused.
    if (body.length === 0 || body.length % 4 !== 0 || !matchesWhole(/^[A-Za-z0-9+/]+={0,2}$/, body)) {
      throw invalid('PEM: ' + m[1] + ' block is not valid base64');
    }
    out.push({ label: m[1], der: Buffer.from(body, 'base64') });
    m = re.exec(text);
  }
  return out;
}
