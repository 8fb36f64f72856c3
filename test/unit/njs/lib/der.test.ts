import { createPublicKey } from 'node:crypto';
import { newKeyPair } from '../../../harness/key-pairs.mjs';
import type { KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ecSpki, ed25519Spki, parseSpki, pemBlocks, readTlv, rsaSpki, spkiFromCertificate, spkiFromPkcs1 } from '#njs/lib/der.ts';
import { keySetFromPem } from '#njs/keys/key-set.ts';
import { selfSignedCertDer } from '../../../vectors/generate-edge-cases.mjs';

const pub = (k: KeyObject) => (k.type === 'public' ? k : createPublicKey(k));
function jwkOf(k: KeyObject): { [k: string]: string } {
  return pub(k).export({ format: 'jwk' }) as { [k: string]: string };
}
function spkiOf(k: KeyObject): Buffer {
  return pub(k).export({ type: 'spki', format: 'der' });
}
const b = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');

function codeOf(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

const rsa2048 = newKeyPair('rsa', { modulusLength: 2048 }).privateKey;
const rsa3072e3 = newKeyPair('rsa', { modulusLength: 3072, publicExponent: 3 }).privateKey;
const rsa1024 = newKeyPair('rsa', { modulusLength: 1024 }).privateKey;

describe('JWK -> SPKI is byte-identical to node:crypto', () => {
  it('RSA 2048 (e=65537) and 3072 (e=3)', () => {
    for (const k of [rsa2048, rsa3072e3]) {
      const j = jwkOf(k);
      const der = rsaSpki(b(j.n), b(j.e));
      expect(hex(der)).toBe(spkiOf(k).toString('hex'));
      const info = parseSpki(der);
      expect(info.kty).toBe('RSA');
      expect(info.rsaBits).toBe(k === rsa2048 ? 2048 : 3072);
    }
  });

  it('RSA n with a redundant leading zero octet encodes minimally', () => {
    const j = jwkOf(rsa2048);
    const n = new Uint8Array([0, ...b(j.n)]);
    expect(hex(rsaSpki(n, b(j.e)))).toBe(spkiOf(rsa2048).toString('hex'));
  });

  it('EC P-256, P-384, P-521 (12 keys each, so coordinates with leading zero bytes occur)', () => {
    for (const crv of ['P-256', 'P-384', 'P-521'] as const) {
      for (let i = 0; i < 12; i++) {
        const k = newKeyPair('ec', { namedCurve: crv }).publicKey;
        const j = jwkOf(k);
        const der = ecSpki(crv, b(j.x), b(j.y));
        expect(hex(der)).toBe(spkiOf(k).toString('hex'));
        expect(parseSpki(der)).toMatchObject({ kty: 'EC', crv });
      }
    }
  });

  it('Ed25519', () => {
    for (let i = 0; i < 5; i++) {
      const k = newKeyPair('ed25519').publicKey;
      const der = ed25519Spki(b(jwkOf(k).x));
      expect(hex(der)).toBe(spkiOf(k).toString('hex'));
      expect(parseSpki(der)).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    }
  });

  it('rejects EC coordinates of the wrong size and unknown curves', () => {
    const j = jwkOf(newKeyPair('ec', { namedCurve: 'P-256' }).publicKey);
    expect(codeOf(() => ecSpki('P-256', b(j.x).subarray(1), b(j.y)))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => ecSpki('P-384', b(j.x), b(j.y)))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => ecSpki('secp256k1', b(j.x), b(j.y)))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => ed25519Spki(new Uint8Array(31)))).toBe('ERR_JWKS_INVALID');
  });
});

