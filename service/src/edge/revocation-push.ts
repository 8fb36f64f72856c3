// Revocation at the edge, service side: every revocation (a session = refresh
// family = the `sid` of its access tokens, or one access token by `jti`) is
// POSTed to each configured nginx (nginx/revocation-endpoint.conf), which then
// refuses those tokens at once instead of at their exp.
//
// Never in the user's way: revoking only enqueues; each edge has its own
// bounded queue and one request in flight, retried with capped exponential
// backoff until the entry's `until` has passed (after that nginx would refuse
// the token as expired anyway). Every failed attempt is a log line and a metric.
import { readFileSync } from 'node:fs';
import { MAX_ENTRIES, isRevocationId, revocationKey, type RevocationKind } from '#njs/revocation/entries.ts';
import { secretFromFile } from '#njs/revocation/secret.ts';
import type { Logger } from '../ops/logger.ts';
import type { GaugeSource, Metrics } from '../ops/metrics.ts';

export interface EdgeRevocationSettings {
  /** Revocation endpoint of each nginx. */
  urls: string[];
  /** Shared secret file (nginx reads the same one: $ljwt_revocation_secret_file); re-read for every request. */
  secretFile: string;
  /** The largest $ljwt_leeway of those nginx: they accept a token until exp + leeway. */
  edgeLeewaySeconds: number;
  /** config.accessTokenTtlSeconds: the latest exp of a session's token is its issue time plus this. */
  accessTokenTtlSeconds: number;
}

export interface EdgeRevocationOptions {
  /** Seconds since epoch: the clock the tokens are dated with. */
  now: () => number;
  logger: Logger;
  metrics: Metrics;
  /** Entries waiting per edge; beyond it the entry that expires first is dropped (logged, counted). */
  maxQueue?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  requestTimeoutMs?: number;
}

/**
 * A token minted by a refresh that passed its family check just before the
 * family was revoked is dated a moment after the revocation: the session entry
 * outlives the latest exp by this much.
 */
export const IN_FLIGHT_MARGIN_SECONDS = 10;

const DEFAULT_MAX_QUEUE = 10_000;
const DEFAULT_INITIAL_BACKOFF_MS = 500;
const DEFAULT_MAX_BACKOFF_MS = 30_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

interface Pending {
  kind: RevocationKind;
  id: string;
  until: number;
}

const errorText = (e: unknown): string => {
  if (!(e instanceof Error)) return 'unknown error';
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? `${e.message}: ${cause.message}` : e.message;
};

/** One nginx: its queue (dict key -> entry, one per key with the latest until) and its sender. */
class EdgeQueue {
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private failures = 0;
  private closed = false;

  constructor(private readonly url: string, private readonly owner: EdgeRevocationPush) {}

  get size(): number {
    return this.pending.size;
  }

  add(p: Pending): void {
    if (this.closed) return;
    const key = revocationKey(p.kind, p.id);
    const prev = this.pending.get(key);
    if (prev !== undefined) {
      // A new object even when only until grows: a request in flight with the old one must not clear it.
      if (p.until > prev.until) this.pending.set(key, p);
    } else {
      // Full: of the queued entries and the new one, the one that expires first goes.
      if (this.pending.size >= this.owner.maxQueue && !this.dropFirstToExpire(p)) {
        this.schedule(0);
        return;
      }
      this.pending.set(key, p);
    }
    this.schedule(0);
  }

