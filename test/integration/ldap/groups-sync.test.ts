// Group sync against a real slapd: nesting, cycles, member types, paging under a server
// size limit, failure handling, persistence, multiple servers, and the worker thread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attribute, Change, Client, SizeLimitExceededError } from 'ldapts';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startSlapd, type Slapd } from '../../harness/slapd.ts';
import { expandGroups } from '../../../service/src/groups/expand.ts';
import { ldaptsSource } from '../../../service/src/groups/ldapts-source.ts';
import { openLdapClient } from '../../../service/src/ldap/connect.ts';
import type { LdapServerConfig } from '../../../service/src/config/types.ts';
import { SnapshotReader, startGroupDirectory } from '../../../service/src/groups/directory.ts';
import {
  BASE,
  SYNC_DN,
  SYNC_PW,
  adminClient,
  buildWorker,
  captureLog,
  groupDn,
  groupOfNames,
  groupOfUniqueNames,
  idsOf,
  ous,
  posixGroup,
  serverConfig,
  serviceAccount,
  serviceConfig,
  user,
  userDn,
} from './groups-fixtures.ts';

const BIG = 3000;
const bigUids = Array.from({ length: BIG }, (_, i) => `big${String(i).padStart(4, '0')}`);
const smallUids = ['n1', 'n2', 'n3', 'n4', 'n5', 'c1', 'c2', 's1', 'm1', 'm2', 'm3', 'm4', 'loner'];

const G = {
  nest1: groupDn('nest1'),
  nest3: groupDn('nest3'),
  cycA: groupDn('cycA'),
  self: groupDn('self'),
  mixed: groupDn('mixedTop'),
  posix: groupDn('posix'),
  big: groupDn('big'),
};
const CONFIGURED = Object.values(G);

function mainLdif(): string[] {
  return [
    ...ous(),
    serviceAccount(),
    ...smallUids.map((u) => user(u)),
    ...bigUids.map((u) => user(u)),
    groupOfNames('nest1', [userDn('n1'), groupDn('nest2')]),
    groupOfNames('nest2', [userDn('n2'), groupDn('nest3')]),
    groupOfNames('nest3', [userDn('n3'), groupDn('nest4')]),
    // Another spelling of the same DNs (case, spaces): still the same entries.
    groupOfNames('nest4', ['UID=N4, OU=People,DC=Example, DC=com', 'CN=nest5,ou=Groups,dc=example,dc=com']),
    groupOfNames('nest5', [userDn('n5'), `uid=ghost,ou=people,${BASE}`]),
    groupOfNames('cycA', [groupDn('cycB'), userDn('c1')]),
    groupOfNames('cycB', [groupDn('cycA'), userDn('c2')]),
    groupOfNames('self', [groupDn('self'), userDn('s1')]),
    groupOfNames('mixedTop', [groupDn('uniq'), groupDn('posix')]),
    groupOfUniqueNames('uniq', [`${userDn('m1')}#'0101'B`, userDn('m2')]),
    posixGroup('posix', ['m3', 'M4', 'ghostuid']),
    groupOfNames('big', bigUids.map((u) => userDn(u))),
  ];
}

let slapd: Slapd;
let ids: Map<string, string>;
const idOf = (uid: string): string => ids.get(userDn(uid))!;
let tmp: string;

beforeAll(async () => {
  slapd = await startSlapd({ ldif: mainLdif(), sizeLimit: 500 });
  ids = await idsOf(slapd.url, slapd.adminDn, slapd.adminPassword, [...smallUids, ...bigUids].map((u) => userDn(u)));
  tmp = await mkdtemp(path.join(os.tmpdir(), 'groups-sync-'));
});

