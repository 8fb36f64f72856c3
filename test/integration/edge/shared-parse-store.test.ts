// The full check's parse results in the shared zone (njs/nginx/config-store.ts and
// key-set-store.ts), in real nginx on the njs engine, where every request starts in a fresh
// VM: after the first miss the zone holds the location's parsed settings and its key file's
// parsed keys, and later misses use what the zone holds instead of parsing again. A probe
// module in the same nginx lists and rewrites the zone's entries: a rewritten entry is what
// the next miss uses, an unreadable one is parsed again, and an edited key file is a new
// entry. QuickJS answers from module scope before the zone (unit-tested).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getRuntime, type RuntimeId } from '../../harness/runtimes.ts';
import { startNginx, type NginxInstance } from '../../harness/nginx.ts';
import { startEchoUpstream, type EchoUpstream } from '../../harness/echo-upstream.ts';
import { rawRequest } from '../../harness/raw-http.ts';
import { AUDIENCE, ISSUER, cachedEchoLocation } from '../../harness/edge-fixture.ts';
import { generateTestKeys, jwksText, nowSeconds, signJwt, type TestKeys } from '../../harness/tokens.ts';

const OTHER_ISSUER = 'https://other-idp.test';
/** njs-engine runtimes with js_shared_dict_zone. */
const RUNTIMES: RuntimeId[] = ['trixie-njs', 'testing-njs'];

// Lists the decision zone's keys, reads one entry, or replaces the entry whose key starts with a prefix.
const PROBE = `
function list(r) { r.return(200, JSON.stringify(ngx.shared.ljwt_decisions.keys())); }
function find(prefix) {
  var keys = ngx.shared.ljwt_decisions.keys();
  for (var i = 0; i < keys.length; i++) if (keys[i].indexOf(prefix) === 0) return keys[i];
  return null;
}
function read(r) {
  var k = find(JSON.parse(r.requestText).prefix);
  r.return(k === null ? 404 : 200, k === null ? '' : ngx.shared.ljwt_decisions.get(k));
}
function write(r) {
  var b = JSON.parse(r.requestText);
  var k = find(b.prefix);
  if (k === null) { r.return(404); return; }
  ngx.shared.ljwt_decisions.set(k, b.value);
  r.return(204);
}
export default { list: list, read: read, write: write };
`;

describe.each(RUNTIMES)('parse results in the shared zone on %s', (id: RuntimeId) => {
  let nginx: NginxInstance;
  let echo: EchoUpstream;
  let keys: TestKeys;
  let other: TestKeys;
  const now = nowSeconds();
  let n = 0;

  beforeAll(async () => {
    const rt = await getRuntime(id);
    keys = generateTestKeys();
    other = generateTestKeys();
    echo = await startEchoUpstream();
    nginx = await startNginx({
      runtime: rt,
      ports: ['main'],
      files: { 'keys.jwks': jwksText([keys.ec256]), 'probe.js': PROBE },
      http: `
  include {{DIR}}/http.conf;
  include {{DIR}}/http-shared.conf;
  js_import probe from {{DIR}}/probe.js;
  upstream ljwt_echo { server 127.0.0.1:${echo.port}; }
  server {
    listen 127.0.0.1:{{PORT:main}};
    include {{DIR}}/server.conf;
    location = /probe/list { js_content probe.list; }
    location = /probe/read { js_content probe.read; }
    location = /probe/write { js_content probe.write; }
    ${cachedEchoLocation(`${ISSUER} ${OTHER_ISSUER}`)}
  }`,
    });
  });
  afterAll(async () => {
    await nginx?.stop();
    await echo?.close();
  });

  /** A fresh token (so a miss): signed with `by`'s ES256 key, from `iss`. */
  function token(by: TestKeys, iss = ISSUER): string {
    n++;
    return signJwt(keys, 'ES256', { iss, aud: AUDIENCE, sub: `user-${n}`, iat: now - 5, exp: now + 600 }, { key: by.ec256 });
  }
  async function statusOf(t: string): Promise<number> {
    const res = await rawRequest(nginx.ports.main, 'GET', '/api', [['Authorization', `Bearer ${t}`], ['Accept', 'application/json']]);
    if (res.status === 200) expect(res.header('X-Ljwt-Cache')).toBe('MISS');
    return res.status;
  }
  async function zoneKeys(): Promise<string[]> {
    return (await fetch(nginx.url('main', '/probe/list'))).json() as Promise<string[]>;
  }
  async function probe(path: string, body: object): Promise<{ status: number; text: string }> {
    const res = await fetch(nginx.url('main', path), { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  }
  const spki = (k: TestKeys) => k.ec256.publicKey!.export({ type: 'spki', format: 'der' }).toString('base64url');

  it('keeps the parsed settings and key file after the first miss, one entry each', async () => {
    expect(await statusOf(token(keys))).toBe(200);
    expect(await statusOf(token(keys))).toBe(200);
    const stored = (await zoneKeys()).filter((k) => !/^[0-9a-f]{64}$/.test(k));
    expect(stored.map((k) => k.split(' ')[0]).sort()).toEqual(['config', 'keys']);
    // Named by the bundle's build and the njs version: another build or njs never reads them.
    for (const k of stored) expect(k).toMatch(/^(config|keys) [0-9a-f]{16} \d+\.\d+\.\d+\n/);
  });

  it('verifies a miss with the keys the zone holds, and parses the file again when the entry is unreadable', async () => {
    const entry = await probe('/probe/read', { prefix: 'keys ' });
    expect(entry.status).toBe(200);
    const stored = JSON.parse(entry.text);
    expect(stored.keys.map((k: { der: string }) => k.der)).toEqual([spki(keys)]);
    // The zone now says: the other key. The file still holds the first one.
    stored.keys[0].der = spki(other);
    expect((await probe('/probe/write', { prefix: 'keys ', value: JSON.stringify(stored) })).status).toBe(204);
    expect(await statusOf(token(other))).toBe(200);
    expect(await statusOf(token(keys))).toBe(401);
    // Unreadable: parsed from the file again, and stored again.
    expect((await probe('/probe/write', { prefix: 'keys ', value: '{"keys":[{"kty":"EC"}]}' })).status).toBe(204);
    expect(await statusOf(token(keys))).toBe(200);
    expect(await statusOf(token(other))).toBe(401);
  });

  it('applies the settings the zone holds', async () => {
    const entry = await probe('/probe/read', { prefix: 'config ' });
    const stored = JSON.parse(entry.text);
    expect(stored.cfg.validate.issuers).toEqual([ISSUER, OTHER_ISSUER]);
    stored.cfg.validate.issuers = [OTHER_ISSUER];
    expect((await probe('/probe/write', { prefix: 'config ', value: JSON.stringify(stored) })).status).toBe(204);
    expect(await statusOf(token(keys, ISSUER))).toBe(401);
    expect(await statusOf(token(keys, OTHER_ISSUER))).toBe(200);
    expect((await probe('/probe/write', { prefix: 'config ', value: entry.text })).status).toBe(204);
    expect(await statusOf(token(keys, ISSUER))).toBe(200);
  });

  it('parses an edited key file anew: its new text is a new entry', async () => {
    nginx.writeFile('keys.jwks', jwksText([other.ec256]));
    expect(await statusOf(token(other))).toBe(200);
    expect(await statusOf(token(keys))).toBe(401);
    expect((await zoneKeys()).filter((k) => k.startsWith('keys ')).length).toBe(2);
  });
});
