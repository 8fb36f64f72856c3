// Shared fixtures of the group sync integration tests (not a test file itself).
import { Client } from 'ldapts';
import { build } from 'esbuild';
import { mkdir, mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LdapServerConfig, ServiceConfig } from '../../../service/src/config/types.ts';
import { levelLogger, type Logger } from '../../../service/src/ops/logger.ts';

export const BASE = 'dc=example,dc=com';
export const SYNC_DN = `cn=sync,ou=services,${BASE}`;
export const SYNC_PW = 'sync-secret-1';

export const ous = (base = BASE): string[] =>
  ['people', 'groups', 'services'].map((ou) => `dn: ou=${ou},${base}\nobjectClass: organizationalUnit\nou: ${ou}\n`);

export const serviceAccount = (base = BASE): string =>
  `dn: cn=sync,ou=services,${base}\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: sync\nsn: sync\nuserPassword: ${SYNC_PW}\n`;

export const user = (uid: string, base = BASE): string =>
  `dn: uid=${uid},ou=people,${base}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuidNumber: ${1000 + hash(uid)}\ngidNumber: 100\nhomeDirectory: /home/${uid}\n`;

function hash(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) % 100000;
  return h;
}

export const userDn = (uid: string, base = BASE): string => `uid=${uid},ou=people,${base}`;
export const groupDn = (cn: string, base = BASE): string => `cn=${cn},ou=groups,${base}`;

export const groupOfNames = (cn: string, members: string[], base = BASE): string =>
  `dn: cn=${cn},ou=groups,${base}\nobjectClass: groupOfNames\ncn: ${cn}\n` + members.map((m) => `member: ${m}\n`).join('');

export const groupOfUniqueNames = (cn: string, members: string[], base = BASE): string =>
  `dn: cn=${cn},ou=groups,${base}\nobjectClass: groupOfUniqueNames\ncn: ${cn}\n` + members.map((m) => `uniqueMember: ${m}\n`).join('');

export const posixGroup = (cn: string, uids: string[], base = BASE): string =>
  `dn: cn=${cn},ou=groups,${base}\nobjectClass: posixGroup\ncn: ${cn}\ngidNumber: ${2000 + hash(cn)}\n` + uids.map((u) => `memberUid: ${u}\n`).join('');

export function serverConfig(url: string, groupDns: string[], over: Partial<LdapServerConfig> = {}): LdapServerConfig {
  return {
    uri: url,
    bindDn: SYNC_DN,
    bindPassword: SYNC_PW,
    groupDns,
    userSearchBase: `ou=people,${BASE}`,
    userFilter: '(uid={username})',
    objectIdAttribute: 'entryUUID',
    startTls: false,
    connectTimeoutMs: 2000,
    operationTimeoutMs: 5000,
    ...over,
  };
}

export function serviceConfig(servers: LdapServerConfig[], groupSync: Partial<ServiceConfig['groupSync']> = {}): ServiceConfig {
  return {
    ldapServers: servers,
    listen: { host: '127.0.0.1', port: 0 },
    issuer: 'https://auth.example.test',
    audience: ['test'],
    accessTokenTtlSeconds: 300,
    refreshTokenTtlSeconds: 3600,
    authorizationCodeTtlSeconds: 60,
    signingAlgorithm: 'ES256',
    keyDirectory: '/nonexistent',
    usernamePattern: /^[a-z0-9._-]{1,64}$/,
    clients: [],
    throttle: { maxFailuresPerUsername: 5, maxFailuresPerIp: 50, windowSeconds: 60 },
    groupSync: { intervalSeconds: 3600, maxStaleSeconds: 600, ...groupSync },
    trustedProxies: [],
  };
}

/** entryUUID (or any attribute) of entries, read as the rootdn: the test's ground truth. */
export async function idsOf(url: string, adminDn: string, adminPassword: string, dns: string[], attr = 'entryUUID'): Promise<Map<string, string>> {
  const c = new Client({ url });
  await c.bind(adminDn, adminPassword);
  const out = new Map<string, string>();
  try {
    for (const dn of dns) {
      const { searchEntries } = await c.search(dn, { scope: 'base', attributes: [attr], explicitBufferAttributes: attr === 'objectGUID' ? [attr] : [] });
      const v = searchEntries[0]![attr];
      out.set(dn, Buffer.isBuffer(v) ? v.toString('hex') : String(v));
    }
  } finally {
    await c.unbind();
  }
  return out;
}

export async function adminClient(url: string, adminDn: string, adminPassword: string): Promise<Client> {
  const c = new Client({ url });
  await c.bind(adminDn, adminPassword);
  return c;
}

export interface CapturedLog extends Logger {
  lines: Array<{ level: string; msg: string; fields?: Record<string, unknown> }>;
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  return { lines, ...levelLogger((level, msg, fields) => void lines.push({ level, msg, fields })) };
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Builds sync.worker.ts from the current sources (as scripts/build.mjs does) into a temp dir. */
export async function buildWorker(): Promise<string> {
  // Inside the repo so the bundle's bare imports (ldapts) resolve from node_modules.
  await mkdir(path.join(root, 'node_modules/.cache'), { recursive: true });
  const dir = await mkdtemp(path.join(root, 'node_modules/.cache/groups-worker-'));
  const outfile = path.join(dir, 'sync.worker.js');
  await build({
    entryPoints: [path.join(root, 'service/src/groups/sync.worker.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  return outfile;
}
