// Binary form of a group snapshot (what the writer puts into shared memory).
//
// Why not JSON + gzip: every reader decodes each generation, and with 100k
// users gunzip + JSON.parse + building the index costs hundreds of ms and several
// copies of the data; compression buys little because the bulk is UUIDs. Instead:
//   header   magic "LJG1", generation u32, updatedAt f64 (NaN = never), counts u32 x4
//   strings  UTF-16 lengths (varints) of the group DNs then the object ids, followed by
//            all strings as ONE UTF-8 blob, decoded with a single TextDecoder call and
//            cut with substring (one native decode instead of 100k small ones)
//   sets     distinct group sets (users in the same leaf groups share one): length +
//            delta-coded ascending group indices, varints
//   ids      per object id, the index of its group set (varint)
// Decoding builds the index once per generation: object id -> group set (a Map), group
// sets as one flat Uint32Array; a lookup is a Map get plus building the (short) answer
// array. Sizes: ~40 bytes per object id plus a few bytes per distinct group set.

import { tableFromGroups, type MemberTable } from './member-table.ts';

const MAGIC = 0x3147_4a4c; // "LJG1" little-endian
const HEADER_BYTES = 4 + 4 + 8 + 4 * 4;

export interface SnapshotInput {
  /** Group DN -> member object ids; order of the Map is the order groups are reported in. */
  groups: Map<string, Iterable<string>>;
  /** ms epoch of the data's sync (the oldest server part); null when unknown. */
  updatedAt: number | null;
}

export interface GroupSnapshot {
  generation: number;
  updatedAt: number | null;
  groups: readonly string[];
  /** Distinct member object ids. */
  memberCount: number;
  /** Group DNs whose member set contains the id (a new array per call); [] when none. */
  groupsOf(objectId: string): string[];
  /** Encoded size in bytes. */
  byteLength: number;
}

const EMPTY: readonly string[] = Object.freeze([]);

export function emptySnapshot(generation = 0): GroupSnapshot {
  return { generation, updatedAt: null, groups: EMPTY, memberCount: 0, groupsOf: () => [], byteLength: 0 };
}

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, size));
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  varint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

export function encodeSnapshot(input: SnapshotInput, generation: number): Uint8Array {
  return encodeTable(tableFromGroups(input.groups), input.updatedAt, generation);
}

/**
 * The encoding of a member table. Each id's groups are gathered with one counting pass
 * over the memberships (CSR: counts, offsets, fill in group order, so each list comes out
 * ascending); equal lists share one group set, found by a hash of the list.
 */
export function encodeTable(table: MemberTable, updatedAt: number | null, generation: number): Uint8Array {
  const groupDns = [...table.groups.keys()];
  const lists = [...table.groups.values()];
  const n = table.ids.length;
  const start = new Int32Array(n + 1);
  for (const m of lists) for (let j = 0; j < m.length; j++) start[m[j]! + 1]!++;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const flat = new Int32Array(start[n]!);
  const fill = start.slice(0, n);
  lists.forEach((m, gi) => {
    for (let j = 0; j < m.length; j++) flat[fill[m[j]!]!++] = gi;
  });

  // Distinct group sets: set s is the list of its first id (setFirst[s]).
  const setFirst: number[] = [];
  const buckets = new Map<number, number[]>();
  const ids: string[] = [];
  const idSet: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = start[i]!;
    const len = start[i + 1]! - a;
    if (len === 0) continue; // in no group: not a member of anything
    let h = len;
    for (let k = a; k < a + len; k++) h = Math.imul(h ^ flat[k]!, 0x01000193);
    let bucket = buckets.get(h);
    let si = -1;
    if (bucket) {
      for (const cand of bucket) {
        const b = start[setFirst[cand]!]!;
        if (start[setFirst[cand]! + 1]! - b !== len) continue;
        let same = true;
        for (let k = 0; k < len && same; k++) same = flat[a + k] === flat[b + k];
        if (same) {
          si = cand;
          break;
        }
      }
    } else {
      buckets.set(h, (bucket = []));
    }
    if (si < 0) {
      si = setFirst.length;
      setFirst.push(i);
      bucket.push(si);
    }
    ids.push(table.ids[i]!);
    idSet.push(si);
  }

  // toWellFormed: a lone surrogate would not survive the UTF-8 round trip.
  const strings = [...groupDns, ...ids].map((s) => (s as string & { toWellFormed(): string }).toWellFormed());
  const blob = Buffer.from(strings.join(''), 'utf8');
  const w = new Writer(HEADER_BYTES + blob.length + strings.length * 2 + ids.length * 3 + flat.length + 1024);
  w.ensure(HEADER_BYTES);
  const h = w.buf;
  h.writeUInt32LE(MAGIC, 0);
  h.writeUInt32LE(generation >>> 0, 4);
  h.writeDoubleLE(updatedAt ?? Number.NaN, 8);
  h.writeUInt32LE(groupDns.length, 16);
  h.writeUInt32LE(ids.length, 20);
  h.writeUInt32LE(setFirst.length, 24);
  h.writeUInt32LE(blob.length, 28);
  w.pos = HEADER_BYTES;
  for (const s of strings) w.varint(s.length);
  w.bytes(blob);
  for (const first of setFirst) {
    const a = start[first]!;
    const len = start[first + 1]! - a;
    w.varint(len);
    let prev = 0;
    for (let k = a; k < a + len; k++) {
      w.varint(flat[k]! - prev);
      prev = flat[k]!;
    }
  }
  for (const si of idSet) w.varint(si);
  return w.buf.subarray(0, w.pos);
}

