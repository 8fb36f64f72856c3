// Keys survive a restart; rotation keeps old tokens valid; HS256 publishes nothing;
// an unreachable directory makes /readyz fail and logins answer 503 (never a token).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Slapd } from '../../harness/slapd.ts';
import { MemoryStore } from '../../../service/src/store/memory-store.ts';
import { keySetFromJwks } from '#njs/keys/key-set.ts';
import { readFileSync, statSync } from 'node:fs';
import {
  authorize, decodeJwtParts, http, makeConfig, PASSWORD_CLIENT, pkcePair, PUBLIC_CLIENT, startDirectory, startService, tempDir,
  tokenRequest,
} from '../../harness/service-app.ts';

let slapd: Slapd;
let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  slapd = await startDirectory();
  dir = tempDir();
});
afterAll(async () => {
  await slapd?.destroy();
  dir?.remove();
});

const login = (base: string) => tokenRequest(base, { grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: PASSWORD_CLIENT });

describe('signing keys in the running service', () => {
  it('a token signed before a restart validates after it; rotation keeps the old kid published', async () => {
    const config = makeConfig(slapd, `${dir.dir}/es-keys`);
    const a = await startService(config, new MemoryStore());
    const first = (await login(a.base)).json();
    const t1 = first.access_token;
    const kid1 = decodeJwtParts(t1).header.kid;
    // The ID token's RS256 key is persisted and rotated like the access token's.
    const id1 = decodeJwtParts(first.id_token).header;
    expect(id1.alg).toBe('RS256');
    await a.close();

    const b = await startService(config, new MemoryStore());
    try {
      expect((await http(`${b.base}/userinfo`, { headers: { authorization: `Bearer ${t1}` } })).status).toBe(200);
      expect(b.app.context.keys.activeKid('RS256')).toBe(id1.kid);
      const kid2 = await b.app.context.keys.rotate();
      expect(kid2).not.toBe(kid1);
      const second = (await login(b.base)).json();
      const t2 = second.access_token;
      expect(decodeJwtParts(t2).header.kid).toBe(kid2);
      const id2 = decodeJwtParts(second.id_token).header;
      expect(id2.kid).not.toBe(id1.kid);
      const jwks = (await http(`${b.base}/jwks`)).json();
      expect(jwks.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([kid1, kid2, id1.kid, id2.kid].sort());
      // nginx's file: the access-token keys only.
      const file = readFileSync(config.jwksFile!, 'utf8');
      expect(keySetFromJwks(file).keys.map((k) => k.kid).sort()).toEqual([kid1, kid2].sort());
      expect((await http(`${b.base}/jwks/access-tokens`)).json().keys.map((k: { kid: string }) => k.kid).sort()).toEqual([kid1, kid2].sort());
      for (const t of [t1, t2]) expect((await http(`${b.base}/auth/validate`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(204);
    } finally {
      await b.close();
    }
  });

  it('HS256: /jwks publishes only the RS256 ID-token key, the JWKS file is 0600, tokens validate', async () => {
    const config = makeConfig(slapd, `${dir.dir}/hs-keys`, { signingAlgorithm: 'HS256', jwksFile: `${dir.dir}/hs-public/jwks.json` });
    const s = await startService(config, new MemoryStore());
    try {
      expect((await http(`${s.base}/jwks`)).json().keys.map((k: { kty: string; alg: string }) => [k.kty, k.alg])).toEqual([['RSA', 'RS256']]);
      expect(statSync(config.jwksFile!).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(config.jwksFile!, 'utf8')).keys[0].kty).toBe('oct');
      const t = (await login(s.base)).json().access_token;
      expect(decodeJwtParts(t).header.alg).toBe('HS256');
      expect((await http(`${s.base}/userinfo`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
      expect((await http(`${s.base}/.well-known/openid-configuration`)).json().id_token_signing_alg_values_supported).toEqual(['RS256']);
    } finally {
      await s.close();
    }
  });
});

describe('directory outage', () => {
  it('readyz fails, logins get 503 and no code, and the throttle is not charged', async () => {
    const s = await startService(makeConfig(slapd, `${dir.dir}/outage-keys`, {
      throttle: { maxFailuresPerUsername: 1, maxFailuresPerIp: 1, windowSeconds: 60 },
    }), new MemoryStore());
    await slapd.stop();
    try {
      const ready = await http(`${s.base}/readyz`);
      expect(ready.status).toBe(503);
      expect(ready.json().checks.find((c: { name: string }) => c.name === 'ldap').ok).toBe(false);
      const p = pkcePair();
      for (let i = 0; i < 3; i++) {
        const r = await authorize(s.base, { client_id: PUBLIC_CLIENT, code_challenge: p.challenge, code_challenge_method: 'S256' }, 'alice', 'alice-pw');
        expect(r.res.status).toBe(503);
        expect(r.location).toBeUndefined();
      }
      expect((await login(s.base)).status).toBe(503);
    } finally {
      await slapd.start();
    }
    // The server is down until a background probe finds it back (retryInitialMs, doubling): no restart needed.
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await login(s.base)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    await s.close();
  });
});
