// startSlapd's container backend: slapadd and slapd of Debian bookworm run in an
// OpenLDAP container (image from scripts/lib/debian-images.mjs, built once per
// content hash) started with testcontainers on the host network, so slapd listens
// on the same 127.0.0.1 ports the host backend would use. The instance directory
// is bind-mounted at its own path: the cn=config written by slapd.ts (olcDbDirectory,
// olcPidFile, TLS files) and slapd.log mean the same inside and outside, and
// log() reads the file as on the host. The container runs as the caller's uid, so
// everything it writes can be removed without root.
//
// Faults map to the engine: stop() = docker stop (SIGTERM, SIGKILL after 5 s),
// start() = docker start of the same container (same ports, same data),
// pause()/resume() = docker pause/unpause (the cgroup freezer: a hung server).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type Dockerode from 'dockerode';
import { ensureSlapdImage } from '../../scripts/lib/debian-images.mjs';
import { ensureDocker, LABEL_KIND, LABEL_OWNER_PID } from './docker.ts';
import { SlapdExited, type SlapdProcess, type SlapdRunner } from './slapd.ts';

/** Exit codes of the container's script when a slapadd step fails. */
const EXIT_CONFIG = 10;
const EXIT_DATA = 11;

// $1 = instance dir, the rest = slapd's listener URLs. Loads once (the marker file
// survives docker stop/start), then slapd replaces the shell as PID 1 so docker
// stop's SIGTERM reaches it.
const SCRIPT = `set -u
d="$1"; shift
if [ ! -e "$d/loaded" ]; then
  slapadd -n0 -F "$d/slapd.d" -l "$d/config.ldif" 2>"$d/slapadd-config.err" || exit ${EXIT_CONFIG}
  slapadd $SLAPADD_FLAGS -F "$d/slapd.d" -b "$BASE_DN" -l "$d/data.ldif" 2>"$d/slapadd-data.err" || exit ${EXIT_DATA}
  : > "$d/loaded"
fi
exec slapd -h "$*" -F "$d/slapd.d" -d stats >>"$d/slapd.log" 2>&1
`;

let engine: Promise<{ host: string; image: string }> | undefined;

/** The engine and image: from the global setup's environment, or found/built here (benchmarks, scripts). */
function containerEngine(): Promise<{ host: string; image: string }> {
  engine ??= (async () => {
    const found = await ensureDocker();
    if (typeof found === 'string') throw new Error(`TEST_LDAP_BACKEND=container but Docker cannot be used: ${found}`);
    process.env.DOCKER_HOST = found.host;
    // testcontainers: no reaper container (it would need an image from a registry);
    // leftovers are removed by label at the next run (global-setup.ts).
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE = 'localhost';
    const image = process.env.TEST_SLAPD_IMAGE || (await ensureSlapdImage(found.host));
    return { host: found.host, image };
  })();
  return engine;
}

async function readIfExists(file: string): Promise<string> {
  return existsSync(file) ? readFile(file, 'utf8') : '';
}

/** The slapd container runner; `mounts` are extra host paths slapd reads (TLS files), mounted read-only. */
export async function containerRunner(mounts: string[] = []): Promise<SlapdRunner> {
  const { image } = await containerEngine();
  // Loaded at run time by name: npm run demo and the benchmarks bundle slapd.ts with
  // esbuild, which cannot bundle testcontainers' native optional dependencies.
  const TESTCONTAINERS = 'testcontainers';
  const { GenericContainer, getContainerRuntimeClient } = (await import(TESTCONTAINERS)) as typeof import('testcontainers');
  const dockerode: Dockerode = (await getContainerRuntimeClient()).container.dockerode;
  let baseDn = '';
  let slapaddFlags = '';
  let current: { id: string; urls: string } | undefined;

  const remove = async (): Promise<void> => {
    if (!current) return;
    const id = current.id;
    current = undefined;
    await dockerode.getContainer(id).remove({ force: true, v: true }).catch(() => undefined);
  };

  const create = async (dir: string, urls: string[]): Promise<string> => {
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    const binds: Array<{ source: string; target: string; mode: 'rw' | 'ro' }> = [{ source: dir, target: dir, mode: 'rw' }];
    for (const m of new Set(mounts.map((f) => path.dirname(path.resolve(f))))) {
      if (m !== dir) binds.push({ source: m, target: m, mode: 'ro' });
    }
    const started = await new GenericContainer(image)
      .withNetworkMode('host')
      .withUser(`${uid}:${gid}`)
      .withBindMounts(binds)
      .withEnvironment({ BASE_DN: baseDn, SLAPADD_FLAGS: slapaddFlags })
      .withLabels({
        [LABEL_KIND]: 'slapd',
        [LABEL_OWNER_PID]: process.env.TEST_RUN_OWNER_PID || String(process.pid),
      })
      .withCommand(['sh', '-c', SCRIPT, 'slapd-run', dir, ...urls])
      .withStartupTimeout(60_000)
      .start();
    return started.getId();
  };

  return {
    backend: 'container',
    async load(_dir, base, bulkLoad) {
      // Loading runs in the container, before its first slapd start (SCRIPT).
      baseDn = base;
      slapaddFlags = bulkLoad ? '-q' : '';
    },
    async launch(dir, urls): Promise<SlapdProcess> {
      const key = urls.join(' ');
      if (current && current.urls === key) {
        await dockerode.getContainer(current.id).start();
      } else {
        await remove();
        current = { id: await create(dir, urls), urls: key };
      }
      const container = dockerode.getContainer(current.id);
      let paused = false;
      const unpause = async (): Promise<void> => {
        if (!paused) return;
        await container.unpause().catch(() => undefined);
        paused = false;
      };
      return {
        async exitStatus() {
          const s = (await container.inspect()).State;
          return s.Running ? undefined : s.ExitCode;
        },
        async failure(log, status) {
          if (status === EXIT_CONFIG) return new Error(`slapadd -n0 failed: ${await readIfExists(path.join(dir, 'slapadd-config.err'))}`);
          if (status === EXIT_DATA) return new Error(`slapadd (data) failed: ${await readIfExists(path.join(dir, 'slapadd-data.err'))}`);
          return new SlapdExited(log, status);
        },
        async terminate() {
          await unpause();
          await container.stop({ t: 5 }).catch((e: { statusCode?: number }) => {
            if (e.statusCode !== 304) throw e; // 304: already stopped
          });
        },
        async kill() {
          await unpause();
          await container.kill().catch(() => undefined);
          await container.wait().catch(() => undefined);
        },
        async pause() {
          await container.pause();
          paused = true;
        },
        async resume() {
          if (!paused) return;
          await container.unpause();
          paused = false;
        },
      };
    },
    dispose: remove,
  };
}
