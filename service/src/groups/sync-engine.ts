// The group sync loop (runs inside sync.worker.ts, or in-thread for tests): expands every
// directory's configured groups (each <ldapServer> on its first replica that is up, falling
// over to the next: ldap/replicas.ts), merges the directories, publishes into the shared
// snapshot and persists the last good data.
//
// Failure rules: a server whose sync fails keeps its previous part (from memory or from
// the snapshot file) and nothing of it is replaced by partial data; the merged snapshot is
// republished only when some server succeeded and the content changed. The snapshot's
// age is that of its OLDEST part, so a server failing for longer than maxStaleSeconds
// makes /readyz fail even while the others are fresh.
import { createHash } from 'node:crypto';
import type { Client } from 'ldapts';
import type { LdapServerConfig, ServiceConfig } from '../config/types.ts';
import { closeLdapClient, openServiceClient, probeServer, socketOf } from '../ldap/connect.ts';
import { isBinaryGuidAttribute } from '../ldap/object-id.ts';
import { atReplica, ReplicaSet, replicaUris } from '../ldap/replicas.ts';
import { dnKey } from './dn.ts';
import { expandGroups, type ExpandOptions, type ExpandStats } from './expand.ts';
import { ldaptsSource } from './ldapts-source.ts';
import { pagingState, type PagingState } from '../ldap/paged-search.ts';
import type { Logger } from '../ops/logger.ts';
import { errorText } from './log.ts';
import { readSnapshotFile, serverKey, writeSnapshotFile, type PersistedPart } from './persist.ts';
import { encodeTable, stampSnapshot } from './snapshot-codec.ts';
import { memberCountOf, mergeTables, selectGroups, type MemberTable } from './member-table.ts';
import type { SnapshotWriter } from './snapshot-store.ts';

export interface SyncServerResult {
  /** The directory (its first replica's URL). */
  uri: string;
  /** The replica that served this sync (the first one up that answered); null when none did. */
  servedBy: string | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
  groupCount: number;
  memberCount: number;
  skippedMembers: number;
  stats: ExpandStats | null;
}

export interface SyncResult {
  /** Every server synced. */
  ok: boolean;
  /** A new generation was published (false when nothing changed or nothing succeeded). */
  published: boolean;
  /** The generation readers see after this sync. */
  generation: number;
  startedAt: number;
  durationMs: number;
  servers: SyncServerResult[];
  error: string | null;
}

export interface EngineStatus {
  generation: number;
  /** ms epoch of the oldest server part in the snapshot; null when there is none. */
  updatedAt: number | null;
  /** Some configured server has no part, or its last sync failed. */
  degraded: boolean;
  groupCount: number;
  memberCount: number;
  snapshotBytes: number;
  lastSyncDurationMs: number | null;
  lastError: string | null;
  syncErrors: number;
  syncs: number;
  /** Per directory (<ldapServer>), in configured order. */
  directories: DirectorySyncStatus[];
}

export interface DirectorySyncStatus {
  /** The directory (its first replica's URL). */
  directory: string;
  /** ms epoch of this directory's last successful sync (or of its restored part); null when none. */
  syncedAt: number | null;
  /** The last sync of this directory failed on every replica (its previous groups are served). */
  failing: boolean;
  /** The replica that served the last successful sync. */
  servedBy: string | null;
  lastError: string | null;
}

export type GroupSyncConfig = Pick<ServiceConfig, 'ldapServers' | 'groupSync'>;

export interface SyncEngineOptions {
  config: GroupSyncConfig;
  writer: SnapshotWriter;
  log: Logger;
  /** Connected and bound client for a server (`uri` is the replica to use); default openServiceClient. */
  connect?: (server: LdapServerConfig) => Promise<Client>;
  expand?: Pick<ExpandOptions, 'mode' | 'bulkThreshold' | 'concurrency' | 'uidBatchSize'> & { pageSize?: number };
  onStatus?: (status: EngineStatus) => void;
  /** Periodic syncs every groupSync.intervalSeconds (default true). */
  schedule?: boolean;
  /** Keep the timer from holding the event loop open (in-thread use). */
  unrefTimer?: boolean;
  /** Keep the last published encoding for published() (to hand it to other instances: shared-sync.ts). */
  keepBody?: boolean;
}

/** The current snapshot as encoded, before generation and time are stamped in (equal content, equal bytes). */
export interface EncodedSnapshot {
  body: Uint8Array;
  /** SHA-256 of body, hex. */
  sha256: string;
}

interface Part {
  syncedAt: number;
  table: MemberTable;
  /** The last attempt for this server failed. */
  failing: boolean;
  servedBy: string | null;
}

