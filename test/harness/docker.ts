// The Docker engine the tests use: found or started here, so `npm test` and a bare
// `npx vitest run` behave the same.
//
// Order: $DOCKER_HOST (used as given, never started); the system engine at
// /var/run/docker.sock; the project's own engine at /run/ljwt-docker.sock, which
// is started here (root + Debian's docker.io needed) with its own data root and no
// bridge or iptables changes: every test container uses the host network and
// listens on 127.0.0.1 only. No image registry is needed (docker-images.ts builds
// from Debian packages).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { pidAlive } from '../../scripts/lib/dir-lock.mjs';

export const OWN_SOCKET = '/run/ljwt-docker.sock';
const OWN_DATA_ROOT = '/var/lib/ljwt-docker';
const OWN_EXEC_ROOT = '/run/ljwt-docker-exec';
const OWN_PIDFILE = '/run/ljwt-docker.pid';
const OWN_LOG = '/run/ljwt-docker.log';
const SYSTEM_SOCKET = '/var/run/docker.sock';

/** Labels on every container the test harness starts; the owner pid lets a later run remove leftovers. */
export const LABEL_KIND = 'org.nginx-ldap-jwt.test';
export const LABEL_OWNER_PID = 'org.nginx-ldap-jwt.owner-pid';

export interface DockerEngine {
  /** unix:// URL, as DOCKER_HOST takes it. */
  host: string;
  socketPath: string;
  /** True when this process started dockerd (and should stop it). */
  startedHere: boolean;
}

export function socketOf(dockerHost: string): string | undefined {
  return dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : undefined;
}

/** One Docker Engine API call over the unix socket (JSON in, JSON or text out). */
export function dockerApi(
  socketPath: string,
  method: string,
  path: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`docker ${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

export async function pingDocker(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  try {
    return (await dockerApi(socketPath, 'GET', '/_ping', 3000)).status === 200;
  } catch {
    return false;
  }
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why the project's own dockerd cannot be started here, or undefined when it can be tried. */
function cannotStartReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (dockerd needs root; or set DOCKER_HOST to a running engine)';
  if (!onPath('dockerd')) return 'dockerd not installed (Debian package docker.io)';
  return undefined;
}

async function startOwnDockerd(): Promise<void> {
  mkdirSync(OWN_DATA_ROOT, { recursive: true });
  // ensureDocker found no engine answering on OWN_SOCKET; dockerd itself refuses to start
  // over a pidfile whose process still lives (then the run falls back to host slapd).
  const fd = openSync(OWN_LOG, 'a');
  const child = spawn(
    'dockerd',
    [
      '--host', `unix://${OWN_SOCKET}`,
      '--data-root', OWN_DATA_ROOT,
      '--exec-root', OWN_EXEC_ROOT,
      '--pidfile', OWN_PIDFILE,
      // Host networking only: no bridge, no NAT rules on the machine.
      '--bridge=none', '--iptables=false', '--ip-masq=false',
    ],
    { detached: true, stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  child.unref();
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    if (await pingDocker(OWN_SOCKET)) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const tail = existsSync(OWN_LOG) ? readFileSync(OWN_LOG, 'utf8').slice(-2000) : '';
  if (child.exitCode === null) child.kill('SIGTERM');
  throw new Error(`dockerd did not answer on ${OWN_SOCKET}:\n${tail}`);
}

/**
 * The engine to use, starting the project's own when none answers.
 * Returns a reason string when Docker cannot be used on this machine.
 */
export async function ensureDocker(): Promise<DockerEngine | string> {
  const given = process.env.DOCKER_HOST;
  if (given) {
    const socketPath = socketOf(given);
    if (!socketPath) return `DOCKER_HOST=${given} is not a unix socket (the harness bind-mounts local directories)`;
    return (await pingDocker(socketPath)) ? { host: given, socketPath, startedHere: false } : `no Docker engine answers at DOCKER_HOST=${given}`;
  }
  for (const socketPath of [SYSTEM_SOCKET, OWN_SOCKET]) {
    if (await pingDocker(socketPath)) return { host: `unix://${socketPath}`, socketPath, startedHere: false };
  }
  const reason = cannotStartReason();
  if (reason) return reason;
  try {
    await startOwnDockerd();
  } catch (e) {
    return `dockerd failed to start: ${(e as Error).message}`;
  }
  return { host: `unix://${OWN_SOCKET}`, socketPath: OWN_SOCKET, startedHere: true };
}