describe('SPKI parsing', () => {
  it('rejects RSA keys below 2048 bits (JWK and SPKI)', () => {
    const j = jwkOf(rsa1024);
    expect(codeOf(() => parseSpki(rsaSpki(b(j.n), b(j.e))))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => parseSpki(spkiOf(rsa1024)))).toBe('ERR_JWKS_INVALID');
  });

  it('rejects unsupported key algorithms (Ed448, X25519, RSA-PSS OID, DSA)', () => {
    for (const k of [newKeyPair('ed448').publicKey, newKeyPair('x25519').publicKey,
      newKeyPair('rsa-pss', { modulusLength: 2048 }).publicKey]) {
      expect(codeOf(() => parseSpki(spkiOf(k)))).toBe('ERR_JWKS_INVALID');
    }
  });

  it('rejects structural DER errors', () => {
    const good = spkiOf(newKeyPair('ec', { namedCurve: 'P-256' }).publicKey);
    expect(codeOf(() => parseSpki(good))).toBe('ok');
    const mutate = (f: (u: Buffer) => Buffer) => codeOf(() => parseSpki(f(Buffer.from(good))));
    expect(mutate((u) => Buffer.concat([u, Buffer.from([0])]))).toBe('ERR_JWKS_INVALID'); // trailing data
    expect(mutate((u) => u.subarray(0, u.length - 1))).toBe('ERR_JWKS_INVALID'); // truncated
    expect(mutate((u) => { u[1] = 0x80; return u; })).toBe('ERR_JWKS_INVALID'); // indefinite length
    expect(mutate((u) => Buffer.concat([Buffer.from([0x30, 0x81, u[1]]), u.subarray(2)]))).toBe('ERR_JWKS_INVALID'); // non-minimal length (89 < 128)
    expect(mutate((u) => { u[0] = 0x31; return u; })).toBe('ERR_JWKS_INVALID'); // SET, not SEQUENCE
    // BIT STRING with unused bits: offset of the 0x00 after 03 42
    expect(mutate((u) => { const i = u.indexOf(Buffer.from([0x03, 0x42, 0x00])); u[i + 2] = 1; return u; })).toBe('ERR_JWKS_INVALID');
    // compressed point marker
    expect(mutate((u) => { const i = u.indexOf(Buffer.from([0x03, 0x42, 0x00, 0x04])); u[i + 3] = 0x02; return u; })).toBe('ERR_JWKS_INVALID');
    // curve OID changed to an unknown one (last byte of 1.2.840.10045.3.1.7)
    expect(mutate((u) => { const i = u.indexOf(Buffer.from([0x03, 0x01, 0x07])); u[i + 2] = 0x08; return u; })).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => parseSpki(new Uint8Array(0)))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => parseSpki(new Uint8Array([0x30])))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => parseSpki(new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])))).toBe('ERR_JWKS_INVALID');
  });

  it('rejects negative and non-minimal RSA integers', () => {
    const j = jwkOf(rsa2048);
    const good = Buffer.from(rsaSpki(b(j.n), b(j.e)));
    // modulus INTEGER starts 02 82 01 01 00 <n>: drop the 0x00 (making it negative) keeping lengths consistent is
    // not possible in place, so build PKCS#1 bodies by hand instead.
    const n = Buffer.from(b(j.n));
    const e = Buffer.from(b(j.e));
    const int = (v: Buffer) => Buffer.concat([Buffer.from([0x02, 0x82, v.length >> 8, v.length & 0xff]), v]);
    const seq = (body: Buffer) => Buffer.concat([Buffer.from([0x30, 0x82, body.length >> 8, body.length & 0xff]), body]);
    const eInt = Buffer.concat([Buffer.from([0x02, e.length]), e]);
    expect(codeOf(() => spkiFromPkcs1(seq(Buffer.concat([int(Buffer.concat([Buffer.from([0]), n])), eInt]))))).toBe('ok');
    expect(codeOf(() => spkiFromPkcs1(seq(Buffer.concat([int(n), eInt]))))).toBe('ERR_JWKS_INVALID'); // high bit set: negative
    expect(codeOf(() => spkiFromPkcs1(seq(Buffer.concat([int(Buffer.concat([Buffer.from([0, 0]), n])), eInt]))))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => spkiFromPkcs1(seq(Buffer.concat([int(Buffer.concat([Buffer.from([0]), n])), Buffer.from([0x02, 0x01, 0x02])]))))).toBe('ERR_JWKS_INVALID'); // even e
    expect(good.length).toBeGreaterThan(256);
  });

  it('readTlv refuses high tag numbers and elements past their container', () => {
    expect(codeOf(() => readTlv(new Uint8Array([0x1f, 0x81, 0x00, 0x00]), 0, 4))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => readTlv(new Uint8Array([0x04, 0x03, 0x00, 0x00]), 0, 4))).toBe('ERR_JWKS_INVALID');
    expect(readTlv(new Uint8Array([0x04, 0x02, 0x00, 0x00]), 0, 4)).toEqual({ tag: 4, pos: 0, start: 2, end: 4 });
    const long = new Uint8Array(4 + 0x90);
    long.set([0x04, 0x82, 0x00, 0x90]); // length with a leading zero octet
    expect(codeOf(() => readTlv(long, 0, long.length))).toBe('ERR_JWKS_INVALID');
    long.set([0x04, 0x81, 0x90]);
    expect(readTlv(long.subarray(0, 3 + 0x90), 0, 3 + 0x90)).toEqual({ tag: 4, pos: 0, start: 3, end: 3 + 0x90 });
    expect(codeOf(() => readTlv(new Uint8Array([0x04, 0x81, 0x05, 0, 0, 0, 0, 0]), 0, 8))).toBe('ERR_JWKS_INVALID'); // long form for < 128
    expect(codeOf(() => readTlv(new Uint8Array([0x04, 0x85, 1, 0, 0, 0, 0]), 0, 7))).toBe('ERR_JWKS_INVALID');
  });
});