/** Status before the first sync: no snapshot, so degraded. */
export function initialEngineStatus(): EngineStatus {
  return {
    generation: 0,
    updatedAt: null,
    degraded: true,
    groupCount: 0,
    memberCount: 0,
    snapshotBytes: 0,
    lastSyncDurationMs: null,
    lastError: null,
    syncErrors: 0,
    syncs: 0,
    directories: [],
  };
}

/** First retry of a failed sync while there is no snapshot at all. */
export const FIRST_SYNC_RETRY_MS = 5000;

export class SyncEngine {
  readonly #opts: SyncEngineOptions;
  readonly #parts = new Map<string, Part>();
  /** Per server: the page size its limits allow (learned once, kept for later syncs). */
  readonly #paging = new Map<string, PagingState>();
  #status: EngineStatus = initialEngineStatus();
  #lastDigest: string | null = null;
  #lastBody: Uint8Array | null = null;
  #running: Promise<SyncResult> | null = null;
  #again: Promise<SyncResult> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Replica health per directory, learnt from the syncs (the login keeps its own). */
  readonly #replicas = new Map<string, ReplicaSet>();
  readonly #lastErrors = new Map<string, string | null>();
  /** Per replica URL: when the sync last heard from it (ms epoch), for the hang detection in replicas.ts. */
  readonly #heard = new Map<string, number>();

  constructor(opts: SyncEngineOptions) {
    this.#opts = opts;
  }

  /**
   * Every directory's groups have been read at least once. Until then its users' logins are
   * refused (503), so a sync that leaves one without groups is retried soon, not after the
   * full interval (here and in shared-sync.ts).
   */
  get allDirectoriesRead(): boolean {
    return this.#opts.config.ldapServers.every((server) => this.#parts.has(serverKey(server)));
  }

  get status(): EngineStatus {
    return { ...this.#status };
  }

  #emit(): void {
    this.#opts.onStatus?.(this.status);
  }

  /** Restores the persisted snapshot (if any) and starts the first sync. */
  async start(): Promise<{ restored: boolean; firstSync: Promise<SyncResult> }> {
    const restored = await this.restore();
    const firstSync = this.syncNow();
    return { restored, firstSync };
  }

  /** Restores the persisted snapshot (if any) without syncing; true when one was published. */
  async restore(): Promise<boolean> {
    const file = this.#opts.config.groupSync.snapshotFile;
    if (!file) return false;
    let parts: PersistedPart[] | null;
    try {
      parts = await readSnapshotFile(file);
    } catch (e) {
      this.#opts.log.error('group snapshot file unreadable; starting without it', { file, error: errorText(e) });
      return false;
    }
    if (!parts) return false;
    const byKey = new Map(parts.map((p) => [p.key, p]));
    for (const server of this.#opts.config.ldapServers) {
      const p = byKey.get(serverKey(server));
      if (!p) continue;
      // Only groups still configured for this server; removed ones must not linger.
      this.#parts.set(serverKey(server), { syncedAt: p.syncedAt, table: selectGroups(p.table, server.groupDns), failing: false, servedBy: null });
    }
    if (this.#parts.size === 0) return false;
    this.#publish();
    this.#opts.log.info('group snapshot restored from file', { file, generation: this.#status.generation, updatedAt: this.#status.updatedAt });
    return true;
  }

  /**
   * Runs a sync now. While one runs, callers get one follow-up sync that starts after it
   * (so a change made before the request is always seen), shared by all such callers.
   */
  syncNow(): Promise<SyncResult> {
    if (this.#closed) return Promise.reject(new Error('group sync closed'));
    if (!this.#running) {
      this.#running = this.#runOnce();
      return this.#running;
    }
    if (!this.#again) {
      const after = this.#running.catch(() => undefined);
      this.#again = after.then(() => {
        this.#again = null;
        this.#running = this.#runOnce();
        return this.#running;
      });
    }
    return this.#again;
  }

