// Revocation at the edge, in real nginx on every runtime: the endpoint of
// nginx/revocation-endpoint.conf (njs/nginx/revoke.ts) stores pushed sids and
// jtis in the ljwt_revoked shared dict of nginx/http-shared.conf on njs >= 0.8
// (testing-njs, testing-qjs) and answers 503 on bookworm's njs 0.7.9, which
// has no shared dicts. A probe module in the test's nginx reads the dict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { getRuntime, RUNTIME_IDS, type RuntimeId } from '../../harness/runtimes.ts';
import { startNginx, type NginxInstance } from '../../harness/nginx.ts';
import { nowSeconds } from '../../harness/tokens.ts';

const SECRET = 'rev-secret-' + 'x'.repeat(24) + '-0123456789';
const HAS_SHARED_DICT: Record<RuntimeId, boolean> = { 'bookworm-njs': false, 'trixie-njs': true, 'testing-njs': true, 'testing-qjs': true };

// Reads the dict the way the validator must not (it uses firstRevoked), to see exactly what was stored.
const PROBE_JS = `
function get(r) {
  var shared = ngx.shared;
  var zone = shared ? shared.ljwt_revoked : undefined;
  if (!zone) { r.return(200, JSON.stringify({ zone: false })); return; }
  var v = zone.get(r.args.key);
  r.return(200, JSON.stringify({ zone: true, value: v === undefined ? null : v }));
}
export default { get: get };
`;

async function startEdge(runtimeId: RuntimeId, withZone: boolean): Promise<NginxInstance> {
  const runtime = await getRuntime(runtimeId);
  expect(runtime.sharedDict).toBe(HAS_SHARED_DICT[runtimeId]);
  return startNginx({
    runtime,
    ports: ['revoke', 'probe'],
    files: {
      'probe.js': PROBE_JS,
      // A final newline, as an editor writes it: not part of the secret.
      'revocation.secret': SECRET + '\n',
    },
    http: `
  include {{DIR}}/http.conf;
  ${withZone ? 'include {{DIR}}/http-shared.conf;' : ''}
  js_import probe from {{DIR}}/probe.js;
  server {
    listen 127.0.0.1:{{PORT:revoke}};
    set $ljwt_revocation_secret_file {{DIR}}/revocation.secret;
    include {{DIR}}/revocation-endpoint.conf;
    location = /no-secret-file {
      set $ljwt_revocation_secret_file {{DIR}}/does-not-exist;
      js_import ljwt_full from {{DIR}}/ljwt-full.js;
      js_content ljwt_full.revoke;
    }
  }
  server {
    listen 127.0.0.1:{{PORT:probe}};
    location = /get { js_content probe.get; }
  }`,
  });
}

interface Reply { status: number; text: string; headers: Record<string, string | string[] | undefined> }

