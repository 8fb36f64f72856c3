import { BlockList, isIP } from 'node:net';

function normalize(ip: string): string {
  // IPv4-mapped IPv6 (::ffff:1.2.3.4) is the same client as 1.2.3.4.
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** config.trustedProxies entries: single addresses or CIDR ranges (IPv4 or IPv6). */
export function trustedProxyList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const e = raw.trim();
    const slash = e.indexOf('/');
    const addr = normalize(slash < 0 ? e : e.slice(0, slash));
    const family = isIP(addr);
    if (family === 0) throw new Error(`trusted proxy ${JSON.stringify(raw)} is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) list.addAddress(addr, type);
    else {
      const prefix = Number(e.slice(slash + 1));
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`trusted proxy ${JSON.stringify(raw)} has a bad prefix length`);
      list.addSubnet(addr, prefix, type);
    }
  }
  return list;
}

function isTrusted(list: BlockList, ip: string): boolean {
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client address for throttling. X-Forwarded-For is believed only when the
 * direct peer is a trusted proxy, and then walked right to left skipping
 * further trusted proxies: the rightmost untrusted entry is the address the
 * outermost trusted proxy saw; anything left of it is client-controlled.
 */
export function clientIp(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trusted: BlockList): string {
  const peer = normalize(socketAddress ?? 'unknown');
  if (!isTrusted(trusted, peer) || forwardedFor === undefined) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',').map((s) => normalize(s.trim())).filter((s) => s !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return peer; // garbage in the header: fall back to the proxy itself
    if (!isTrusted(trusted, hop)) return hop;
  }
  return hops.length ? hops[0]! : peer;
}
