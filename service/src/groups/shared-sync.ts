// One group sync for several service instances sharing Redis (service/redisUrl).
//
// Every instance runs this loop around its SyncEngine; one of them holds the sync lease
// (sync-lease.ts) and is the only one that reads LDAP: it syncs every intervalSeconds and
// publishes the snapshot through Redis (snapshot-transport.ts). The others load each new
// published generation (notified by pub/sub, and checked every tick in case a notification
// was missed) and never sync while a holder renews its lease. One lease covers the whole
// sync: the snapshot merges every directory (<ldapServer>), so its holder syncs them all.
//
// - A tick every leaseMs/10: the holder renews, the others try to take the lease (it is
//   free once the holder stopped renewing: dead, paused, cut off). A new holder syncs when
//   the published snapshot is intervalSeconds old (at once when nothing is published).
// - Redis unreachable: the instance syncs on its own schedule ("alone") and logs it;
//   when Redis answers again it goes back to the lease.
// - syncNow() (POST /admin/sync) on an instance that does not hold the lease asks the
//   holder over pub/sub to sync now, waits for its answer and loads the result before
//   returning it; with no holder it takes the lease and syncs itself. The answer names
//   the instance that synced (`syncedBy`) and, per directory, the replica (`servedBy`).
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { ServiceConfig } from '../config/types.ts';
import type { Logger } from '../ops/logger.ts';
import { errorText } from './log.ts';
import { defineLeaseCommands, SYNC_KEY_PREFIX, SyncLease } from './sync-lease.ts';
import type { DirectorySyncStatus, SyncEngine, SyncResult } from './sync-engine.ts';
import { decodeSnapshot, SnapshotFormatError } from './snapshot-codec.ts';
import { defineTransportCommands, PUBLISHED_CHANNEL, SnapshotChecksumError, SnapshotTransport, type PublishedRecord } from './snapshot-transport.ts';
import { FIRST_SYNC_RETRY_MS } from './sync-engine.ts';

export const DEFAULT_LEASE_SECONDS = 30;
const REQUEST_CHANNEL = `${SYNC_KEY_PREFIX}sync-request`;
const RESULT_CHANNEL = `${SYNC_KEY_PREFIX}sync-result`;
/** How long POST /admin/sync on a non-holder waits for the holder's answer. */
const HOLDER_ANSWER_MS = 120_000;

export interface SharedSyncSettings {
  redisUrl: string;
  leaseMs: number;
  intervalMs: number;
  /** Names this process in the lease and in sync answers; default host/pid/random. */
  instance?: string;
}

