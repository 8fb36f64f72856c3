// The service with one directory served by two slapd replicas (two <uri> in one
// <ldapServer>), over real HTTP: a hung or refusing replica is skipped after its first
// failure, probed in the background and used again when it answers; with every replica
// down a login fails at once with 503 + Retry-After; the group sync falls over to the
// other replica and says which one served it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LdapServerConfig } from '../../../service/src/config/types.ts';
import { startReplicas } from '../../harness/ldap-replicas.ts';
import type { Slapd } from '../../harness/slapd.ts';
import {
  decodeJwtParts, http, ldapServer, makeConfig, openLoginForm, passwordGrant, PUBLIC_CLIENT, startWithGroupSync, submitLogin, tempDir,
  type ServiceWithGroupSync,
} from '../../harness/service-app.ts';
import { groupDn, groupOfNames, userDn } from '../ldap/groups-fixtures.ts';

const ENG = groupDn('engineering');
const ADMINS = groupDn('ljwt-admins');
const ADMIN_LDIF = groupOfNames('ljwt-admins', [userDn('bob')]);

let r1: Slapd;
let r2: Slapd;
let dir: ReturnType<typeof tempDir>;
let svc: ServiceWithGroupSync | undefined;

/** One directory, replicas r1 then r2, with the default connect (2 s) and operation (10 s) timeouts. */
function directory(): LdapServerConfig {
  return {
    ...ldapServer(r1),
    uris: [r1.url, r2.url],
    groupDns: [ENG],
    connectTimeoutMs: 2000,
    operationTimeoutMs: 10_000,
    retryInitialMs: 200,
    retryMaxMs: 1000,
  };
}

async function start(): Promise<ServiceWithGroupSync> {
  svc = await startWithGroupSync(makeConfig(r1, `${dir.dir}/keys`, { ldapServers: [directory()], adminGroupDn: ADMINS }));
  return svc;
}

async function timed<T>(p: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await p();
  return { value, ms: performance.now() - t0 };
}

function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return Number.NaN;
}

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  [r1, r2] = (await startReplicas(2, [ADMIN_LDIF])) as [Slapd, Slapd];
  dir = tempDir('ljwt-failover-');
});
afterEach(async () => {
  await Promise.all([r1.resume(), r2.resume()]);
  await Promise.all([r1.start(), r2.start()]);
  if (svc) {
    await svc.close();
    svc = undefined;
  }
});
afterAll(async () => {
  await Promise.all([r1?.destroy(), r2?.destroy()]);
  dir?.remove();
});

describe('a hung first replica', () => {
  it('costs the first login the connect timeout at most; the next logins go to the second replica at once', async () => {
    const s = await start();
    // Pooled connections to r1 are open when it hangs: their searches get no answer.
    expect((await passwordGrant(s.base, 'bob', 'bob-pw')).status).toBe(200);
    await r1.pause();
    const first = await timed(() => passwordGrant(s.base, 'bob', 'bob-pw'));
    expect(first.value.status).toBe(200);
    // Not the 10 s operation timeout: the connect timeout (2 s) bounds the replica's first failure.
    expect(first.ms).toBeLessThan(4000);
    for (let i = 0; i < 5; i++) {
      const next = await timed(() => passwordGrant(s.base, 'bob', 'bob-pw'));
      expect(next.value.status).toBe(200);
      expect(next.ms).toBeLessThan(1000);
      // The groups come with the token whichever replica authenticated: no login without them.
      expect(decodeJwtParts(next.value.json().access_token).payload.dns).toContain(ENG);
    }
    const text = (await http(`${s.base}/metrics`)).text;
    expect(sample(text, 'ljwt_ldap_replica_up', { uri: r1.url })).toBe(0);
    expect(sample(text, 'ljwt_ldap_replica_up', { uri: r2.url })).toBe(1);
    expect(sample(text, 'ljwt_ldap_replica_down_total', { uri: r1.url })).toBe(1);
    // Time left until the next probe: within the capped backoff (0 while a probe is under way,
    // which a loaded machine can reach before this line runs).
    const retry = sample(text, 'ljwt_ldap_replica_retry_seconds', { uri: r1.url });
    expect(retry).toBeGreaterThanOrEqual(0);
    expect(retry).toBeLessThanOrEqual(1);
  });
});

