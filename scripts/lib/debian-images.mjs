// Docker images built from Debian packages only, for machines without an image
// registry: a base image per Debian suite (debootstrap --variant=minbase, then
// `docker import`), and images derived from it by a Dockerfile given as text
// (built with the host network, so apt-get reaches the mirror this machine uses).
//
// Every image is tagged by a content hash of everything that makes it (suite,
// Dockerfile text, the base's tag), so an unchanged recipe is never rebuilt and a
// changed one never reuses a stale image. A stable tag (e.g. ljwt-local/node:20)
// can point at the current build for docker-compose.local.yml.
//
// The Debian mirror is read from this machine's apt sources at build time.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { withDirLock } from './dir-lock.mjs';

/** Label on every image built here: the content hash it was built from. */
export const LABEL_INPUTS = 'org.nginx-ldap-jwt.inputs-sha256';
const RECIPE_VERSION = '1';
const BUILD_TIMEOUT_MS = 20 * 60_000;
const LOCK_DIR = join(tmpdir(), 'ljwt-image-locks');

/** The Debian mirror this machine already uses (first URIs line of its deb822 sources). */
export function debianMirror() {
  for (const f of ['/etc/apt/sources.list.d/debian.sources']) {
    if (!existsSync(f)) continue;
    const m = /^URIs:\s*(\S+)/m.exec(readFileSync(f, 'utf8'));
    if (m) return m[1];
  }
  if (existsSync('/etc/apt/sources.list')) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s/m.exec(readFileSync('/etc/apt/sources.list', 'utf8'));
    if (m) return m[1];
  }
  throw new Error('no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list');
}

const sha = (text) => createHash('sha256').update(text).digest('hex').slice(0, 16);