afterAll(async () => {
  await slapd?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function expectedGroups(): Map<string, string[]> {
  return new Map([
    [G.nest1, ['n1', 'n2', 'n3', 'n4', 'n5']],
    [G.nest3, ['n3', 'n4', 'n5']],
    [G.cycA, ['c1', 'c2']],
    [G.self, ['s1']],
    [G.mixed, ['m1', 'm2', 'm3', 'm4']],
    [G.posix, ['m3', 'm4']],
    [G.big, bigUids],
  ]);
}

async function expandWith(mode: 'targeted' | 'bulk' | 'auto') {
  const server = serverConfig(slapd.url, CONFIGURED);
  const client = await openLdapClient(server);
  await client.bind(SYNC_DN, SYNC_PW);
  try {
    const log = captureLog();
    const res = await expandGroups(ldaptsSource(client), {
      groupDns: CONFIGURED,
      userSearchBase: server.userSearchBase,
      objectIdAttribute: 'entryUUID',
      mode,
      log,
    });
    return { ...res, log };
  } finally {
    await client.unbind();
  }
}

describe('group expansion against slapd', () => {
  it('the server size limit is real: an unpaged search as the service account fails', async () => {
    const c = new Client({ url: slapd.url });
    await c.bind(SYNC_DN, SYNC_PW);
    await expect(c.search(`ou=people,${BASE}`, { scope: 'sub', filter: '(uid=*)', attributes: ['uid'] })).rejects.toBeInstanceOf(SizeLimitExceededError);
    await c.unbind();
  });

  for (const mode of ['targeted', 'bulk', 'auto'] as const) {
    it(`${mode}: 5-deep nesting, cycles, self-membership, uniqueMember #'..'B, memberUid, 3000 members under sizeLimit 500`, async () => {
      const { groups, stats, log } = await expandWith(mode);
      const want = expectedGroups();
      expect([...groups.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [dn, uids] of want) {
        expect(new Set(groups.get(dn)), dn).toEqual(new Set(uids.map(idOf)));
        expect(groups.get(dn)!.length, `${dn} has no duplicates`).toBe(uids.length);
      }
      expect(stats.bulk).toBe(mode !== 'targeted'); // auto: 3000 members exceed the threshold
      if (mode === 'targeted') {
        // Each entry at most once: groups + small users + big users (+ the ghost), memberUid via search.
        expect(stats.baseReads).toBeLessThanOrEqual(12 + 10 + BIG + 1);
      } else {
        // One paged scan instead of thousands of reads.
        expect(stats.baseReads).toBeLessThan(20);
        expect(stats.searchEntries).toBeGreaterThan(BIG);
      }
      // Missing member and unresolvable memberUid are logged and skipped, not fatal.
      const skipped = log.lines.filter((l) => l.msg.startsWith('group member skipped'));
      expect(skipped.some((l) => String(l.fields?.member).includes('uid=ghost'))).toBe(true);
      expect(skipped.some((l) => l.fields?.memberUid === 'ghostuid')).toBe(true);
      expect(stats.skippedMembers).toBe(2);
    });
  }

  it('a configured group that does not exist yields an empty group and a warning, not a failure', async () => {
    const server = serverConfig(slapd.url, [G.self, groupDn('nope')]);
    const client = await openLdapClient(server);
    await client.bind(SYNC_DN, SYNC_PW);
    const log = captureLog();
    const { groups, stats } = await expandGroups(ldaptsSource(client), {
      groupDns: server.groupDns,
      userSearchBase: server.userSearchBase,
      objectIdAttribute: 'entryUUID',
      log,
    });
    await client.unbind();
    expect(groups.get(groupDn('nope'))).toEqual([]);
    expect(groups.get(G.self)).toEqual([idOf('s1')]);
    expect(stats.missingGroups).toBe(1);
    expect(log.lines.some((l) => l.level === 'warn' && l.msg === 'configured group DN not found')).toBe(true);
  });
});

describe('group directory (in-thread) against slapd', () => {
  it('serves merged groups, reports status, and survives LDAP stopping mid-sync', async () => {
    const log = captureLog();
    const config = serviceConfig([serverConfig(slapd.url, CONFIGURED)]);
    // Targeted, one read at a time: a sync takes long enough to be cut in the middle.
    // The real connect, plus a signal once bound, so the cut lands after the sync began.
    let bound: () => void = () => {};
    const connect = async (server: LdapServerConfig) => {
      const c = await openLdapClient(server);
      await c.bind(server.bindDn, server.bindPassword);
      bound();
      return c;
    };
    const dir = await startGroupDirectory(config, log, { mode: 'in-thread', connect, expand: { mode: 'targeted', concurrency: 1 } });
    try {
      const s0 = dir.status();
      expect(s0.generation).toBe(1);
      expect(s0.stale).toBe(false);
      expect(s0.groupCount).toBe(CONFIGURED.length);
      expect(s0.memberCount).toBe(smallUids.length - 1 + BIG); // all but "loner"
      expect(s0.ageSeconds).toBeLessThan(30);
      expect(s0.lastError).toBeNull();
      expect(dir.groupsOf(idOf('n5')).sort()).toEqual([G.nest1, G.nest3].sort());
      expect(dir.groupsOf(idOf('m3')).sort()).toEqual([G.mixed, G.posix].sort());
      expect(dir.groupsOf(idOf('loner'))).toEqual([]);
      expect(dir.groupsOf('not-an-id')).toEqual([]);
      // Callers get their own array.
      dir.groupsOf(idOf('n5')).push('x');
      expect(dir.groupsOf(idOf('n5'))).toHaveLength(2);

      const began = new Promise<void>((r) => (bound = r));
      const pending = dir.syncNow();
      await began;
      await new Promise((r) => setTimeout(r, 100));
      await slapd.stop();
      const res = await pending;
      expect(res.ok).toBe(false);
      expect(res.published).toBe(false);
      expect(res.servers[0]!.ok).toBe(false);
      // It really was cut mid-way (not refused at connect): a read failed, or the probe of the
      // silent server (replicas.ts) found it gone first.
      expect(res.servers[0]!.error).toMatch(/reading |is down: probe: /);
      const s1 = dir.status();
      expect(s1.generation).toBe(1);
      expect(s1.stale).toBe(true);
      expect(s1.syncErrors).toBe(1);
      expect(s1.lastError).toContain(slapd.url);
      expect(dir.groupsOf(idOf('n5')).sort()).toEqual([G.nest1, G.nest3].sort());
      expect(dir.groupsOf(idOf('big2999'))).toEqual([G.big]);

      // A sync while LDAP is down entirely: still the old snapshot, one more error.
      const down = await dir.syncNow();
      expect(down.ok).toBe(false);
      expect(dir.status().syncErrors).toBe(2);

      await slapd.start();
      // Requests during a running sync share ONE further sync that starts after it.
      const [a, b, c] = [dir.syncNow(), dir.syncNow(), dir.syncNow()];
      expect(b).toBe(c);
      const [ra, rb] = await Promise.all([a, b]);
      expect(rb.startedAt).toBeGreaterThanOrEqual(ra.startedAt + ra.durationMs - 5);
      const back = await dir.syncNow();
      expect(back.ok).toBe(true);
      expect(back.published).toBe(false); // same content: no new generation
      const s2 = dir.status();
      expect(s2.stale).toBe(false);
      expect(s2.lastError).toBeNull();
      expect(s2.syncErrors).toBe(2);
    } finally {
      await dir.close();
      await slapd.start();
    }
  });

  it('persists the last good snapshot and serves it after a restart with LDAP down', async () => {
    const file = path.join(tmp, 'groups.json');
    const config = serviceConfig([serverConfig(slapd.url, CONFIGURED)], { snapshotFile: file });
    const first = await startGroupDirectory(config, captureLog(), { mode: 'in-thread' });
    const updatedAt = first.status().updatedAt;
    await first.close();
    expect(existsSync(file)).toBe(true);

    await slapd.stop();
    try {
      const log = captureLog();
      const t0 = Date.now();
      const second = await startGroupDirectory(config, log, { mode: 'in-thread' });
      try {
        // Restored: start does not wait for LDAP.
        expect(Date.now() - t0).toBeLessThan(5000);
        expect(second.groupsOf(idOf('c2')).sort()).toEqual([G.cycA]);
        expect(second.groupsOf(idOf('big0001'))).toEqual([G.big]);
        const s = second.status();
        expect(s.generation).toBe(1);
        expect(s.updatedAt).toBe(updatedAt);
        expect(second.notReady()).toBe(false);
        // The first sync (LDAP down) fails: still served, flagged stale.
        const res = await second.syncNow();
        expect(res.ok).toBe(false);
        expect(second.status().stale).toBe(true);
        expect(second.groupsOf(idOf('c2'))).toEqual([G.cycA]);
      } finally {
        await second.close();
      }
      // A damaged file is ignored with an error, never half-loaded.
      const { writeFile } = await import('node:fs/promises');
      await writeFile(file, '{"format":"ljwt-groups","version":1,"servers":[{"key":1}]}');
      const log3 = captureLog();
      const third = await startGroupDirectory(config, log3, { mode: 'in-thread' });
      expect(third.status().generation).toBe(0);
      expect(third.groupsOf(idOf('c2'))).toEqual([]);
      expect(third.notReady()).toBe(true);
      expect(log3.lines.some((l) => l.level === 'error' && l.msg.includes('snapshot file unreadable'))).toBe(true);
      await third.close();
    } finally {
      await slapd.start();
    }
  });

  it('with two servers, one down keeps its previous groups while the other updates', async () => {
    const base2 = 'dc=second,dc=org';
    const second = await startSlapd({
      baseDn: base2,
      ldif: [
        ...ous(base2),
        serviceAccount(base2),
        user('x1', base2),
        user('x2', base2),
        groupOfNames('gx', [userDn('x1', base2), groupDn('gy', base2)], base2),
        groupOfNames('gy', [userDn('x2', base2)], base2),
      ],
    });
    const admin = await adminClient(slapd.url, slapd.adminDn, slapd.adminPassword);
    try {
      const ids2 = await idsOf(second.url, second.adminDn, second.adminPassword, [userDn('x1', base2), userDn('x2', base2)]);
      const config = serviceConfig([
        serverConfig(slapd.url, [G.cycA, G.self]),
        serverConfig(second.url, [groupDn('gx', base2)], { bindDn: `cn=sync,ou=services,${base2}`, userSearchBase: `ou=people,${base2}` }),
      ]);
      const dir = await startGroupDirectory(config, captureLog(), { mode: 'in-thread' });
      try {
        expect(dir.groupsOf(ids2.get(userDn('x2', base2))!)).toEqual([groupDn('gx', base2)]);
        expect(dir.status().groupCount).toBe(3);
        const t1 = dir.status().updatedAt!;

        await second.stop();
        await admin.modify(G.self, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [userDn('loner')] }) }));
        await new Promise((r) => setTimeout(r, 20));
        const res = await dir.syncNow();
        expect(res.ok).toBe(false);
        expect(res.published).toBe(true);
        expect(res.servers.map((s) => s.ok)).toEqual([true, false]);
        // The live server's change is in; the down server's groups are still served.
        expect(dir.groupsOf(idOf('loner'))).toEqual([G.self]);
        expect(dir.groupsOf(ids2.get(userDn('x1', base2))!)).toEqual([groupDn('gx', base2)]);
        expect(dir.groupsOf(ids2.get(userDn('x2', base2))!)).toEqual([groupDn('gx', base2)]);
        const s = dir.status();
        expect(s.stale).toBe(true);
        expect(s.lastError).toContain(second.url);
        // The age is that of the oldest part (the down server's).
        expect(s.updatedAt).toBe(t1);
      } finally {
        await dir.close();
      }
    } finally {
      await admin.modify(G.self, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [userDn('loner')] }) }));
      await admin.unbind();
      await second.destroy();
    }
  });
});

