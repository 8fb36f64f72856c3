// A replica that hangs in the middle of a group sync (slapd stopped after the sync's
// connection was bound: TCP stays open, nothing is answered) is found by probing it once
// it falls silent, and the sync moves on to the next replica long before the operation
// timeout. A slow replica that still answers (every reply delayed, but within the connect
// timeout) keeps the sync. Real slapd replicas (same entries and entryUUIDs), real sync.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'ldapts';
import type { LdapServerConfig, ServiceConfig } from '../../../service/src/config/types.ts';
import { startGroupDirectory } from '../../../service/src/groups/directory.ts';
import { openServiceClient } from '../../../service/src/ldap/connect.ts';
import { fixtureServerConfig } from '../../harness/ldap-fixture.ts';
import { startReplicas } from '../../harness/ldap-replicas.ts';
import type { Slapd } from '../../harness/slapd.ts';
import { startRelay, type Relay } from '../../harness/tcp-relay.ts';
import { captureLog } from './groups-fixtures.ts';

const ENG = 'cn=engineering,ou=groups,dc=example,dc=com';
// Far beyond the test's own timeout: a sync that waited for it could not pass.
const OPERATION_TIMEOUT_MS = 120_000;

let r1: Slapd;
let r2: Slapd;
let relay: Relay | undefined;

beforeAll(async () => {
  [r1, r2] = await startReplicas(2);
});
afterEach(async () => {
  await r1.resume();
  await relay?.close();
  relay = undefined;
});
afterAll(async () => {
  await r1?.destroy();
  await r2?.destroy();
});

function configFor(uris: string[], connectTimeoutMs: number): Pick<ServiceConfig, 'ldapServers' | 'groupSync'> & ServiceConfig {
  const server: LdapServerConfig = fixtureServerConfig(uris[0]!, { uris, groupDns: [ENG], connectTimeoutMs, operationTimeoutMs: OPERATION_TIMEOUT_MS, retryInitialMs: 200, retryMaxMs: 1000 });
  return { ldapServers: [server], groupSync: { intervalSeconds: 3600, maxStaleSeconds: 7200 } } as unknown as ServiceConfig;
}

describe('group sync and a replica that stops answering', () => {
  it('hung mid-sync: the sync is served by the next replica, well before the operation timeout', async () => {
    let hang = false;
    // The sync's connection to r1 is bound, then r1 freezes: every later read waits.
    const connect = async (server: LdapServerConfig): Promise<Client> => {
      const c = await openServiceClient(server);
      if (hang && server.uri === r1.url) await r1.pause();
      return c;
    };
    const dir = await startGroupDirectory(configFor([r1.url, r2.url], 1000), captureLog(), { mode: 'in-thread', connect, expand: { mode: 'targeted', concurrency: 1 } });
    try {
      expect(dir.status().lastError).toBeNull();
      hang = true;
      const result = await dir.syncNow();
      expect(result.ok).toBe(true);
      expect(result.servers[0]!.servedBy).toBe(r2.url);
      expect(result.durationMs).toBeLessThan(OPERATION_TIMEOUT_MS);
    } finally {
      await r1.resume();
      await dir.close();
    }
  }, 60_000);

  it('slow but answering (each reply 1.5 s late, connect timeout 2.5 s): the sync stays on that replica', async () => {
    relay = await startRelay(r1.port, { delayMs: 1500 });
    const dir = await startGroupDirectory(configFor([relay.url, r2.url], 2500), captureLog(), { mode: 'in-thread', expand: { mode: 'targeted', concurrency: 1 } });
    try {
      const status = dir.directoryStatus();
      expect(status[0]!.lastError).toBeNull();
      expect(status[0]!.servedBy).toBe(relay.url);
      // The silences were probed (connections beyond the sync's own), and every probe answered.
      expect(relay.connections()).toBeGreaterThan(1);
    } finally {
      await dir.close();
    }
  }, 60_000);
});
