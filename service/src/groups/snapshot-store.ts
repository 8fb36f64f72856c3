// The seed's "swap-two" store done without locks: one writer (the sync worker), any
// number of readers (the main thread, other worker threads), all sharing memory.
//
// Layout: a control block (Int32Array over a SharedArrayBuffer) and two data slots,
// each its own SharedArrayBuffer. Generation g lives in slot g % 2, so publishing g+1
// writes the slot readers are NOT using. Each slot has a sequence counter (seqlock):
//   writer: seq[s]++ (odd) -> [grow] -> copy bytes, set len -> seq[s]++ (even) -> PUB = g+1
//   reader: g = PUB; s = g % 2; q1 = seq[s] (retry if odd); copy len bytes;
//           q2 = seq[s] (retry if q2 != q1); open the private copy (O(1), lookups read it).
// A reader never waits for a write in progress (that write targets the other slot), and
// a copy that overlapped a rewrite of its slot (the writer lapped it by two generations)
// is detected by the changed sequence and retried, so a read is always one whole
// generation, never torn or mixed. Atomics operations are sequentially consistent; the
// re-check uses an RMW (Atomics.add(…, 0)) because on weakly ordered CPUs (arm64) a
// plain seq-cst load does not stop the preceding plain loads of the copy from being
// satisfied after it, while an RMW is a full barrier there.
//
// Growth: there is no size limit. When an encoding does not fit its slot, the writer
// allocates a bigger SharedArrayBuffer for that slot and posts it to every reader's
// MessagePort BEFORE publishing; postMessage enqueues synchronously, so a reader that
// sees the new buffer epoch in the control block fetches the buffer with
// receiveMessageOnPort() on the spot (no async hop on the read path).
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { decodeSnapshot, emptySnapshot, encodeSnapshot, type GroupSnapshot, type SnapshotInput } from './snapshot-codec.ts';

const PUB = 0;
const SLOT_BASE = [1, 4] as const; // seq, len, epoch
/** Last buffer epoch handed out; in shared memory so a restarted writer never reuses one. */
const EPOCH_COUNTER = 7;
const CONTROL_INTS = 8;
const MAX_READ_ATTEMPTS = 10_000;

export interface StoreHandle {
  control: SharedArrayBuffer;
  buffers: [SharedArrayBuffer, SharedArrayBuffer];
  /** Buffer epochs of `buffers` (the control block names the epoch each slot uses). */
  epochs: [number, number];
}

export interface ReaderHandle extends StoreHandle {
  /** Receives { slot, epoch, buffer } when the writer grows a slot. */
  port: MessagePort;
}

interface BufferMessage {
  type: 'ljwt-groups-buffer';
  slot: 0 | 1;
  epoch: number;
  buffer: SharedArrayBuffer;
}

function isBufferMessage(m: unknown): m is BufferMessage {
  return typeof m === 'object' && m !== null && (m as BufferMessage).type === 'ljwt-groups-buffer';
}

/** Allocates the control block and both slots; slot epochs start at 1 and 2. */
export function createStoreHandle(initialBytes = 256 * 1024): StoreHandle {
  const control = new SharedArrayBuffer(CONTROL_INTS * 4);
  const ctl = new Int32Array(control);
  ctl[SLOT_BASE[0] + 2] = 1;
  ctl[SLOT_BASE[1] + 2] = 2;
  ctl[EPOCH_COUNTER] = 2;
  return { control, buffers: [new SharedArrayBuffer(initialBytes), new SharedArrayBuffer(initialBytes)], epochs: [1, 2] };
}

export class SnapshotWriter {
  readonly #ctl: Int32Array;
  readonly #buffers: [SharedArrayBuffer, SharedArrayBuffer];
  readonly #ports = new Set<MessagePort>();

