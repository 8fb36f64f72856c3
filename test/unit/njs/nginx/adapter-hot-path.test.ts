// The validate handler (njs/nginx/validate.ts) against a stand-in request
// object in Node, to count the work it does per request. Integration tests
// run the same handler in real nginx; this one observes what nginx cannot
// show: how many key imports and key file reads a request costs. Every
// request re-imports the modules, as the njs engine re-runs them per request.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTestKeys, jwksText, nowSeconds, signJwt, type TestKeys } from '../../../harness/tokens.ts';

const VALIDATE_MODULE: string = '#njs/nginx/validate.ts';
const ISSUER = 'https://idp.test';
const AUDIENCE = 'api://edge';

interface Outcome { status: number; variables: Record<string, unknown>; errors: string[] }

let keys: TestKeys;
let dir: string;
const g = globalThis as unknown as { njs?: unknown };

beforeAll(() => {
  keys = generateTestKeys();
  dir = mkdtempSync(join(tmpdir(), 'ljwt-hot-'));
  writeFileSync(join(dir, 'keys.jwks'), jwksText([keys.ec256, keys.ed25519]));
});
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });
afterEach(() => {
  vi.restoreAllMocks();
  delete g.njs;
});

let ed25519Imports = 0;
let ed25519Works = true;

function watchImports(): void {
  ed25519Imports = 0;
  const subtle = globalThis.crypto.subtle;
  const real = subtle.importKey.bind(subtle);
  vi.spyOn(subtle, 'importKey').mockImplementation(((format: unknown, data: unknown, alg: unknown, ext: unknown, usages: unknown) => {
    const name = typeof alg === 'string' ? alg : (alg as { name?: string }).name;
    if (name === 'Ed25519') {
      ed25519Imports++;
      // A build like Debian testing's libnginx-mod-http-js 1.0.2: "unknown algorithm name".
      if (!ed25519Works) return Promise.reject(new TypeError('unknown algorithm name: Ed25519'));
    }
    return (real as (...a: unknown[]) => Promise<unknown>)(format, data, alg, ext, usages);
  }) as typeof subtle.importKey);
}

async function request(settings: Record<string, string>, headers: Record<string, string>): Promise<Outcome> {
  g.njs = { version: '1.0.2', engine: 'njs' };
  vi.resetModules();
  // A computed specifier: the Node-side tsc does not follow it into the adapter,
  // which is typed against njs's globals (njs/tsconfig.json checks it).
  const mod = (await import(VALIDATE_MODULE)) as { validate(r: unknown): Promise<void> };
  const variables: Record<string, unknown> = Object.assign({
    ljwt_issuer: ISSUER, ljwt_audience: AUDIENCE, ljwt_jwks_file: join(dir, 'keys.jwks'), request_uri: '/x',
    // As njs 1.0.2 shows $http_cookie: bytes that are not UTF-8 become U+FFFD.
    http_cookie: headers.Cookie === undefined ? undefined : Buffer.from(headers.Cookie, 'latin1').toString('utf8'),
  }, settings);
  const out: Outcome = { status: 0, variables, errors: [] };
  const r = {
    variables,
    rawVariables: { http_cookie: headers.Cookie === undefined ? undefined : Buffer.from(headers.Cookie, 'latin1') },
    headersIn: headers,
    headersOut: {} as Record<string, string>,
    method: 'GET',
    return(status: number) { out.status = status; },
    log() {},
    warn() {},
    error(m: string) { out.errors.push(m); },
    subrequest() { throw new Error('no subrequest expected'); },
  };
  await mod.validate(r);
  return out;
}

function token(alg: 'ES256' | 'EdDSA'): string {
  const now = nowSeconds();
  return signJwt(keys, alg, { iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now - 5, exp: now + 300 });
}

describe('per-request work of the validate handler (njs engine, njs 1.0.2)', () => {
  it('the default algorithm list and a non-EdDSA token: no Ed25519 probe', async () => {
    watchImports();
    for (let i = 0; i < 3; i++) {
      const o = await request({}, { Authorization: 'Bearer ' + token('ES256') });
      expect(o.status).toBe(204);
      expect(o.errors).toEqual([]);
      expect(o.variables.ljwt_user).toBe('alice');
    }
    expect(ed25519Imports).toBe(0);
  });
  it('an explicit list without EdDSA: no probe', async () => {
    watchImports();
    expect((await request({ ljwt_algorithms: 'ES256 RS256' }, { Authorization: 'Bearer ' + token('ES256') })).status).toBe(204);
    expect(ed25519Imports).toBe(0);
  });
  it('EdDSA listed explicitly: probed for every token (a runtime without Ed25519 is a configuration error)', async () => {
    watchImports();
    expect((await request({ ljwt_algorithms: 'ES256 EdDSA' }, { Authorization: 'Bearer ' + token('ES256') })).status).toBe(204);
    expect(ed25519Imports).toBe(1);
    ed25519Works = false;
    try {
      watchImports();
      const o = await request({ ljwt_algorithms: 'ES256 EdDSA' }, { Authorization: 'Bearer ' + token('ES256') });
      expect(o.status).toBe(500);
      expect(o.errors.join('\n')).toMatch(/configuration error.*\$ljwt_algorithms lists EdDSA/);
    } finally {
      ed25519Works = true;
    }
  });
  it('the default list and an EdDSA token: probed, then verified or refused as not allowed', async () => {
    watchImports();
    expect((await request({}, { Authorization: 'Bearer ' + token('EdDSA') })).status).toBe(204);
    expect(ed25519Imports).toBe(2); // the probe and the token's key
    ed25519Works = false;
    try {
      watchImports();
      const o = await request({}, { Authorization: 'Bearer ' + token('EdDSA') });
      expect(o.status).toBe(401);
      expect(o.variables.ljwt_error).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
      expect(ed25519Imports).toBe(1);
    } finally {
      ed25519Works = true;
    }
  });
  it('a request without a token reads no key file', async () => {
    const o = await request({ ljwt_jwks_file: join(dir, 'does-not-exist.jwks') }, {});
    expect(o.status).toBe(401);
    expect(o.variables.ljwt_error).toBe('ERR_TOKEN_MISSING');
  });
  it('writes $ljwt_upstream_cookie without the token cookies, bytes kept', async () => {
    const t = token('ES256');
    const o = await request({ ljwt_cookie: 'at' }, { Cookie: `a=1; at.0=${t.slice(0, 40)}; z=\u00ff; at.1=${t.slice(40)}` });
    expect(o.status).toBe(204);
    expect(Buffer.from(o.variables.ljwt_upstream_cookie as Uint8Array).toString('latin1')).toBe('a=1; z=\u00ff');
    const plain = await request({ ljwt_cookie: 'at' }, { Cookie: `a=1; at=${t}` });
    expect(plain.variables.ljwt_upstream_cookie).toBe('a=1');
    const unset = await request({}, { Authorization: 'Bearer ' + t, Cookie: `a=1; at=${t}` });
    expect(unset.variables.ljwt_upstream_cookie).toBe(`a=1; at=${t}`);
  });
});
