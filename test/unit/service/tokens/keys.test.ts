// Signing keys: persistence, RFC 7638 kids, rotation with retention, file modes,
// and the JWKS file accepted by the edge's own parser.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint } from 'jose';
import { KeyManager, loadOrCreateSecret } from '../../../../service/src/tokens/keys.ts';
import { keySetFromJwks } from '#njs/keys/key-set.ts';
import { validateJwt } from '#njs/jwt/validate.ts';
import type { SigningAlgorithm } from '../../../../service/src/config/types.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ljwt-keys-'));
  dirs.push(d);
  return d;
}
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function manager(root: string, over: Partial<ConstructorParameters<typeof KeyManager>[0]> & { clock?: { t: number } } = {}) {
  const clock = over.clock ?? { t: 1_800_000_000 };
  return new KeyManager({
    directory: join(root, 'keys'),
    algorithm: 'ES256',
    rotationSeconds: 86400,
    retainSeconds: 330,
    jwksFile: join(root, 'pub', 'jwks.json'),
    now: () => clock.t,
    ...over,
  });
}

const mode = (p: string) => statSync(p).mode & 0o777;

function validateOpts(now: number, alg: string) {
  return { algorithms: [alg], maxTokenLength: 8192, issuers: ['iss'], audiences: ['aud'], leewaySeconds: 0, requiredTyp: 'at+jwt', requiredClaims: ['sub'], now };
}