  /** Drops the queued entry expiring first, or reports (false) that the candidate expires sooner and is the one dropped. */
  private dropFirstToExpire(candidate: Pending): boolean {
    let victimKey: string | null = null;
    let victim: Pending = candidate;
    for (const [k, v] of this.pending) if (v.until < victim.until) { victimKey = k; victim = v; }
    if (victimKey !== null) this.pending.delete(victimKey);
    this.owner.metrics.edgeRevocationEntries.inc({ edge: this.url, outcome: 'dropped' });
    this.owner.logger.error('edge_revocation_dropped', { edge: this.url, kind: victim.kind, until: victim.until,
      queued: this.pending.size, hint: 'queue full: the edge has been unreachable; that revocation holds only in the service' });
    return victimKey !== null;
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.sending || this.timer !== null) return;
    this.timer = setTimeout(() => { this.timer = null; void this.send(); }, delayMs);
    this.timer.unref();
  }

  private pruneExpired(now: number): void {
    for (const [k, v] of this.pending) {
      if (v.until <= now) {
        this.pending.delete(k);
        this.owner.metrics.edgeRevocationEntries.inc({ edge: this.url, outcome: 'expired' });
        this.owner.logger.warn('edge_revocation_expired', { edge: this.url, kind: v.kind, until: v.until,
          hint: 'never delivered; the token it revoked has expired now anyway' });
      }
    }
  }

  private async send(): Promise<void> {
    if (this.closed || this.sending) return;
    this.pruneExpired(this.owner.now());
    if (this.pending.size === 0) return;
    this.sending = true;
    const batch: Array<[string, Pending]> = [];
    for (const entry of this.pending) {
      batch.push(entry);
      if (batch.length >= MAX_ENTRIES) break;
    }
    let failure: { status?: number; error?: string } | null = null;
    try {
      const secret = secretFromFile(readFileSync(this.owner.settings.secretFile, 'utf8'));
      const body = JSON.stringify({ revoke: batch.map(([, p]) => (p.kind === 'sid' ? { sid: p.id, until: p.until } : { jti: p.id, until: p.until })) });
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.owner.requestTimeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      // 204 is what the endpoint answers; anything else (a 200 from a location without the handler,
      // a redirect) is no proof that nginx stored the entries.
      if (res.status !== 204) failure = { status: res.status };
    } catch (e) {
      failure = { error: errorText(e) };
    }
    this.sending = false;
    if (this.closed) return;
    if (failure === null) {
      this.failures = 0;
      for (const [k, p] of batch) if (this.pending.get(k) === p) this.pending.delete(k);
      this.owner.metrics.edgeRevocationEntries.inc({ edge: this.url, outcome: 'stored' }, batch.length);
      if (this.pending.size > 0) this.schedule(0);
      return;
    }
    this.failures++;
    const base = Math.min(this.owner.maxBackoffMs, this.owner.initialBackoffMs * 2 ** Math.min(this.failures - 1, 30));
    // Jitter: several service instances retrying against one nginx that comes back should not arrive together.
    const delay = Math.round(base * (0.5 + Math.random() * 0.5));
    this.owner.metrics.edgeRevocationFailures.inc({ edge: this.url });
    this.owner.logger.warn('edge_revocation_push_failed', { edge: this.url, ...failure, entries: batch.length,
      queued: this.pending.size, attempt: this.failures, retry_in_ms: delay });
    this.schedule(delay);
  }

  close(): number {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    return this.pending.size;
  }
}

export class EdgeRevocationPush {
  readonly maxQueue: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  private readonly queues: EdgeQueue[];

  constructor(readonly settings: EdgeRevocationSettings, opts: EdgeRevocationOptions) {
    this.now = opts.now;
    this.logger = opts.logger;
    this.metrics = opts.metrics;
    this.maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.initialBackoffMs = opts.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS;
    this.maxBackoffMs = opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.queues = settings.urls.map((u) => new EdgeQueue(u, this));
  }

  /**
   * Every access token of a session (sid = refresh family): kept at the edge
   * until the latest one that may have been issued before now has expired there.
   */
  revokeSession(sid: string): void {
    this.enqueue('sid', sid, this.now() + this.settings.accessTokenTtlSeconds + this.settings.edgeLeewaySeconds + IN_FLIGHT_MARGIN_SECONDS);
  }

  /**
   * One access token, for `ttlSeconds` (Revocations.revokeJti: its exp minus
   * now plus the service's leeway) plus the edge's leeway.
   */
  revokeToken(jti: string, ttlSeconds: number): void {
    if (ttlSeconds <= 0) return;
    this.enqueue('jti', jti, this.now() + ttlSeconds + this.settings.edgeLeewaySeconds);
  }

  private enqueue(kind: RevocationKind, id: string, until: number): void {
    // The edge refuses the whole push for one bad id; this service's ids always pass.
    if (!isRevocationId(id)) {
      this.logger.error('edge_revocation_invalid_id', { kind });
      return;
    }
    for (const q of this.queues) q.add({ kind, id, until });
  }

  /** Entries waiting over all edges. */
  queued(): number {
    return this.queues.reduce((n, q) => n + q.size, 0);
  }

  gauges: GaugeSource = async () => [
    { name: 'ljwt_edge_revocation_queued', help: 'Revocations waiting to be stored by an nginx (summed over the configured edges).', value: this.queued() },
  ];

  /** Waits until every queue is empty or `ms` have passed (shutdown: let the last revocations out). */
  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.queued() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /** Stops sending; what is still queued is lost (logged). */
  close(): void {
    let lost = 0;
    for (const q of this.queues) lost += q.close();
    if (lost > 0) this.logger.warn('edge_revocation_unsent_at_shutdown', { entries: lost });
  }
}
