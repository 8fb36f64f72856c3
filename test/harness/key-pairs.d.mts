// Types for test/harness/key-pairs.mjs.
import type { KeyObject } from 'node:crypto';

export interface KeyPair { privateKey: KeyObject; publicKey: KeyObject }
export function newKeyPair(type: 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448' | 'x25519' | 'x448',
  options?: { modulusLength?: number; publicExponent?: number; namedCurve?: string }): KeyPair;