function run(argv, { input, env, timeoutMs = BUILD_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: env ?? process.env });
    let out = '';
    p.stdout.on('data', (d) => { out = (out + d).slice(-8000); });
    p.stderr.on('data', (d) => { out = (out + d).slice(-8000); });
    if (input !== undefined) p.stdin.end(input);
    const t = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      if (code === 0) resolve(out); else reject(new Error(`${argv.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

/** `docker` with DOCKER_HOST set (and the classic builder: no BuildKit frontend image to pull). */
function docker(args, dockerHost, opts = {}) {
  return run(['docker', ...args], { ...opts, env: { ...process.env, DOCKER_HOST: dockerHost, DOCKER_BUILDKIT: '0' } });
}

async function imageExists(tag, dockerHost) {
  try {
    await docker(['image', 'inspect', '--format', '{{.Id}}', tag], dockerHost, { timeoutMs: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs fn under a per-tag lock, so parallel callers build once. */
function withLock(name, fn) {
  return withDirLock(join(LOCK_DIR, name.replace(/[^\w.-]/g, '_')), { timeoutMs: BUILD_TIMEOUT_MS + 60_000 }, fn);
}

/**
 * The minbase image of a Debian suite (like debian:<suite>-slim), built by debootstrap.
 * @param {string} suite e.g. 'bookworm'
 * @param {string} dockerHost
 * @returns {Promise<string>} the image tag, ljwt-debian:<suite>-<hash>
 */
export async function ensureDebianBase(suite, dockerHost) {
  await docker(['version', '--format', '{{.Server.Version}}'], dockerHost, { timeoutMs: 30_000 }).catch((e) => {
    throw new Error(`no Docker engine at ${dockerHost}: ${e.message}`);
  });
  const hash = sha(JSON.stringify({ v: RECIPE_VERSION, debootstrap: 'minbase', suite }));
  const tag = `ljwt-debian:${suite}-${hash}`;
  if (await imageExists(tag, dockerHost)) return tag;
  return withLock(tag, async () => {
    if (await imageExists(tag, dockerHost)) return tag;
    const rootfs = join(tmpdir(), `ljwt-rootfs-${suite}-${process.pid}`);
    rmSync(rootfs, { recursive: true, force: true });
    try {
      await run(['debootstrap', '--variant=minbase', suite, rootfs, debianMirror()]);
      // What the official slim images leave out: package lists and caches.
      for (const d of ['var/lib/apt/lists', 'var/cache/apt/archives']) {
        rmSync(join(rootfs, d), { recursive: true, force: true });
        mkdirSync(join(rootfs, d, 'partial'), { recursive: true });
      }
      await run(['sh', '-c',
        `tar -C '${rootfs}' -c . | DOCKER_HOST='${dockerHost}' docker import ` +
        `--change 'LABEL ${LABEL_INPUTS}=${hash}' --change 'CMD ["bash"]' - '${tag}'`]);
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
    return tag;
  });
}

/** Local CA certificates of this host (update-ca-certificates' input), name -> PEM text. */
export function hostCaCertificates() {
  const dir = '/usr/local/share/ca-certificates';
  const out = {};
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) if (name.endsWith('.crt')) out[name] = readFileSync(join(dir, name), 'utf8');
  return out;
}

/**
 * An image built from `dockerfile` (text) FROM `base`, given to it as the build
 * argument BASE. `files` (name -> content) form the build context. Tagged
 * <repo>:<hash of Dockerfile + files + base>; `alias` (optional) is pointed at it too.
 * @param {{ repo: string, dockerfile: string, base: string, alias?: string, files?: Record<string, string> }} o
 * @param {string} dockerHost
 * @returns {Promise<string>} the hash tag
 */
export async function ensureDerivedImage(o, dockerHost) {
  const files = o.files ?? {};
  const hash = sha(JSON.stringify({ v: RECIPE_VERSION, dockerfile: o.dockerfile, base: o.base, files }));
  const tag = `${o.repo}:${hash}`;
  await withLock(tag, async () => {
    if (await imageExists(tag, dockerHost)) return;
    const context = mkdtempSync(join(tmpdir(), 'ljwt-image-context-'));
    try {
      writeFileSync(join(context, 'Dockerfile'), o.dockerfile);
      for (const [name, text] of Object.entries(files)) {
        mkdirSync(dirname(join(context, name)), { recursive: true });
        writeFileSync(join(context, name), text);
      }
      await docker(['build', '--network', 'host', '--build-arg', `BASE=${o.base}`,
        '--label', `${LABEL_INPUTS}=${hash}`, '-t', tag, context], dockerHost);
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  });
  if (o.alias) await docker(['tag', tag, o.alias], dockerHost, { timeoutMs: 30_000 });
  return tag;
}

const APT = 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends';

/** OpenLDAP (Debian bookworm slapd 2.5 + ldap-utils): the test harness's directory server. */
export const SLAPD_DOCKERFILE = `ARG BASE
FROM \${BASE}
RUN ${APT} slapd ldap-utils && rm -rf /var/lib/apt/lists/*
`;

/**
 * Local stand-ins for the public images docker-compose.yml starts from, with the
 * properties the stack relies on (see docker-compose.local.yml).
 */
export const COMPOSE_BASES = {
  // node:20-bookworm-slim: Node 20 (Debian trixie's nodejs; bookworm has 18), npm, user node (1000).
  // It also trusts the CA certificates this host added (host-ca/, see ensureComposeBases):
  // npm ci in the stack's build must reach the registry the way the host does, also
  // through a TLS-inspecting proxy.
  node: {
    suite: 'trixie',
    alias: 'ljwt-local/node:20',
    hostCa: true,
    dockerfile: `ARG BASE
FROM \${BASE}
RUN ${APT} nodejs npm ca-certificates && rm -rf /var/lib/apt/lists/* \\
 && groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/bash node
COPY host-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
`,
  },
  // nginx:1.27-bookworm: nginx with ngx_http_js_module under /etc/nginx/modules, user nginx, logs to stdio.
  nginx: {
    suite: 'bookworm',
    alias: 'ljwt-local/nginx:bookworm',
    dockerfile: `ARG BASE
FROM \${BASE}
RUN ${APT} nginx-light libnginx-mod-http-js && rm -rf /var/lib/apt/lists/* \\
 && useradd -r -M -d /nonexistent -s /usr/sbin/nologin nginx \\
 && ln -s /usr/lib/nginx/modules /etc/nginx/modules \\
 && install -d /var/cache/nginx \\
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
`,
  },
  // redis:7-bookworm: redis-server on PATH.
  redis: {
    suite: 'bookworm',
    alias: 'ljwt-local/redis:7',
    dockerfile: `ARG BASE
FROM \${BASE}
RUN ${APT} redis-server && rm -rf /var/lib/apt/lists/*
USER redis
CMD ["redis-server"]
`,
  },
  // debian:bookworm-slim (the OpenLDAP image of the stack installs slapd on it).
  debian: { suite: 'bookworm', alias: 'ljwt-local/debian:bookworm', dockerfile: 'ARG BASE\nFROM ${BASE}\n' },
};

/** The harness's OpenLDAP image: ljwt-slapd:<hash>. */
export async function ensureSlapdImage(dockerHost) {
  const base = await ensureDebianBase('bookworm', dockerHost);
  return ensureDerivedImage({ repo: 'ljwt-slapd', dockerfile: SLAPD_DOCKERFILE, base }, dockerHost);
}

/** Every local base image of docker-compose.local.yml; returns alias -> hash tag. */
export async function ensureComposeBases(dockerHost) {
  const tags = {};
  for (const b of Object.values(COMPOSE_BASES)) {
    const base = await ensureDebianBase(b.suite, dockerHost);
    const files = { 'host-ca/README': 'CA certificates of the build host\n' };
    if (b.hostCa) for (const [name, pem] of Object.entries(hostCaCertificates())) files[`host-ca/${name}`] = pem;
    tags[b.alias] = await ensureDerivedImage({ repo: b.alias.split(':')[0], dockerfile: b.dockerfile, base, alias: b.alias, files }, dockerHost);
  }
  return tags;
}
