// The shared snapshot store under contention: real worker threads read while the main
// thread publishes generations of varying sizes as fast as it can.
import { describe, expect, it } from 'vitest';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SnapshotReader, SnapshotWriter, createStoreHandle } from '../../../../service/src/groups/snapshot-store.ts';
import { decodeSnapshot, encodeSnapshot, SnapshotFormatError } from '../../../../service/src/groups/snapshot-codec.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** Generation g: groups "cn=g<g>-<k>", every member "u<g>-<j>" in all of them; size varies with g. */
function generationContent(g: number): Map<string, string[]> {
  const groupCount = 1 + (g % 7);
  const memberCount = g % 5 === 0 ? 3000 : 1 + (g % 13) * 20; // every 5th is large
  const ids = Array.from({ length: memberCount }, (_, j) => `u${g}-${j}`);
  const m = new Map<string, string[]>();
  for (let k = 0; k < groupCount; k++) m.set(`cn=g${g}-${k},ou=groups,dc=example,dc=com`, ids);
  return m;
}

// Runs in each reader thread: reads in a tight loop and checks every snapshot is one
// whole generation (every group DN and every member carries the snapshot's generation).
const READER_SOURCE = `
import { parentPort, workerData } from 'node:worker_threads';
import { SnapshotReader } from ${JSON.stringify(path.join(root, 'service/src/groups/snapshot-store.ts'))};
const { handle, stop, index } = workerData;
// Slot 0: the writer's stop flag; slot 1 + index: how many generations this reader has seen.
const stopFlag = new Int32Array(stop);
const reader = new SnapshotReader(handle);
let reads = 0, bad = 0, lastGen = 0, generationsSeen = 0, backwards = 0;
const errors = [];
while (Atomics.load(stopFlag, 0) === 0) {
  const s = reader.read();
  reads++;
  if (s.generation === 0) continue;
  if (s.generation < lastGen) backwards++;
  if (s.generation !== lastGen) {
    generationsSeen++;
    Atomics.store(stopFlag, 1 + index, generationsSeen);
    lastGen = s.generation;
    const g = s.generation;
    const okGroups = s.groups.length === 1 + (g % 7) && s.groups.every((dn) => dn.startsWith('cn=g' + g + '-'));
    const members = g % 5 === 0 ? 3000 : 1 + (g % 13) * 20;
    const first = s.groupsOf('u' + g + '-0');
    const last = s.groupsOf('u' + g + '-' + (members - 1));
    const okMembers = s.memberCount === members && first.length === s.groups.length && last.length === s.groups.length
      && s.groupsOf('u' + (g - 1) + '-0').length === 0;
    if (!okGroups || !okMembers) { bad++; if (errors.length < 5) errors.push({ g, groups: s.groups.slice(0, 3), memberCount: s.memberCount }); }
  }
}
parentPort.postMessage({ reads, bad, generationsSeen, backwards, retries: reader.retries, decodes: reader.decodes, errors });
`;

describe('snapshot codec', () => {
  it('round-trips groups, ids, generation and time; answers are fresh arrays', () => {
    const groups = new Map<string, string[]>([
      ['cn=a,dc=x', ['id1', 'id2', 'ü-id']],
      ['cn=b,dc=x', ['id2']],
      ['cn=empty,dc=x', []],
    ]);
    const snap = decodeSnapshot(encodeSnapshot({ groups, updatedAt: 1234.5 }, 7));
    expect(snap.generation).toBe(7);
    expect(snap.updatedAt).toBe(1234.5);
    expect(snap.groups).toEqual(['cn=a,dc=x', 'cn=b,dc=x', 'cn=empty,dc=x']);
    expect(snap.memberCount).toBe(3);
    expect(snap.groupsOf('id1')).toEqual(['cn=a,dc=x']);
    expect(snap.groupsOf('id2')).toEqual(['cn=a,dc=x', 'cn=b,dc=x']);
    expect(snap.groupsOf('ü-id')).toEqual(['cn=a,dc=x']);
    expect(snap.groupsOf('nobody')).toEqual([]);
    // Callers own the arrays they get: mutating one answer changes no other.
    snap.groupsOf('id1').push('cn=evil');
    snap.groupsOf('nobody').push('cn=evil');
    expect(snap.groupsOf('ü-id')).toEqual(['cn=a,dc=x']);
    expect(snap.groupsOf('nobody2')).toEqual([]);
  });

  it('rejects damaged encodings with a stable code', () => {
    const bytes = encodeSnapshot({ groups: new Map([['cn=a', ['x', 'y']]]), updatedAt: null }, 1);
    for (const broken of [bytes.subarray(0, 10), bytes.subarray(0, bytes.length - 1), Uint8Array.from([...bytes, 0])]) {
      expect(() => decodeSnapshot(broken)).toThrow(SnapshotFormatError);
    }
    const badMagic = Uint8Array.from(bytes);
    badMagic[0] ^= 0xff;
    try {
      decodeSnapshot(badMagic);
      expect.unreachable();
    } catch (e) {
      expect((e as SnapshotFormatError).code).toBe('snapshot_format');
    }
  });
});

