// A full decision-cache zone evicts and never errors: nginx/http-shared.conf's
// ljwt_decisions zone, declared exactly as shipped except for a small size, filled far past
// its capacity by distinct valid tokens. Every request must still pass with its identity,
// each new token must still be stored (its second request hits: the zone made room), and the
// oldest tokens must have been dropped (the zone really was full). Without `evict`, a full
// zone refuses new entries and the "second request hits" check fails.
// njs before 0.9.6 (trixie's 0.8.9) logs every allocation that eviction then satisfies as
// `[crit] ngx_slab_alloc() failed: no memory in js shared zone`; later njs silences it for
// evict zones (nginx/njs pull request 1029). Those lines are expected there, nothing else is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getRuntime, type RuntimeId } from '../../harness/runtimes.ts';
import { REPO_ROOT, startNginx, type NginxInstance } from '../../harness/nginx.ts';
import { startEchoUpstream, headerValues, type EchoUpstream } from '../../harness/echo-upstream.ts';
import { rawRequest } from '../../harness/raw-http.ts';
import { AUDIENCE, ISSUER, cachedEchoLocation } from '../../harness/edge-fixture.ts';
import { generateTestKeys, jwksText, nowSeconds, signJwt, type TestKeys } from '../../harness/tokens.ts';

/** The runtimes with js_shared_dict_zone (njs >= 0.8). */
const SHARED_DICT_RUNTIMES: RuntimeId[] = ['trixie-njs', 'testing-njs', 'testing-qjs'];
// nginx's smallest shared zone is 8 pages (32 KiB); at about 1 KB per decision, 64 KiB
// holds a few dozen, and TOKENS distinct tokens overfill it several times.
const ZONE_SIZE = '64k';
const TOKENS = 300;
/** Runtimes whose njs logs the slab allocator's "no memory" before evicting (njs < 0.9.6). */
const LOGS_NOMEM_BEFORE_EVICTING: RuntimeId[] = ['trixie-njs'];
const NOMEM_LINE = /^\S+ \S+ \[crit\] \d+#\d+: ngx_slab_alloc\(\) failed: no memory in js shared zone "ljwt_decisions"$/;
const ZONE_LINE = /^js_shared_dict_zone\s+zone=ljwt_decisions:(\S+)\s+([^;]*);/m;

/** nginx/http-shared.conf with only the decision zone's size changed. */
function smallZoneHttpShared(): string {
  const text = readFileSync(join(REPO_ROOT, 'nginx/http-shared.conf'), 'utf8');
  const m = ZONE_LINE.exec(text);
  if (!m) throw new Error('nginx/http-shared.conf no longer declares the ljwt_decisions zone as this test expects');
  return text.replace(ZONE_LINE, `js_shared_dict_zone zone=ljwt_decisions:${ZONE_SIZE} ${m[2]};`);
}

describe.each(SHARED_DICT_RUNTIMES)('a full decision-cache zone on %s', (id: RuntimeId) => {
  let nginx: NginxInstance;
  let echo: EchoUpstream;
  let keys: TestKeys;

  beforeAll(async () => {
    const rt = await getRuntime(id);
    expect(rt.sharedDict).toBe(true);
    keys = generateTestKeys();
    echo = await startEchoUpstream();
    nginx = await startNginx({
      runtime: rt,
      ports: ['main'],
      files: { 'keys.jwks': jwksText([keys.ec256]), 'http-shared.conf': smallZoneHttpShared() },
      http: `
  include {{DIR}}/http.conf;
  include {{DIR}}/http-shared.conf;
  upstream ljwt_echo { server 127.0.0.1:${echo.port}; }
  server {
    listen 127.0.0.1:{{PORT:main}};
    include {{DIR}}/server.conf;
    ${cachedEchoLocation(ISSUER)}
  }`,
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await echo?.close();
  });

  async function pass(token: string, user: string): Promise<string | undefined> {
    const before = echo.requests.length;
    const res = await rawRequest(nginx.ports.main, 'GET', '/api', [['Authorization', `Bearer ${token}`], ['Accept', 'application/json']]);
    expect(res.status).toBe(200);
    expect(echo.requests.length).toBe(before + 1);
    expect(headerValues(echo.requests[before], 'X-Authenticated-User')).toEqual([user]);
    return res.header('X-Ljwt-Cache');
  }

  it('keeps answering 200 for valid tokens, stores every new one and drops the oldest', async () => {
    const now = nowSeconds();
    const tokens: string[] = [];
    for (let i = 0; i < TOKENS; i++) {
      tokens.push(signJwt(keys, 'ES256', { iss: ISSUER, aud: AUDIENCE, sub: `user-${i}`, iat: now - 5, exp: now + 600,
        groups: [`cn=group-${i},ou=groups,dc=example,dc=com`] }));
    }
    const mark = nginx.logMark();
    for (let i = 0; i < TOKENS; i++) {
      expect(await pass(tokens[i], `user-${i}`)).toBe('MISS');
      // Stored although the zone filled up long ago: eviction made room.
      expect(await pass(tokens[i], `user-${i}`)).toBe('HIT');
    }
    // The first token's decision was dropped to make room: the zone really was full.
    expect(await pass(tokens[0], 'user-0')).toBe('MISS');
    const lines = nginx.logSince(mark).split('\n').filter((l) => /\[(error|crit|alert|emerg)\]/.test(l));
    const nomem = lines.filter((l) => NOMEM_LINE.test(l));
    expect(lines.filter((l) => !NOMEM_LINE.test(l))).toEqual([]);
    if (LOGS_NOMEM_BEFORE_EVICTING.includes(id)) expect(nomem.length).toBeGreaterThan(0);
    else expect(nomem).toEqual([]);
  });
});
