// Binary form of a group snapshot (what the writer puts into shared memory), laid out so
// that a reader answers lookups straight from the bytes: loading a generation is O(1) (a
// header check and typed-array views) and a lookup is O(1) (one hash probe), so a new
// generation never stalls the HTTP thread, whatever the directory's size. All O(n) work
// (dedupe, hashing, layout) is the encoder's, in the sync worker.
//
// All integers little-endian; every section starts on a 4-byte boundary.
//   header      magic "LJG2", generation u32, updatedAt f64 (NaN = never), then u32 counts:
//               groups, ids, sets, slots (a power of two >= 2 x ids), set width (2 or 4
//               bytes per group index), group DN bytes, id bytes, set entries
//   groupOff    u32 x (groups + 1): byte offsets of each group DN in the group DN blob
//   idOff       u32 x (ids + 1): byte offsets of each object id in the id blob
//   idSet       u32 x ids: the group set of each id
//   idHash      u32 x ids: FNV-1a of each id's UTF-8 bytes (compared before the bytes)
//   slots       u32 x slots: open addressing, linear probing; id index + 1, 0 = empty
//   setOff      u32 x (sets + 1): start of each set in the set entries
//   setEntries  u16 or u32 each: ascending group indices; users in the same groups share a set
//   group DNs   UTF-8, decoded one DN at a time on first use and then cached per generation
//   ids         UTF-8; a lookup encodes the asked id once and compares bytes
// Sizes at 100k users / 10k groups (realistic shape): about 140 bytes per id.

import { tableFromGroups, type MemberTable } from './member-table.ts';

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

const MAGIC = 0x3247_4a4c; // "LJG2" little-endian
const HEADER_BYTES = 16 + 8 * 4;

/** FNV-1a over bytes [start, end) (the key hash of the slots table). */
function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** Smallest power of two >= 2 x ids (load factor <= 0.5: short probes), at least 2. */
function slotCountFor(ids: number): number {
  let n = 2;
  while (n < ids * 2) n *= 2;
  return n;
}

interface Layout {
  groupCount: number;
  idCount: number;
  setCount: number;
  slotCount: number;
  setWidth: 2 | 4;
  groupBytes: number;
  idBytes: number;
  setEntries: number;
  groupOff: number;
  idOff: number;
  idSet: number;
  idHash: number;
  slots: number;
  setOff: number;
  entries: number;
  groupBlob: number;
  idBlob: number;
  end: number;
}

/** Section offsets from the counts (the same computation on both sides). */
function layoutOf(c: Pick<Layout, 'groupCount' | 'idCount' | 'setCount' | 'slotCount' | 'setWidth' | 'groupBytes' | 'idBytes' | 'setEntries'>): Layout {
  const groupOff = HEADER_BYTES;
  const idOff = groupOff + 4 * (c.groupCount + 1);
  const idSet = idOff + 4 * (c.idCount + 1);
  const idHash = idSet + 4 * c.idCount;
  const slots = idHash + 4 * c.idCount;
  const setOff = slots + 4 * c.slotCount;
  const entries = setOff + 4 * (c.setCount + 1);
  const groupBlob = align4(entries + c.setWidth * c.setEntries);
  const idBlob = align4(groupBlob + c.groupBytes);
  const end = align4(idBlob + c.idBytes);
  return { ...c, groupOff, idOff, idSet, idHash, slots, setOff, entries, groupBlob, idBlob, end };
}

export function encodeSnapshot(input: SnapshotInput, generation: number): Uint8Array {
  return encodeTable(tableFromGroups(input.groups), input.updatedAt, generation);
}

/** Per id of the table that is in some group: its group set; sets are deduplicated lists of group indices. */
interface GroupSets {
  /** Table indices of the ids in at least one group. */
  members: Int32Array;
  /** Set of each member. */
  setOf: Int32Array;
  /** Group indices of every distinct set, one after the other. */
  entries: Int32Array;
  /** Start of each set in `entries` (length sets + 1). */
  starts: Int32Array;
}

/**
 * Each id's groups, gathered with one counting pass over the memberships (CSR: counts,
 * offsets, fill in group order, so each list comes out ascending); equal lists share one
 * set, found by a hash of the list. Typed arrays throughout: millions of memberships.
 */