export class SnapshotFormatError extends Error {
  readonly code = 'snapshot_format';
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Decodes a private (non-shared) copy; throws SnapshotFormatError on any inconsistency. */
export function decodeSnapshot(bytes: Uint8Array): GroupSnapshot {
  const fail = (why: string): never => {
    throw new SnapshotFormatError(`group snapshot: ${why}`);
  };
  if (bytes.length < HEADER_BYTES) fail('truncated header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('bad magic');
  const generation = view.getUint32(4, true);
  const updatedRaw = view.getFloat64(8, true);
  const groupCount = view.getUint32(16, true);
  const idCount = view.getUint32(20, true);
  const setCount = view.getUint32(24, true);
  const blobLen = view.getUint32(28, true);
  let pos = HEADER_BYTES;
  const end = bytes.length;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (pos >= end) fail('truncated varint');
      const b = bytes[pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
      if (shift > 28) fail('varint too long');
    }
  };
  const nStrings = groupCount + idCount;
  if (nStrings > end) fail('string count exceeds size');
  const lengths = new Uint32Array(nStrings);
  for (let i = 0; i < nStrings; i++) lengths[i] = varint();
  if (pos + blobLen > end) fail('truncated string blob');
  let all: string;
  try {
    all = decoder.decode(bytes.subarray(pos, pos + blobLen));
  } catch {
    return fail('string blob is not UTF-8');
  }
  pos += blobLen;
  const strings = new Array<string>(nStrings);
  let off = 0;
  for (let i = 0; i < nStrings; i++) {
    const l = lengths[i]!;
    if (off + l > all.length) fail('string lengths exceed blob');
    strings[i] = all.substring(off, off + l);
    off += l;
  }
  if (off !== all.length) fail('string blob has trailing data');
  const groups: readonly string[] = strings.slice(0, groupCount);
  // Group sets stay flat (one Uint32Array of group indices + offsets) instead of 100k small
  // arrays: decoding is the per-generation cost every reader thread pays.
  const setsPos = pos;
  let total = 0;
  for (let s = 0; s < setCount; s++) {
    const n = varint();
    if (n > groupCount) fail('group set larger than group count');
    for (let k = 0; k < n; k++) varint();
    total += n;
  }
  pos = setsPos;
  const setStart = new Uint32Array(setCount + 1);
  const flat = new Uint32Array(total);
  let at = 0;
  for (let s = 0; s < setCount; s++) {
    const n = varint();
    setStart[s] = at;
    let gi = 0;
    for (let k = 0; k < n; k++) {
      gi += varint();
      if (gi >= groupCount) fail('group index out of range');
      flat[at++] = gi;
    }
  }
  setStart[setCount] = at;
  const index = new Map<string, number>();
  for (let i = 0; i < idCount; i++) {
    const si = varint();
    if (si >= setCount) fail('set index out of range');
    index.set(strings[groupCount + i]!, si);
  }
  if (pos !== end) fail('trailing bytes');
  return {
    generation,
    updatedAt: Number.isNaN(updatedRaw) ? null : updatedRaw,
    groups,
    memberCount: idCount,
    groupsOf: (id) => {
      const si = index.get(id);
      if (si === undefined) return [];
      const a = setStart[si]!;
      const n = setStart[si + 1]! - a;
      const out = new Array<string>(n);
      for (let k = 0; k < n; k++) out[k] = groups[flat[a + k]!]!;
      return out;
    },
    byteLength: bytes.length,
  };
}

/** Sets generation and updatedAt of an encoding in place (content unchanged); returns it. */
export function stampSnapshot(bytes: Uint8Array, generation: number, updatedAt: number | null): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(4, generation >>> 0, true);
  view.setFloat64(8, updatedAt ?? Number.NaN, true);
  return bytes;
}
