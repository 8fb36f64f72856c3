// Replays test/vectors/edge-cases.json (helper-generated JWT edge cases) through real
// nginx on every runtime: each distinct key set + options combination becomes a location
// with the matching $ljwt_* settings, each case one request. The 401 body carries the
// fixed description of the error code, so the code itself is compared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getRuntime, RUNTIME_IDS, type Runtime, type RuntimeId } from '../../harness/runtimes.ts';
import { startNginx, REPO_ROOT, type NginxInstance } from '../../harness/nginx.ts';
import { startEchoUpstream, headerValues, type EchoUpstream } from '../../harness/echo-upstream.ts';
import { rawRequest } from '../../harness/raw-http.ts';
import { errorDescription } from '#njs/http/challenge.ts';
import { keySetFromJwks, keySetFromPem } from '#njs/keys/key-set.ts';
import type { EdgeCase, EdgeCases } from '../../vectors/generate-edge-cases.mjs';

const VECTORS: EdgeCases = JSON.parse(readFileSync(join(REPO_ROOT, 'test/vectors/edge-cases.json'), 'utf8'));
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function payloadOf(token: string): Record<string, unknown> | null {
  try {
    const p = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    return p && typeof p === 'object' ? p : null;
  } catch {
    return null;
  }
}

function headerAlg(token: string): unknown {
  try {
    return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')).alg;
  } catch {
    return undefined;
  }
}

interface Planned { c: EdgeCase; location: number; expect: string }
interface Plan { locations: string[]; planned: Planned[]; skipped: { name: string; why: string }[] }

function keySetLoads(name: string): boolean {
  const ks = VECTORS.keySets[name];
  try {
    if (ks.jwks !== undefined) keySetFromJwks(ks.jwks);
    if (ks.pem !== undefined) keySetFromPem(ks.pem);
    return true;
  } catch {
    return false;
  }
}

// nginx validates with the real clock (the vectors use a fixed `now`), carries the token
// in a header (no CR/LF, no surrounding whitespace) and refuses "none" in the allow-list
// at configuration time; cases that cannot mean the same through nginx are skipped here
// (the njs CLI replay runs them all).
function plan(rt: Runtime): Plan {
  const realNow = Date.now() / 1000;
  const locations: string[] = [];
  const planned: Planned[] = [];
  const skipped: { name: string; why: string }[] = [];
  for (const c of VECTORS.cases) {
    if (!/^[\x21-\x7e]*$/.test(c.token)) { skipped.push({ name: c.name, why: 'not a header-safe token' }); continue; }
    let expected = c.expect;
    if (!rt.ed25519 && c.expectWithoutEd25519 !== undefined) expected = c.expectWithoutEd25519;
    if (expected === 'ERR_JWT_NOT_YET_VALID') { skipped.push({ name: c.name, why: 'future relative to the fixed now' }); continue; }
    const p = payloadOf(c.token);
    if (p && typeof p.exp === 'number' && p.exp < realNow + 60 && expected !== 'ERR_JWT_EXPIRED') {
      skipped.push({ name: c.name, why: 'expires relative to the real clock' });
      continue;
    }
    let algs = c.options.algorithms.filter((a) => a.toLowerCase() !== 'none');
    if (!rt.ed25519) {
      algs = algs.filter((a) => a !== 'EdDSA');
      // EdDSA leaves the allow-list on such runtimes, so the allow-list refuses an EdDSA
      // header before any other header, key or signature check.
      if (headerAlg(c.token) === 'EdDSA' && expected !== 'ERR_JWT_MALFORMED') expected = 'ERR_JOSE_ALG_NOT_ALLOWED';
    }
    if (!B64TOKEN.test(c.token)) expected = expected === 'ok' ? 'ERR_JWT_MALFORMED' : expected;
    const ks = VECTORS.keySets[c.keys];
    const keyDirective = ks.jwks !== undefined
      ? `set $ljwt_jwks_file "{{DIR}}/ks-${c.keys}.jwks";`
      : `set $ljwt_pem_files "{{DIR}}/ks-${c.keys}.pem";`;
    const o = c.options;
    const loc = [keyDirective,
      `set $ljwt_issuer "${o.issuers.join(' ')}";`,
      `set $ljwt_audience "${o.audiences.length ? o.audiences.join(' ') : 'off'}";`,
      `set $ljwt_algorithms "${algs.join(' ')}";`,
      `set $ljwt_max_token_length ${o.maxTokenLength};`,
      `set $ljwt_leeway ${o.leewaySeconds};`,
      `set $ljwt_typ "${o.requiredTyp ?? 'off'}";`,
      `set $ljwt_required_claims "${o.requiredClaims.join(' ')}";`].join('\n      ');
    let idx = locations.indexOf(loc);
    if (idx < 0) { locations.push(loc); idx = locations.length - 1; }
    if (!keySetLoads(c.keys)) expected = 'CONFIG_500';
    planned.push({ c, location: idx, expect: expected });
  }
  return { locations, planned, skipped };
}