describe('snapshot codec: lookups on the encoded bytes', () => {
  it('finds every id among 20k (hash collisions probed past), non-ASCII and look-alike ids included', () => {
    const groups = new Map<string, string[]>();
    const ids = Array.from({ length: 20_000 }, (_, i) => `id-${i}`);
    for (let g = 0; g < 50; g++) groups.set(`cn=g${g},dc=x`, ids.filter((_, i) => i % 50 === g || i % 7 === g % 7));
    groups.set('cn=ünï,dc=x', ['ü-id', 'id-1']);
    const snap = decodeSnapshot(encodeSnapshot({ groups, updatedAt: null }, 1));
    const want = (i: number): string[] => [...groups.keys()].filter((dn) => groups.get(dn)!.includes(`id-${i}`));
    for (const i of [0, 1, 2, 49, 50, 9999, 19_999]) expect(snap.groupsOf(`id-${i}`)).toEqual(want(i));
    let found = 0;
    for (const id of ids) found += snap.groupsOf(id).length > 0 ? 1 : 0;
    expect(found).toBe(ids.length);
    expect(snap.groupsOf('ü-id')).toEqual(['cn=ünï,dc=x']);
    for (const miss of ['id-20000', 'id-', 'ID-1', 'id-1 ', '']) expect(snap.groupsOf(miss)).toEqual([]);
  });

  it('more than 65,536 groups: group indices widen to 4 bytes', () => {
    const groups = new Map<string, string[]>();
    for (let g = 0; g < 70_000; g++) groups.set(`cn=g${g}`, g % 1000 === 0 || g === 69_999 ? ['u'] : []);
    const snap = decodeSnapshot(encodeSnapshot({ groups, updatedAt: null }, 1));
    expect(snap.groupsOf('u')).toEqual([...Array.from({ length: 70 }, (_, k) => `cn=g${k * 1000}`), 'cn=g69999']);
  });

  it('a damaged index inside the bytes fails the lookup with the format error, never reads outside its section', () => {
    const bytes = encodeSnapshot({ groups: new Map([['cn=a', ['x', 'y']]]), updatedAt: null }, 1);
    const slotsAt = 48 + 4 * 2 + 4 * 3 + 4 * 2 + 4 * 2; // header, groupOff, idOff, idSet, idHash
    const broken = Uint8Array.from(bytes);
    new Uint32Array(broken.buffer, slotsAt, 4).forEach((v, i, a) => {
      if (v !== 0) a[i] = 1000;
    });
    const snap = decodeSnapshot(broken);
    expect(() => snap.groupsOf('x')).toThrow(SnapshotFormatError);
    const intact = decodeSnapshot(Uint8Array.from(bytes));
    expect(intact.groupsOf('x')).toEqual(['cn=a']);
  });

  it('reads from a misaligned view (bytes inside a larger buffer)', () => {
    const bytes = encodeSnapshot({ groups: new Map([['cn=a', ['x']]]), updatedAt: 5 }, 3);
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 1);
    const snap = decodeSnapshot(big.subarray(1, 1 + bytes.length));
    expect(snap.groupsOf('x')).toEqual(['cn=a']);
    expect(snap.updatedAt).toBe(5);
  });
});

/** A store, its writer, and a reader registered with the writer over a channel. */
function storeWithReader(): { writer: SnapshotWriter; reader: SnapshotReader; ch: MessageChannel } {
  const handle = createStoreHandle();
  const ch = new MessageChannel();
  const writer = new SnapshotWriter(handle);
  writer.addReaderPort(ch.port2);
  return { writer, reader: new SnapshotReader({ ...handle, port: ch.port1 }), ch };
}

