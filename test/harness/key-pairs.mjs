// Key pairs for tests: generated synchronously (module top level is fine), handed out as
// KeyObjects re-imported from DER. On Node 20 a synchronous key generation job lives until a
// garbage collection destroys it, and its destructor locks the generated key's mutex; a JWK
// export of a KeyObject sharing that key holds the same mutex while it allocates, so a collection
// in the middle of the export deadlocks the worker. A re-imported key has its own mutex, which no
// job ever takes. Every test key pair comes from here (test/unit/harness/key-pairs.test.ts checks).
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

const DER = { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } };

/** A new key pair: `type` and `options` as for node:crypto generateKeyPairSync (no encodings). */
export function newKeyPair(type, options) {
  const { privateKey: pkcs8 } = generateKeyPairSync(type, { ...options, ...DER });
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
