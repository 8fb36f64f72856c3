// Turns nginx/examples/site-with-login.conf into a runnable nginx.conf for a
// scratch directory and 127.0.0.1 ports. Used by `npm run demo` and by the
// tests, so both run the example file itself, changed only in the lines below.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SITE_EXAMPLE = fileURLToPath(new URL('../../nginx/examples/site-with-login.conf', import.meta.url));
export const EXAMPLE_SITE_ORIGIN = 'https://app.example.com';

/**
 * @param {object} o
 * @param {string} o.dir       instance directory as nginx sees it (holds http.conf, server.conf, protect.conf)
 * @param {string} o.module    path of ngx_http_js_module.so
 * @param {boolean} [o.qjs]    add `js_engine qjs;`
 * @param {string|number} o.listen  port (or a template such as '{{PORT:main}}')
 * @param {number} o.upstreamPort   the protected site
 * @param {number} o.servicePort    the login service
 * @param {string} o.origin    the site's origin as the browser sees it, e.g. http://127.0.0.1:8080
 * @param {string} [o.text]    the example's text (default: read from nginx/examples)
 * @param {string} [o.stateDir] pid file, logs, temp and cache directories (default: dir)
 * @param {string} [o.listenHost] address to listen on (default 127.0.0.1)
 * @param {string} [o.user]    worker user (default: www-data as root, none otherwise)
 * @param {string} [o.errorLog] error_log target (default: <stateDir>/error.log)
 */
export function siteConfig(o) {
  const st = o.stateDir ?? o.dir;
  const replacements = [
    ['pid /run/nginx.pid;', `pid ${st}/nginx.pid;`],
    ['error_log /var/log/nginx/error.log;', `error_log ${o.errorLog ?? `${st}/error.log`} info;`],
    ['include /etc/nginx/modules-enabled/*.conf;', `load_module ${o.module};`],
    ['access_log /var/log/nginx/access.log;', `access_log off;\n    client_body_temp_path ${st}/temp/body;\n` +
      `    proxy_temp_path ${st}/temp/proxy;\n    fastcgi_temp_path ${st}/temp/fastcgi;\n` +
      `    uwsgi_temp_path ${st}/temp/uwsgi;\n    scgi_temp_path ${st}/temp/scgi;` + (o.qjs ? '\n    js_engine qjs;' : '')],
    ['/etc/nginx/nginx-ldap-jwt/', `${o.dir}/`],
    ['/var/cache/nginx/ljwt-jwks', `${st}/jwks-cache`],
    ['server 127.0.0.1:8081;', `server 127.0.0.1:${o.upstreamPort};`],
    ['server 127.0.0.1:9090;', `server 127.0.0.1:${o.servicePort};`],
    [EXAMPLE_SITE_ORIGIN, o.origin],
    ['listen 80;', `listen ${o.listenHost ?? '127.0.0.1'}:${o.listen};`],
  ];
  if (o.user !== undefined) replacements.push(['user www-data;', `user ${o.user};`]);
  // Not root (the demo as a normal user): nginx cannot switch users, and says so on every start.
  else if (typeof process.getuid === 'function' && process.getuid() !== 0) replacements.push(['user www-data;', '']);
  let conf = o.text ?? readFileSync(SITE_EXAMPLE, 'utf8');
  for (const [from, to] of replacements) {
    if (conf.indexOf(from) < 0) throw new Error(`site-with-login.conf no longer contains ${from}`);
    conf = conf.split(from).join(to);
  }
  return conf;
}

/**
 * The docker-compose nginx (official nginx image): every container shares the
 * nginx container's network namespace (docker-compose.yml), so the example's
 * 127.0.0.1 upstreams hold unchanged; the browser opens http://127.0.0.1:8080.
 */
export const COMPOSE_SITE = {
  dir: '/etc/nginx/nginx-ldap-jwt',
  stateDir: '/var/cache/nginx/ljwt',
  module: 'modules/ngx_http_js_module.so',
  listen: 8080,
  listenHost: '0.0.0.0',
  user: 'nginx',
  errorLog: '/dev/stderr',
  upstreamPort: 8081,
  servicePort: 9090,
  origin: 'http://127.0.0.1:8080',
};

// `node scripts/lib/site-config.mjs compose > demo/compose/nginx.conf` regenerates the compose
// nginx.conf; test/integration/compose/stack.test.ts fails when it is out of date.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === 'compose') {
  process.stdout.write(`# GENERATED from nginx/examples/site-with-login.conf by\n#   node scripts/lib/site-config.mjs compose > demo/compose/nginx.conf\n# Do not edit: change the example instead.\n${siteConfig(COMPOSE_SITE)}`);
}
