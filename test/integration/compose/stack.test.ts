// docker-compose.yml read as a file: it parses, everything it builds or mounts
// exists, the configs it mounts are the ones the other tests run, and the local
// override swaps base images only. compose/stack-browser-login.test.ts runs it.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../harness/nginx.ts';
import { COMPOSE_SITE, siteConfig } from '../../../scripts/lib/site-config.mjs';
import { loadConfigFromString } from '../../../service/src/config/load.ts';
import { COMPOSE_BASES } from '../../../scripts/lib/debian-images.mjs';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string; args?: Record<string, string>; network?: string };
  volumes?: string[];
  environment?: Record<string, string>;
  network_mode?: string;
  ports?: string[];
  user?: string;
  command?: string[];
}

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { strict: true, uniqueKeys: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const local = parse(readFileSync(join(REPO_ROOT, 'docker-compose.local.yml'), 'utf8'), { strict: true, uniqueKeys: true }) as {
  services: Record<string, ComposeService>;
};
const dockerfile = readFileSync(join(REPO_ROOT, 'service/Dockerfile'), 'utf8');

function binds(svc: ComposeService): Array<{ source: string; target: string }> {
  return (svc.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => {
    const [source, target] = v.split(':');
    return { source: source!, target: target! };
  });
}

describe('docker-compose.yml', () => {
  it('has the five services: nginx, the service, OpenLDAP, Redis and the demo upstream', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['nginx', 'openldap', 'redis', 'service', 'upstream']);
    // One network namespace: the 127.0.0.1 addresses of the example config hold in the containers too.
    for (const name of ['service', 'openldap', 'redis', 'upstream']) expect(compose.services[name]!.network_mode).toBe('service:nginx');
    expect(compose.services.nginx!.ports).toEqual(['127.0.0.1:${LJWT_COMPOSE_PORT:-8080}:8080']);
  });

  it('references only files and build targets that exist', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build) {
        // A name of our own, so rebuilds replace the image instead of adding one per project.
        expect(svc.image, name).toBe(`nginx-ldap-jwt/${name}:demo`);
        const file = join(REPO_ROOT, svc.build.context, svc.build.dockerfile);
        expect(existsSync(file), name).toBe(true);
        const stages = [...readFileSync(file, 'utf8').matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
        if (svc.build.target !== undefined) expect(stages, name).toContain(svc.build.target);
      } else {
        expect(svc.image, name).toMatch(/^[a-z0-9./-]+:[\w.-]+$/);
      }
      for (const b of binds(svc)) expect(existsSync(join(REPO_ROOT, b.source)), `${name}: ${b.source}`).toBe(true);
      for (const v of (svc.volumes ?? []).filter((x) => !x.startsWith('./'))) {
        expect(Object.keys(compose.volumes ?? {}), `${name}: ${v}`).toContain(v.split(':')[0]);
      }
    }
  });

  it('runs nginx with the example the end-to-end tests run, and the project includes', () => {
    const nginx = compose.services.nginx!;
    const mounts = Object.fromEntries(binds(nginx).map((b) => [b.target, b.source]));
    expect(mounts['/etc/nginx/nginx.conf']).toBe('./demo/compose/nginx.conf');
    for (const f of ['http.conf', 'server.conf', 'protect.conf', 'protect-common.conf']) {
      expect(mounts[`${COMPOSE_SITE.dir}/${f}`]).toBe(`./nginx/${f}`);
    }
    const generated = readFileSync(join(REPO_ROOT, 'demo/compose/nginx.conf'), 'utf8');
    const body = generated.split('\n').slice(3).join('\n');
    // Out of date? Regenerate: node scripts/lib/site-config.mjs compose > demo/compose/nginx.conf
    expect(body).toBe(siteConfig(COMPOSE_SITE));
    // The official image loads njs itself, and the bundle sits where nginx/http.conf expects it.
    expect(generated).toContain('load_module modules/ngx_http_js_module.so;');
    expect(readFileSync(join(REPO_ROOT, 'nginx/http.conf'), 'utf8')).toContain('js_import ljwt from /usr/share/nginx-ldap-jwt/ljwt.js;');
    // Both bundles: server.conf's @ljwt_forbidden imports ljwt-full.js.
    expect(dockerfile).toContain('COPY --from=build /src/dist/njs/ljwt.js /src/dist/njs/ljwt-full.js /usr/share/nginx-ldap-jwt/');
  });

  it('runs the service with the demo config, which loads with the compose environment', () => {
    const svc = compose.services.service!;
    const mounts = Object.fromEntries(binds(svc).map((b) => [b.target, b.source]));
    expect(mounts['/etc/nginx-ldap-jwt/config.xml']).toBe('./demo/config.xml');
    expect(dockerfile).toMatch(/CMD \["node", "--max-semi-space-size=8", "--heap-growing-percent=100", "dist\/service\/main\.js", "--config", "\/etc\/nginx-ldap-jwt\/config\.xml"\]/);
    const config = loadConfigFromString(readFileSync(join(REPO_ROOT, 'demo/config.xml'), 'utf8'), svc.environment);
    expect(config.ldapServers[0]!.uri).toBe('ldap://127.0.0.1:389');
    // The reader account of demo/directory.ldif, which the stack's OpenLDAP loads.
    expect(config.ldapServers[0]!.bindDn).toBe('cn=ljwt-reader,ou=service-accounts,dc=example,dc=com');
    expect(readFileSync(join(REPO_ROOT, 'demo/directory.ldif'), 'utf8')).toContain(`dn: ${config.ldapServers[0]!.bindDn}\n`);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379/0');
    expect(config.issuer).toBe(`${COMPOSE_SITE.origin}/_auth`);
    expect(config.clients.some((c) => c.redirectUris.includes(`${COMPOSE_SITE.origin}/_auth/callback`))).toBe(true);
    expect(config.listen).toEqual({ host: '127.0.0.1', port: COMPOSE_SITE.servicePort });
  });

  it('builds the service in stages and runs it as a non-root user', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS build$/m);
    expect(dockerfile).toMatch(/RUN npm ci --no-audit --no-fund\n/);
    expect(dockerfile).toMatch(/RUN node scripts\/build\.mjs/);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS service'), dockerfile.indexOf('AS nginx'));
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(compose.services.upstream!.user).toBe('node');
    // The demo upstream is the same file the e2e tests and `npm run demo` use.
    expect(binds(compose.services.upstream!)).toEqual([{ source: './demo/upstream.mjs', target: '/app/upstream.mjs' }]);
    expect(compose.services.upstream!.environment!.PORT).toBe(String(COMPOSE_SITE.upstreamPort));
    // The directory's initial entries are the demo directory.
    expect(binds(compose.services.openldap!)).toEqual([{ source: './demo/directory.ldif', target: '/seed/50-demo.ldif' }]);
  });

  it('docker-compose.local.yml only swaps the public base images for the local ones built from Debian packages', () => {
    const aliases = Object.values(COMPOSE_BASES).map((b) => b.alias);
    const publicDefaults: Record<string, string> = {};
    for (const f of ['service/Dockerfile', 'demo/compose/openldap/Dockerfile']) {
      for (const m of readFileSync(join(REPO_ROOT, f), 'utf8').matchAll(/^ARG (\w+_IMAGE)=(\S+)$/gm)) publicDefaults[m[1]!] = m[2]!;
    }
    expect(publicDefaults).toEqual({ NODE_IMAGE: 'node:20-bookworm-slim', NGINX_IMAGE: 'nginx:1.27-bookworm', DEBIAN_IMAGE: 'debian:bookworm-slim' });
    expect(Object.keys(local.services).sort()).toEqual(Object.keys(compose.services).sort());
    for (const [name, svc] of Object.entries(local.services)) {
      expect(Object.keys(svc).sort(), name).toEqual(compose.services[name]!.build ? ['build'] : ['image']);
      if (svc.image) {
        expect(aliases, name).toContain(svc.image);
        continue;
      }
      expect(svc.build!.network, name).toBe('host');
      for (const [arg, image] of Object.entries(svc.build!.args ?? {})) {
        expect(publicDefaults, `${name}: ${arg}`).toHaveProperty(arg);
        expect(aliases, `${name}: ${arg}`).toContain(image);
      }
    }
  });
});
