// Connection pools of one directory server for the login. Opening a connection costs a TCP
// (and TLS) handshake and, for searches, a service-account bind: per login that was two
// connections, two binds and two unbinds around the one search and one bind the login needs.
//
// Two pools that never share a connection:
// - SearchPool: a few connections bound as the service account. Searches are multiplexed on
//   them (RFC 4511 §4.1.1.1 message IDs). No bind other than the service bind ever runs on them.
// - BindPool: connections that only ever carry user binds, one at a time each (RFC 4511 §4.2.1:
//   no other operation may be outstanding during a bind). A successful bind leaves the
//   connection authenticated as that user, a failed one leaves it anonymous; both are fine
//   for the next bind, and nothing else is ever sent on it. The pool hands out no Client.
import { ResultCodeError, type Client } from 'ldapts';
import { closeLdapClient, socketOf } from './connect.ts';

export interface PoolLimits {
  /** Connections bound as the service account that carry the searches (concurrently). */
  searchConnections: number;
  /** Connections for user binds; at most this many binds are in flight, the others wait. */
  bindConnections: number;
  /** A connection unused this long is closed (directories drop idle ones: AD after 15 minutes). */
  idleMs: number;
  /**
   * How long a bind waits for a free bind connection before the server counts as failed;
   * default: the server's operationTimeoutMs.
   */
  acquireTimeoutMs?: number;
}

export const DEFAULT_POOL_LIMITS: PoolLimits = { searchConnections: 2, bindConnections: 8, idleMs: 60_000 };

/** The error of an operation whose connection is unusable: closed, reset, timed out. */
function connectionLost(err: unknown): boolean {
  // ResultCodeError: the server answered (noSuchObject, busy, invalidCredentials, ...): the connection is fine.
  return !(err instanceof ResultCodeError);
}

/** ldapts destroys the socket on an operation timeout; retrying would double the wait on a hung server. */
function timedOut(err: unknown): boolean {
  return err instanceof Error && /timed out|timeout/i.test(err.message);
}

/** Idle pooled sockets must not keep the process alive; busy ones do. */
function setBusy(client: Client, busy: boolean): void {
  const s = socketOf(client);
  if (busy) s?.ref();
  else s?.unref();
}

interface SearchSlot {
  client: Client;
  inFlight: number;
  lastUsed: number;
}

export class PoolClosedError extends Error {
  override readonly name = 'PoolClosedError';
}

/** Every bind connection stayed busy for acquireTimeoutMs: this service is saturated, the replica is not known to be down. */
export class PoolBusyError extends Error {
  override readonly name = 'PoolBusyError';
}

/**
 * Service-account connections, opened lazily (at most `size`), used round robin. A
 * connection that was closed, timed out or broke is dropped and replaced by the next caller.
 */
export class SearchPool {
  private readonly slots: Array<SearchSlot | undefined>;
  private readonly opening: Array<Promise<SearchSlot> | undefined>;
  private next = 0;
  private closed = false;

  /** `open` returns a connected client bound as the service account. */
  constructor(private readonly open: () => Promise<Client>, private readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('searchConnections must be a positive integer');
    this.slots = new Array<SearchSlot | undefined>(size).fill(undefined);
    this.opening = new Array<Promise<SearchSlot> | undefined>(size).fill(undefined);
  }

  /** Open connections (for tests and metrics). */
  connections(): number {
    return this.slots.filter((s) => s !== undefined).length;
  }

  private async slot(i: number): Promise<{ slot: SearchSlot; fresh: boolean }> {
    const s = this.slots[i];
    // isBound is false once the connection closed (ldapts resets it): never search on such a client.
    if (s !== undefined && s.client.isBound) return { slot: s, fresh: false };
    if (s !== undefined) this.drop(i, s);
    let p = this.opening[i];
    if (p === undefined) {
      p = this.open().then((client) => {
        const slot: SearchSlot = { client, inFlight: 0, lastUsed: Date.now() };
        if (this.closed) {
          void closeLdapClient(client);
          throw new PoolClosedError('LDAP pool closed');
        }
        setBusy(client, false);
        this.slots[i] = slot;
        return slot;
      }).finally(() => {
        this.opening[i] = undefined;
      });
      this.opening[i] = p;
    }
    return { slot: await p, fresh: true };
  }

  private drop(i: number, s: SearchSlot): void {
    if (this.slots[i] === s) this.slots[i] = undefined;
    void closeLdapClient(s.client);
  }

