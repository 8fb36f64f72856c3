// An internal redirect after the check (try_files to a named location here,
// as error_page or X-Accel-Redirect would) runs the validator again in the
// same request: the second location's own policy decides, and the outputs the
// upstream gets are those of that run, once (the first run's are cleared).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRuntime, type RuntimeId } from '../../harness/runtimes.ts';
import { startEdgeFixture, EDGE_MODE_CASES, type EdgeFixture, type EdgeMode, ISSUER, AUDIENCE, ADMINS_DN, OPS_DN } from '../../harness/edge-fixture.ts';
import { headerValues } from '../../harness/echo-upstream.ts';
import { nowSeconds, signJwt } from '../../harness/tokens.ts';

describe.each(EDGE_MODE_CASES)('a check followed by an internal redirect on %s with %s', (id: RuntimeId, mode: EdgeMode) => {
  let f: EdgeFixture;
  beforeAll(async () => {
    f = await startEdgeFixture(await getRuntime(id), undefined, mode);
  });
  afterAll(async () => { await f?.stop(); });

  function token(sub: string, dns: string[]): string {
    const now = nowSeconds();
    return signJwt(f.keys, 'ES256', { iss: ISSUER, aud: AUDIENCE, sub, dns, iat: now - 5, exp: now + 300 });
  }

  it('a member of the second location\'s group gets through with one identity', async () => {
    const t = token('alice', [ADMINS_DN]);
    // The first request checks in full, the second comes from the decision cache (where the runtime has one).
    for (let i = 0; i < 2; i++) {
      const { res, upstream } = await f.request('/redirect-to-admins/x', [['Authorization', `Bearer ${t}`]]);
      expect(res.status).toBe(200);
      expect(headerValues(upstream!, 'X-Authenticated-User')).toEqual(['alice']);
      expect(headerValues(upstream!, 'X-Authenticated-Group-DNs')).toHaveLength(1);
      expect(headerValues(upstream!, 'Authorization')).toEqual([]);
    }
  });

  it('a user the first location allows is refused by the second, and the upstream gets nothing', async () => {
    const t = token('bob', [OPS_DN]);
    for (let i = 0; i < 2; i++) {
      const { res, upstream } = await f.request('/redirect-to-admins/x', [['Authorization', `Bearer ${t}`], ['Accept', 'application/json']]);
      expect(res.status).toBe(403);
      expect(upstream).toBeNull();
    }
  });
});
