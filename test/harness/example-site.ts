// nginx/examples/protected-site.conf, templated only for paths, ports, the upstream and the
// JWKS URL, in front of an echo "site", with a fake identity provider serving the JWKS.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNginx, REPO_ROOT, type NginxInstance } from './nginx.ts';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream.ts';
import { startFakeIdp, type FakeIdp } from './edge-fixture.ts';
import { generateTestKeys, jwksText, nowSeconds, signJwt, type TestKey, type TestKeys } from './tokens.ts';
import type { Runtime } from './runtimes.ts';

const EXAMPLE = readFileSync(join(REPO_ROOT, 'nginx/examples/protected-site.conf'), 'utf8');

function templated(module: string, qjs: boolean, sharedDict: boolean, echoPort: number, idpPort: number): string {
  const replacements: [string, string][] = [
    ['pid /run/nginx.pid;', 'pid {{DIR}}/nginx.pid;'],
    ['error_log /var/log/nginx/error.log;', 'error_log {{DIR}}/error.log info;'],
    ['include /etc/nginx/modules-enabled/*.conf;', `load_module ${module};`],
    ['access_log /var/log/nginx/access.log;', 'access_log off;\n    client_body_temp_path {{DIR}}/temp/body;\n' +
      '    proxy_temp_path {{DIR}}/temp/proxy;\n    fastcgi_temp_path {{DIR}}/temp/fastcgi;\n' +
      '    uwsgi_temp_path {{DIR}}/temp/uwsgi;\n    scgi_temp_path {{DIR}}/temp/scgi;' + (qjs ? '\n    js_engine qjs;' : '')],
    ['/etc/nginx/nginx-ldap-jwt/', '{{DIR}}/'],
    ['/var/cache/nginx/ljwt-jwks', '{{DIR}}/jwks-cache'],
    ['server 127.0.0.1:8080;', `server 127.0.0.1:${echoPort};`],
    ['http://127.0.0.1:3000/.well-known/jwks.json', `http://127.0.0.1:${idpPort}/.well-known/jwks.json`],
    ['listen 80;', 'listen 127.0.0.1:{{PORT:main}};'],
    // The example as its comment says to use it where the runtime has shared dicts.
    ['# include {{DIR}}/http-shared.conf;', sharedDict ? 'include {{DIR}}/http-shared.conf;' : '# (no shared dicts in this runtime)'],
  ];
  let conf = EXAMPLE;
  for (const [from, to] of replacements) {
    if (conf.indexOf(from) < 0) throw new Error(`protected-site.conf no longer contains ${from}`);
    conf = conf.split(from).join(to);
  }
  return conf;
}

export interface ExampleSite {
  nginx: NginxInstance;
  echo: EchoUpstream;
  idp: FakeIdp;
  keys: TestKeys;
  /** An ES256 token the example accepts (sub "bob"); `extra` claims are added or replace. */
  token(extra?: Record<string, unknown>): string;
  stop(): Promise<void>;
}

/** `published` picks the keys the identity provider's JWKS document lists. */
export async function startExampleSite(runtime: Runtime, published: (keys: TestKeys) => TestKey[]): Promise<ExampleSite> {
  const keys = generateTestKeys();
  const echo = await startEchoUpstream();
  const idp = await startFakeIdp();
  idp.routes['/.well-known/jwks.json'] = [200, jwksText(published(keys))];
  let nginx: NginxInstance;
  try {
    nginx = await startNginx({ runtime, ports: ['main'], http: '',
      mainConf: templated(runtime.module, runtime.engine === 'qjs', runtime.sharedDict, echo.port, idp.port) });
  } catch (e) {
    await echo.close();
    await idp.close();
    throw e;
  }
  return {
    nginx,
    echo,
    idp,
    keys,
    token: (extra = {}) => signJwt(keys, 'ES256', Object.assign({
      iss: 'https://login.example.com', aud: 'https://app.example.com', sub: 'bob', exp: nowSeconds() + 300,
    }, extra)),
    async stop() {
      await nginx.stop();
      await echo.close();
      await idp.close();
    },
  };
}