  async #runOnce(): Promise<SyncResult> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    try {
      return await this.#sync();
    } finally {
      this.#running = null;
      this.#scheduleNext();
    }
  }

  #scheduleNext(): void {
    if (this.#closed || this.#opts.schedule === false || this.#again) return;
    const interval = Math.max(1, this.#opts.config.groupSync.intervalSeconds) * 1000;
    // Backing off (5 s, 10 s, 20 s, ...) up to the normal interval while a directory has no groups.
    const ms = this.allDirectoriesRead ? interval : Math.min(interval, FIRST_SYNC_RETRY_MS * 2 ** Math.min(10, Math.max(0, this.#status.syncs - 1)));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.syncNow().catch(() => undefined);
    }, ms);
    if (this.#opts.unrefTimer) this.#timer.unref();
  }

  #replicasOf(server: LdapServerConfig): ReplicaSet {
    const key = serverKey(server);
    let set = this.#replicas.get(key);
    if (set === undefined) {
      set = new ReplicaSet(server, { probe: (uri) => probeServer(atReplica(server, uri)), log: this.#opts.log });
      this.#replicas.set(key, set);
    }
    return set;
  }

  /** The directory's groups read from one replica (`server.uri`). */
  async #expandAt(server: LdapServerConfig): Promise<{ table: MemberTable; stats: ExpandStats }> {
    let client: Client | undefined;
    const heard = (): void => {
      this.#heard.set(server.uri, Date.now());
    };
    heard();
    try {
      client = await (this.#opts.connect ?? openServiceClient)(server);
      heard();
      // Any bytes from the server (entries, pages, read results) show it is alive.
      socketOf(client)?.on('data', heard);
      const idAttr = server.objectIdAttribute;
      const source = ldaptsSource(client, {
        paging: this.#pagingOf(server),
        log: this.#opts.log,
        binaryAttributes: isBinaryGuidAttribute(idAttr) ? [idAttr] : [],
      });
      return await expandGroups(source, {
        groupDns: server.groupDns,
        userSearchBase: server.userSearchBase,
        objectIdAttribute: idAttr,
        mode: this.#opts.expand?.mode,
        bulkThreshold: this.#opts.expand?.bulkThreshold,
        concurrency: this.#opts.expand?.concurrency,
        uidBatchSize: this.#opts.expand?.uidBatchSize,
        log: this.#opts.log,
      });
    } finally {
      await closeLdapClient(client);
    }
  }

  /**
   * One directory's sync on the first replica that is up, falling over to the next on any
   * failure: a partial result is never used, and another replica holds the same groups.
   */
  async #syncServer(server: LdapServerConfig): Promise<{ result: SyncServerResult; table: MemberTable | null }> {
    const t0 = performance.now();
    try {
      const { value: { table, stats }, uri } = await this.#replicasOf(server).run((u) => this.#expandAt(atReplica(server, u)), () => true,
        // A server that hangs mid-sync is found by probing it when it falls silent, not after an operation timeout.
        { evenIfAllDown: true, lastHeard: (u) => this.#heard.get(u) ?? 0 });
      return {
        result: {
          uri: server.uri,
          servedBy: uri,
          ok: true,
          error: null,
          durationMs: performance.now() - t0,
          groupCount: table.groups.size,
          memberCount: memberCountOf(table),
          skippedMembers: stats.skippedMembers,
          stats,
        },
        table,
      };
    } catch (e) {
      const error = errorText(e);
      this.#opts.log.error('group sync failed on every replica of the directory; keeping its previous groups', { uri: server.uri, replicas: replicaUris(server), error });
      return {
        result: { uri: server.uri, servedBy: null, ok: false, error, durationMs: performance.now() - t0, groupCount: 0, memberCount: 0, skippedMembers: 0, stats: null },
        table: null,
      };
    }
  }

  #pagingOf(server: LdapServerConfig): PagingState {
    const key = serverKey(server);
    let state = this.#paging.get(key);
    if (!state) {
      state = pagingState(this.#opts.config.groupSync.pageSize ?? this.#opts.expand?.pageSize);
      this.#paging.set(key, state);
    }
    return state;
  }

  async #sync(): Promise<SyncResult> {
    const startedAt = Date.now();
    const t0 = performance.now();
    const servers = this.#opts.config.ldapServers;
    const outcomes = await Promise.all(servers.map((s) => this.#syncServer(s)));
    let anyOk = false;
    const errors: string[] = [];
    outcomes.forEach((o, i) => {
      const key = serverKey(servers[i]!);
      this.#lastErrors.set(key, o.result.error);
      if (o.table) {
        anyOk = true;
        this.#parts.set(key, { syncedAt: startedAt, table: o.table, failing: false, servedBy: o.result.servedBy });
      } else {
        errors.push(`${o.result.uri}: ${o.result.error}`);
        this.#status.syncErrors++;
        const prev = this.#parts.get(key);
        if (prev) prev.failing = true;
      }
    });
    let published = false;
    if (anyOk && !this.#closed) {
      published = this.#publish();
      await this.#persist();
    }
    const durationMs = performance.now() - t0;
    this.#status.syncs++;
    this.#status.lastSyncDurationMs = durationMs;
    this.#status.lastError = errors.length ? errors.join('; ') : null;
    this.#status.degraded = this.#isDegraded();
    this.#status.directories = this.#directoryStatus();
    this.#emit();
    const result: SyncResult = {
      ok: errors.length === 0,
      published,
      generation: this.#status.generation,
      startedAt,
      durationMs,
      servers: outcomes.map((o) => o.result),
      error: this.#status.lastError,
    };
    this.#opts.log.info('group sync finished', {
      ok: result.ok,
      published,
      generation: result.generation,
      durationMs: Math.round(durationMs),
      groups: this.#status.groupCount,
      members: this.#status.memberCount,
    });
    return result;
  }

  #directoryStatus(): DirectorySyncStatus[] {
    return this.#opts.config.ldapServers.map((server) => {
      const key = serverKey(server);
      const p = this.#parts.get(key);
      return {
        directory: server.uri,
        syncedAt: p?.syncedAt ?? null,
        failing: p === undefined || p.failing,
        servedBy: p?.servedBy ?? null,
        lastError: this.#lastErrors.get(key) ?? null,
      };
    });
  }

  #isDegraded(): boolean {
    return this.#opts.config.ldapServers.some((s) => {
      const p = this.#parts.get(serverKey(s));
      return !p || p.failing;
    });
  }

  /** Merges the parts (config order; same DN from two servers: union) and publishes if changed. */
  #publish(): boolean {
    const tables: MemberTable[] = [];
    let updatedAt: number | null = null;
    for (const server of this.#opts.config.ldapServers) {
      const part = this.#parts.get(serverKey(server));
      if (!part) continue;
      updatedAt = updatedAt === null ? part.syncedAt : Math.min(updatedAt, part.syncedAt);
      tables.push(part.table);
    }
    const merged = mergeTables(tables, dnKey);
    this.#status.groupCount = merged.groups.size;
    this.#status.memberCount = memberCountOf(merged);
    this.#status.updatedAt = updatedAt;
    this.#status.degraded = this.#isDegraded();
    this.#status.directories = this.#directoryStatus();
    // Encoded with generation 0 / no time, so equal content gives equal bytes (and digest).
    const body = encodeTable(merged, null, 0);
    const digest = createHash('sha256').update(body).digest('hex');
    if (digest === this.#lastDigest) {
      this.#emit();
      return false;
    }
    this.#publishLocally(body, digest, updatedAt);
    this.#emit();
    return true;
  }

  /** Into the shared memory as the next generation; body is left unstamped (the writer copied it). */
  #publishLocally(body: Uint8Array, digest: string, updatedAt: number | null): void {
    const next = (this.#opts.writer.generation + 1) | 0;
    const { generation, byteLength } = this.#opts.writer.publishEncoded(stampSnapshot(body, next, updatedAt), next);
    stampSnapshot(body, 0, null);
    this.#lastDigest = digest;
    if (this.#opts.keepBody) this.#lastBody = body;
    this.#status.generation = generation;
    this.#status.snapshotBytes = byteLength;
  }

  /** The last published encoding (keepBody only), null before the first. */
  published(): EncodedSnapshot | null {
    return this.#lastBody === null || this.#lastDigest === null ? null : { body: this.#lastBody, sha256: this.#lastDigest };
  }

  /**
   * Serves a snapshot another instance synced (shared-sync.ts): `body` as published() gave it
   * there, already checked against `sha256`. Its bytes are published only when they differ
   * from the current ones; the sync's facts (time, directories) are taken either way.
   */
  adopt(body: Uint8Array, sha256: string, facts: { updatedAt: number | null; groupCount: number; memberCount: number; directories: DirectorySyncStatus[] }): void {
    if (this.#closed) return;
    if (sha256 !== this.#lastDigest) this.#publishLocally(body, sha256, facts.updatedAt);
    this.#status.updatedAt = facts.updatedAt;
    this.#status.groupCount = facts.groupCount;
    this.#status.memberCount = facts.memberCount;
    this.#status.directories = facts.directories;
    this.#status.degraded = facts.directories.length < this.#opts.config.ldapServers.length || facts.directories.some((d) => d.failing);
    const errors = facts.directories.filter((d) => d.lastError !== null).map((d) => `${d.directory}: ${d.lastError}`);
    this.#status.lastError = errors.length ? errors.join('; ') : null;
    this.#emit();
  }

  async #persist(): Promise<void> {
    const file = this.#opts.config.groupSync.snapshotFile;
    if (!file) return;
    const parts: PersistedPart[] = [];
    for (const server of this.#opts.config.ldapServers) {
      const key = serverKey(server);
      const p = this.#parts.get(key);
      if (p) parts.push({ key, syncedAt: p.syncedAt, table: p.table });
    }
    try {
      await writeSnapshotFile(file, parts);
    } catch (e) {
      // Serving continues from memory; the next sync retries the write.
      this.#opts.log.error('could not persist group snapshot', { file, error: errorText(e) });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const set of this.#replicas.values()) set.close();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
  }
}