describe('group directory in a worker thread (built sync.worker.js)', () => {
  it('syncs in the worker; main-thread and extra readers see whole generations while LDAP changes', async () => {
    const workerFile = await buildWorker();
    const admin = await adminClient(slapd.url, slapd.adminDn, slapd.adminPassword);
    const config = serviceConfig([serverConfig(slapd.url, [G.cycA, G.self, G.big])], { snapshotFile: path.join(tmp, 'worker.json') });
    const dir = await startGroupDirectory(config, captureLog(), { mode: 'worker', workerFile });
    try {
      const s0 = dir.status();
      expect(s0.generation).toBe(1);
      expect(dir.groupsOf(idOf('big1234'))).toEqual([G.big]);
      const extra = new SnapshotReader(await dir.createReaderHandle());

      // Move "loner" in and out of cycA (through cycB: nested) and watch the main
      // thread's reads in a tight loop while the worker publishes.
      let inconsistent = 0;
      let reads = 0;
      for (let round = 0; round < 4; round++) {
        const op = round % 2 === 0 ? 'add' : 'delete';
        await admin.modify(groupDn('cycB'), new Change({ operation: op, modification: new Attribute({ type: 'member', values: [userDn('loner')] }) }));
        const before = dir.status().generation;
        const pending = dir.syncNow();
        const deadline = Date.now() + 20_000;
        // Tight loop: no await, so only shared memory can bring the new generation.
        while (Date.now() < deadline) {
          const loner = dir.groupsOf(idOf('loner'));
          const c1 = dir.groupsOf(idOf('c1'));
          reads++;
          if (c1.length !== 1) inconsistent++;
          if (loner.length === (op === 'add' ? 1 : 0) && extra.read().groupsOf(idOf('loner')).length === loner.length) break;
        }
        const res = await pending;
        expect(res.ok).toBe(true);
        expect(res.published).toBe(true);
        expect(dir.status().generation).toBe(before + 1);
        expect(dir.groupsOf(idOf('loner'))).toEqual(op === 'add' ? [G.cycA] : []);
      }
      expect(inconsistent).toBe(0);
      expect(reads).toBeGreaterThan(4);
      expect(dir.status().generation).toBe(5);
      extra.close();
    } finally {
      await dir.close();
      await admin.unbind();
      await rm(path.dirname(workerFile), { recursive: true, force: true });
    }
  });
});