function groupSets(table: MemberTable): GroupSets {
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
  const members = new Int32Array(n);
  const setOf = new Int32Array(n);
  const entries = new Int32Array(flat.length);
  const starts = new Int32Array(n + 1);
  let memberCount = 0;
  let setCount = 0;
  const buckets = new Map<number, number[]>();
  const same = (cand: number, a: number, len: number): boolean => {
    const b = starts[cand]!;
    if (starts[cand + 1]! - b !== len) return false;
    for (let k = 0; k < len; k++) if (entries[b + k] !== flat[a + k]) return false;
    return true;
  };
  for (let i = 0; i < n; i++) {
    const a = start[i]!;
    const len = start[i + 1]! - a;
    if (len === 0) continue; // in no group: not a member of anything
    let h = len;
    for (let k = a; k < a + len; k++) h = Math.imul(h ^ flat[k]!, 0x01000193);
    let bucket = buckets.get(h);
    if (!bucket) buckets.set(h, (bucket = []));
    let si = bucket.find((cand) => same(cand, a, len));
    if (si === undefined) {
      si = setCount++;
      entries.set(flat.subarray(a, a + len), starts[si]!);
      starts[setCount] = starts[si]! + len;
      bucket.push(si);
    }
    members[memberCount] = i;
    setOf[memberCount++] = si;
  }
  return { members: members.subarray(0, memberCount), setOf: setOf.subarray(0, memberCount), entries: entries.subarray(0, starts[setCount]!), starts: starts.subarray(0, setCount + 1) };
}

/** UTF-8 of each string, one after the other, with their byte offsets (length + 1). */
function utf8Blob(strings: string[]): { blob: Buffer; offsets: Uint32Array } {
  let chars = 0;
  for (const s of strings) chars += s.length;
  const blob = Buffer.allocUnsafe(chars * 3);
  const offsets = new Uint32Array(strings.length + 1);
  let pos = 0;
  strings.forEach((s, i) => {
    // toWellFormed: a lone surrogate becomes U+FFFD, as TextEncoder does on the lookup side.
    pos += blob.write((s as string & { toWellFormed(): string }).toWellFormed(), pos, 'utf8');
    offsets[i + 1] = pos;
  });
  return { blob: blob.subarray(0, pos), offsets };
}

/** The encoding of a member table (every O(n) step of a generation happens here, in the writer). */
export function encodeTable(table: MemberTable, updatedAt: number | null, generation: number): Uint8Array {
  const groupDns = [...table.groups.keys()];
  const sets = groupSets(table);
  const groupText = utf8Blob(groupDns);
  const idText = utf8Blob(Array.from(sets.members, (i) => table.ids[i]!));
  const L = layoutOf({
    groupCount: groupDns.length,
    idCount: sets.members.length,
    setCount: sets.starts.length - 1,
    slotCount: slotCountFor(sets.members.length),
    setWidth: groupDns.length <= 0x10000 ? 2 : 4,
    groupBytes: groupText.blob.length,
    idBytes: idText.blob.length,
    setEntries: sets.entries.length,
  });
  const out = new Uint8Array(L.end);
  const u32 = (at: number, length: number): Uint32Array => new Uint32Array(out.buffer, at, length);
  const view = new DataView(out.buffer);
  [MAGIC, generation >>> 0].forEach((v, i) => view.setUint32(4 * i, v, true));
  view.setFloat64(8, updatedAt ?? Number.NaN, true);
  [L.groupCount, L.idCount, L.setCount, L.slotCount, L.setWidth, L.groupBytes, L.idBytes, L.setEntries].forEach((v, i) => view.setUint32(16 + 4 * i, v, true));
  u32(L.groupOff, L.groupCount + 1).set(groupText.offsets);
  u32(L.idOff, L.idCount + 1).set(idText.offsets);
  u32(L.idSet, L.idCount).set(sets.setOf);
  const hashes = u32(L.idHash, L.idCount);
  const slots = u32(L.slots, L.slotCount);
  const mask = L.slotCount - 1;
  for (let k = 0; k < L.idCount; k++) {
    const h = fnv1a(idText.blob, idText.offsets[k]!, idText.offsets[k + 1]!);
    hashes[k] = h;
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = k + 1;
  }
  u32(L.setOff, L.setCount + 1).set(sets.starts);
  (L.setWidth === 2 ? new Uint16Array(out.buffer, L.entries, L.setEntries) : u32(L.entries, L.setEntries)).set(sets.entries);
  out.set(groupText.blob, L.groupBlob);
  out.set(idText.blob, L.idBlob);
  return littleEndian(out);
}

/** Typed arrays use the platform's byte order; the format is little-endian (every CPU Node runs on). */
function littleEndian(bytes: Uint8Array): Uint8Array {
  if (new Uint8Array(Uint16Array.of(1).buffer)[0] !== 1) throw new Error('group snapshot: big-endian platforms are not supported');
  return bytes;
}

