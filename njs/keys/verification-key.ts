// What a configured verification key is, apart from where it came from
// (key-set.ts parses JWKS and PEM into these) and how it becomes a CryptoKey
// (import-key.ts): both depend on this file, neither on the other's types.

export type KeyType = 'RSA' | 'EC' | 'OKP' | 'oct';

export interface VerificationKey {
  /** Absent: matches any token kid. */
  kid?: string;
  kty: KeyType;
  crv?: 'P-256' | 'P-384' | 'P-521' | 'Ed25519';
  /** When present the token alg must equal it. */
  alg?: string;
  /** raw only for oct (HMAC secret bytes). */
  format: 'spki' | 'raw';
  /** SPKI DER or raw secret. */
  der: Uint8Array;
  /** CryptoKeys already imported from this key, by alg (import-key.ts). */
  imported?: { [alg: string]: any };
}

export interface KeySet { keys: VerificationKey[] }
