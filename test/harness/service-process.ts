// The built service (dist/service/main.js) as an operator runs it: an XML configuration
// file for the fixture directory (test/fixtures/directory.ldif) and a child process whose
// output is collected.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { serviceConfigXml } from '../../scripts/lib/service-xml.mjs';

export const SERVICE_MAIN = new URL('../../dist/service/main.js', import.meta.url).pathname;
const ROOT = new URL('../..', import.meta.url).pathname;

export interface ServiceXmlOptions {
  ldapUrl: string;
  port: number;
  keyDirectory: string;
  groupDn: string;
  /** Further <service> elements, after keyDirectory (in schema order). */
  service?: Record<string, string | number>;
  /** The <groupSync> elements (in schema order). */
  groupSync: Record<string, number>;
  /** Grant types of the client "cli". */
  grantTypes: string[];
}

/** A configuration with the fixture's service account and one client "cli". */
export function serviceXml(o: ServiceXmlOptions): string {
  return serviceConfigXml({
    server: {
      uris: [o.ldapUrl], login: 'cn=ljwt-reader,ou=service-accounts,dc=example,dc=com', password: 'reader-secret',
      groupDns: [o.groupDn], userSearchBase: 'ou=people,dc=example,dc=com', userFilter: '(uid={username})',
    },
    service: {
      listen: `127.0.0.1:${o.port}`, issuer: `http://127.0.0.1:${o.port}`, audience: 'https://app.example.test',
      keyDirectory: o.keyDirectory, ...o.service,
    },
    groupSync: o.groupSync,
    clients: [{ id: 'cli', redirectUri: 'https://app.example.test/callback', grantTypes: o.grantTypes, scopes: ['openid'] }],
  });
}

export interface ServiceProcess {
  child: ChildProcess;
  base: string;
  /** stdout and stderr so far. */
  output(): string;
}

/** Builds dist/ when it is missing. */
export function ensureBuilt(): void {
  if (!existsSync(SERVICE_MAIN)) execFileSync('node', ['scripts/build.mjs'], { cwd: ROOT });
}

/** Writes the configuration to configFile and starts the service on it. */
export function spawnService(configFile: string, xml: string, port: number): ServiceProcess {
  writeFileSync(configFile, xml);
  const child = spawn('node', [SERVICE_MAIN, '--config', configFile], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => { output += d.toString(); });
  child.stderr!.on('data', (d) => { output += d.toString(); });
  return { child, base: `http://127.0.0.1:${port}`, output: () => output };
}
