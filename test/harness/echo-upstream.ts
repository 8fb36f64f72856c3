// Upstream that answers every request with what it received, as JSON:
// {method, url, headers: [[name, value], ...]} from rawHeaders, so duplicates, case and the
// exact bytes (latin1, one char per byte) of every header are visible to assertions.
import { createServer, type Server } from 'node:http';

export interface EchoedRequest {
  method: string;
  url: string;
  headers: [string, string][];
}

export interface EchoUpstream {
  port: number;
  requests: EchoedRequest[];
  close(): Promise<void>;
}

export function headerValues(req: EchoedRequest, name: string): string[] {
  const lower = name.toLowerCase();
  return req.headers.filter((h) => h[0].toLowerCase() === lower).map((h) => h[1]);
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const requests: EchoedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const headers: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const echoed: EchoedRequest = { method: req.method ?? '', url: req.url ?? '', headers };
    requests.push(echoed);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Echo': '1' });
      res.end(JSON.stringify(echoed));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
