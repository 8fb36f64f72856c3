// The BUILT bundle (dist/njs/ljwt-full.js, whose core nginx's bundles share) in the real njs CLIs: the host's njs 0.7.9 and the
// Debian testing chroot's njs 1.0.x with the njs engine and with QuickJS (`-n QuickJS`).
// A driver imports the bundle's default export and replays test/vectors/edge-cases.json
// through core.validateJwt, plus a few calls of the other core functions whose results
// must equal Node's.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { getRuntime, type Runtime } from '../../harness/runtimes.ts';
import { REPO_ROOT, runtimeTempDir } from '../../harness/nginx.ts';
/** The bundle whose `core` the CLIs drive. */
const BUNDLE = join(REPO_ROOT, 'dist/njs/ljwt-full.js');
import type { EdgeCases } from '../../vectors/generate-edge-cases.mjs';
import { encodeHeaderList } from '#njs/identity/encode.ts';
import { normalizeDn } from '#njs/authz/dn.ts';
import { evaluatePolicy } from '#njs/authz/policy.ts';
import { extractToken } from '#njs/http/token.ts';
import { parseEdgeConfig } from '#njs/config.ts';

const VECTORS_PATH = join(REPO_ROOT, 'test/vectors/edge-cases.json');
const VECTORS: EdgeCases = JSON.parse(readFileSync(VECTORS_PATH, 'utf8'));

// Realistic sizes the vectors lack: an AD user in many groups gives a payload of several KB.
function largeTokenCase(): EdgeCases['cases'][number] {
  const secret = randomBytes(32);
  const dns: string[] = [];
  for (let i = 0; i < 60; i++) dns.push(`cn=group-${i},ou=groups,dc=example,dc=com`);
  const b = (x: string) => Buffer.from(x).toString('base64url');
  const input = b(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: 'big' })) + '.' +
    b(JSON.stringify({ iss: 'https://issuer.example', aud: 'api://edge', sub: 'alice', exp: 4102444800, dns }));
  const token = input + '.' + createHmac('sha256', secret).update(input).digest('base64url');
  VECTORS.keySets['large-token-key'] = { jwks: JSON.stringify({ keys: [{ kty: 'oct', kid: 'big', k: secret.toString('base64url') }] }) };
  const options = Object.assign({}, VECTORS.cases[0].options, { algorithms: ['HS256'], now: 1700000000 });
  return { name: 'HS256 valid, 3 KB payload with 60 group DNs', alg: 'HS256', keys: 'large-token-key', token, options, expect: 'ok' };
}
VECTORS.cases.push(largeTokenCase());

// Inputs for the non-crypto core functions: [function, args].
const CORE_CALLS: [string, unknown[]][] = [
  ['encodeHeaderList', [['cn=Smith\\, John,ou=people,dc=example,dc=com', 'a b', 'zo\u00eb\r\n']]],
  ['normalizeDn', ['CN=Admins , OU=Groups,DC=Example,DC=com']],
  ['evaluatePolicy', [{ anyGroups: ['cn=admins,ou=groups,dc=example,dc=com'], allGroups: [], scopes: ['read'], claims: [] },
    { dns: ['CN=Admins,OU=Groups,DC=example,DC=com'], scope: 'read write' }]],
  ['evaluatePolicy', [{ anyGroups: [], allGroups: [], scopes: ['admin'], claims: [] }, { scope: 'read' }]],
  ['extractToken', ['Bearer abc.def.ghi', '', null]],
  ['extractToken', ['', 'a=1; at=x.y.z', 'at']],
  ['extractToken', ['Bearer a b', '', null]],
  ['parseEdgeConfig', [{ ljwt_issuer: 'https://i', ljwt_audience: 'off', ljwt_jwks_file: '/k.jwks',
    ljwt_require_any_group: 'CN=A,DC=x | cn=b,dc=x', ljwt_algorithms: 'RS256 ES256' }, { ed25519: false, version: '0.7.9' }]],
];

function nodeCore(name: string, args: unknown[]): unknown {
  const f = { encodeHeaderList, normalizeDn, evaluatePolicy, extractToken, parseEdgeConfig } as Record<string, (...a: unknown[]) => unknown>;
  try {
    return { value: f[name](...args) };
  } catch (e) {
    return { error: (e as { code?: string }).code ?? String(e) };
  }
}

