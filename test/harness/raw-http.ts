// Minimal HTTP/1.1 client over a raw socket: sends header names and values
// byte for byte (duplicates, odd case, underscores, raw UTF-8), one request per
// connection, and returns the raw response header pairs.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: [string, string][];
  body: string;
  header(name: string): string | undefined;
  all(name: string): string[];
}

function decodeChunked(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1').split(';')[0], 16);
    if (!size) break;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

export function rawRequest(port: number, method: string, path: string, headers: [string, string][] = [],
  timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
    for (const [k, v] of headers) lines.push(`${k}: ${v}`);
    const req = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
    const chunks: Buffer[] = [];
    const sock = connect({ host: '127.0.0.1', port }, () => sock.write(req));
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`timeout: ${method} ${path}`)); }, timeoutMs);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) { reject(new Error(`no HTTP response for ${method} ${path}: ${JSON.stringify(all.toString('latin1'))}`)); return; }
      const head = all.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
      if (!m) { reject(new Error(`bad status line ${head[0]}`)); return; }
      const hs: [string, string][] = head.slice(1).map((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string];
      });
      let body: Buffer = Buffer.from(all.subarray(end + 4));
      const te = hs.find((h) => h[0].toLowerCase() === 'transfer-encoding');
      if (te && /chunked/i.test(te[1])) body = decodeChunked(body);
      const all2 = (name: string) => hs.filter((h) => h[0].toLowerCase() === name.toLowerCase()).map((h) => h[1]);
      resolve({ status: Number(m[1]), headers: hs, body: body.toString('utf8'), header: (n) => all2(n)[0], all: all2 });
    });
  });
}