export class SnapshotFormatError extends Error {
  readonly code = 'snapshot_format';
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();
/** The asked id's UTF-8 (reused: lookups run one at a time per thread). */
let scratch = new Uint8Array(256);

/**
 * A snapshot over the bytes (not copied unless misaligned; they must not change while it is
 * used). Checks the header and that the sections fill the bytes exactly (O(1)); each lookup
 * checks what it reads stays inside its section, and throws SnapshotFormatError otherwise.
 */
export function decodeSnapshot(bytes: Uint8Array): GroupSnapshot {
  const fail = (why: string): never => {
    throw new SnapshotFormatError(`group snapshot: ${why}`);
  };
  if (bytes.length < HEADER_BYTES) fail('truncated header');
  // Typed-array views need 4-byte alignment within the buffer.
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) fail('bad magic');
  const generation = view.getUint32(4, true);
  const updatedRaw = view.getFloat64(8, true);
  const h = (i: number): number => view.getUint32(16 + 4 * i, true);
  const setWidth = h(4);
  if (setWidth !== 2 && setWidth !== 4) fail('bad set width');
  const slotCount = h(3);
  if (slotCount < 2 || (slotCount & (slotCount - 1)) !== 0 || slotCount < h(1)) fail('bad slot count');
  // Counts are u32, so the sum below stays exact in a double; compare before allocating views.
  const L = layoutOf({ groupCount: h(0), idCount: h(1), setCount: h(2), slotCount, setWidth: setWidth as 2 | 4, groupBytes: h(5), idBytes: h(6), setEntries: h(7) });
  if (L.end > bytes.length) fail('truncated sections');
  if (L.end < bytes.length) fail('trailing bytes');
  const base = bytes.byteOffset;
  const u32 = (at: number, length: number): Uint32Array => new Uint32Array(bytes.buffer, base + at, length);
  const groupOff = u32(L.groupOff, L.groupCount + 1);
  const idOff = u32(L.idOff, L.idCount + 1);
  const idSet = u32(L.idSet, L.idCount);
  const idHash = u32(L.idHash, L.idCount);
  const slots = u32(L.slots, L.slotCount);
  const setOff = u32(L.setOff, L.setCount + 1);
  const entries = L.setWidth === 2 ? new Uint16Array(bytes.buffer, base + L.entries, L.setEntries) : u32(L.entries, L.setEntries);
  const groupBlob = bytes.subarray(L.groupBlob, L.groupBlob + L.groupBytes);
  const idBlob = bytes.subarray(L.idBlob, L.idBlob + L.idBytes);
  const mask = L.slotCount - 1;

  const dnCache: string[] = [];
  const groupDn = (gi: number): string => {
    const cached = dnCache[gi];
    if (cached !== undefined) return cached;
    if (gi >= L.groupCount) fail('group index out of range');
    const a = groupOff[gi]!;
    const b = groupOff[gi + 1]!;
    if (a > b || b > L.groupBytes) fail('group DN offsets out of range');
    let dn: string;
    try {
      dn = decoder.decode(groupBlob.subarray(a, b));
    } catch {
      return fail('group DN is not UTF-8');
    }
    dnCache[gi] = dn;
    return dn;
  };

  /** Index of the id whose bytes are scratch[0, n), or -1. */
  const find = (n: number): number => {
    const hash = fnv1a(scratch, 0, n);
    let i = hash & mask;
    for (let probes = 0; probes < L.slotCount; probes++, i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) return -1;
      const k = s - 1;
      if (k >= L.idCount) fail('slot out of range');
      if (idHash[k] !== hash) continue;
      const a = idOff[k]!;
      if (idOff[k + 1]! - a !== n) continue;
      if (a + n > L.idBytes) fail('id offsets out of range');
      let same = true;
      for (let j = 0; j < n && same; j++) same = idBlob[a + j] === scratch[j];
      if (same) return k;
    }
    return -1;
  };

  let groups: readonly string[] | undefined;
  return {
    generation,
    updatedAt: Number.isNaN(updatedRaw) ? null : updatedRaw,
    get groups(): readonly string[] {
      groups ??= Array.from({ length: L.groupCount }, (_, gi) => groupDn(gi));
      return groups;
    },
    memberCount: L.idCount,
    groupsOf: (id) => {
      if (scratch.length < id.length * 3) scratch = new Uint8Array(id.length * 3);
      const k = find(encoder.encodeInto(id, scratch).written);
      if (k < 0) return [];
      const si = idSet[k]!;
      if (si >= L.setCount) fail('set index out of range');
      const a = setOff[si]!;
      const b = setOff[si + 1]!;
      if (a > b || b > L.setEntries) fail('set offsets out of range');
      const out = new Array<string>(b - a);
      for (let j = a; j < b; j++) out[j - a] = groupDn(entries[j]!);
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
