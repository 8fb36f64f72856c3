// Opens an ldapts Client for one configured server: ldaps:// with the
// configured CA, or ldap:// upgraded with StartTLS (RFC 4513 §3) when
// startTls is set. Shared by the login and the group sync.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
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
 * Connects (and, with startTls, upgrades) a Client. The returned client is
 * not bound. Callers own it and must `unbind()` it in a finally block.
 */
export async function openLdapClient(server: LdapServerConfig): Promise<Client> {
  const url = new URL(server.uri);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const secure = url.protocol === 'ldaps:';
  const client = new Client({
    url: `${url.protocol}//${url.host}`,
    connectTimeout: server.connectTimeoutMs,
    timeout: server.operationTimeoutMs,
    // ldapts switches to TLS-on-connect whenever tlsOptions is set, so pass
    // them only for ldaps://; StartTLS gets them below.
    ...(secure ? { tlsOptions: tlsOptionsFor(server, host) } : {}),
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