// njs syntax only (no for-of, destructuring, classes): this file is not bundled.
function driver(bundle: string, vectors: string, calls: string): string {
  return `import ljwt from '${bundle}';
import fs from 'fs';
var core = ljwt.core;
var v = JSON.parse(fs.readFileSync('${vectors}', 'utf8'));
var calls = JSON.parse(fs.readFileSync('${calls}', 'utf8'));
function out(o) { console.log(JSON.stringify(o)); }
for (var i = 0; i < calls.length; i++) {
  var r;
  try { r = { value: core[calls[i][0]].apply(null, calls[i][1]) }; } catch (e) { r = { error: e.code || String(e) }; }
  out({ call: i, result: r });
}
function runCase(c) {
  var ks;
  try {
    var sets = [];
    var s = v.keySets[c.keys];
    if (s.jwks !== undefined) sets.push(core.keySetFromJwks(s.jwks));
    if (s.pem !== undefined) sets.push(core.keySetFromPem(s.pem));
    ks = core.mergeKeySets(sets);
  } catch (e) {
    return Promise.resolve(e.code || ('UNEXPECTED ' + e));
  }
  return core.validateJwt(c.token, ks, c.options).then(function () { return 'ok'; },
    function (e) { return e.code || ('UNEXPECTED ' + e); });
}
var n = 0;
function next() {
  if (n >= v.cases.length) { out({ done: n }); return; }
  var c = v.cases[n++];
  return runCase(c).then(function (got) { out({ name: c.name, got: got }); return next(); });
}
core.probeCapabilities().then(function (caps) { out({ caps: caps }); return next(); })
  .catch(function (e) { out({ fatal: String(e) }); });
`;
}

interface CliRun { caps: { ed25519: boolean; version: string; engine: string }; results: Map<string, string>; calls: unknown[]; done: number }

function runCli(rt: Runtime, engineArgs: string[]): CliRun {
  const { host, inside } = runtimeTempDir(rt, 'ljwt-cli-');
  try {
    copyFileSync(BUNDLE, join(host, 'ljwt.js'));
    writeFileSync(join(host, 'vectors.json'), JSON.stringify(VECTORS));
    writeFileSync(join(host, 'calls.json'), JSON.stringify(CORE_CALLS.map((c) => [c[0], c[1]])));
    writeFileSync(join(host, 'driver.mjs'), driver(`${inside}/ljwt.js`, `${inside}/vectors.json`, `${inside}/calls.json`));
    for (const f of ['ljwt.js', 'vectors.json', 'calls.json', 'driver.mjs']) chmodSync(join(host, f), 0o644);
    const argv = (rt.chroot ? ['chroot', rt.chroot] : []).concat(['njs'], engineArgs, [`${inside}/driver.mjs`]);
    const p = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
    const lines = (p.stdout || '').split('\n').filter((l) => l.startsWith('{'));
    const run: CliRun = { caps: null as never, results: new Map(), calls: [], done: -1 };
    for (const l of lines) {
      const o = JSON.parse(l);
      if (o.caps) run.caps = o.caps;
      else if (o.call !== undefined) run.calls[o.call] = o.result;
      else if (o.done !== undefined) run.done = o.done;
      else if (o.name !== undefined) run.results.set(o.name, o.got);
      else if (o.fatal) throw new Error(`driver failed: ${o.fatal}`);
    }
    if (run.done < 0) throw new Error(`njs exited ${p.status} before finishing:\n${(p.stderr || '').slice(-2000)}\n${(p.stdout || '').slice(-2000)}`);
    return run;
  } finally {
    rmSync(host, { recursive: true, force: true });
  }
}

const CLIS: { name: string; runtime: 'bookworm-njs' | 'trixie-njs' | 'testing-njs'; args: string[]; ed25519: boolean }[] = [
  { name: 'bookworm njs 0.7.9', runtime: 'bookworm-njs', args: [], ed25519: false },
  { name: 'trixie njs 0.8.9', runtime: 'trixie-njs', args: [], ed25519: false },
  { name: 'testing njs 1.0 (njs engine)', runtime: 'testing-njs', args: [], ed25519: true },
  // The 1.0 CLI chooses the engine with -n; -m loads the file as a module for QuickJS.
  { name: 'testing njs 1.0 (QuickJS)', runtime: 'testing-njs', args: ['-n', 'QuickJS', '-m'], ed25519: true },
];

describe.each(CLIS)('built bundle in the $name CLI', (cli) => {
  it('replays every edge case with the expected code, and the core functions agree with Node', async () => {
    expect(existsSync(BUNDLE), 'run npm run build first').toBe(true);
    const rt = await getRuntime(cli.runtime);
    const run = runCli(rt, cli.args);
    expect(run.caps.ed25519).toBe(cli.ed25519);
    expect(run.done).toBe(VECTORS.cases.length);
    const mismatches: string[] = [];
    for (const c of VECTORS.cases) {
      const want = !cli.ed25519 && c.expectWithoutEd25519 !== undefined ? c.expectWithoutEd25519 : c.expect;
      const got = run.results.get(c.name);
      if (got !== want) mismatches.push(`${c.name}: expected ${want}, got ${got}`);
    }
    expect(mismatches).toEqual([]);
    expect(run.calls).toEqual(CORE_CALLS.map((c) => JSON.parse(JSON.stringify(nodeCore(c[0], c[1])))));
  });
});