describe('snapshot store', () => {
  it('same-thread: empty before the first publish, then the latest generation, decoded once per generation', () => {
    const { writer, reader, ch } = storeWithReader();
    expect(reader.read().generation).toBe(0);
    expect(reader.read().groupsOf('u')).toEqual([]);
    writer.publish({ groups: new Map([['cn=a', ['u']]]), updatedAt: 1 });
    expect(reader.read().groupsOf('u')).toEqual(['cn=a']);
    // A larger generation: a buffer of its own, handed over on the port.
    const big = Array.from({ length: 5000 }, (_, i) => `user-${i}`);
    writer.publish({ groups: new Map([['cn=big', big]]), updatedAt: 2 });
    const s = reader.read();
    expect(s.generation).toBe(2);
    expect(s.groupsOf('user-4999')).toEqual(['cn=big']);
    expect(s.byteLength).toBeGreaterThan(64);
    reader.read();
    reader.read();
    expect(reader.decodes).toBe(2);
    // A reader opened later (another thread's handle) starts at the current generation.
    const ch2 = new MessageChannel();
    writer.addReaderPort(ch2.port2);
    const late = new SnapshotReader({ ...reader.handle(), port: ch2.port1 });
    expect(late.read().groupsOf('user-1')).toEqual(['cn=big']);
    for (const p of [ch.port1, ch.port2, ch2.port1, ch2.port2]) p.close();
  });

  it('a reader that does not read keeps only the newest generation, not one buffer per generation', async () => {
    const { writer, reader, ch } = storeWithReader();
    for (let g = 1; g <= 5; g++) writer.publish({ groups: new Map([[`cn=g${g}`, ['u']]]), updatedAt: g });
    await new Promise((r) => setTimeout(r, 50)); // the reader's thread runs its event loop, no read
    expect(receiveMessageOnPort(ch.port1)).toBeUndefined();
    expect(reader.read().groupsOf('u')).toEqual(['cn=g5']);
    expect(reader.decodes).toBe(1);
    for (const p of [ch.port1, ch.port2]) p.close();
  });

  it('a second writer takes over from the reader\'s handle (worker restart) and readers continue', () => {
    const { writer: w1, reader, ch } = storeWithReader();
    w1.publish({ groups: new Map([['cn=a', Array.from({ length: 500 }, (_, i) => `u${i}`)]]), updatedAt: 1 });
    expect(reader.read().generation).toBe(1);
    // w1 "dies"; the replacement gets the generation the reader holds and a new port.
    const ch2 = new MessageChannel();
    const r2 = new SnapshotReader({ ...reader.handle(), port: ch2.port1 });
    const w2 = new SnapshotWriter(r2.handle());
    w2.addReaderPort(ch2.port2);
    expect(w2.generation).toBe(1);
    w2.publish({ groups: new Map([['cn=b', Array.from({ length: 2000 }, (_, i) => `v${i}`)]]), updatedAt: 2 });
    w2.publish({ groups: new Map([['cn=c', ['w']]]), updatedAt: 3 });
    expect(r2.read().generation).toBe(3);
    expect(r2.read().groupsOf('w')).toEqual(['cn=c']);
    // The old reader (not registered with w2) is sent nothing by it; it keeps its
    // last whole generation instead of spinning or returning garbage.
    const old = reader.read();
    expect(old.generation === 1 || old.generation === 3).toBe(true);
    for (const p of [ch.port1, ch.port2, ch2.port1, ch2.port2]) p.close();
  });

  it('readers in 3 threads never see a torn or mixed generation while the writer publishes', async () => {
    const { outputFiles } = await build({
      stdin: { contents: READER_SOURCE, resolveDir: root, loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      write: false,
    });
    // A file, not a data: URL, so a failure's stack trace stays readable.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'groups-store-'));
    const readerFile = path.join(dir, 'reader.mjs');
    writeFileSync(readerFile, outputFiles[0]!.text);
    const handle = createStoreHandle();
    const writer = new SnapshotWriter(handle);
    const stop = new SharedArrayBuffer(4 * 4);
    const workers: Worker[] = [];
    const results: Array<Promise<{ reads: number; bad: number; generationsSeen: number; backwards: number; retries: number; decodes: number; errors: unknown[] }>> = [];
    for (let i = 0; i < 3; i++) {
      const ch = new MessageChannel();
      writer.addReaderPort(ch.port2);
      const w = new Worker(readerFile, {
        workerData: { handle: { ...handle, port: ch.port1 }, stop, index: i },
        transferList: [ch.port1],
      });
      workers.push(w);
      results.push(new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      }));
    }
    // Counted, not timed: publish until every reader has seen enough generations (a loaded
    // machine only makes this take longer); the deadline only ends a run whose readers are stuck.
    const progress = new Int32Array(stop);
    const readersSeen = () => Math.min(progress[1]!, progress[2]!, progress[3]!);
    const deadline = Date.now() + 20_000;
    let published = 0;
    while ((published < 300 || readersSeen() < 30) && Date.now() < deadline) {
      writer.publish({ groups: generationContent(writer.generation + 1), updatedAt: Date.now() });
      published++;
      // Yield now and then so the readers' start-up messages are processed.
      if (published % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    Atomics.store(new Int32Array(stop), 0, 1);
    const out = await Promise.all(results);
    await Promise.all(workers.map((w) => w.terminate()));
    rmSync(dir, { recursive: true, force: true });
    expect(published).toBeGreaterThanOrEqual(300);
    for (const r of out) {
      expect(r.errors).toEqual([]);
      expect(r.bad).toBe(0);
      expect(r.backwards).toBe(0);
      expect(r.generationsSeen).toBeGreaterThan(20);
      expect(r.reads).toBeGreaterThan(r.generationsSeen);
    }
  }, 40_000);
});
