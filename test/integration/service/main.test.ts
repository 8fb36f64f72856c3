// The built service (dist/service/main.js) as an operator runs it: XML config,
// real slapd and redis-server, group sync worker, graceful SIGTERM, key rotation CLI.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Slapd } from '../../harness/slapd.ts';
import { startRedis, type RedisHandle } from '../../harness/redis.ts';
import { http, startDirectory, tempDir, tokenRequest } from '../../harness/service-app.ts';
import { ensureBuilt, SERVICE_MAIN as MAIN, serviceXml, spawnService, type ServiceProcess } from '../../harness/service-process.ts';

let slapd: Slapd;
let redis: RedisHandle;
let dir: ReturnType<typeof tempDir>;
let configFile: string;
let base: string;
let child: ChildProcess;
let service: ServiceProcess;

function xml(port: number): string {
  return serviceXml({
    ldapUrl: slapd.url, port, keyDirectory: `${dir.dir}/keys`, groupDn: 'cn=engineering,ou=groups,dc=example,dc=com',
    service: { jwksFile: `${dir.dir}/public/jwks.json`, redisUrl: redis.url },
    groupSync: { intervalSeconds: 60 },
    grantTypes: ['password', 'refresh_token'],
  });
}

async function waitFor(url: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await http(url)).status === 200) return;
    } catch { /* not up yet */ }
    if (Date.now() > end) throw new Error(`${url} not ready; output: ${service.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  ensureBuilt();
  [slapd, redis] = await Promise.all([startDirectory(), startRedis()]);
  dir = tempDir();
  const port = await freePort();
  configFile = join(dir.dir, 'config.xml');
  service = spawnService(configFile, xml(port), port);
  ({ child, base } = service);
  await waitFor(`${base}/healthz`);
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await redis?.stop();
  await slapd?.destroy();
  dir?.remove();
});

describe('dist/service/main.js', () => {
  it('becomes ready (LDAP, keys, Redis, group snapshot) and issues tokens with synced groups', async () => {
    await waitFor(`${base}/readyz`);
    const r = (await http(`${base}/readyz`)).json();
    expect(r.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    const t = await tokenRequest(base, { grant_type: 'password', username: 'bob', password: 'bob-pw', client_id: 'cli' });
    expect(t.status).toBe(200);
    const claims = JSON.parse(Buffer.from(t.json().access_token.split('.')[1], 'base64url').toString());
    expect(claims.dns).toEqual(['cn=engineering,ou=groups,dc=example,dc=com']);
    const jwksFile = join(dir.dir, 'public', 'jwks.json');
    expect(statSync(jwksFile).mode & 0o777).toBe(0o644);
    // The access-token key only; the ID-token key (RS256) is at /jwks.
    expect(JSON.parse(readFileSync(jwksFile, 'utf8')).keys.map((k: { alg: string }) => k.alg)).toEqual(['ES256']);
    expect((await http(`${base}/jwks`)).json().keys.map((k: { alg: string }) => k.alg)).toEqual(['ES256', 'RS256']);
    expect((await http(`${base}/metrics`)).text).toMatch(/ljwt_group_snapshot_members [1-9]/);
  });

  it('--rotate-keys adds a new active key per algorithm; the running service publishes old and new', async () => {
    const before = JSON.parse(readFileSync(join(dir.dir, 'public', 'jwks.json'), 'utf8')).keys.map((k: { kid: string }) => k.kid);
    const out = execFileSync('node', [MAIN, '--config', configFile, '--rotate-keys'], { env: { PATH: process.env.PATH } }).toString();
    expect(out).toContain('signing_key_rotated');
    const after = JSON.parse(readFileSync(join(dir.dir, 'public', 'jwks.json'), 'utf8')).keys.map((k: { kid: string }) => k.kid);
    expect(after).toHaveLength(2);
    expect(after).toEqual(expect.arrayContaining(before));
  });

  it('SIGTERM: stops accepting, finishes the in-flight request, exits 0', async () => {
    // An in-flight request: headers sent, body not yet complete.
    const port = Number(new URL(base).port);
    const body = new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'alice-pw', client_id: 'cli' }).toString();
    const sock = connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let response = '';
    sock.on('data', (d) => { response += d.toString(); });
    sock.write(`POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((r) => setTimeout(r, 100));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    // New connections are refused while draining (polled: signal delivery takes a moment under load).
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      try {
        await http(`${base}/healthz`);
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        refused = true;
      }
    }
    expect(refused).toBe(true);
    expect(response).toBe(''); // the in-flight request is still waiting for its body
    sock.write(body.slice(10));
    const code = await exited;
    await new Promise((r) => setTimeout(r, 50));
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    expect(code).toBe(0);
    expect(service.output()).toContain('"event":"shutdown_complete"');
    for (const line of service.output().trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    expect(service.output()).not.toContain('alice-pw');
    expect(service.output()).not.toContain('reader-secret');
  });
});
