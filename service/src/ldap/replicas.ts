// Health of the replicas of one directory (the <uri> elements of one <ldapServer>).
// A replica that refused, timed out or stayed silent is marked down and skipped; it is
// probed in the background (connect + service bind) after a backoff that doubles on each
// further failure up to retryMaxMs, and used again once a probe succeeds. Requests never
// wait for a replica known to be down: with every replica down they fail at once, saying
// when the next probe is due (Retry-After).
//
// Used by the login (main thread) and by the group sync (worker thread); each thread
// keeps its own view, learnt from its own traffic.
import type { LdapServerConfig } from '../config/types.ts';
import { describeLdapError } from './errors.ts';
import type { Logger } from '../ops/logger.ts';

export const DEFAULT_RETRY_INITIAL_MS = 1000;
export const DEFAULT_RETRY_MAX_MS = 30_000;

/** The replica URLs of a directory, in order of preference. */
export function replicaUris(server: LdapServerConfig): string[] {
  return server.uris !== undefined && server.uris.length > 0 ? server.uris : [server.uri];
}

/** The directory's settings with `uri` set to one replica (what connect.ts opens). */
export function atReplica(server: LdapServerConfig, uri: string): LdapServerConfig {
  return uri === server.uri ? server : { ...server, uri };
}

export interface ReplicaStatus {
  /** The directory (its first replica's URL). */
  directory: string;
  uri: string;
  up: boolean;
  /** Failures since the replica was last up (0 while up). */
  failures: number;
  /** Times the replica was marked down since start. */
  downs: number;
  /** ms until the next background probe; 0 while up. */
  retryInMs: number;
  lastError: string | null;
}

/** No replica of a directory is up: callers answer "unavailable" without waiting. */
export class DirectoryUnavailableError extends Error {
  override readonly name = 'DirectoryUnavailableError';
  /** The code the login answers with (LdapLoginError DIRECTORY_UNAVAILABLE). */
  readonly code = 'DIRECTORY_UNAVAILABLE';
  constructor(
    readonly directory: string,
    /** Seconds until the earliest probe of a replica, at least 1. */
    readonly retryAfterSeconds: number,
    readonly failures: string[],
  ) {
    super(`no replica of ${directory} is available${failures.length ? `: ${failures.join('; ')}` : ''}`);
  }
}

export interface ReplicaSetOptions {
  /** Connects to the replica and binds as the service account; rejects when it cannot. */
  probe: (uri: string) => Promise<void>;
  /** Fields never carry passwords. */
  log?: Logger;
  /** Keep probe timers from holding the process open (default true). */
  unref?: boolean;
}

class Replica {
  up = true;
  failures = 0;
  downs = 0;
  retryAt = 0;
  lastError: string | null = null;
  timer: NodeJS.Timeout | null = null;
  /** The probe running now (background retry or hang check), shared by everyone asking. */
  probing: Promise<boolean> | null = null;
  /** Rejects the requests waiting on this replica when it is marked down. */
  readonly waiters = new Set<(e: Error) => void>();
  constructor(readonly uri: string) {}
}

export class ReplicaSet {
  readonly directory: string;
  readonly #replicas: Replica[];
  readonly #server: LdapServerConfig;
  readonly #opts: ReplicaSetOptions;
  #closed = false;

  constructor(server: LdapServerConfig, opts: ReplicaSetOptions) {
    this.directory = server.uri;
    this.#server = server;
    this.#replicas = replicaUris(server).map((u) => new Replica(u));
    this.#opts = opts;
  }

