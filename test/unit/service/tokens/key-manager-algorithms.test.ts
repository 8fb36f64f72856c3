// Several algorithms in one key directory: access tokens keep their algorithm while ID tokens
// get keys of their own, each generated, persisted, rotated, retained and published the same way.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyManager } from '../../../../service/src/tokens/keys.ts';
import { keySetFromJwks } from '#njs/keys/key-set.ts';
import { validateJwt } from '#njs/jwt/validate.ts';
import type { SigningAlgorithm } from '../../../../service/src/config/types.ts';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function manager(root: string, clock: { t: number }, algorithm: SigningAlgorithm, extraAlgorithms: SigningAlgorithm[]) {
  return new KeyManager({
    directory: join(root, 'keys'), algorithm, extraAlgorithms, rotationSeconds: 86400, retainSeconds: 330,
    jwksFile: join(root, 'pub', 'jwks.json'), now: () => clock.t,
  });
}

function setup(algorithm: SigningAlgorithm = 'ES256', extra: SigningAlgorithm[] = ['RS256']) {
  const root = mkdtempSync(join(tmpdir(), 'ljwt-keyalgs-'));
  dirs.push(root);
  const clock = { t: 1_800_000_000 };
  return { root, clock, make: (a = algorithm, x = extra) => manager(root, clock, a, x) };
}

const header = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString());
const publishedAlgs = (km: KeyManager) => km.publicJwks().keys.map((k) => k.alg).sort();

const fileJwks = (root: string) => readFileSync(join(root, 'pub', 'jwks.json'), 'utf8');

async function verifies(jwksText: string, token: string, alg: string, typ: string, now: number): Promise<boolean> {
  const set = keySetFromJwks(jwksText);
  const opts = { algorithms: [alg], maxTokenLength: 8192, issuers: ['iss'], audiences: ['aud'], leewaySeconds: 0, requiredTyp: typ, requiredClaims: ['sub'], now };
  return validateJwt(token, set, opts).then(() => true, () => false);
}

