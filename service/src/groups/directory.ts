// The group directory the HTTP side uses: groupsOf(objectId) answers from the shared
// snapshot (lock-free and copy-free: O(1) to open a generation, O(1) per lookup); the sync runs in a worker
// thread (sync.worker.ts, the only writer) and reports its status by message.
import { MessageChannel, Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServiceConfig } from '../config/types.ts';
import type { Logger } from '../ops/logger.ts';
import { errorText, stderrLog } from './log.ts';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.ts';
import { SnapshotReader, SnapshotWriter, createStoreHandle, type ReaderHandle } from './snapshot-store.ts';
import { SyncEngine, initialEngineStatus, type DirectorySyncStatus, type EngineStatus, type SyncEngineOptions, type SyncResult } from './sync-engine.ts';
import { syncTargets } from './sync-targets.ts';
import { sharedSyncSettings, startSyncLoop, type SharedSyncStatus } from './shared-sync.ts';

export type { SyncResult, SyncServerResult, DirectorySyncStatus } from './sync-engine.ts';

/** One directory's (<ldapServer>'s) part of the snapshot. */
export interface DirectoryStatus extends DirectorySyncStatus {
  ageSeconds: number | null;
  /** No part yet, its last sync failed on every replica, or it is older than maxStaleSeconds. */
  stale: boolean;
}
export type { ReaderHandle } from './snapshot-store.ts';
export { SnapshotReader } from './snapshot-store.ts';

export interface GroupDirectoryStatus {
  generation: number;
  /** ms epoch of the snapshot's sync (its oldest server part). */
  updatedAt: number | null;
  ageSeconds: number | null;
  /**
   * The groups may be out of date: no snapshot yet, or some server's last sync failed
   * (its previous groups are served), or the snapshot is older than maxStaleSeconds.
   */
  stale: boolean;
  groupCount: number;
  memberCount: number;
  lastSyncDurationMs: number | null;
  lastError: string | null;
  syncErrors: number;
  /** With Redis: this instance's part in the shared sync (lease holder or not, loaded generation). */
  shared?: SharedSyncStatus;
}

export interface GroupDirectory {
  /** Configured group DNs (all servers merged) whose nested members include objectId. */
  groupsOf(objectId: string): string[];
  status(): GroupDirectoryStatus;
  /** Runs a sync now (or right after the running one) and resolves with its result. */
  syncNow(): Promise<SyncResult>;
  close(): Promise<void>;
}

export interface GroupDirectoryExtras {
  /** True when the snapshot is missing or older than groupSync.maxStaleSeconds (for /readyz). */
  notReady(): boolean;
  /**
   * Per directory, in configured order: the replica that served its last sync, its age and
   * whether it is stale. The snapshot can serve correct groups for a directory's users
   * while that directory is not stale (for /readyz and /metrics).
   */
  directoryStatus(): DirectoryStatus[];
  /** Encoded size of the current snapshot in shared memory (for /metrics). */
  snapshotBytes(): number;
  /**
   * A handle for a reader in another thread: transfer it (its port in the transferList)
   * and open it there with `new SnapshotReader(handle)`.
   */
  createReaderHandle(): Promise<ReaderHandle>;
}

export interface GroupDirectoryOptions {
  /** 'worker' (default when running the bundle) or 'in-thread' (default from .ts sources, i.e. tests). */
  mode?: 'worker' | 'in-thread';
  /** The built worker (dist/service/groups/sync.worker.js). */
  workerFile?: string | URL;
  expand?: SyncEngineOptions['expand'];
  /** In-thread mode only: custom connect (tests). */
  connect?: SyncEngineOptions['connect'];
  /**
   * Without a restored snapshot: resolve only after the first sync ended (true, the default
   * for embedding and tests), or at once (false: the service listens meanwhile and refuses
   * what needs groups with a retryable 503, see oauth/group-availability.ts).
   */
  awaitFirstSync?: boolean;
}