  /**
   * Runs read-only operations on a service-account connection. When a reused connection
   * turns out to be broken (the server closed it while idle), `fn` runs once more on a new
   * one: searches have no side effects. Not after a timeout, which would double the wait.
   */
  async run<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    if (this.closed) throw new PoolClosedError('LDAP pool closed');
    const i = this.next;
    this.next = (this.next + 1) % this.size;
    for (let attempt = 1; ; attempt++) {
      const { slot, fresh } = await this.slot(i);
      slot.inFlight++;
      if (slot.inFlight === 1) setBusy(slot.client, true);
      try {
        const result = await fn(slot.client);
        // ldapts re-opens a closed connection at the start of an operation (anonymous): the
        // one-shot connection factory (connect.ts) refuses that, and this catches anything else.
        if (!slot.client.isBound) throw new Error('LDAP service connection lost during the operation');
        return result;
      } catch (err) {
        if (!connectionLost(err)) throw err;
        this.drop(i, slot);
        if (fresh || attempt > 1 || timedOut(err) || this.closed) throw err;
      } finally {
        slot.inFlight--;
        slot.lastUsed = Date.now();
        if (slot.inFlight === 0) setBusy(slot.client, false);
      }
    }
  }

  /** Closes connections idle for idleMs. */
  sweep(idleMs: number, now = Date.now()): void {
    this.slots.forEach((s, i) => {
      if (s !== undefined && s.inFlight === 0 && now - s.lastUsed >= idleMs) this.drop(i, s);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.opening.filter((p) => p !== undefined));
    const open = this.slots.filter((s): s is SearchSlot => s !== undefined);
    this.slots.fill(undefined);
    await Promise.all(open.map((s) => closeLdapClient(s.client)));
  }
}

interface Waiter {
  resolve: (c: Client | undefined) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Connections that carry user binds only. bind() takes an idle connection (or opens one
 * while fewer than `max` exist, or waits for one), binds, and gives it back, unless the
 * connection broke or timed out: then it is closed, since the server may still process a
 * bind whose answer never came.
 */
export class BindPool {
  private readonly idle: Array<{ client: Client; since: number }> = [];
  private readonly waiters: Waiter[] = [];
  private total = 0;
  private closed = false;

  /** `open` returns a client that is not bound (connected lazily by its first bind, or after StartTLS). */
  constructor(private readonly open: () => Promise<Client>, private readonly max: number, private readonly acquireTimeoutMs: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('bindConnections must be a positive integer');
  }

  /** Connections open or being opened (for tests and metrics). */
  connections(): number {
    return this.total;
  }

  /** Binds waiting for a connection (for tests and metrics). */
  waiting(): number {
    return this.waiters.length;
  }

  /** An idle connection, or undefined when the caller may open a new one (a slot is reserved for it). */
  private acquire(): Promise<Client | undefined> {
    if (this.closed) return Promise.reject(new PoolClosedError('LDAP pool closed'));
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      // A connection the server closed while idle: ldapts would reconnect it (the one-shot
      // factory refuses); replace it instead.
      if (c.client.isConnected) return Promise.resolve(c.client);
      this.discard(c.client);
    }
    if (this.total < this.max) {
      this.total++;
      return Promise.resolve(undefined);
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.waiters.indexOf(w);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(new PoolBusyError(`no LDAP bind connection free within ${this.acquireTimeoutMs} ms`));
        }, this.acquireTimeoutMs),
      };
      this.waiters.push(w);
    });
  }

  private release(client: Client): void {
    if (this.closed) {
      this.discard(client);
      return;
    }
    const w = this.waiters.shift();
    if (w !== undefined) {
      clearTimeout(w.timer);
      w.resolve(client);
      return;
    }
    setBusy(client, false);
    this.idle.push({ client, since: Date.now() });
  }

  /** Closes a connection (if any was opened) and lets a waiter open a new one in its place. */
  private discard(client: Client | undefined): void {
    void closeLdapClient(client);
    const w = this.waiters.shift();
    if (w !== undefined) {
      clearTimeout(w.timer);
      w.resolve(undefined); // the slot passes to the waiter
      return;
    }
    this.total--;
  }

  /** A simple bind (RFC 4513 §5.1.3) as `dn`; throws what ldapts throws. */
  async bind(dn: string, password: string): Promise<void> {
    let client = await this.acquire();
    if (client === undefined) {
      try {
        client = await this.open();
      } catch (err) {
        this.discard(undefined);
        throw err;
      }
    }
    if (this.closed) {
      this.discard(client);
      throw new PoolClosedError('LDAP pool closed');
    }
    setBusy(client, true);
    try {
      await client.bind(dn, password);
    } catch (err) {
      if (connectionLost(err)) this.discard(client);
      else this.release(client);
      throw err;
    }
    this.release(client);
  }

  sweep(idleMs: number, now = Date.now()): void {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i]!;
      if (now - c.since >= idleMs) {
        this.idle.splice(i, 1);
        this.discard(c.client);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new PoolClosedError('LDAP pool closed'));
    }
    const idle = this.idle.splice(0);
    this.total -= idle.length;
    await Promise.all(idle.map((c) => closeLdapClient(c.client)));
  }
}