  status(now = Date.now()): ReplicaStatus[] {
    return this.#replicas.map((r) => ({
      directory: this.directory,
      uri: r.uri,
      up: r.up,
      failures: r.failures,
      downs: r.downs,
      retryInMs: r.up ? 0 : Math.max(0, r.retryAt - now),
      lastError: r.lastError,
    }));
  }

  /**
   * `attempt` on the first replica that is up, then on the next while `isFault` says the
   * error is the replica's (unreachable, timed out, refused the service account). Any other
   * error is the directory's answer and is thrown as is. With `watch`, an attempt that is
   * still unanswered after a quarter of the connect timeout triggers a probe of its replica (and
   * of the other replicas that are up); if the probe fails too the replica is down and the
   * attempt moves on without waiting for its operation timeout (a hung server accepts TCP
   * connections and never answers). With
   * `evenIfAllDown`, replicas that are down are tried too when none is up (a sync, which
   * runs seldom and must not wait for the next probe); otherwise the call fails at once.
   * With `lastHeard` (ms epoch of the replica's last reply; a sync's many operations), the
   * replica is probed whenever it has been silent for half the connect timeout, for as long
   * as the attempt runs; a failed probe moves the attempt on, while a slow server that
   * still answers the probe is waited for.
   */
  async run<T>(attempt: (uri: string) => Promise<T>, isFault: (e: unknown) => boolean,
    opts: { watch?: boolean; evenIfAllDown?: boolean; lastHeard?: (uri: string) => number } = {}): Promise<{ value: T; uri: string }> {
    const failures: string[] = [];
    const tryDown = opts.evenIfAllDown === true && !this.anyUp();
    for (const r of this.#replicas) {
      // Checked at each step: a replica found down meanwhile (by a probe) is not waited for.
      if (!r.up && !tryDown) continue;
      try {
        const lastHeard = opts.lastHeard;
        const value = await (opts.watch ? this.#watched(r, attempt(r.uri))
          : lastHeard !== undefined ? this.#watchedWhileSilent(r, attempt(r.uri), () => lastHeard(r.uri)) : attempt(r.uri));
        this.markUp(r.uri);
        return { value, uri: r.uri };
      } catch (e) {
        if (!isFault(e)) throw e;
        const reason = describeLdapError(e);
        failures.push(`${r.uri}: ${reason}`);
        if (r.up || tryDown) this.markDown(r.uri, reason);
        this.#opts.log?.warn('ldap replica failed, trying the next one', { directory: this.directory, server: r.uri, reason });
      }
    }
    throw new DirectoryUnavailableError(this.directory, this.retryAfterSeconds(), failures);
  }

  /** Seconds until the earliest background probe (at least 1). */
  retryAfterSeconds(now = Date.now()): number {
    const down = this.#replicas.filter((r) => !r.up);
    if (down.length < this.#replicas.length) return 1;
    return Math.max(1, Math.ceil(Math.min(...down.map((r) => r.retryAt - now)) / 1000));
  }

  anyUp(): boolean {
    return this.#replicas.some((r) => r.up);
  }

  markDown(uri: string, reason: string): void {
    const r = this.#replicas.find((x) => x.uri === uri);
    if (r === undefined || this.#closed) return;
    const wasUp = r.up;
    r.up = false;
    r.failures++;
    if (wasUp) r.downs++;
    r.lastError = reason;
    const initial = this.#server.retryInitialMs ?? DEFAULT_RETRY_INITIAL_MS;
    const max = this.#server.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;
    const wait = Math.min(max, initial * 2 ** Math.min(30, r.failures - 1));
    r.retryAt = Date.now() + wait;
    if (wasUp) this.#opts.log?.error('ldap replica down; skipped until a probe succeeds', { directory: this.directory, server: uri, reason, retryInMs: wait });
    for (const reject of r.waiters) reject(new Error(`${uri} is down: ${reason}`));
    r.waiters.clear();
    this.#scheduleProbe(r, wait);
  }

  markUp(uri: string): void {
    const r = this.#replicas.find((x) => x.uri === uri);
    if (r === undefined || r.up) return;
    r.up = true;
    r.failures = 0;
    r.retryAt = 0;
    if (r.timer) clearTimeout(r.timer);
    r.timer = null;
    this.#opts.log?.info('ldap replica up again', { directory: this.directory, server: uri });
  }

  /** Probes every replica now (for /readyz): true when one is up afterwards. */
  async probeAll(): Promise<boolean> {
    await Promise.all(this.#replicas.map((r) => this.#probe(r)));
    return this.anyUp();
  }

  close(): void {
    this.#closed = true;
    for (const r of this.#replicas) {
      if (r.timer) clearTimeout(r.timer);
      r.timer = null;
    }
  }

  #scheduleProbe(r: Replica, wait: number): void {
    if (r.timer) clearTimeout(r.timer);
    r.timer = setTimeout(() => {
      r.timer = null;
      void this.#probe(r);
    }, wait);
    if (this.#opts.unref !== false) r.timer.unref();
  }

  /** One probe at a time per replica; its outcome marks the replica up or down. */
  #probe(r: Replica): Promise<boolean> {
    if (this.#closed) return Promise.resolve(r.up);
    r.probing ??= this.#opts.probe(r.uri).then(
      () => {
        this.markUp(r.uri);
        return true;
      },
      (e: unknown) => {
        this.markDown(r.uri, `probe: ${describeLdapError(e)}`);
        return false;
      },
    ).finally(() => {
      r.probing = null;
    });
    return r.probing;
  }

  async #watched<T>(r: Replica, op: Promise<T>): Promise<T> {
    // The other replicas that are up are probed at the same time: when they hang too (one host,
    // one storage), the request fails after one probe, not after one probe per replica.
    const suspect = setTimeout(() => {
      for (const x of this.#replicas) if (x === r || x.up) void this.#probe(x);
    }, Math.max(1, Math.floor(this.#server.connectTimeoutMs / 4)));
    return this.#untilDown(r, op, () => clearTimeout(suspect));
  }

  /** Probes `r` each time it has been silent for connectTimeoutMs / 2 while `op` runs. */
  async #watchedWhileSilent<T>(r: Replica, op: Promise<T>, lastHeard: () => number): Promise<T> {
    const silence = Math.max(1, Math.floor(this.#server.connectTimeoutMs / 2));
    const check = setInterval(() => {
      if (Date.now() - lastHeard() >= silence) void this.#probe(r);
    }, Math.max(1, Math.floor(silence / 2)));
    if (this.#opts.unref !== false) check.unref();
    return this.#untilDown(r, op, () => clearInterval(check));
  }

  /** `op`, or a rejection as soon as `r` is marked down (the operation is then abandoned). */
  async #untilDown<T>(r: Replica, op: Promise<T>, done: () => void): Promise<T> {
    // The operation keeps running after the replica is given up; its outcome is then nobody's.
    op.catch(() => undefined);
    let reject!: (e: Error) => void;
    const down = new Promise<never>((_, rej) => {
      reject = rej;
    });
    r.waiters.add(reject);
    try {
      return await Promise.race([op, down]);
    } finally {
      done();
      r.waiters.delete(reject);
    }
  }
}
