// `npm run demo` as a user runs it: started on free ports, the protected page
// answers after a sign-in over HTTP, and Ctrl-C (SIGINT to the process group,
// as a terminal sends it) stops every process it started.
import { afterAll, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort, REPO_ROOT } from '../../harness/nginx.ts';
import { SiteClient } from '../../harness/e2e-stack.ts';

let demo: ChildProcess | undefined;

function groupMembers(pgid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' });
  return r.stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
}

afterAll(() => {
  // Only on failure: the test itself stops the demo.
  if (demo?.pid !== undefined && groupMembers(demo.pid).length > 0) process.kill(-demo.pid, 'SIGKILL');
});

it('npm run demo starts the stack, serves the protected page after sign-in and stops cleanly on Ctrl-C', async () => {
  const [site, service, upstream] = [await freePort(), await freePort(), await freePort()];
  demo = spawn('npm', ['run', 'demo'], {
    cwd: REPO_ROOT,
    detached: true, // its own process group, like a terminal job
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LJWT_DEMO_PORT: String(site), LJWT_DEMO_SERVICE_PORT: String(service), LJWT_DEMO_UPSTREAM_PORT: String(upstream) },
  });
  let output = '';
  demo.stdout!.on('data', (d) => { output += d; });
  demo.stderr!.on('data', (d) => { output += d; });
  const exited = new Promise<number | null>((resolve) => demo!.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL line within 90 s:\n${output}`)), 90_000);
    // The banner is several lines and a pipe may deliver them in separate chunks: wait for its
    // last line, not the first, before reading the rest of it.
    const check = () => {
      const m = /ready: open (http:\/\/127\.0\.0\.1:\d+\/)[\s\S]*Ctrl-C stops everything\n/.exec(output);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    };
    demo!.stdout!.on('data', check);
    void exited.then(() => { clearTimeout(timer); reject(new Error(`demo exited early:\n${output}`)); });
  });
  expect(url).toBe(`http://127.0.0.1:${site}/`);
  expect(output).toContain('alice / alice-demo');

  const client = new SiteClient(`http://127.0.0.1:${site}`);
  const page = await client.signIn('/hello', 'alice', 'alice-demo');
  expect(page.status).toBe(200);
  expect(page.text).toContain('Signed in as <strong id="user">alice</strong>');
  expect(page.text).toContain('<li>cn=staff,ou=groups,dc=example,dc=com</li>');
  expect(page.text).toContain('x-authenticated-user');
  const bob = await new SiteClient(`http://127.0.0.1:${site}`).signIn('/', 'bob', 'wrong');
  expect(bob.status).toBe(401);

  const before = groupMembers(demo.pid!);
  // npm, sh, the demo, slapd, the service, the upstream, nginx master + workers
  expect(before.length).toBeGreaterThanOrEqual(7);
  process.kill(-demo.pid!, 'SIGINT');
  const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))]);
  expect(code).not.toBe('timeout');
  // npm itself may exit first; the demo then finishes stopping its children.
  const deadline = Date.now() + 20_000;
  while (groupMembers(demo.pid!).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(groupMembers(demo.pid!)).toEqual([]);
  for (const pid of before) expect(() => process.kill(pid, 0)).toThrow();
}, 150_000);
