// Types for the edge-case generator, used by test/unit/njs/jwt/edge-case-vectors.test.ts.
import type { KeyObject } from 'node:crypto';

export interface EdgeKeySet { jwks?: string; pem?: string }
export interface EdgeCase {
  name: string;
  alg: string;
  keys: string;
  token: string;
  options: {
    algorithms: string[]; maxTokenLength: number; issuers: string[]; audiences: string[];
    leewaySeconds: number; requiredTyp: string | null; requiredClaims: string[]; now: number;
  };
  expect: string;
  expectWithoutEd25519?: string;
}
export interface EdgeCases { now: number; keySets: { [name: string]: EdgeKeySet }; cases: EdgeCase[] }
export interface EdgeKeys { [name: string]: any }

export const NOW: number;
export const EXP_2100: number;
export const ISSUER: string;
export const AUDIENCE: string;
export const ALL_ALGS: string[];
export function b64u(bytes: Uint8Array): string;
export function makeKeys(): EdgeKeys;
export function kidFor(alg: string): string;
export function signingKey(keys: EdgeKeys, alg: string, attacker: boolean): KeyObject | Buffer;
export function signBytes(alg: string, key: KeyObject | Buffer, data: Uint8Array): Buffer;
export function publicJwk(key: KeyObject, extra?: object): { [k: string]: unknown };
export function octJwk(secret: Uint8Array, extra?: object): { [k: string]: unknown };
export function makeToken(alg: string, key: KeyObject | Buffer, header: object | Buffer, payload: object | Buffer): string;
export function baseOptions(extra?: object): EdgeCase['options'];
export function baseClaims(extra?: object): { [k: string]: unknown };
export function selfSignedCertDer(key: KeyObject, cn: string): Buffer;
export function buildEdgeCases(keys: EdgeKeys): EdgeCases;
