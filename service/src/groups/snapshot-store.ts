// The snapshot store, without locks and without copies: one writer (the sync
// worker), any number of readers (the main thread, other worker threads), all sharing
// memory.
//
// Each generation gets its own SharedArrayBuffer, written once and never changed after:
//   writer: allocate, copy the encoded bytes in, post { generation, buffer } to every
//           reader's MessagePort, then PUB = generation (Atomics.store)
//   reader: g = PUB (Atomics.load); if g is newer than what it holds, take the newest
//           buffer waiting on its port (receiveMessageOnPort: synchronous, no async hop)
//           and open it in place (snapshot-codec.ts: O(1), lookups read the shared bytes).
// postMessage enqueues synchronously, so a buffer is on the port before PUB names its
// generation; a buffer is immutable once posted, so a read is always one whole generation,
// never torn or mixed, and a reader never copies, waits or retries. A generation's memory
// is freed once no thread holds its snapshot any more (readers drop the old one when they
// move to the next). The control block keeps PUB, so a restarted writer continues the
// numbering.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { decodeSnapshot, emptySnapshot, encodeSnapshot, type GroupSnapshot, type SnapshotInput } from './snapshot-codec.ts';

const PUB = 0;
const CONTROL_INTS = 2;

/** A published generation: its bytes are buffer[0, length) and never change. */
export interface PublishedGeneration {
  generation: number;
  buffer: SharedArrayBuffer;
  length: number;
}

export interface StoreHandle {
  control: SharedArrayBuffer;
  /** The latest generation the holder of the handle knows (null before the first publish). */
  current: PublishedGeneration | null;
}

export interface ReaderHandle extends StoreHandle {
  /** Receives every generation the writer publishes. */
  port: MessagePort;
}

interface GenerationMessage extends PublishedGeneration {
  type: 'ljwt-groups-generation';
}

function isGenerationMessage(m: unknown): m is GenerationMessage {
  return typeof m === 'object' && m !== null && (m as GenerationMessage).type === 'ljwt-groups-generation';
}

/** A control block with nothing published yet. */
export function createStoreHandle(): StoreHandle {
  return { control: new SharedArrayBuffer(CONTROL_INTS * 4), current: null };
}

export class SnapshotWriter {
  readonly #ctl: Int32Array;
  readonly #ports = new Set<MessagePort>();
  #current: PublishedGeneration | null;

  constructor(handle: StoreHandle) {
    this.#ctl = new Int32Array(handle.control);
    // Taking over from a writer that died (worker restart): the handle must hold what is
    // published, or readers registered from now on could not get it.
    const published = Atomics.load(this.#ctl, PUB);
    if (published !== 0 && handle.current?.generation !== published) {
      throw new Error('SnapshotWriter: the handle does not hold the published generation');
    }
    this.#current = handle.current;
  }

  get generation(): number {
    return Atomics.load(this.#ctl, PUB);
  }

  /** Registers a reader's port; it is sent the current generation so it can start at any time. */
  addReaderPort(port: MessagePort): void {
    this.#ports.add(port);
    if (this.#current !== null) port.postMessage({ type: 'ljwt-groups-generation', ...this.#current } satisfies GenerationMessage);
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
    const buffer = new SharedArrayBuffer(bytes.length);
    new Uint8Array(buffer).set(bytes);
    const published: PublishedGeneration = { generation: next, buffer, length: bytes.length };
    for (const port of this.#ports) port.postMessage({ type: 'ljwt-groups-generation', ...published } satisfies GenerationMessage);
    this.#current = published;
    Atomics.store(this.#ctl, PUB, next);
    return { generation: next, byteLength: bytes.length };
  }
}

export class SnapshotReader {
  readonly #ctl: Int32Array;
  readonly #port: MessagePort | undefined;
  #latest: PublishedGeneration | null;
  #cached: GroupSnapshot = emptySnapshot();
  #cachedGen = 0;
  /** Always 0: a read never has to retry (kept for callers that report it). */
  readonly retries = 0;
  /** Generations opened (at most one per generation). */
  decodes = 0;

  constructor(handle: StoreHandle | ReaderHandle) {
    this.#ctl = new Int32Array(handle.control);
    this.#latest = handle.current;
    this.#port = 'port' in handle ? handle.port : undefined;
    if (this.#port) {
      // Also taken as they arrive while this thread's event loop runs: a thread that does
      // not read for a long time must not queue a buffer per generation; only the newest is
      // kept. Unref'd: waiting for generations keeps no thread alive.
      this.#port.on('message', (m: unknown) => this.#take(m));
      this.#port.unref();
    }
    this.#drain();
  }

  #take(m: unknown): void {
    if (isGenerationMessage(m) && (this.#latest === null || newer(m.generation, this.#latest.generation))) {
      this.#latest = { generation: m.generation, buffer: m.buffer, length: m.length };
    }
  }

  /** Takes every generation waiting on the port (synchronously: a busy thread reads too); keeps the newest. */
  #drain(): void {
    if (!this.#port) return;
    for (;;) {
      const m = receiveMessageOnPort(this.#port);
      if (!m) return;
      this.#take(m.message);
    }
  }

  /** Published generation (one atomic load). */
  get generation(): number {
    return Atomics.load(this.#ctl, PUB);
  }

  /** The latest generation; opened at most once per generation (O(1), no copy). */
  read(): GroupSnapshot {
    const g = Atomics.load(this.#ctl, PUB);
    if (g === this.#cachedGen) return this.#cached;
    if (this.#latest === null || this.#latest.generation !== g) this.#drain();
    // A writer this reader is not registered with never posts to it: keep answering from the
    // last generation it has (generation 0 is the empty snapshot: no groups, fails closed).
    const latest = this.#latest;
    if (latest === null || latest.generation === this.#cachedGen) return this.#cached;
    const snap = decodeSnapshot(new Uint8Array(latest.buffer, 0, latest.length));
    this.decodes++;
    this.#cached = snap;
    this.#cachedGen = latest.generation;
    return snap;
  }

  /** The control block and the newest generation this reader holds (to start another reader or a restarted writer). */
  handle(): StoreHandle {
    this.#drain();
    return { control: this.#ctl.buffer as SharedArrayBuffer, current: this.#latest };
  }

  close(): void {
    this.#port?.close();
  }
}

/** Generation numbers wrap at 2^31 (| 0): a is newer than b when it is ahead by less than half the range. */
function newer(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