  constructor(handle: StoreHandle) {
    this.#ctl = new Int32Array(handle.control);
    this.#buffers = [handle.buffers[0], handle.buffers[1]];
    // Taking over from a writer that died (worker restart): the published slot's buffer is
    // the one in the handle (readers drained it); the other slot may have been grown and
    // posted without the control block being updated yet, so the handle's buffer is adopted.
    const published = (Atomics.load(this.#ctl, PUB) & 1) as 0 | 1;
    if (Atomics.load(this.#ctl, PUB) !== 0 && handle.epochs[published] !== Atomics.load(this.#ctl, SLOT_BASE[published] + 2)) {
      throw new Error('SnapshotWriter: the handle does not hold the published buffer');
    }
    for (const slot of [0, 1] as const) Atomics.store(this.#ctl, SLOT_BASE[slot] + 2, handle.epochs[slot]);
    const maxEpoch = Math.max(handle.epochs[0], handle.epochs[1]);
    if (Atomics.load(this.#ctl, EPOCH_COUNTER) < maxEpoch) Atomics.store(this.#ctl, EPOCH_COUNTER, maxEpoch);
    // A writer taking over (worker restart) must not leave a slot marked as being written.
    for (const base of SLOT_BASE) if (Atomics.load(this.#ctl, base) & 1) Atomics.add(this.#ctl, base, 1);
  }

  get generation(): number {
    return Atomics.load(this.#ctl, PUB);
  }

  /** Registers a reader's port; it is sent the current buffers so it can start at any time. */
  addReaderPort(port: MessagePort): void {
    this.#ports.add(port);
    for (const slot of [0, 1] as const) {
      const msg: BufferMessage = { type: 'ljwt-groups-buffer', slot, epoch: Atomics.load(this.#ctl, SLOT_BASE[slot] + 2), buffer: this.#buffers[slot] };
      port.postMessage(msg);
    }
  }

  removeReaderPort(port: MessagePort): void {
    this.#ports.delete(port);
  }

  /** Encodes and publishes the next generation; returns it. */
  publish(input: SnapshotInput): { generation: number; byteLength: number } {
    const next = (Atomics.load(this.#ctl, PUB) + 1) | 0;
    return this.publishEncoded(encodeSnapshot(input, next), next);
  }

  /** Publishes bytes already encoded for generation `next` (must be PUB + 1). */
  publishEncoded(bytes: Uint8Array, next: number): { generation: number; byteLength: number } {
    if (next !== ((Atomics.load(this.#ctl, PUB) + 1) | 0)) throw new Error('publishEncoded: generation is not PUB + 1 (single writer only)');
    const slot = (next & 1) as 0 | 1;
    const base = SLOT_BASE[slot];
    Atomics.add(this.#ctl, base, 1); // odd: slot being written
    if (bytes.length > this.#buffers[slot].byteLength) {
      const size = Math.ceil((bytes.length * 1.5) / 4096) * 4096;
      const buffer = new SharedArrayBuffer(size);
      const epoch = Atomics.add(this.#ctl, EPOCH_COUNTER, 1) + 1;
      this.#buffers[slot] = buffer;
      const msg: BufferMessage = { type: 'ljwt-groups-buffer', slot, epoch, buffer };
      for (const port of this.#ports) port.postMessage(msg);
      Atomics.store(this.#ctl, base + 2, epoch);
    }
    new Uint8Array(this.#buffers[slot], 0, bytes.length).set(bytes);
    Atomics.store(this.#ctl, base + 1, bytes.length);
    Atomics.add(this.#ctl, base, 1); // even: slot complete
    Atomics.store(this.#ctl, PUB, next);
    return { generation: next, byteLength: bytes.length };
  }


}

export class SnapshotReader {
  readonly #ctl: Int32Array;
  readonly #buffers: [SharedArrayBuffer, SharedArrayBuffer];
  readonly #epochs: [number, number];
  readonly #port: MessagePort | undefined;
  #cached: GroupSnapshot = emptySnapshot();
  #cachedGen = 0;
  /** Reads that had to retry because the writer overlapped them (for tests and metrics). */
  retries = 0;
  decodes = 0;

  constructor(handle: StoreHandle | ReaderHandle) {
    this.#ctl = new Int32Array(handle.control);
    this.#buffers = [handle.buffers[0], handle.buffers[1]];
    // Buffers newer than the handle's arrive on the port.
    this.#epochs = [handle.epochs[0], handle.epochs[1]];
    this.#port = 'port' in handle ? handle.port : undefined;
    this.#drain();
  }

  #drain(): void {
    if (!this.#port) return;
    for (;;) {
      const m = receiveMessageOnPort(this.#port);
      if (!m) return;
      if (isBufferMessage(m.message) && m.message.epoch > this.#epochs[m.message.slot]) {
        this.#buffers[m.message.slot] = m.message.buffer;
        this.#epochs[m.message.slot] = m.message.epoch;
      }
    }
  }

  #buffer(slot: 0 | 1, epoch: number): SharedArrayBuffer | null {
    if (this.#epochs[slot] !== epoch) this.#drain();
    return this.#epochs[slot] === epoch ? this.#buffers[slot] : null;
  }

  /** Published generation (one atomic load). */
  get generation(): number {
    return Atomics.load(this.#ctl, PUB);
  }

  /** The latest whole generation; decoded at most once per generation. */
  read(): GroupSnapshot {
    if (Atomics.load(this.#ctl, PUB) === this.#cachedGen) return this.#cached;
    for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
      if (attempt > 0) this.retries++;
      const g = Atomics.load(this.#ctl, PUB);
      if (g === this.#cachedGen) return this.#cached;
      const slot = (g & 1) as 0 | 1;
      const base = SLOT_BASE[slot];
      const q1 = Atomics.load(this.#ctl, base);
      if (q1 & 1) continue;
      const len = Atomics.load(this.#ctl, base + 1);
      const buf = this.#buffer(slot, Atomics.load(this.#ctl, base + 2));
      // The writer posts a grown buffer before publishing into it, so a buffer that is not
      // on the port after a drain is not coming (a writer this reader is not registered
      // with): keep answering from the last whole generation instead of spinning.
      if (buf === null) break;
      if (len > buf.byteLength) continue;
      // A memcpy (no zero-fill: every byte is overwritten); decoding it is O(1)
      // (snapshot-codec.ts), so this copy is a new generation's only cost on this thread.
      const copy = Buffer.allocUnsafeSlow(len);
      copy.set(new Uint8Array(buf, 0, len));
      if (Atomics.add(this.#ctl, base, 0) !== q1) continue;
      const snap = decodeSnapshot(copy);
      this.decodes++;
      // Whole, but g+2 if the writer lapped us between the PUB load and q1; PUB may not
      // show g+2 yet, and answering g+2 then g+1 would step back in time: retry.
      if (snap.generation !== (g >>> 0)) continue;
      this.#cached = snap;
      this.#cachedGen = snap.generation;
      return snap;
    }
    // Only a writer publishing faster than a copy completes, 10k times in a row, or a
    // missing buffer gets here. Generation 0 is the empty snapshot (no groups: fails closed).
    if (this.#cachedGen !== 0) return this.#cached;
    throw new Error('group snapshot: no consistent read');
  }

  /** Buffers and epochs this reader holds (to start another reader or a restarted writer). */
  handle(): StoreHandle {
    this.#drain();
    return { control: this.#ctl.buffer as SharedArrayBuffer, buffers: [this.#buffers[0], this.#buffers[1]], epochs: [this.#epochs[0], this.#epochs[1]] };
  }

  close(): void {
    this.#port?.close();
  }
}
