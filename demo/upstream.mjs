// The demo's protected site: shows the identity headers nginx sent it.
// HTML for browsers; JSON ({user, groups, oids, headers}) with ?format=json.
// Run: node demo/upstream.mjs (PORT, default 8081; HOST, default 127.0.0.1).
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
// The edge percent-encodes every value; a list is split on ',' first (README "Identity headers").
const decodeList = (v) => (v ? v.split(',').map(decodeURIComponent) : []);

export function identityOf(req) {
  const h = req.headers;
  return {
    user: h['x-authenticated-user'] ? decodeURIComponent(h['x-authenticated-user']) : null,
    groups: decodeList(h['x-authenticated-group-dns']),
    oids: decodeList(h['x-authenticated-oids']),
  };
}

function page(req, id) {
  const rows = Object.entries(req.headers)
    .filter(([k]) => k !== 'cookie')
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(String(v).length > 300 ? String(v).slice(0, 300) + '…' : v)}</code></td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Protected page</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}th{text-align:left;padding-right:1rem;vertical-align:top}code{word-break:break-all}</style></head>
<body><main>
<h1>Protected page</h1>
<p>Signed in as <strong id="user">${esc(id.user ?? '(nobody)')}</strong></p>
<h2>Groups (${id.groups.length})</h2>
<ul id="groups">${id.groups.map((g) => `<li>${esc(g)}</li>`).join('')}</ul>
<h2>Request headers received from nginx</h2>
<table>${rows}</table>
<p><a href="/_auth/logout">Sign out</a></p>
</main></body></html>
`;
}

/** Starts the upstream; resolves with { port, requests, close() }. */
export function startUpstream({ host = '127.0.0.1', port = 0 } = {}) {
  const requests = [];
  // A user in hundreds of groups brings a ~30 KB X-Authenticated-Group-DNs header and the
  // split token cookies: Node's default 16 KB header limit would answer 431.
  const server = createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    const id = identityOf(req);
    requests.push({ method: req.method, url: req.url, headers: req.headers, identity: id });
    const url = new URL(req.url ?? '/', 'http://upstream.invalid');
    if (url.searchParams.get('format') === 'json') {
      const body = JSON.stringify({ ...id, url: req.url, headers: req.headers });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(body);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(page(req, id));
  });
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({
      port: server.address().port,
      requests,
      close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
    }));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const u = await startUpstream({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 8081) });
  console.log(`demo upstream listening on ${process.env.HOST ?? '127.0.0.1'}:${u.port}`);
  const stop = () => { void u.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
