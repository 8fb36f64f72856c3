// A plain TCP relay on 127.0.0.1 in front of a real server (slapd), so a test can break
// established connections the way a firewall, a load balancer or a server restart does,
// without the client noticing first. It forwards bytes; it does not speak LDAP.
import net from 'node:net';

export interface Relay {
  port: number;
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Relayed connections currently open. */
  open(): number;
  /** Resets every relayed connection (both sides). */
  cut(): void;
  close(): Promise<void>;
}

export interface RelayOptions {
  targetHost?: string;
  /**
   * Once a request containing these bytes passed (e.g. a bind DN), the server's answers on that
   * connection are dropped: the request reached the server, the client waits for nothing.
   */
  muteAfter?: string;
  /** Every chunk the server sends is held this long before it reaches the client (a slow server or link). */
  delayMs?: number;
}

export async function startRelay(targetPort: number, opts: RelayOptions = {}): Promise<Relay> {
  const targetHost = opts.targetHost ?? '127.0.0.1';
  const mute = opts.muteAfter !== undefined ? Buffer.from(opts.muteAfter) : undefined;
  const pairs = new Set<[net.Socket, net.Socket]>();
  let count = 0;
  const server = net.createServer((client) => {
    count++;
    const upstream = net.connect(targetPort, targetHost);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
    let muted = false;
    client.on('data', (chunk: Buffer) => {
      if (mute !== undefined && chunk.includes(mute)) muted = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (muted) return;
      // Timers of equal delay fire in the order they were set: the byte stream keeps its order.
      if (opts.delayMs !== undefined && opts.delayMs > 0) setTimeout(() => client.write(chunk), opts.delayMs);
      else client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const cut = (): void => {
    for (const [a, b] of [...pairs]) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    pairs.clear();
  };
  return {
    port,
    url: `ldap://127.0.0.1:${port}`,
    connections: () => count,
    open: () => pairs.size,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
