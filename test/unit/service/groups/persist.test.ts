import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readSnapshotFile, SnapshotFileError, writeSnapshotFile } from '../../../../service/src/groups/persist.ts';
import { groupsOfTable, tableFromGroups } from '../../../../service/src/groups/member-table.ts';

describe('snapshot file', () => {
  it('round-trips per-server parts, replaces atomically, leaves no temp files, mode 0600', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'groups-persist-'));
    try {
      const file = path.join(dir, 'groups.json');
      expect(await readSnapshotFile(file)).toBeNull();
      const parts = [
        { key: 'ldap://a cn=x', syncedAt: 1000, groups: new Map([['cn=g1', ['u1', 'u2']], ['cn=g2', ['u2']]]) },
        { key: 'ldap://b cn=y', syncedAt: 2000, groups: new Map<string, string[]>([['cn=g3', []]]) },
      ];
      const tables = parts.map((p) => ({ key: p.key, syncedAt: p.syncedAt, table: tableFromGroups(p.groups) }));
      await writeSnapshotFile(file, tables);
      await writeSnapshotFile(file, tables);
      const back = await readSnapshotFile(file);
      expect(back?.map((p) => ({ key: p.key, syncedAt: p.syncedAt, groups: groupsOfTable(p.table) }))).toEqual(parts);
      expect(await readdir(dir)).toEqual(['groups.json']);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects files that are not ours or are damaged', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'groups-persist-'));
    try {
      const file = path.join(dir, 'groups.json');
      for (const bad of [
        'not json',
        '{"format":"other","version":1,"servers":[]}',
        '{"format":"ljwt-groups","version":1,"servers":[{"key":"k","syncedAt":1,"ids":["a"],"groups":[["cn=g",[1]]]}]}',
        '{"format":"ljwt-groups","version":1,"servers":[{"key":"k","syncedAt":1,"ids":[7],"groups":[]}]}',
        '{"format":"ljwt-groups","version":1,"servers":[{"key":"k","syncedAt":1,"ids":["a"],"groups":[["cn=g",[0,0]]]}]}',
      ]) {
        await writeFile(file, bad);
        await expect(readSnapshotFile(file)).rejects.toBeInstanceOf(SnapshotFileError);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
