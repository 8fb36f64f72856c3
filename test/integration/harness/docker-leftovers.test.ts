// A test run that dies leaves its containers behind: the next run's global setup
// removes those whose owner process is gone (labels), and keeps those of a run
// still going on the same engine.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSlapdImage } from '../../../scripts/lib/debian-images.mjs';
import {
  LABEL_KIND,
  LABEL_OWNER_PID,
  listTestContainers,
  removeLeftoverComposeProjects,
  removeLeftoverContainers,
  socketOf,
  dockerApi,
} from '../../harness/docker.ts';

const unavailable = process.env.TEST_DOCKER_UNAVAILABLE;

function docker(...args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A pid no process has now: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

describe.skipIf(!!unavailable)(`leftover test containers${unavailable ? ` (skipped: Docker cannot be used here: ${unavailable})` : ''}`, () => {
  let socketPath: string;
  let image: string;
  const created: string[] = [];
  const networks: string[] = [];

  beforeAll(async () => {
    socketPath = socketOf(process.env.DOCKER_HOST ?? '')!;
    image = process.env.TEST_SLAPD_IMAGE || (await ensureSlapdImage(process.env.DOCKER_HOST!));
  });
  afterAll(() => {
    for (const id of created) spawnSync('docker', ['rm', '-f', id], { env: process.env });
    for (const n of networks) spawnSync('docker', ['network', 'rm', n], { env: process.env });
  });

  const run = (labels: Record<string, string>): string => {
    const id = docker('run', '-d', '--network', 'none', ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), image, 'sleep', '300');
    created.push(id);
    return id;
  };

  it('removes the containers of a run that is gone and keeps those of a live one', async () => {
    const dead = run({ [LABEL_KIND]: 'slapd', [LABEL_OWNER_PID]: String(deadPid()) });
    const live = run({ [LABEL_KIND]: 'slapd', [LABEL_OWNER_PID]: String(process.pid) });
    await removeLeftoverContainers(socketPath);
    const left = (await listTestContainers(socketPath)).map((c) => c.Id);
    expect(left).not.toContain(dead);
    expect(left).toContain(live);
  });

  it('removes the containers and network of a stack-test compose project whose run is gone', async () => {
    const project = `ljwt-compose-test-${deadPid()}`;
    const net = `${project}_default`;
    docker('network', 'create', '--label', `com.docker.compose.project=${project}`, net);
    networks.push(net);
    const id = run({ 'com.docker.compose.project': project });
    expect(await removeLeftoverComposeProjects(socketPath)).toBeGreaterThanOrEqual(1);
    expect((await dockerApi(socketPath, 'GET', `/containers/${id}/json`)).status).toBe(404);
    expect((await dockerApi(socketPath, 'GET', `/networks/${net}`)).status).toBe(404);
  });
});