describe('KeyManager with extra algorithms', () => {
  it('creates an active key per algorithm; sign() picks the access algorithm unless told otherwise', async () => {
    const { root, clock, make } = setup();
    const km = make();
    await km.init();
    expect(km.algorithms).toEqual(['ES256', 'RS256']);
    expect(km.loaded()).toBe(true);
    expect(publishedAlgs(km)).toEqual(['ES256', 'RS256']);
    const claims = { iss: 'iss', aud: 'aud', sub: 'u', exp: clock.t + 60, iat: clock.t };
    const at = await km.sign(claims, 'at+jwt');
    const id = await km.sign(claims, 'JWT', 'RS256');
    expect(header(at)).toMatchObject({ alg: 'ES256', kid: km.activeKid() });
    expect(header(id)).toMatchObject({ alg: 'RS256', kid: km.activeKid('RS256') });
    // Relying parties verify ID tokens with /jwks (every key); nginx and the service's own
    // validator get the access-token keys only (jwksFile, /jwks/access-tokens).
    expect(await verifies(JSON.stringify(km.publicJwks()), id, 'RS256', 'JWT', clock.t)).toBe(true);
    expect(await verifies(fileJwks(root), at, 'ES256', 'at+jwt', clock.t)).toBe(true);
    expect(await verifies(fileJwks(root), id, 'RS256', 'JWT', clock.t)).toBe(false);
    expect(JSON.parse(fileJwks(root)).keys.map((k: { alg: string }) => k.alg)).toEqual(['ES256']);
    expect(km.accessPublicJwks().keys.map((k) => k.alg)).toEqual(['ES256']);
    expect(km.verificationJwks().keys.map((k) => k.alg)).toEqual(['ES256']);
    await expect(km.sign(claims, 'JWT', 'PS256')).rejects.toThrow(/no PS256 signing key/);
  });

  it('keeps both keys across a restart', async () => {
    const { make } = setup();
    const a = make();
    await a.init();
    const b = make();
    await b.init();
    expect([b.activeKid(), b.activeKid('RS256')]).toEqual([a.activeKid(), a.activeKid('RS256')]);
    expect(b.list()).toHaveLength(2);
  });

  it('rotates every algorithm on schedule and retains each retired key until its tokens expired', async () => {
    const { root, clock, make } = setup();
    const km = make();
    await km.init();
    const old = { es: km.activeKid()!, rs: km.activeKid('RS256')! };
    const oldId = await km.sign({ iss: 'iss', aud: 'aud', sub: 'u', exp: clock.t + 86400 + 300, iat: clock.t }, 'JWT', 'RS256');
    clock.t += 86400;
    await km.maintain();
    const now = { es: km.activeKid()!, rs: km.activeKid('RS256')! };
    expect(now.es).not.toBe(old.es);
    expect(now.rs).not.toBe(old.rs);
    expect(km.list().map((k) => k.kid).sort()).toEqual([old.es, old.rs, now.es, now.rs].sort());
    expect(await verifies(JSON.stringify(km.publicJwks()), oldId, 'RS256', 'JWT', clock.t)).toBe(true);
    expect(km.accessPublicJwks().keys.map((k) => k.kid).sort()).toEqual([old.es, now.es].sort());
    clock.t += 331;
    await km.maintain();
    expect(km.list().map((k) => k.kid).sort()).toEqual([now.es, now.rs].sort());
    expect(readdirSync(join(root, 'keys')).filter((f) => f.startsWith('signing-')).sort()).toEqual([`signing-${now.es}.json`, `signing-${now.rs}.json`].sort());
  });

  it('a retired ID-token key stays published for extraRetainSeconds (logout hints), an access-only key for retainSeconds', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ljwt-keyalgs-'));
    dirs.push(root);
    const clock = { t: 1_800_000_000 };
    const km = new KeyManager({
      directory: join(root, 'keys'), algorithm: 'ES256', extraAlgorithms: ['RS256'], rotationSeconds: 86400, retainSeconds: 330,
      extraRetainSeconds: 28_830, jwksFile: join(root, 'pub', 'jwks.json'), now: () => clock.t,
    });
    await km.init();
    const old = { es: km.activeKid()!, rs: km.activeKid('RS256')! };
    await km.rotate();
    clock.t += 331;
    await km.maintain();
    const kids = () => km.list().map((k) => k.kid);
    expect(kids()).not.toContain(old.es);
    expect(kids()).toContain(old.rs);
    expect(km.publicJwks().keys.map((k) => k.kid)).toContain(old.rs);
    clock.t += 28_830 - 331 - 1;
    await km.maintain();
    expect(kids()).toContain(old.rs);
    clock.t += 1;
    await km.maintain();
    expect(kids()).not.toContain(old.rs);
    expect(km.list()).toHaveLength(2);
  });

  it('explicit rotation renews every algorithm and returns the access key', async () => {
    const { make } = setup();
    const km = make();
    await km.init();
    const before = [km.activeKid(), km.activeKid('RS256')];
    const kid = await km.rotate();
    expect(kid).toBe(km.activeKid());
    expect(km.activeKid()).not.toBe(before[0]);
    expect(km.activeKid('RS256')).not.toBe(before[1]);
    expect(km.publicJwks().keys).toHaveLength(4);
  });

  it('an algorithm dropped from the configuration retires and leaves after retention', async () => {
    const { clock, make } = setup('ES256', ['RS256', 'PS256']);
    await make().init();
    clock.t += 10;
    const km = make('ES256', ['RS256']);
    await km.init();
    const ps = km.list().find((k) => k.alg === 'PS256')!;
    expect(ps.retiredAt).not.toBeNull();
    expect(km.list().filter((k) => k.retiredAt === null).map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    clock.t += 331;
    await km.maintain();
    expect(km.list().map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
  });

  it('one algorithm for both: a single key', async () => {
    const { make } = setup('RS256', ['RS256']);
    const km = make();
    await km.init();
    expect(km.algorithms).toEqual(['RS256']);
    expect(km.list()).toHaveLength(1);
  });

  it('HS256 access tokens: /jwks publishes only the ID-token key, the JWKS file only the secret', async () => {
    const { root, make } = setup('HS256', ['RS256']);
    const km = make();
    await km.init();
    expect(publishedAlgs(km)).toEqual(['RS256']);
    expect(km.accessPublicJwks().keys).toEqual([]);
    expect(JSON.parse(fileJwks(root)).keys.map((k: { kty: string }) => k.kty)).toEqual(['oct']);
  });

  it('a former access-token algorithm stays with the access keys until its tokens expired', async () => {
    const { clock, make } = setup('ES256', ['RS256']);
    const es = make();
    await es.init();
    const esKid = es.activeKid()!;
    clock.t += 10;
    // Access tokens switch to PS256: ES256 tokens already out must still validate at the edge.
    const ps = make('PS256', ['RS256']);
    await ps.init();
    expect(ps.accessPublicJwks().keys.map((k) => k.alg).sort()).toEqual(['ES256', 'PS256']);
    expect(ps.accessPublicJwks().keys.map((k) => k.kid)).toContain(esKid);
    clock.t += 331;
    await ps.maintain();
    expect(ps.accessPublicJwks().keys.map((k) => k.alg)).toEqual(['PS256']);
  });
});
