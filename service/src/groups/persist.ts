// The last good per-server group data on disk, so a restart while LDAP is down still
// serves groups. Written atomically: temp file in the same directory, fsync, rename over
// the old file, fsync the directory (POSIX rename(2) is atomic; the directory fsync makes
// the rename itself durable). A reader sees the old file or the new one, never a mix.
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { MemberTable } from './member-table.ts';

export interface PersistedPart {
  /** Server identity: uri + bind DN (see serverKey()). */
  key: string;
  /** ms epoch of this server's last successful sync. */
  syncedAt: number;
  /** Group DN -> member object ids. */
  table: MemberTable;
}

interface FileShape {
  format: 'ljwt-groups';
  version: 1;
  writtenAt: number;
  servers: Array<{ key: string; syncedAt: number; ids: string[]; groups: Array<[string, number[]]> }>;
}

export function serverKey(server: { uri: string; bindDn: string }): string {
  return `${server.uri} ${server.bindDn}`;
}

/**
 * Streams the file in chunks (no single 10+ MB string or intermediate object: the sync
 * worker's peak memory matters). Object ids are stored once per server; groups refer to
 * them by index.
 */
async function writeShape(write: (chunk: string) => Promise<void>, parts: PersistedPart[]): Promise<void> {
  let buf = `{"format":"ljwt-groups","version":1,"writtenAt":${Date.now()},"servers":[`;
  const flush = async (force = false): Promise<void> => {
    if (buf.length >= 1 << 16 || (force && buf.length > 0)) {
      await write(buf);
      buf = '';
    }
  };
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    buf += `${p ? ',' : ''}{"key":${JSON.stringify(part.key)},"syncedAt":${part.syncedAt},"ids":[`;
    let first = true;
    for (const id of part.table.ids) {
      buf += (first ? '' : ',') + JSON.stringify(id);
      first = false;
      await flush();
    }
    buf += '],"groups":[';
    first = true;
    for (const [dn, members] of part.table.groups) {
      buf += `${first ? '' : ','}[${JSON.stringify(dn)},[${members.join(',')}]]`;
      first = false;
      await flush();
    }
    buf += ']}';
  }
  buf += ']}';
  await flush(true);
}

export async function writeSnapshotFile(file: string, parts: PersistedPart[]): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await writeShape(async (chunk) => {
      await fh.write(chunk);
    }, parts);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export class SnapshotFileError extends Error {
  readonly code = 'snapshot_file';
}

/** null when the file does not exist; SnapshotFileError when it exists but is not ours or is damaged. */
export async function readSnapshotFile(file: string): Promise<PersistedPart[] | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let shape: FileShape;
  try {
    shape = JSON.parse(text) as FileShape;
  } catch {
    throw new SnapshotFileError(`${file}: not JSON`);
  }
  const bad = (why: string): never => {
    throw new SnapshotFileError(`${file}: ${why}`);
  };
  if (shape?.format !== 'ljwt-groups' || shape.version !== 1 || !Array.isArray(shape.servers)) bad('not a group snapshot (format/version)');
  return shape.servers.map((s) => {
    if (typeof s?.key !== 'string' || typeof s.syncedAt !== 'number' || !Array.isArray(s.ids) || !Array.isArray(s.groups)) bad('bad server part');
    if (!s.ids.every((id) => typeof id === 'string')) bad('bad object id');
    const groups = new Map<string, Int32Array>();
    for (const g of s.groups) {
      if (!Array.isArray(g) || typeof g[0] !== 'string' || !Array.isArray(g[1])) bad('bad group');
      const members = new Int32Array(g[1].length);
      const seen = new Set<number>();
      g[1].forEach((i, k) => {
        if (!Number.isInteger(i) || i < 0 || i >= s.ids.length) bad('bad member index');
        if (seen.has(i)) bad('repeated member index');
        seen.add(i);
        members[k] = i;
      });
      groups.set(g[0], members);
    }
    return { key: s.key, syncedAt: s.syncedAt, table: { ids: s.ids, groups } };
  });
}