describe('PEM', () => {
  const keys: [string, KeyObject][] = [
    ['RSA', rsa2048], ['P-256', newKeyPair('ec', { namedCurve: 'P-256' }).privateKey],
    ['P-384', newKeyPair('ec', { namedCurve: 'P-384' }).privateKey],
    ['P-521', newKeyPair('ec', { namedCurve: 'P-521' }).privateKey], ['Ed25519', newKeyPair('ed25519').privateKey],
  ];

  it.each(keys)('%s: PUBLIC KEY and CERTIFICATE (openssl req -x509) give the same SPKI as node', (_label, k) => {
    const expected = spkiOf(k).toString('hex');
    const pem = createPublicKey(k).export({ type: 'spki', format: 'pem' }) as string;
    const fromPem = keySetFromPem(pem, 'kid-1');
    expect(fromPem.keys.length).toBe(1);
    expect(hex(fromPem.keys[0].der)).toBe(expected);
    expect(fromPem.keys[0].kid).toBe('kid-1');
    const cert = selfSignedCertDer(k, 'ljwt-test');
    expect(hex(spkiFromCertificate(new Uint8Array(cert)))).toBe(expected);
    const certPem = '-----BEGIN CERTIFICATE-----\n' + cert.toString('base64').replace(/(.{64})/g, '$1\n') + '\n-----END CERTIFICATE-----\n';
    const fromCert = keySetFromPem('subject=/CN=ljwt-test\n' + certPem);
    expect(hex(fromCert.keys[0].der)).toBe(expected);
    expect(fromCert.keys[0].kid).toBeUndefined();
  });

  it('RSA PUBLIC KEY (PKCS#1) is wrapped into the same SPKI', () => {
    const pkcs1 = createPublicKey(rsa2048).export({ type: 'pkcs1', format: 'pem' }) as string;
    expect(pkcs1).toContain('BEGIN RSA PUBLIC KEY');
    const ks = keySetFromPem(pkcs1);
    expect(hex(ks.keys[0].der)).toBe(spkiOf(rsa2048).toString('hex'));
    expect(ks.keys[0]).toMatchObject({ kty: 'RSA', format: 'spki' });
  });

  it('a certificate without the [0] version field (X.509 v1) is read too', () => {
    // v3 cert: drop the [0] EXPLICIT version and fix up the outer lengths.
    const cert = selfSignedCertDer(rsa2048, 'v1');
    const c = readTlv(cert, 0, cert.length);
    const tbs = readTlv(cert, c.start, c.end);
    const ver = readTlv(cert, tbs.start, tbs.end);
    expect(ver.tag).toBe(0xa0);
    const tbsBody = cert.subarray(ver.end, tbs.end);
    const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag, 0x82, body.length >> 8, body.length & 0xff]), body]);
    const v1 = tlv(0x30, Buffer.concat([tlv(0x30, tbsBody), cert.subarray(tbs.end, c.end)]));
    // Long-form lengths must be minimal; both bodies here are > 255 bytes.
    expect(tbsBody.length).toBeGreaterThan(255);
    expect(hex(spkiFromCertificate(new Uint8Array(v1)))).toBe(spkiOf(rsa2048).toString('hex'));
  });

  it('reads several blocks (a chain) and ignores text around them', () => {
    const text = 'Bag Attributes\n' + keys.map(([, k]) => createPublicKey(k).export({ type: 'spki', format: 'pem' })).join('\nsome text\n');
    const ks = keySetFromPem(text);
    expect(ks.keys.map((k) => k.crv ?? k.kty)).toEqual(['RSA', 'P-256', 'P-384', 'P-521', 'Ed25519']);
  });

  it('rejects private keys, 1024-bit RSA, bad base64, mismatched labels and empty input', () => {
    const priv = rsa2048.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(codeOf(() => keySetFromPem(priv))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => keySetFromPem(createPublicKey(rsa1024).export({ type: 'spki', format: 'pem' }) as string))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => keySetFromPem(createPublicKey(rsa1024).export({ type: 'pkcs1', format: 'pem' }) as string))).toBe('ERR_JWKS_INVALID');
    const pub = createPublicKey(rsa2048).export({ type: 'spki', format: 'pem' }) as string;
    expect(codeOf(() => keySetFromPem(pub.replace('MII', 'M*I')))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => keySetFromPem(pub.replace('END PUBLIC KEY', 'END CERTIFICATE')))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => keySetFromPem(pub.replace('BEGIN PUBLIC KEY', 'BEGIN CERTIFICATE').replace('END PUBLIC KEY', 'END CERTIFICATE')))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => keySetFromPem(''))).toBe('ERR_JWKS_INVALID');
    expect(codeOf(() => keySetFromPem('-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n'))).toBe('ERR_JWKS_INVALID');
    expect(pemBlocks('no pem here')).toEqual([]);
  });
});