function defaultWorkerFile(): URL {
  // Bundled, this module lives in dist/service/main.js next to groups/sync.worker.js.
  return new URL('./groups/sync.worker.js', import.meta.url);
}

export async function startGroupDirectory(
  config: ServiceConfig,
  log: Logger = stderrLog,
  options: GroupDirectoryOptions = {},
): Promise<GroupDirectory & GroupDirectoryExtras> {
  const mode = options.mode ?? (import.meta.url.endsWith('.ts') ? 'in-thread' : 'worker');
  const syncConfig = { ldapServers: syncTargets(config, log), groupSync: config.groupSync };
  const store = createStoreHandle();
  let engineStatus: EngineStatus = initialEngineStatus();
  const shared = sharedSyncSettings(config);
  let sharedStatus: SharedSyncStatus | undefined;
  let crashErrors = 0;
  let crashError: string | null = null;

  const channel = new MessageChannel();
  let reader = new SnapshotReader({ ...store, port: channel.port1 });

  const status = (): GroupDirectoryStatus => {
    const updatedAt = engineStatus.updatedAt;
    const ageSeconds = updatedAt === null ? null : Math.max(0, (Date.now() - updatedAt) / 1000);
    const tooOld = ageSeconds === null || ageSeconds > config.groupSync.maxStaleSeconds;
    return {
      generation: reader.generation,
      updatedAt,
      ageSeconds,
      stale: tooOld || engineStatus.degraded || crashError !== null,
      groupCount: engineStatus.groupCount,
      memberCount: engineStatus.memberCount,
      lastSyncDurationMs: engineStatus.lastSyncDurationMs,
      lastError: crashError ?? engineStatus.lastError,
      syncErrors: engineStatus.syncErrors + crashErrors,
      ...(sharedStatus !== undefined ? { shared: sharedStatus } : {}),
    };
  };
  const common = {
    groupsOf(objectId: string): string[] {
      return reader.read().groupsOf(objectId);
    },
    status,
    notReady(): boolean {
      const s = status();
      return s.ageSeconds === null || s.ageSeconds > config.groupSync.maxStaleSeconds;
    },
    directoryStatus(): DirectoryStatus[] {
      const now = Date.now();
      const known = new Map(engineStatus.directories.map((d) => [d.directory, d]));
      return syncConfig.ldapServers.map((server) => {
        const d = known.get(server.uri) ?? { directory: server.uri, syncedAt: null, failing: true, servedBy: null, lastError: null };
        const ageSeconds = d.syncedAt === null ? null : Math.max(0, (now - d.syncedAt) / 1000);
        return { ...d, ageSeconds, stale: d.failing || ageSeconds === null || ageSeconds > config.groupSync.maxStaleSeconds };
      });
    },
    snapshotBytes: (): number => engineStatus.snapshotBytes,
  };

  if (mode === 'in-thread') {
    const writer = new SnapshotWriter(store);
    writer.addReaderPort(channel.port2);
    const engine = new SyncEngine({
      config: syncConfig,
      writer,
      log,
      connect: options.connect,
      expand: options.expand,
      unrefTimer: true,
      onStatus: (s) => {
        engineStatus = s;
      },
      schedule: shared === undefined,
      keepBody: shared !== undefined,
    });
    const loop = await startSyncLoop(engine, shared, log, (s) => {
      sharedStatus = s;
    }, true);
    if (!loop.restored && options.awaitFirstSync !== false) await loop.firstSync.catch(() => undefined);
    return {
      ...common,
      syncNow: () => loop.syncNow(),
      async createReaderHandle() {
        const ch = new MessageChannel();
        writer.addReaderPort(ch.port2);
        return { ...reader.handle(), port: ch.port1 };
      },
      async close() {
        await loop.close();
        reader.close();
        channel.port2.close();
      },
    };
  }

  if (options.connect) throw new Error('startGroupDirectory: connect is only supported in-thread');
  const workerFile = options.workerFile ?? defaultWorkerFile();
  const workerPath = workerFile instanceof URL ? fileURLToPath(workerFile) : workerFile;
  if (!existsSync(workerPath)) throw new Error(`group sync worker not found at ${workerPath} (run npm run build)`);

  let nextId = 1;
  const pending = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  let worker: Worker;
  let closing = false;
  let restartTimer: NodeJS.Timeout | null = null;

  const request = <T,>(msg: ToWorker & { id: number }, transfer: Array<import('node:worker_threads').MessagePort> = []): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      pending.set(msg.id, { resolve: resolve as (v: never) => void, reject });
      worker.postMessage(msg, transfer);
    });

  let firstSyncEnded: () => void = () => undefined;
  const firstSync = new Promise<void>((resolve) => {
    firstSyncEnded = resolve;
  });
  let restoredAtStart = false;

  const spawn = (readerPort: import('node:worker_threads').MessagePort): Promise<void> => {
    const init: WorkerInit = { config: syncConfig, store: reader.handle(), readerPort, expand: options.expand, ...(shared !== undefined ? { shared } : {}) };
    const w = new Worker(workerPath, { workerData: init, transferList: [readerPort] });
    worker = w;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      w.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'started':
            engineStatus = m.status;
            restoredAtStart ||= m.restored;
            started = true;
            crashError = null;
            resolve();
            break;
          case 'status':
            engineStatus = m.status;
            break;
          case 'shared-status':
            sharedStatus = m.status;
            break;
          case 'first-sync':
            engineStatus = m.status;
            firstSyncEnded();
            break;
          case 'sync-result': {
            const p = pending.get(m.id);
            pending.delete(m.id);
            if (m.result) p?.resolve(m.result as never);
            else p?.reject(new Error(m.error ?? 'sync failed'));
            break;
          }
          case 'reader-added': {
            const p = pending.get(m.id);
            pending.delete(m.id);
            p?.resolve(undefined as never);
            break;
          }
          case 'log':
            log[m.level](m.msg, m.fields);
            break;
          case 'closed':
            break;
        }
      });
      w.on('error', (e) => {
        crashError = `group sync worker crashed: ${errorText(e)}`;
        crashErrors++;
        log.error('group sync worker crashed', { error: errorText(e) });
      });
      w.on('exit', (code) => {
        firstSyncEnded();
        for (const p of pending.values()) p.reject(new Error(`group sync worker exited (${code})`));
        pending.clear();
        if (!started) {
          reject(new Error(crashError ?? `group sync worker exited (${code}) before starting`));
          return;
        }
        if (closing) return;
        // Keep serving the snapshot readers already hold; bring the writer back.
        crashError ??= `group sync worker exited (${code})`;
        restartTimer = setTimeout(() => {
          restartTimer = null;
          const ch = new MessageChannel();
          const old = reader;
          reader = new SnapshotReader({ ...old.handle(), port: ch.port1 });
          old.close();
          spawn(ch.port2).catch((e: unknown) => log.error('group sync worker restart failed', { error: errorText(e) }));
        }, 1000);
      });
    });
  };

  await spawn(channel.port2);
  if (!restoredAtStart && options.awaitFirstSync !== false) await firstSync;

  return {
    ...common,
    syncNow: () => request<SyncResult>({ type: 'sync', id: nextId++ }),
    async createReaderHandle() {
      const ch = new MessageChannel();
      await request<void>({ type: 'add-reader', id: nextId++, port: ch.port2 }, [ch.port2]);
      return { ...reader.handle(), port: ch.port1 };
    },
    async close() {
      closing = true;
      if (restartTimer) clearTimeout(restartTimer);
      const exited = new Promise<void>((resolve) => {
        if (worker.threadId === -1) resolve();
        else worker.once('exit', () => resolve());
      });
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      const timer = setTimeout(() => void worker.terminate(), 10_000);
      await exited;
      clearTimeout(timer);
      reader.close();
    },
  };
}
