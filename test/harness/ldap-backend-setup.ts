// Chooses where the integration tests' OpenLDAP servers run, once per test run
// (global-setup.ts), and tells every test worker through the environment:
//   TEST_LDAP_BACKEND=container  slapd in containers (image built once per content hash);
//   TEST_LDAP_BACKEND=host       slapd of the Debian package on this machine.
// Unset: containers when a Docker engine answers or can be started here
// (docker.ts), host otherwise. Set by the caller: that mode, and 'container'
// fails the run when Docker cannot be used rather than silently falling back.
// The mode, and why, is written to test-results/ldap-backend.txt for the summary.
// The variables are TEST_*, not LJWT_*: the service refuses unknown LJWT_ variables, and
// processes the tests spawn (npm run demo, the service) inherit this environment.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureComposeBases, ensureSlapdImage } from '../../scripts/lib/debian-images.mjs';
import { ensureDocker, otherRunsActive, removeLeftoverComposeProjects, removeLeftoverContainers, removeOwnContainers, stopOwnDockerd } from './docker.ts';
import { REPO_ROOT } from './nginx.ts';

export const BACKEND_NOTE = join(REPO_ROOT, 'test-results/ldap-backend.txt');

function note(line: string): void {
  mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true });
  writeFileSync(BACKEND_NOTE, line + '\n');
  console.log(line);
}

/** Returns the teardown (removes this run's containers, stops a dockerd started here). */
export async function setupLdapBackend(): Promise<() => Promise<void>> {
  const requested = process.env.TEST_LDAP_BACKEND || 'auto';
  if (!['auto', 'host', 'container'].includes(requested)) throw new Error(`TEST_LDAP_BACKEND=${requested}: expected host or container`);
  const engine = await ensureDocker();
  if (typeof engine === 'string') {
    // Tests that need Docker itself (the compose stack) skip with this reason.
    process.env.TEST_DOCKER_UNAVAILABLE = engine;
    if (requested === 'container') throw new Error(`TEST_LDAP_BACKEND=container, but Docker cannot be used: ${engine}`);
    process.env.TEST_LDAP_BACKEND = 'host';
    note(`LDAP backend: host slapd (Docker cannot be used: ${engine})`);
    return async () => {};
  }
  process.env.DOCKER_HOST = engine.host;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE = 'localhost';
  // Containers are labelled with this pid: a later run removes them if this one dies.
  process.env.TEST_RUN_OWNER_PID = String(process.pid);
  const leftovers = (await removeLeftoverContainers(engine.socketPath)) + (await removeLeftoverComposeProjects(engine.socketPath));
  if (leftovers) console.log(`removed ${leftovers} test container(s) left by an earlier run`);
  // The compose stack test's base images (several minutes on a cold machine) are built here,
  // outside any test file, so the per-file watchdog never mistakes that build for a hang.
  await ensureComposeBases(engine.host);

  if (requested === 'host') {
    process.env.TEST_LDAP_BACKEND = 'host';
    note('LDAP backend: host slapd (TEST_LDAP_BACKEND=host)');
  } else {
    const t0 = Date.now();
    const image = await ensureSlapdImage(engine.host);
    const took = Date.now() - t0;
    process.env.TEST_SLAPD_IMAGE = image;
    process.env.TEST_LDAP_BACKEND = 'container';
    note(`LDAP backend: containers (image ${image}${took > 5000 ? `, built in ${Math.round(took / 1000)} s` : ''}, engine ${engine.host})`);
  }
  return async () => {
    await removeOwnContainers(engine.socketPath).catch(() => undefined);
    if (engine.startedHere && !(await otherRunsActive(engine.socketPath).catch(() => true))) await stopOwnDockerd();
  };
}
