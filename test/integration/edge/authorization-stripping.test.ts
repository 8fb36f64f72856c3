// The upstream never gets the client's bearer token in an Authorization
// header (RFC 6750 §5.3: a token in the upstream's hands, its logs or a
// compromised app can be replayed), whether the decision was reached now or
// came from the decision cache, unless the location opts in with
// `set $ljwt_pass_authorization on;` (an API that verifies tokens itself).
// An Authorization header of another scheme is no token of ours and passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRuntime, type RuntimeId } from '../../harness/runtimes.ts';
import { startEdgeFixture, EDGE_MODE_CASES, type EdgeFixture, type EdgeMode, ISSUER, AUDIENCE } from '../../harness/edge-fixture.ts';
import { headerValues } from '../../harness/echo-upstream.ts';
import { nowSeconds, signJwt } from '../../harness/tokens.ts';

describe.each(EDGE_MODE_CASES)('Authorization header towards the upstream on %s with %s', (id: RuntimeId, mode: EdgeMode) => {
  let f: EdgeFixture;
  beforeAll(async () => {
    f = await startEdgeFixture(await getRuntime(id), undefined, mode);
  });
  afterAll(async () => { await f?.stop(); });

  function token(): string {
    const now = nowSeconds();
    return signJwt(f.keys, 'ES256', { iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now - 5, exp: now + 300 });
  }

  async function upstreamAuthorization(path: string, headers: [string, string][]): Promise<string[]> {
    const { res, upstream } = await f.request(path, headers.concat([['Accept', 'application/json']]));
    expect(res.status).toBe(200);
    expect(upstream).not.toBeNull();
    expect(headerValues(upstream!, 'X-Authenticated-User')).toEqual(['alice']);
    return headerValues(upstream!, 'Authorization');
  }

  it('removes the bearer header by default, on the full check and on a cache hit', async () => {
    const t = token();
    for (let i = 0; i < 3; i++) expect(await upstreamAuthorization('/x', [['Authorization', `Bearer ${t}`]])).toEqual([]);
    // The scheme is case-insensitive (RFC 9110 §11.1): still our token, still removed.
    expect(await upstreamAuthorization('/x', [['Authorization', `bearer ${t}`]])).toEqual([]);
  });

  it('passes it on where $ljwt_pass_authorization is on', async () => {
    const t = token();
    for (let i = 0; i < 2; i++) {
      expect(await upstreamAuthorization('/pass-authorization/x', [['Authorization', `Bearer ${t}`]])).toEqual([`Bearer ${t}`]);
    }
  });

  it('passes another scheme unchanged when the token came in the cookie', async () => {
    const t = token();
    const basic = 'Basic ' + Buffer.from('app:secret').toString('base64');
    for (let i = 0; i < 2; i++) {
      expect(await upstreamAuthorization('/cookie/x', [['Authorization', basic], ['Cookie', `ljwt_at=${t}`]])).toEqual([basic]);
    }
  });
});