describe('KeyManager', () => {
  it('generates a key at first start with 0700 dir, 0600 key file, 0644 JWKS; kid = RFC 7638 thumbprint', async () => {
    const root = tmp();
    const km = manager(root);
    await km.init();
    expect(mode(join(root, 'keys'))).toBe(0o700);
    const files = readdirSync(join(root, 'keys'));
    expect(files).toHaveLength(1);
    expect(mode(join(root, 'keys', files[0]!))).toBe(0o600);
    expect(mode(join(root, 'pub', 'jwks.json'))).toBe(0o644);
    const jwks = JSON.parse(readFileSync(join(root, 'pub', 'jwks.json'), 'utf8'));
    expect(jwks.keys).toHaveLength(1);
    const k = jwks.keys[0];
    expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(k.d).toBeUndefined();
    expect(k.kid).toBe(await calculateJwkThumbprint({ kty: k.kty, crv: k.crv, x: k.x, y: k.y }, 'sha256'));
    // No temp files left behind by the atomic writes.
    expect(readdirSync(join(root, 'pub'))).toEqual(['jwks.json']);
  });

  it('keeps the same key across restarts', async () => {
    const root = tmp();
    const a = manager(root);
    await a.init();
    const b = manager(root);
    await b.init();
    expect(b.activeKid()).toBe(a.activeKid());
    expect(b.list()).toHaveLength(1);
  });

  it('refuses a key file readable by others', async () => {
    const root = tmp();
    await manager(root).init();
    const f = readdirSync(join(root, 'keys'))[0]!;
    chmodSync(join(root, 'keys', f), 0o644);
    await expect(manager(root).init()).rejects.toThrow(/0600/);
  });

  it('rotates after the period; the old key stays in the JWKS until its tokens expired, then is deleted', async () => {
    const root = tmp();
    const clock = { t: 1_800_000_000 };
    const km = manager(root, { clock });
    await km.init();
    const oldKid = km.activeKid()!;
    const oldToken = await km.sign({ iss: 'iss', aud: 'aud', sub: 'u', exp: clock.t + 300, iat: clock.t }, 'at+jwt');
    clock.t += 86400;
    await km.maintain();
    const newKid = km.activeKid()!;
    expect(newKid).not.toBe(oldKid);
    const jwksText = readFileSync(join(root, 'pub', 'jwks.json'), 'utf8');
    expect(JSON.parse(jwksText).keys.map((k: { kid: string }) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    // New tokens use the new key; the old token still verifies with the published set.
    const newToken = await km.sign({ iss: 'iss', aud: 'aud', sub: 'u', exp: clock.t + 300, iat: clock.t }, 'at+jwt');
    expect(JSON.parse(Buffer.from(newToken.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid);
    const set = keySetFromJwks(jwksText);
    await expect(validateJwt(oldToken, set, validateOpts(clock.t - 86400 + 10, 'ES256'))).resolves.toBeDefined();
    // Still published just before retention ends, gone after.
    clock.t += 329;
    await km.maintain();
    expect(km.list().map((k) => k.kid)).toContain(oldKid);
    clock.t += 2;
    await km.maintain();
    expect(km.list().map((k) => k.kid)).toEqual([newKid]);
    expect(readdirSync(join(root, 'keys')).filter((f) => f.startsWith('signing-'))).toEqual([`signing-${newKid}.json`]);
    expect(JSON.parse(readFileSync(join(root, 'pub', 'jwks.json'), 'utf8')).keys.map((k: { kid: string }) => k.kid)).toEqual([newKid]);
  });

  it('explicit rotate makes a new key active immediately', async () => {
    const root = tmp();
    const km = manager(root);
    await km.init();
    const before = km.activeKid();
    const kid = await km.rotate();
    expect(kid).not.toBe(before);
    expect(km.activeKid()).toBe(kid);
    expect(km.publicJwks().keys).toHaveLength(2);
    // A restart keeps the newest key active.
    const again = manager(root);
    await again.init();
    expect(again.activeKid()).toBe(kid);
  });

  it('a changed algorithm gets a new key at once; the old one stays published', async () => {
    const root = tmp();
    const km = manager(root);
    await km.init();
    const rs = manager(root, { algorithm: 'RS256' });
    await rs.init();
    expect(rs.list().map((k) => k.alg)).toEqual(['ES256', 'RS256']);
    expect(rs.list()[1]!.retiredAt).toBeNull();
  });

  for (const alg of ['ES256', 'RS256', 'PS256', 'EdDSA', 'HS256'] as SigningAlgorithm[]) {
    it(`${alg}: tokens verify with the edge core from the JWKS file`, async () => {
      const root = tmp();
      const km = manager(root, { algorithm: alg });
      await km.init();
      const now = 1_800_000_000;
      const token = await km.sign({ iss: 'iss', aud: 'aud', sub: 'u', exp: now + 60, iat: now }, 'at+jwt');
      const file = join(root, 'pub', 'jwks.json');
      const set = keySetFromJwks(readFileSync(file, 'utf8'));
      const v = await validateJwt(token, set, validateOpts(now, alg));
      expect(v.claims.sub).toBe('u');
      expect(v.kid).toBe(km.activeKid());
      if (alg === 'HS256') {
        // The secret: owner-only file, and nothing published at /jwks.
        expect(mode(file)).toBe(0o600);
        expect(km.publicJwks().keys).toEqual([]);
        expect(km.verificationJwks().keys[0]!.kty).toBe('oct');
      } else {
        expect(mode(file)).toBe(0o644);
        expect(JSON.stringify(km.publicJwks())).not.toMatch(/"(d|p|q|dp|dq|qi|k)"/);
      }
    });
  }

  it('the CSRF secret is created once, 0600, 256 bits', () => {
    const root = tmp();
    const a = loadOrCreateSecret(join(root, 'k'), 'csrf.key');
    const b = loadOrCreateSecret(join(root, 'k'), 'csrf.key');
    expect(a.equals(b)).toBe(true);
    expect(a.length).toBe(32);
    expect(mode(join(root, 'k', 'csrf.key'))).toBe(0o600);
    writeFileSync(join(root, 'k', 'short.key'), 'abc', { mode: 0o600 });
    expect(() => loadOrCreateSecret(join(root, 'k'), 'short.key')).toThrow(/256/);
  });
});