/** The shared-sync settings of a configuration, or undefined without Redis (each instance syncs alone). */
export function sharedSyncSettings(config: Pick<ServiceConfig, 'redisUrl' | 'groupSync'>): SharedSyncSettings | undefined {
  if (config.redisUrl === undefined || config.redisUrl === '') return undefined;
  return {
    redisUrl: config.redisUrl,
    leaseMs: (config.groupSync.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000,
    intervalMs: config.groupSync.intervalSeconds * 1000,
  };
}

export type SharedRole = 'holder' | 'follower' | 'alone';

export interface SharedSyncStatus {
  instance: string;
  /** holder: syncs and publishes; follower: loads what the holder publishes; alone: Redis unreachable, syncs itself. */
  role: SharedRole;
  /** The published generation this instance serves (published or loaded); 0 before any. */
  generation: number;
  /** ms epoch of the last load of a published snapshot; null before any. */
  lastLoadAt: number | null;
  loads: number;
  /** Published snapshots refused (checksum or record invalid). */
  loadErrors: number;
}

/** A sync's result, with the instance that ran it. */
export type SharedSyncResult = SyncResult & {
  syncedBy: { instance: string; role: 'holder' | 'alone' };
  /** The generation published through Redis after this sync (the same on every instance once loaded); 0 when alone. */
  sharedGeneration: number;
  /** The instance that was asked, when the holder ran the sync for it. */
  answeredBy?: string;
};

export interface SyncLoop {
  restored: boolean;
  /** Settles once a first snapshot is served (synced or loaded) or the first attempt ended. */
  firstSync: Promise<unknown>;
  syncNow(): Promise<SyncResult>;
  close(): Promise<void>;
}

/** Runs the engine alone (no Redis), or as one of the instances sharing a sync through Redis. */
export async function startSyncLoop(engine: SyncEngine, shared: SharedSyncSettings | undefined, log: Logger,
  onShared?: (s: SharedSyncStatus) => void, unrefTimer = false): Promise<SyncLoop> {
  if (shared === undefined) {
    const { restored, firstSync } = await engine.start();
    return { restored, firstSync, syncNow: () => engine.syncNow(), close: () => engine.close() };
  }
  const restored = await engine.restore();
  const sync = new SharedSync(engine, shared, log, onShared, unrefTimer);
  const firstSync = sync.start();
  return {
    restored,
    firstSync,
    syncNow: () => sync.syncNow(),
    close: async () => {
      await sync.close();
      await engine.close();
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A lost directory: published data exists for it, this instance has none (a new holder whose sync of it failed). */
function losesDirectory(published: DirectorySyncStatus[], own: DirectorySyncStatus[]): string | null {
  const ownByDir = new Map(own.map((d) => [d.directory, d]));
  const lost = published.find((d) => d.syncedAt !== null && (ownByDir.get(d.directory)?.syncedAt ?? null) === null);
  return lost?.directory ?? null;
}

export class SharedSync {
  readonly #engine: SyncEngine;
  readonly #settings: SharedSyncSettings;
  readonly #log: Logger;
  readonly #onStatus: ((s: SharedSyncStatus) => void) | undefined;
  readonly #unref: boolean;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #lease: SyncLease;
  readonly #transport: SnapshotTransport;
  readonly #tickMs: number;
  readonly #status: SharedSyncStatus;
  readonly #waiting = new Map<string, (r: SharedSyncResult) => void>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #nextSyncAt = 0;
  #failedSyncs = 0;
  #syncing: Promise<SharedSyncResult> | null = null;
  #loading: Promise<void> = Promise.resolve();
  #refusedGeneration = 0;
  #firstDone: () => void = () => undefined;
  #firstServed = false;

  constructor(engine: SyncEngine, settings: SharedSyncSettings, log: Logger, onStatus?: (s: SharedSyncStatus) => void, unref = false) {
    this.#engine = engine;
    this.#settings = settings;
    this.#log = log;
    this.#onStatus = onStatus;
    this.#unref = unref;
    const instance = settings.instance ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
    this.#status = { instance, role: 'follower', generation: 0, lastLoadAt: null, loads: 0, loadErrors: 0 };
    this.#tickMs = Math.max(50, Math.min(5000, Math.floor(settings.leaseMs / 10)));
    // No offline queue: while Redis is unreachable a command fails at once and the
    // instance syncs alone, instead of queueing lease renewals that would arrive late.
    this.#redis = new Redis(settings.redisUrl, {
      enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: Math.min(5000, settings.leaseMs), commandTimeout: settings.leaseMs,
    });
    this.#redis.on('error', () => {});
    defineLeaseCommands(this.#redis);
    defineTransportCommands(this.#redis);
    this.#sub = this.#redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
    this.#sub.on('error', () => {});
    this.#lease = new SyncLease(this.#redis, settings.leaseMs, instance);
    this.#transport = new SnapshotTransport(this.#redis);
  }

  get status(): SharedSyncStatus {
    return { ...this.#status };
  }

  #emit(): void {
    this.#onStatus?.(this.status);
  }

  /** Connects, runs the first tick; resolves once a first snapshot is served or the first attempt ended. */
  start(): Promise<void> {
    const first = new Promise<void>((resolve) => {
      this.#firstDone = () => {
        this.#firstServed = true;
        resolve();
      };
    });
    this.#sub.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
    void this.#sub.subscribe(PUBLISHED_CHANNEL, REQUEST_CHANNEL, RESULT_CHANNEL).catch(() => undefined);
    const ready = Promise.race([once(this.#redis, 'ready'), sleep(Math.min(5000, this.#settings.leaseMs))]);
    void ready.then(() => this.#tick());
    this.#emit();
    return first;
  }

  async #tick(): Promise<void> {
    this.#timer = null;
    if (this.#closed) return;
    try {
      const wasAlone = this.#status.role === 'alone';
      if (this.#lease.claim && !(await this.#lease.renew())) {
        this.#log.warn('group sync lease lost; another instance syncs now', { instance: this.#status.instance });
      }
      if (!this.#lease.claim && (await this.#lease.acquire())) await this.#becomeHolder();
      this.#setRole(this.#lease.claim ? 'holder' : 'follower');
      if (wasAlone) this.#log.info('redis answers again; the group sync is shared through it', { role: this.#status.role });
      if (this.#status.role === 'follower') {
        await this.#loadIfNewer();
        // With nothing published and no holder, nobody is about to publish: nothing to wait for.
        if (!this.#firstServed && (await this.#transport.head()) === null && (await this.#lease.holder()) === null) this.#firstDone();
      }
    } catch (e) {
      if (this.#closed) return;
      this.#goAlone(e);
    }
    if (this.#closed) return;
    if ((this.#status.role === 'holder' || this.#status.role === 'alone') && this.#syncing === null && Date.now() >= this.#nextSyncAt) {
      void this.#syncOwn().catch(() => undefined);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#tickMs);
    if (this.#unref) this.#timer.unref();
  }

  #setRole(role: SharedRole): void {
    if (this.#status.role === role) return;
    this.#status.role = role;
    this.#emit();
  }

  async #becomeHolder(): Promise<void> {
    const claim = this.#lease.claim!;
    this.#log.info('group sync lease taken; this instance syncs the directories', { instance: this.#status.instance, fence: claim.fence });
    await this.#loadIfNewer();
    const head = await this.#transport.head();
    // The previous holder's schedule goes on: the directory sees one sync per interval.
    this.#nextSyncAt = head === null ? 0 : head.record.publishedAt + this.#settings.intervalMs;
  }

  #goAlone(e: unknown): void {
    this.#lease.drop();
    if (this.#status.role !== 'alone') {
      this.#log.warn('redis unreachable; this instance syncs the groups on its own until it answers', { error: errorText(e) });
      const updatedAt = this.#engine.status.updatedAt;
      this.#nextSyncAt = updatedAt === null ? 0 : updatedAt + this.#settings.intervalMs;
      this.#setRole('alone');
    }
  }

  /** Syncs on this instance (holder or alone) and, as holder, publishes; one at a time. */
  #syncOwn(): Promise<SharedSyncResult> {
    if (this.#syncing) {
      // A sync requested while one runs gets the follow-up sync the engine queues.
      const after = this.#syncing.catch(() => undefined).then(() => this.#syncOwn());
      return after;
    }
    const run = (async (): Promise<SharedSyncResult> => {
      const role: 'holder' | 'alone' = this.#lease.claim ? 'holder' : 'alone';
      const result = await this.#engine.syncNow();
      const allRead = this.#engine.allDirectoriesRead;
      this.#failedSyncs = allRead ? 0 : this.#failedSyncs + 1;
      // While a directory has no groups its users' logins wait: retry soon (5 s, 10 s, ...) up to the interval.
      const retry = Math.min(this.#settings.intervalMs, FIRST_SYNC_RETRY_MS * 2 ** Math.min(10, this.#failedSyncs - 1));
      this.#nextSyncAt = allRead ? result.startedAt + this.#settings.intervalMs : Date.now() + retry;
      if (role === 'holder') await this.#publish().catch((e: unknown) => this.#goAlone(e));
      this.#firstDone();
      return { ...result, syncedBy: { instance: this.#status.instance, role }, sharedGeneration: role === 'holder' ? this.#status.generation : 0 };
    })();
    this.#syncing = run;
    void run.finally(() => {
      if (this.#syncing === run) this.#syncing = null;
    }).catch(() => undefined);
    return run;
  }

  async #publish(): Promise<void> {
    const claim = this.#lease.claim;
    const encoded = this.#engine.published();
    if (claim === null || encoded === null) return;
    const st = this.#engine.status;
    const head = await this.#transport.head();
    const lost = head === null ? null : losesDirectory(head.record.directories, st.directories);
    if (lost !== null) {
      this.#log.warn('not publishing: this instance has no groups of a directory the published snapshot has', { directory: lost });
      await this.#loadIfNewer(true);
      return;
    }
    const record: PublishedRecord = {
      instance: this.#status.instance, fence: claim.fence, publishedAt: Date.now(), updatedAt: st.updatedAt,
      groupCount: st.groupCount, memberCount: st.memberCount, directories: st.directories,
    };
    let out = await this.#transport.publish(claim, head?.sha256 === encoded.sha256 ? null : encoded.body, encoded.sha256, record);
    if (!out.ok && out.refused === 'body') out = await this.#transport.publish(claim, encoded.body, encoded.sha256, record);
    if (out.ok) {
      this.#status.generation = out.generation;
      this.#emit();
      return;
    }
    // Paused or cut off past the lease: a newer holder's snapshot wins, never ours.
    this.#lease.drop();
    this.#setRole('follower');
    this.#log.warn('group sync lease lost before publishing; the snapshot of the current holder is kept', { refused: out.refused, fence: claim.fence });
    await this.#loadIfNewer();
  }

  /** Loads the published generation when newer than the one served (one load at a time). */
  #loadIfNewer(force = false): Promise<void> {
    const next = this.#loading.then(() => this.#load(force));
    this.#loading = next.catch(() => undefined);
    return next;
  }

  async #load(force: boolean): Promise<void> {
    const head = await this.#transport.head();
    if (head === null) return;
    if (!force && (head.generation <= this.#status.generation || head.generation === this.#refusedGeneration)) return;
    const current = this.#engine.published();
    if (current !== null && current.sha256 === head.sha256) {
      // Same groups, newer sync: take the facts, skip the bytes.
      this.#engine.adopt(current.body, head.sha256, head.record);
    } else {
      let snap;
      try {
        snap = await this.#transport.load();
        // Bytes in a format this version cannot read (published by another version of the
        // service) are refused here, not by every lookup on the HTTP thread.
        if (snap !== null) decodeSnapshot(snap.body);
      } catch (e) {
        if (e instanceof SnapshotFormatError) {
          this.#refusedGeneration = head.generation;
          this.#status.loadErrors++;
          this.#emit();
          this.#log.error('published group snapshot has a format this version cannot read; keeping the current one', { generation: head.generation, error: errorText(e) });
          return;
        }
        if (!(e instanceof SnapshotChecksumError)) throw e;
        this.#refusedGeneration = head.generation;
        this.#status.loadErrors++;
        this.#emit();
        this.#log.error('published group snapshot refused; keeping the current one', { generation: head.generation, error: errorText(e) });
        await this.#transport.forgetChecksum(head.sha256);
        return;
      }
      if (snap === null) return;
      this.#engine.adopt(snap.body, snap.sha256, snap.record);
    }
    this.#status.generation = head.generation;
    this.#status.lastLoadAt = Date.now();
    this.#status.loads++;
    this.#emit();
    this.#log.debug?.('group snapshot loaded from redis', { generation: head.generation, publishedBy: head.record.instance });
    this.#firstDone();
  }

  #onMessage(channel: string, message: string): void {
    if (this.#closed) return;
    if (channel === PUBLISHED_CHANNEL) {
      if (this.#status.role === 'follower') void this.#loadIfNewer().catch(() => undefined);
      return;
    }
    let m: { id?: unknown; result?: SharedSyncResult };
    try {
      m = JSON.parse(message) as typeof m;
    } catch {
      return;
    }
    if (typeof m.id !== 'string') return;
    if (channel === REQUEST_CHANNEL && this.#status.role === 'holder') {
      const id = m.id;
      void this.#syncOwn().then(
        (result) => this.#redis.publish(RESULT_CHANNEL, JSON.stringify({ id, result })),
        (e: unknown) => this.#log.error('sync requested by another instance failed', { error: errorText(e) }),
      ).catch(() => undefined);
    } else if (channel === RESULT_CHANNEL && m.result !== undefined) {
      this.#waiting.get(m.id)?.(m.result);
    }
  }

  /** A sync now, by the lease holder (asked through Redis) or by this instance. */
  async syncNow(): Promise<SharedSyncResult> {
    if (this.#closed) throw new Error('group sync closed');
    try {
      if (this.#status.role === 'alone' || this.#lease.claim !== null || (await this.#lease.acquire())) {
        if (this.#lease.claim !== null && this.#status.role !== 'holder') {
          await this.#becomeHolder();
          this.#setRole('holder');
        }
        return await this.#syncOwn();
      }
      return await this.#askHolder();
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('the group sync lease holder')) throw e;
      this.#goAlone(e);
      return this.#syncOwn();
    }
  }

  async #askHolder(): Promise<SharedSyncResult> {
    const id = randomBytes(12).toString('hex');
    let answered: SharedSyncResult | null = null;
    this.#waiting.set(id, (r) => {
      answered = r;
    });
    try {
      await this.#redis.publish(REQUEST_CHANNEL, JSON.stringify({ id, from: this.#status.instance }));
      const deadline = Date.now() + HOLDER_ANSWER_MS;
      while (answered === null) {
        await sleep(Math.min(this.#tickMs, 100));
        if (answered !== null) break;
        // The holder went away meanwhile: the lease is free, this instance syncs.
        if (await this.#lease.acquire()) {
          await this.#becomeHolder();
          this.#setRole('holder');
          return await this.#syncOwn();
        }
        if (this.#closed || Date.now() > deadline) throw new Error('the group sync lease holder did not answer');
      }
      const result: SharedSyncResult = answered;
      // Serve what the holder published before answering: a change made before the
      // request is then seen by this instance too.
      await this.#loadIfNewer();
      return { ...result, answeredBy: this.#status.instance };
    } finally {
      this.#waiting.delete(id);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#firstDone();
    await this.#syncing?.catch(() => undefined);
    // Handing the lease over at once: another instance need not wait for it to expire.
    await this.#lease.release().catch(() => undefined);
    this.#sub.disconnect();
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }
}
