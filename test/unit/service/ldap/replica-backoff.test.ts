// Replica health of one directory (service/src/ldap/replicas.ts) with a probe the test
// controls: which replica an attempt goes to, when a replica is skipped, how the wait
// between probes grows and where it stops, and how a silent attempt is given up.
import { afterEach, describe, expect, it } from 'vitest';
import type { LdapServerConfig } from '../../../../service/src/config/types.ts';
import { DirectoryUnavailableError, ReplicaSet } from '../../../../service/src/ldap/replicas.ts';

const A = 'ldap://a.example:389';
const B = 'ldap://b.example:389';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function server(over: Partial<LdapServerConfig> = {}): LdapServerConfig {
  return {
    uri: A, uris: [A, B], bindDn: 'cn=r,dc=x', bindPassword: 'p', groupDns: [], userSearchBase: 'dc=x', userFilter: '(uid={username})',
    objectIdAttribute: 'entryUUID', startTls: false, connectTimeoutMs: 2000, operationTimeoutMs: 10_000, retryInitialMs: 20, retryMaxMs: 80, ...over,
  };
}

const sets: ReplicaSet[] = [];
function replicaSet(over: Partial<LdapServerConfig>, probe: (uri: string) => Promise<void>): ReplicaSet {
  const s = new ReplicaSet(server(over), { probe });
  sets.push(s);
  return s;
}
afterEach(() => {
  for (const s of sets.splice(0)) s.close();
});

const refused = (): Promise<never> => Promise.reject(new Error('connect ECONNREFUSED'));
const isFault = () => true;

describe('replica set', () => {
  it('does not try a replica that a probe found down while the attempt waited on another', async () => {
    let releaseA!: () => void;
    const set = replicaSet({}, async () => undefined);
    const tried: string[] = [];
    const pending = set.run((uri) => {
      tried.push(uri);
      return uri === A ? new Promise<string>((_, reject) => { releaseA = () => reject(new Error('ECONNRESET')); }) : Promise.resolve(uri);
    }, isFault);
    set.markDown(B, 'probe: service bind timed out');
    releaseA();
    await expect(pending).rejects.toBeInstanceOf(DirectoryUnavailableError);
    expect(tried).toEqual([A]);
  });

  it('falls over to the next replica on a fault, and skips the failed one until a probe succeeds', async () => {
    let aUp = false;
    const set = replicaSet({}, async (uri) => { if (uri === A && !aUp) throw new Error('still down'); });
    const tried: string[] = [];
    const attempt = async (uri: string) => { tried.push(uri); if (uri === A && !aUp) throw new Error('ECONNREFUSED'); return uri; };
    expect(await set.run(attempt, isFault)).toEqual({ value: B, uri: B });
    expect(await set.run(attempt, isFault)).toEqual({ value: B, uri: B });
    expect(tried).toEqual([A, B, B]);
    expect(set.status()[0]).toMatchObject({ uri: A, up: false, failures: 1, downs: 1 });
    aUp = true;
    await sleep(60);
    expect(set.status()[0]).toMatchObject({ up: true, failures: 0, retryInMs: 0 });
    expect((await set.run(attempt, isFault)).uri).toBe(A);
  });

  it('rethrows an answer of the directory without marking the replica down or asking the next', async () => {
    const set = replicaSet({}, async () => undefined);
    const tried: string[] = [];
    const answer = new Error('invalid credentials');
    await expect(set.run(async (uri) => { tried.push(uri); throw answer; }, (e) => e !== answer)).rejects.toBe(answer);
    expect(tried).toEqual([A]);
    expect(set.status().every((r) => r.up)).toBe(true);
  });

  it('fails at once, without an attempt, when every replica is down, saying when the next probe is due', async () => {
    const set = replicaSet({ retryInitialMs: 3000, retryMaxMs: 30_000 }, refused);
    await expect(set.run(refused, isFault)).rejects.toBeInstanceOf(DirectoryUnavailableError);
    let attempts = 0;
    const err = await set.run(async () => { attempts++; return 1; }, isFault).catch((e: unknown) => e as DirectoryUnavailableError);
    expect(attempts).toBe(0);
    expect(err).toMatchObject({ code: 'DIRECTORY_UNAVAILABLE', retryAfterSeconds: 3 });
  });

  it('doubles the wait between failed probes up to retryMaxMs', async () => {
    const probes: number[] = [];
    const set = replicaSet({ uris: [A], retryInitialMs: 10, retryMaxMs: 40 }, async () => { probes.push(Date.now()); throw new Error('down'); });
    await set.run(refused, isFault).catch(() => undefined);
    await sleep(400);
    const gaps = probes.slice(1).map((t, i) => t - probes[i]!);
    // 10, 20, 40, 40, ...: growing, then capped (timers may fire a little late, never early).
    expect(probes.length).toBeGreaterThanOrEqual(5);
    expect(gaps[0]!).toBeGreaterThanOrEqual(19);
    expect(gaps[1]!).toBeGreaterThanOrEqual(39);
    expect(Math.max(...gaps)).toBeLessThan(40 + 200);
    expect(set.status()[0]!.retryInMs).toBeLessThanOrEqual(40);
  });

  it('tries replicas that are down when asked to (a sync), and a success brings the replica back', async () => {
    const set = replicaSet({ retryInitialMs: 60_000, retryMaxMs: 60_000 }, refused);
    await set.run(refused, isFault).catch(() => undefined);
    expect(set.anyUp()).toBe(false);
    expect(await set.run(async (uri) => uri, isFault, { evenIfAllDown: true })).toEqual({ value: A, uri: A });
    expect(set.status()[0]!.up).toBe(true);
  });

  it('gives up an attempt that gets no answer once a probe of its replica fails, and moves to the next replica', async () => {
    let probes = 0;
    const set = replicaSet({ connectTimeoutMs: 80 }, async (uri) => { probes++; if (uri === A) throw new Error('probe: service bind timed out'); });
    const t0 = Date.now();
    const r = await set.run((uri) => (uri === A ? new Promise<string>(() => undefined) : Promise.resolve(uri)), isFault, { watch: true });
    expect(r.uri).toBe(B);
    // Probed after a quarter of the connect timeout, not after the operation timeout (10 s).
    expect(Date.now() - t0).toBeLessThan(1000);
    // Replica A and, at the same time, replica B (which answers its probe).
    expect(probes).toBe(2);
    expect(set.status()[0]!.up).toBe(false);
    expect(set.status()[1]!.up).toBe(true);
  });

  it('gives up after one probe time when every replica hangs, not after one per replica', async () => {
    const set = replicaSet({ connectTimeoutMs: 200 }, () => sleep(200).then(() => { throw new Error('probe: service bind timed out'); }));
    const t0 = Date.now();
    await expect(set.run(() => new Promise<string>(() => undefined), isFault, { watch: true })).rejects.toBeInstanceOf(DirectoryUnavailableError);
    // A quarter of the connect timeout, then the probes of both replicas at once (200 ms each);
    // one replica after the other would take 500 ms.
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(240);
    expect(ms).toBeLessThan(480);
    expect(set.anyUp()).toBe(false);
  });

  it('keeps waiting for a slow replica that answers its probe', async () => {
    const set = replicaSet({ connectTimeoutMs: 40 }, async () => undefined);
    const r = await set.run((uri) => sleep(100).then(() => uri), isFault, { watch: true });
    expect(r.uri).toBe(A);
    expect(set.status()[0]!.up).toBe(true);
  });
});