/** Stops the dockerd started by ensureDocker (SIGTERM; containers stop with it). */
export async function stopOwnDockerd(): Promise<void> {
  const pid = existsSync(OWN_PIDFILE) ? Number(readFileSync(OWN_PIDFILE, 'utf8')) : 0;
  if (!pid || !pidAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const end = Date.now() + 30_000;
  while (pidAlive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
}

interface ContainerSummary {
  Id: string;
  Labels: Record<string, string>;
}

/** Test containers (any state) carrying LABEL_KIND. */
export async function listTestContainers(socketPath: string): Promise<ContainerSummary[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: [LABEL_KIND] }));
  const res = await dockerApi(socketPath, 'GET', `/containers/json?all=true&filters=${filters}`);
  if (res.status !== 200) throw new Error(`docker ps: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as ContainerSummary[];
}

/**
 * Removes test containers whose owner process is gone (a crashed or killed run).
 * Containers of a run still going on this machine stay.
 */
export async function removeLeftoverContainers(socketPath: string): Promise<number> {
  let removed = 0;
  for (const c of await listTestContainers(socketPath)) {
    const owner = Number(c.Labels[LABEL_OWNER_PID]);
    if (owner && pidAlive(owner)) continue;
    const res = await dockerApi(socketPath, 'DELETE', `/containers/${c.Id}?force=true&v=true`);
    if (res.status === 204 || res.status === 404) removed++;
  }
  return removed;
}

/** Removes the test containers this process owns (the end of a run). */
export async function removeOwnContainers(socketPath: string, ownerPid = process.pid): Promise<void> {
  for (const c of await listTestContainers(socketPath)) {
    if (Number(c.Labels[LABEL_OWNER_PID]) !== ownerPid) continue;
    await dockerApi(socketPath, 'DELETE', `/containers/${c.Id}?force=true&v=true`);
  }
}

/** True when containers of another live run still use the engine (so it must keep running). */
export async function otherRunsActive(socketPath: string, ownerPid = process.pid): Promise<boolean> {
  for (const c of await listTestContainers(socketPath)) {
    const owner = Number(c.Labels[LABEL_OWNER_PID]);
    if (owner && owner !== ownerPid && pidAlive(owner)) return true;
  }
  return false;
}

/** Compose projects of the stack test are named ljwt-compose-test-<owner pid>. */
const TEST_PROJECT = /^ljwt-compose-test-(\d+)$/;
const COMPOSE_PROJECT = 'com.docker.compose.project';

/** Removes containers, networks and volumes of stack-test compose projects whose run is gone. */
export async function removeLeftoverComposeProjects(socketPath: string): Promise<number> {
  const filters = encodeURIComponent(JSON.stringify({ label: [COMPOSE_PROJECT] }));
  const dead = (labels: Record<string, string> | null | undefined): boolean => {
    const m = TEST_PROJECT.exec(labels?.[COMPOSE_PROJECT] ?? '');
    return !!m && !pidAlive(Number(m[1]));
  };
  let removed = 0;
  const containers = JSON.parse((await dockerApi(socketPath, 'GET', `/containers/json?all=true&filters=${filters}`)).body) as ContainerSummary[];
  for (const c of containers.filter((c) => dead(c.Labels))) {
    await dockerApi(socketPath, 'DELETE', `/containers/${c.Id}?force=true&v=true`);
    removed++;
  }
  const networks = JSON.parse((await dockerApi(socketPath, 'GET', `/networks?filters=${filters}`)).body) as Array<{ Id: string; Labels: Record<string, string> }>;
  for (const n of networks.filter((n) => dead(n.Labels))) await dockerApi(socketPath, 'DELETE', `/networks/${n.Id}`);
  const volumes = (JSON.parse((await dockerApi(socketPath, 'GET', `/volumes?filters=${filters}`)).body) as { Volumes: Array<{ Name: string; Labels: Record<string, string> }> | null }).Volumes ?? [];
  for (const v of volumes.filter((v) => dead(v.Labels))) await dockerApi(socketPath, 'DELETE', `/volumes/${encodeURIComponent(v.Name)}`);
  return removed;
}