describe.each(RUNTIME_IDS)('edge-cases.json through nginx on %s', (id: RuntimeId) => {
  let rt: Runtime;
  let nginx: NginxInstance;
  let echo: EchoUpstream;
  let p: Plan;

  beforeAll(async () => {
    rt = await getRuntime(id);
    p = plan(rt);
    echo = await startEchoUpstream();
    const files: Record<string, string> = {};
    for (const name of Object.keys(VECTORS.keySets)) {
      const ks = VECTORS.keySets[name];
      if (ks.jwks !== undefined) files[`ks-${name}.jwks`] = ks.jwks;
      if (ks.pem !== undefined) files[`ks-${name}.pem`] = ks.pem;
    }
    const locs = p.locations.map((l, i) => `
    location /v/${i}/ {
      ${l}
      include {{DIR}}/protect.conf;
      proxy_pass http://127.0.0.1:${echo.port};
    }`).join('\n');
    nginx = await startNginx({
      runtime: rt,
      ports: ['main'],
      files,
      http: `
  include {{DIR}}/http.conf;
  large_client_header_buffers 4 32k;
  server {
    listen 127.0.0.1:{{PORT:main}};
    include {{DIR}}/server.conf;
${locs}
  }`,
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await echo?.close();
  });

  it('every replayable case gets the expected outcome', async () => {
    expect(p.planned.length).toBeGreaterThan(VECTORS.cases.length / 2);
    const mismatches: string[] = [];
    const queue = p.planned.slice();
    async function worker() {
      for (;;) {
        const item = queue.shift();
        if (!item) return;
        const res = await rawRequest(nginx.ports.main, 'GET', `/v/${item.location}/`,
          [['Authorization', `Bearer ${item.c.token}`], ['Accept', 'application/json']]);
        let got: string;
        if (res.status === 200) {
          const up = JSON.parse(res.body);
          got = headerValues(up, 'X-Authenticated-User').length === 1 ? 'ok' : 'ok-without-identity';
        } else if (res.status === 401) {
          const d = JSON.parse(res.body).error_description;
          got = Object.keys(DESCRIPTION_CODES).find((k) => DESCRIPTION_CODES[k] === d) ?? `401 ${d}`;
        } else if (res.status === 500) {
          got = 'CONFIG_500';
        } else {
          got = `status ${res.status}`;
        }
        if (got !== item.expect) mismatches.push(`${item.c.name}: expected ${item.expect}, got ${got}`);
      }
    }
    await Promise.all([worker(), worker(), worker(), worker(), worker(), worker()]);
    expect(mismatches).toEqual([]);
    expect(nginx.errorLog()).not.toMatch(/js exception|unhandled promise rejection|pending events/);
  });
});

const DESCRIPTION_CODES: Record<string, string> = {};
for (const code of ['ERR_JWT_MALFORMED', 'ERR_JWS_INVALID', 'ERR_JOSE_ALG_NOT_ALLOWED', 'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_INVALID', 'ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'ERR_JWT_EXPIRED',
  'ERR_JWT_NOT_YET_VALID', 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'ERR_TOKEN_MISSING']) {
  DESCRIPTION_CODES[code] = errorDescription(code);
}
