// service/src/edge/revocation-push.ts against a real local HTTP server standing
// in for nginx's revocation endpoint (the endpoint itself is tested in real
// nginx: test/integration/edge/revocation.test.ts), plus the hook in
// Revocations and the edgeRevocation configuration.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EdgeRevocationPush, IN_FLIGHT_MARGIN_SECONDS, type EdgeRevocationSettings } from '../../../../service/src/edge/revocation-push.ts';
import { Revocations } from '../../../../service/src/oauth/revocation.ts';
import { MemoryStore } from '../../../../service/src/store/memory-store.ts';
import { Metrics } from '../../../../service/src/ops/metrics.ts';
import { jsonLogger } from '../../../../service/src/ops/logger.ts';
import { loadConfigFromString } from '../../../../service/src/config/load.ts';
import { ConfigError } from '../../../../service/src/config/errors.ts';
import { parseRevocationBody } from '#njs/revocation/entries.ts';

const SECRET = 'S'.repeat(40);
const dir = mkdtempSync(join(tmpdir(), 'ljwt-edge-push-'));
const SECRET_FILE = join(dir, 'revocation.secret');
writeFileSync(SECRET_FILE, `${SECRET}\n`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Received { auth: string | undefined; type: string | undefined; body: { revoke: Array<{ sid?: string; jti?: string; until: number }> } }

/** A fake edge: records every push; `reply` decides each answer (status, or 'hang' to never answer). */
interface FakeEdge {
  url: string;
  received: Received[];
  reply: (n: number) => number | 'hang';
  close(): Promise<void>;
}

const servers: FakeEdge[] = [];
const pushers: EdgeRevocationPush[] = [];
afterEach(async () => {
  for (const p of pushers.splice(0)) p.close();
  for (const s of servers.splice(0)) await s.close();
});

async function fakeEdge(reply: (n: number) => number | 'hang' = () => 204): Promise<FakeEdge> {
  const received: Received[] = [];
  const edge: FakeEdge = { url: '', received, reply, close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
      received.push({ auth: req.headers.authorization, type: req.headers['content-type'], body: JSON.parse(data) });
      const r = edge.reply(received.length);
      if (r === 'hang') return;
      res.writeHead(r);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  edge.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/_ljwt/revoke`;
  edge.close = () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  servers.push(edge);
  return edge;
}

function setup(urls: string[], over: Partial<EdgeRevocationSettings> = {}, opts: { maxQueue?: number; requestTimeoutMs?: number } = {}) {
  const clock = { now: 1_800_000_000 };
  const logs: Array<Record<string, unknown>> = [];
  const metrics = new Metrics();
  const push = new EdgeRevocationPush({ urls, secretFile: SECRET_FILE, edgeLeewaySeconds: 30, accessTokenTtlSeconds: 300, ...over }, {
    now: () => clock.now,
    logger: jsonLogger((l) => { logs.push(JSON.parse(l)); }, 'debug'),
    metrics,
    initialBackoffMs: 10,
    maxBackoffMs: 40,
    ...opts,
  });
  pushers.push(push);
  return { push, clock, logs, metrics };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('EdgeRevocationPush', () => {
  it('POSTs a session with the secret as Bearer, until = now + access token lifetime + edge leeway + margin', async () => {
    const edge = await fakeEdge();
    const { push, clock, metrics } = setup([edge.url]);
    push.revokeSession('family-1');
    await until(() => edge.received.length === 1 && push.queued() === 0);
    expect(edge.received[0]!.auth).toBe(`Bearer ${SECRET}`);
    expect(edge.received[0]!.type).toBe('application/json');
    expect(edge.received[0]!.body).toEqual({ revoke: [{ sid: 'family-1', until: clock.now + 300 + 30 + IN_FLIGHT_MARGIN_SECONDS }] });
    expect(metrics.edgeRevocationEntries.get({ edge: edge.url, outcome: 'stored' })).toBe(1);
  });

  it('POSTs a token by jti for its remaining lifetime plus the edge leeway, in a body nginx accepts', async () => {
    const edge = await fakeEdge();
    const { push, clock } = setup([edge.url], { edgeLeewaySeconds: 120 });
    push.revokeToken('0f8fad5b-d9cb-469f-a165-70867728950e', 250);
    push.revokeToken('already-gone', 0);
    await until(() => edge.received.length === 1 && push.queued() === 0);
    const body = edge.received[0]!.body;
    expect(body).toEqual({ revoke: [{ jti: '0f8fad5b-d9cb-469f-a165-70867728950e', until: clock.now + 250 + 120 }] });
    // The edge's own parser (njs/revocation/entries.ts) takes it as it is.
    expect(parseRevocationBody(JSON.stringify(body), clock.now).entries).toEqual([
      { key: 'jti:0f8fad5b-d9cb-469f-a165-70867728950e', until: clock.now + 370 }]);
  });

  it('returns at once and batches what was revoked meanwhile; never blocks the caller on a hanging edge', async () => {
    const edge = await fakeEdge((n) => (n === 1 ? 'hang' : 204));
    const { push, logs } = setup([edge.url], {}, { requestTimeoutMs: 200 });
    const t0 = Date.now();
    push.revokeSession('a');
    push.revokeSession('b');
    expect(Date.now() - t0).toBeLessThan(50);
    await until(() => edge.received.length === 1);
    push.revokeSession('c');
    await until(() => push.queued() === 0);
    expect(edge.received[0]!.body.revoke.map((e) => e.sid)).toEqual(['a', 'b']);
    expect(edge.received[1]!.body.revoke.map((e) => e.sid)).toEqual(['a', 'b', 'c']);
    expect(logs.filter((l) => l.event === 'edge_revocation_push_failed').length).toBe(1);
  });

  it('retries with backoff after failures (one log line and one metric each) until stored', async () => {
    const edge = await fakeEdge((n) => (n <= 3 ? 503 : 204));
    const { push, logs, metrics } = setup([edge.url]);
    push.revokeSession('s1');
    await until(() => push.queued() === 0);
    expect(edge.received.length).toBe(4);
    const failed = logs.filter((l) => l.event === 'edge_revocation_push_failed');
    expect(failed.map((l) => [l.status, l.attempt])).toEqual([[503, 1], [503, 2], [503, 3]]);
    expect(failed.every((l) => l.edge === edge.url && typeof l.retry_in_ms === 'number')).toBe(true);
    expect(JSON.stringify(logs)).not.toContain(SECRET);
    expect(metrics.edgeRevocationFailures.get({ edge: edge.url })).toBe(3);
    expect(metrics.edgeRevocationEntries.get({ edge: edge.url, outcome: 'stored' })).toBe(1);
    expect(await metrics.render()).toContain(`ljwt_edge_revocation_push_failures_total{edge="${edge.url}"} 3`);
  });

  it('treats any answer but 204 as not stored (200 from some other location, a redirect)', async () => {
    const edge = await fakeEdge((n) => (n === 1 ? 200 : n === 2 ? 302 : 204));
    const { push } = setup([edge.url]);
    push.revokeSession('s1');
    await until(() => push.queued() === 0);
    expect(edge.received.length).toBe(3);
  });

  it('delivers to every edge independently: one unreachable edge does not hold up the other', async () => {
    const up = await fakeEdge();
    const down = await fakeEdge();
    const downUrl = down.url;
    await down.close();
    const { push, metrics } = setup([up.url, downUrl]);
    push.revokeSession('s1');
    await until(() => up.received.length === 1);
    await until(() => metrics.edgeRevocationFailures.get({ edge: downUrl }) >= 2);
    // The reachable edge's entry leaves the queue once its 204 is read (which can come after the
    // edge saw the request); the unreachable edge's entry stays.
    await until(() => push.queued() === 1);
    expect(metrics.edgeRevocationEntries.get({ edge: up.url, outcome: 'stored' })).toBe(1);
    expect(push.queued()).toBe(1);
  });

  it('gives an entry up once its until has passed (logged, counted): the token has expired by then', async () => {
    const edge = await fakeEdge(() => 503);
    const { push, clock, logs, metrics } = setup([edge.url]);
    push.revokeToken('j1', 10);
    await until(() => edge.received.length >= 2);
    clock.now += 10 + 30;
    await until(() => push.queued() === 0);
    expect(metrics.edgeRevocationEntries.get({ edge: edge.url, outcome: 'expired' })).toBe(1);
    expect(logs.some((l) => l.event === 'edge_revocation_expired')).toBe(true);
    const seen = edge.received.length;
    await new Promise((r) => setTimeout(r, 120));
    expect(edge.received.length).toBe(seen);
  });

  it('keeps a bounded queue: when full, the entry that expires first is dropped (logged, counted)', async () => {
    const edge = await fakeEdge(() => 503);
    const { push, logs, metrics } = setup([edge.url], {}, { maxQueue: 3 });
    push.revokeToken('t-100', 100);
    push.revokeToken('t-50', 50);
    push.revokeToken('t-200', 200);
    push.revokeToken('t-300', 300);
    push.revokeToken('t-10', 10);
    expect(push.queued()).toBe(3);
    expect(metrics.edgeRevocationEntries.get({ edge: edge.url, outcome: 'dropped' })).toBe(2);
    expect(logs.filter((l) => l.event === 'edge_revocation_dropped').length).toBe(2);
    edge.reply = () => 204;
    await until(() => push.queued() === 0);
    const last = edge.received[edge.received.length - 1]!.body.revoke.map((e) => e.jti).sort();
    // t-50 went when t-300 came; t-10 expires before any queued entry, so it is the one refused.
    expect(last).toEqual(['t-100', 't-200', 't-300']);
  });

  it('one entry per id, with the latest until', async () => {
    const edge = await fakeEdge((n) => (n === 1 ? 503 : 204));
    const { push, clock } = setup([edge.url]);
    push.revokeToken('j', 50);
    push.revokeToken('j', 80);
    push.revokeToken('j', 20);
    await until(() => push.queued() === 0);
    expect(edge.received[edge.received.length - 1]!.body).toEqual({ revoke: [{ jti: 'j', until: clock.now + 80 + 30 }] });
  });

  it('re-reads the secret file for every push; an unreadable or bad file is a logged failure, retried', async () => {
    const edge = await fakeEdge();
    const file = join(dir, 'rotating.secret');
    writeFileSync(file, 'short\n');
    const { push, logs } = setup([edge.url], { secretFile: file });
    push.revokeSession('s1');
    await until(() => logs.some((l) => l.event === 'edge_revocation_push_failed'));
    expect(edge.received.length).toBe(0);
    writeFileSync(file, `${'N'.repeat(33)}\n`);
    await until(() => push.queued() === 0);
    expect(edge.received[0]!.auth).toBe(`Bearer ${'N'.repeat(33)}`);
  });
});

describe('Revocations tells the edge push about every revocation it stores', () => {
  it('revokeFamily -> the session; revokeJti -> the token; nothing for a jti already expired', async () => {
    const edge = await fakeEdge();
    const { push, clock } = setup([edge.url]);
    const store = new MemoryStore();
    const rev = new Revocations(store, 3600, push);
    await rev.revokeFamily('fam-9');
    await rev.revokeJti('jti-9', 120);
    await rev.revokeJti('jti-old', 0);
    await until(() => push.queued() === 0 && edge.received.length >= 1);
    const all = edge.received.flatMap((r) => r.body.revoke);
    expect(all).toEqual([{ sid: 'fam-9', until: clock.now + 340 }, { jti: 'jti-9', until: clock.now + 150 }]);
    expect(await rev.isFamilyRevoked('fam-9')).toBe(true);
    await store.close();
  });
});

describe('edgeRevocation configuration', () => {
  const base = (inner: string) => `<ldapConfig>
  <ldapServer><uri>ldap://ldap.example.com</uri><login>cn=r,dc=example,dc=com</login><password>p</password><dnList><dn>cn=g,dc=example,dc=com</dn></dnList></ldapServer>
  <service><issuer>https://login.example.com</issuer></service>
  ${inner}
</ldapConfig>`;

  it('is absent by default', () => {
    expect(loadConfigFromString(base('')).edgeRevocation).toBeUndefined();
  });
  it('reads the URLs, the secret file and the edge leeway from XML', () => {
    const cfg = loadConfigFromString(base(`<edgeRevocation><url>http://127.0.0.1:8091/_ljwt/revoke</url><url>https://edge2.example.com/_ljwt/revoke</url>
      <secretFile>${SECRET_FILE}</secretFile><edgeLeewaySeconds>60</edgeLeewaySeconds></edgeRevocation>`));
    expect(cfg.edgeRevocation).toEqual({ urls: ['http://127.0.0.1:8091/_ljwt/revoke', 'https://edge2.example.com/_ljwt/revoke'],
      secretFile: SECRET_FILE, edgeLeewaySeconds: 60 });
  });
  it('takes the environment over XML, with the default leeway 30', () => {
    const cfg = loadConfigFromString(base(`<edgeRevocation><url>http://127.0.0.1:1/x</url><secretFile>/nonexistent</secretFile></edgeRevocation>`), {
      LJWT_EDGE_REVOCATION_URLS: 'http://127.0.0.1:8091/_ljwt/revoke, http://127.0.0.1:8092/_ljwt/revoke',
      LJWT_EDGE_REVOCATION_SECRET_FILE: SECRET_FILE,
    });
    expect(cfg.edgeRevocation).toEqual({ urls: ['http://127.0.0.1:8091/_ljwt/revoke', 'http://127.0.0.1:8092/_ljwt/revoke'],
      secretFile: SECRET_FILE, edgeLeewaySeconds: 30 });
  });
  const errorAt = (xml: string, env: NodeJS.ProcessEnv = {}): string => {
    try {
      loadConfigFromString(xml, env);
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    return 'no error';
  };
  it('refuses half a configuration, a bad URL, a missing or weak secret file, a leeway out of range', () => {
    expect(errorAt(base(''), { LJWT_EDGE_REVOCATION_URLS: 'http://127.0.0.1:8091/_ljwt/revoke' })).toMatch(/secretFile.*required/);
    expect(errorAt(base(''), { LJWT_EDGE_REVOCATION_SECRET_FILE: SECRET_FILE })).toMatch(/url.*required/);
    expect(errorAt(base(''), { LJWT_EDGE_LEEWAY_SECONDS: '10' })).toMatch(/url.*required/);
    expect(errorAt(base(`<edgeRevocation><url>ftp://edge/x</url><secretFile>${SECRET_FILE}</secretFile></edgeRevocation>`))).toMatch(/http\(s\) URL/);
    expect(errorAt(base(`<edgeRevocation><url>http://edge/x#f</url><secretFile>${SECRET_FILE}</secretFile></edgeRevocation>`))).toMatch(/fragment/);
    expect(errorAt(base(`<edgeRevocation><url>http://edge/x</url><secretFile>${join(dir, 'missing')}</secretFile></edgeRevocation>`))).toMatch(/cannot read/);
    const weak = join(dir, 'weak.secret');
    writeFileSync(weak, 'x'.repeat(31));
    expect(errorAt(base(`<edgeRevocation><url>http://edge/x</url><secretFile>${weak}</secretFile></edgeRevocation>`))).toMatch(/32-512 printable/);
    expect(errorAt(base(''), { LJWT_EDGE_REVOCATION_URLS: 'http://edge/x', LJWT_EDGE_REVOCATION_SECRET_FILE: SECRET_FILE, LJWT_EDGE_LEEWAY_SECONDS: '3601' }))
      .toMatch(/at most 3600/);
  });
});