describe('every replica down', () => {
  it('answers the password grant with 503 and Retry-After within 3 s, and at once while they stay down', async () => {
    const s = await start();
    expect((await passwordGrant(s.base, 'alice', 'alice-pw')).status).toBe(200);
    await r1.pause();
    await r2.stop();
    const first = await timed(() => passwordGrant(s.base, 'alice', 'alice-pw'));
    expect(first.value.status).toBe(503);
    expect(first.value.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect(Number(first.value.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(first.ms).toBeLessThan(3000);
    const again = await timed(() => passwordGrant(s.base, 'alice', 'alice-pw'));
    expect(again.value.status).toBe(503);
    expect(Number(again.value.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(again.ms).toBeLessThan(500);
  });

  it('answers 503 within 3 s when every replica hangs (the replicas are probed together)', async () => {
    const s = await start();
    expect((await passwordGrant(s.base, 'alice', 'alice-pw')).status).toBe(200);
    await Promise.all([r1.pause(), r2.pause()]);
    const first = await timed(() => passwordGrant(s.base, 'alice', 'alice-pw'));
    expect(first.value.status).toBe(503);
    expect(Number(first.value.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(first.ms).toBeLessThan(3000);
    expect((await timed(() => passwordGrant(s.base, 'alice', 'alice-pw'))).ms).toBeLessThan(500);
  });

  it('shows the login page saying the directory is unreachable, with 503 and Retry-After', async () => {
    const s = await start();
    await r1.stop();
    await r2.stop();
    const { cookie, fields } = await openLoginForm(s.base, { client_id: PUBLIC_CLIENT, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256', scope: 'openid' });
    const page = await timed(() => submitLogin(s.base, cookie, fields, 'alice', 'alice-pw'));
    expect(page.value.status).toBe(503);
    expect(page.value.text).toContain('The directory is unreachable right now');
    expect(Number(page.value.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(page.ms).toBeLessThan(3000);
  });
});

describe('backoff and recovery', () => {
  it('probes a replica that is down in the background and uses it again once it answers, without a restart', async () => {
    const s = await start();
    await r1.stop();
    expect((await passwordGrant(s.base, 'bob', 'bob-pw')).status).toBe(200);
    expect(s.auth.replicaStatus()[0]).toMatchObject({ uri: r1.url, up: false });
    // While r1 stays down, the probes keep failing and the wait between them grows, capped at retryMaxMs.
    await until(() => s.auth.replicaStatus()[0]!.failures >= 3, 3000);
    expect(s.auth.replicaStatus()[0]!.retryInMs).toBeLessThanOrEqual(1000);
    const boundBefore = (await r1.boundDns()).filter((d) => d.startsWith('uid=bob')).length;
    await r1.start();
    await until(() => s.auth.replicaStatus()[0]!.up, 3000);
    expect((await passwordGrant(s.base, 'bob', 'bob-pw')).status).toBe(200);
    // r1 is the first replica again: bob's bind went there.
    expect((await r1.boundDns()).filter((d) => d.startsWith('uid=bob')).length).toBe(boundBefore + 1);
    expect(sample((await http(`${s.base}/metrics`)).text, 'ljwt_ldap_replica_up', { uri: r1.url })).toBe(1);
  });
});

describe('group sync with a replica refusing', () => {
  it('falls over to the next replica, names it in /admin/sync, and clears the staleness metric', async () => {
    const s = await start();
    const bob = (await passwordGrant(s.base, 'bob', 'bob-pw')).json().access_token as string;
    await r1.stop();
    const r = await http(`${s.base}/admin/sync`, { method: 'POST', headers: { authorization: `Bearer ${bob}` } });
    expect(r.status).toBe(200);
    const body = r.json();
    expect(body.ok).toBe(true);
    expect(body.servers).toHaveLength(1);
    expect(body.servers[0]).toMatchObject({ uri: r1.url, servedBy: r2.url, ok: true });
    const text = (await http(`${s.base}/metrics`)).text;
    expect(sample(text, 'ljwt_group_snapshot_stale')).toBe(0);
    expect(sample(text, 'ljwt_group_directory_stale', { directory: r1.url })).toBe(0);
    expect(sample(text, 'ljwt_group_directory_served_by', { directory: r1.url, uri: r2.url })).toBe(1);
    expect(s.groups.directoryStatus()).toEqual([expect.objectContaining({ directory: r1.url, servedBy: r2.url, stale: false })]);

    // Both down: the sync fails, the previous groups stay, and the directory is stale.
    await r2.stop();
    const down = await http(`${s.base}/admin/sync`, { method: 'POST', headers: { authorization: `Bearer ${bob}` } });
    expect(down.status).toBe(502);
    expect(down.json().servers[0]).toMatchObject({ ok: false, servedBy: null });
    const after = (await http(`${s.base}/metrics`)).text;
    expect(sample(after, 'ljwt_group_snapshot_stale')).toBe(1);
    expect(sample(after, 'ljwt_group_directory_stale', { directory: r1.url })).toBe(1);
  });
});