async function push(nginx: NginxInstance, body: unknown, opts: { auth?: string | null; method?: string; path?: string; raw?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = opts.auth === undefined ? `Bearer ${SECRET}` : opts.auth;
  if (auth !== null) headers.authorization = auth;
  const method = opts.method ?? 'POST';
  const r = await request(nginx.url('revoke', opts.path ?? '/_ljwt/revoke'), {
    method: method as 'POST',
    headers,
    body: method === 'GET' || method === 'HEAD' ? null : (opts.raw ?? JSON.stringify(body)),
  });
  return { status: r.statusCode, text: await r.body.text(), headers: r.headers };
}

async function stored(nginx: NginxInstance, key: string): Promise<string | null> {
  const r = await request(nginx.url('probe', `/get?key=${encodeURIComponent(key)}`));
  const j = (await r.body.json()) as { zone: boolean; value: string | null };
  expect(j.zone).toBe(true);
  return j.value;
}

let counter = 0;
/** A fresh id per use, so the cases do not see each other's entries. */
function id(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}-${Date.now()}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(RUNTIME_IDS)('revocation endpoint on %s', (runtimeId: RuntimeId) => {
  let nginx: NginxInstance;
  beforeAll(async () => { nginx = await startEdge(runtimeId, HAS_SHARED_DICT[runtimeId]); });
  afterAll(async () => { await nginx?.stop(); });

  it('answers 405 with Allow: POST to other methods, before anything else', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await push(nginx, { revoke: [] }, { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('POST');
    }
  });

  it('answers 401 without the secret or with another one', async () => {
    const sid = id('sid');
    const body = { revoke: [{ sid, until: nowSeconds() + 60 }] };
    for (const auth of [null, `Bearer ${SECRET}x`, `Bearer ${SECRET.slice(0, -1)}`, `Basic ${Buffer.from(`a:${SECRET}`).toString('base64')}`,
      'Bearer', `Bearer ${'y'.repeat(SECRET.length)}`, SECRET]) {
      const r = await push(nginx, body, { auth });
      expect(r.status, String(auth)).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    }
    if (HAS_SHARED_DICT[runtimeId]) expect(await stored(nginx, `sid:${sid}`)).toBeNull();
  });

  it('answers 500 (logged) when $ljwt_revocation_secret_file cannot be read', async () => {
    const mark = nginx.logMark();
    const r = await push(nginx, { revoke: [{ sid: id('sid'), until: nowSeconds() + 60 }] }, { path: '/no-secret-file' });
    expect(r.status).toBe(500);
    expect(nginx.logSince(mark)).toContain('revocation endpoint: secret file');
  });

  if (!HAS_SHARED_DICT[runtimeId]) {
    it('answers 503 to a correct push: no shared dict on njs 0.7.9, and says so in the error log', async () => {
      const mark = nginx.logMark();
      const r = await push(nginx, { revoke: [{ sid: id('sid'), until: nowSeconds() + 60 }] });
      expect(r.status).toBe(503);
      expect(nginx.logSince(mark)).toMatch(/no shared dict zone ljwt_revoked .*this is njs 0\.7\.9\), answering 503/);
    });
    return;
  }

  it('stores every entry of a push (204): key sid:/jti:, value = until', async () => {
    const sid = id('sid');
    const jti = id('jti');
    const until = nowSeconds() + 120;
    const r = await push(nginx, { revoke: [{ sid, until }, { jti, until: until + 1 }] });
    expect(r.status).toBe(204);
    expect(await stored(nginx, `sid:${sid}`)).toBe(String(until));
    expect(await stored(nginx, `jti:${jti}`)).toBe(String(until + 1));
    expect(await stored(nginx, `sid:${jti}`)).toBeNull();
  });

  it('answers 400 to malformed bodies and stores nothing, not even the valid entries before the bad one', async () => {
    const now = nowSeconds();
    const cases: [string, (sid: string) => string][] = [
      ['not JSON', (sid) => `{"revoke":[{"sid":"${sid}","until":${now + 60}}`],
      ['empty', () => ''],
      ['array', (sid) => JSON.stringify([{ sid, until: now + 60 }])],
      ['unknown top member', (sid) => JSON.stringify({ revoke: [{ sid, until: now + 60 }], all: true })],
      ['empty list', () => JSON.stringify({ revoke: [] })],
      ['bad second entry: no until', (sid) => JSON.stringify({ revoke: [{ sid, until: now + 60 }, { jti: 'j' }] })],
      ['bad second entry: both sid and jti', (sid) => JSON.stringify({ revoke: [{ sid, until: now + 60 }, { sid: 'a', jti: 'b', until: now + 60 }] })],
      ['bad second entry: until as string', (sid) => JSON.stringify({ revoke: [{ sid, until: now + 60 }, { jti: 'j', until: String(now + 60) }] })],
      ['bad second entry: fractional until', (sid) => JSON.stringify({ revoke: [{ sid, until: now + 60 }, { jti: 'j', until: now + 60.5 }] })],
      ['bad second entry: until too far ahead', (sid) => JSON.stringify({ revoke: [{ sid, until: now + 60 }, { jti: 'j', until: now + 3 * 86400 }] })],
      ['bad second entry: id with a space', (sid) => JSON.stringify({ revoke: [{ sid, until: now + 60 }, { jti: 'a b', until: now + 60 }] })],
      ['bad second entry: id with a newline', (sid) => JSON.stringify({ revoke: [{ sid, until: now + 60 }, { jti: 'ab\n', until: now + 60 }] })],
      ['bad second entry: unknown member', (sid) => JSON.stringify({ revoke: [{ sid, until: now + 60 }, { jti: 'j', until: now + 60, x: 1 }] })],
      ['1001 entries', (sid) => JSON.stringify({ revoke: Array.from({ length: 1001 }, (_v, i) => ({ sid: i === 0 ? sid : `s${i}`, until: now + 60 })) })],
    ];
    for (const [name, make] of cases) {
      const sid = id('sid');
      const r = await push(nginx, null, { raw: make(sid) });
      expect(r.status, name).toBe(400);
      expect(await stored(nginx, `sid:${sid}`), name).toBeNull();
    }
  });

  it('refuses a body larger than 64 KiB (nginx: 413) and stores nothing', async () => {
    const sid = id('sid');
    const r = await push(nginx, null, { raw: JSON.stringify({ revoke: [{ sid, until: nowSeconds() + 60, pad: 'p'.repeat(70_000) }] }) });
    expect(r.status).toBe(413);
    expect(await stored(nginx, `sid:${sid}`)).toBeNull();
  });

  it('accepts entries whose until has passed (nothing to revoke) and stores only the live ones', async () => {
    const old = id('sid');
    const live = id('sid');
    const r = await push(nginx, { revoke: [{ sid: old, until: nowSeconds() - 5 }, { sid: live, until: nowSeconds() + 60 }] });
    expect(r.status).toBe(204);
    expect(await stored(nginx, `sid:${old}`)).toBeNull();
    expect(await stored(nginx, `sid:${live}`)).not.toBeNull();
  });

  it('forgets an entry after its until, and a later push never shortens a stored one', async () => {
    const short = id('jti');
    const kept = id('jti');
    const now = nowSeconds();
    expect((await push(nginx, { revoke: [{ jti: short, until: now + 2 }, { jti: kept, until: now + 100 }] })).status).toBe(204);
    // A delayed retry of an older push for the same id, with an earlier until.
    expect((await push(nginx, { revoke: [{ jti: kept, until: now + 2 }] })).status).toBe(204);
    expect(await stored(nginx, `jti:${short}`)).toBe(String(now + 2));
    const waitMs = (now + 2) * 1000 - Date.now() + 300;
    await sleep(Math.max(waitMs, 0));
    expect(await stored(nginx, `jti:${short}`)).toBeNull();
    expect(await stored(nginx, `jti:${kept}`)).toBe(String(now + 100));
  });

  it('answers 503 when the zone is full (no evict: nothing already stored is dropped)', async () => {
    const first = id('sid');
    expect((await push(nginx, { revoke: [{ sid: first, until: nowSeconds() + 600 }] })).status).toBe(204);
    const mark = nginx.logMark();
    let status = 0;
    let pushes = 0;
    // 1m holds about 3,700 entries with 47-character keys (measured on njs 1.0.2).
    for (; pushes < 20 && status !== 503; pushes++) {
      const entries = Array.from({ length: 1000 }, () => ({ sid: id('fill'), until: nowSeconds() + 600 }));
      status = (await push(nginx, { revoke: entries })).status;
      if (status !== 503) expect(status).toBe(204);
    }
    expect(status).toBe(503);
    expect(pushes).toBeGreaterThan(1);
    expect(nginx.logSince(mark)).toContain('zone ljwt_revoked full?');
    expect(await stored(nginx, `sid:${first}`)).not.toBeNull();
  });
});

describe.each(RUNTIME_IDS.filter((r) => HAS_SHARED_DICT[r]))('revocation endpoint on %s without http-shared.conf', (runtimeId: RuntimeId) => {
  let nginx: NginxInstance;
  beforeAll(async () => { nginx = await startEdge(runtimeId, false); });
  afterAll(async () => { await nginx?.stop(); });

  it('answers 503: the zone is not declared, so nothing claims to be revoked', async () => {
    const mark = nginx.logMark();
    const r = await push(nginx, { revoke: [{ sid: id('sid'), until: nowSeconds() + 60 }] });
    expect(r.status).toBe(503);
    expect(nginx.logSince(mark)).toContain('no shared dict zone ljwt_revoked');
  });
});
