// Opens an ldapts Client for one configured server: ldaps:// with the
// configured CA, or ldap:// upgraded with StartTLS (RFC 4513 §3) when
// startTls is set. Shared by the login and the group sync.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Client } from 'ldapts';
import type { LdapServerConfig } from '../config/types.ts';

/** Rejects with a plain Error after `ms`; the LDAP layer maps it to DIRECTORY_UNAVAILABLE. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function tlsOptionsFor(server: LdapServerConfig, host: string): tls.ConnectionOptions {
  const opts: tls.ConnectionOptions = {
    // Node's default, stated so no one "fixes" a test by turning it off.
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    host,
  };
  if (server.caFile) opts.ca = [readFileSync(server.caFile)];
  // SNI must not carry an IP address (RFC 6066 §3); the identity check still uses `host`.
  if (net.isIP(host) === 0) opts.servername = host;
  return opts;
}

/**
 * Requests written during one turn of the event loop leave in one write: a pooled search
 * connection carries the searches of every login in flight, and on loopback or virtual
 * machines each write system call costs more than the request it carries.
 */
function coalesceWrites(socket: net.Socket): void {
  const write = socket.write;
  let corked = false;
  socket.write = function coalescedWrite(this: net.Socket, ...args: unknown[]): boolean {
    if (!corked) {
      corked = true;
      this.cork();
      setImmediate(() => {
        corked = false;
        this.uncork();
      });
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as net.Socket['write'];
}

/** The socket under a Client opened here (pools ref/unref it while it is busy/idle). */
const sockets = new WeakMap<Client, net.Socket>();

export function socketOf(client: Client): net.Socket | undefined {
  return sockets.get(client);
}

/**
 * Connects (and, with startTls, upgrades) a Client. The returned client is
 * not bound. Callers own it and must `unbind()` it in a finally block.
 *
 * One Client is one TCP connection. ldapts transparently reconnects a client whose
 * connection closed when the next operation starts, and that new connection is anonymous
 * and, with StartTLS, plaintext: a search on it would answer as anonymous (no user, no
 * group) and a bind on it would send the password in the clear. The connection factories
 * below therefore work once; a reconnect fails like a refused connection.
 */
export async function openLdapClient(server: LdapServerConfig): Promise<Client> {
  const url = new URL(server.uri);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const secure = url.protocol === 'ldaps:';
  let connected = false;
  const once = (): void => {
    if (connected) throw new Error('LDAP connection closed; a client is never reconnected');
    connected = true;
  };
  let client: Client;
  const remember = <S extends net.Socket>(socket: S): S => {
    // LDAP is request/response with small messages, several in flight on a pooled
    // connection: Nagle's algorithm would hold a request back until the previous one is acknowledged.
    socket.setNoDelay(true);
    coalesceWrites(socket);
    sockets.set(client, socket);
    return socket;
  };
  client = new Client({
    url: `${url.protocol}//${url.host}`,
    connectTimeout: server.connectTimeoutMs,
    timeout: server.operationTimeoutMs,
    // ldapts switches to TLS-on-connect whenever tlsOptions is set, so pass
    // them only for ldaps://; StartTLS gets them below.
    ...(secure ? { tlsOptions: tlsOptionsFor(server, host) } : {}),
    createConnection: ((port: number, h: string) => {
      once();
      return remember(net.connect(port, h));
    }) as typeof net.connect,
    createSecureConnection: ((...args: unknown[]) => {
      // (port, host, options) for ldaps://; (options with the plain socket) for the StartTLS upgrade.
      if (typeof args[0] === 'number') {
        once();
        return remember(tls.connect(args[0], args[1] as string, args[2] as tls.ConnectionOptions));
      }
      return remember(tls.connect(args[0] as tls.ConnectionOptions));
    }) as typeof tls.connect,
  });
  if (server.startTls && !secure) {
    try {
      // ldapts applies no timeout to the TLS handshake after the StartTLS exop.
      await withTimeout(client.startTLS(tlsOptionsFor(server, host)), server.connectTimeoutMs, 'StartTLS');
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw err;
    }
  }
  return client;
}

/** Unbinds and closes, ignoring errors (the connection may already be gone). */
export async function closeLdapClient(client: Client | undefined): Promise<void> {
  if (!client) return;
  await client.unbind().catch(() => undefined);
}

/**
 * A connection bound as the service account. Opening it (TCP, TLS, service bind) is
 * bounded by connectTimeoutMs as a whole: a hung server accepts the TCP connection and
 * never answers the bind, and must count as unreachable after the connect timeout, not
 * after the operation timeout.
 */
export async function openServiceClient(server: LdapServerConfig): Promise<Client> {
  const client = await openLdapClient(server);
  try {
    await withTimeout(client.bind(server.bindDn, server.bindPassword), server.connectTimeoutMs, 'service bind');
  } catch (err) {
    await closeLdapClient(client);
    throw err;
  }
  return client;
}

/** Health probe of one server (`server.uri`): a service-account session opened and closed. */
export async function probeServer(server: LdapServerConfig): Promise<void> {
  await closeLdapClient(await openServiceClient(server));
}
