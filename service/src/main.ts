// Entry point: `node dist/service/main.js --config /etc/nginx-ldap-jwt/config.xml`
//              `node dist/service/main.js --config ... --rotate-keys`  (new signing key now, then exit)
import { parseArgs } from 'node:util';
import { configKeyManager, configTuning, createApp } from './app.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import type { ServiceConfig } from './config/types.ts';
import { startGroupDirectory } from './groups/directory.ts';
import { createLdapAuthenticator } from './ldap/login.ts';
import { childLogger, jsonLogger, type Logger } from './ops/logger.ts';
import { createStore } from './store/create-store.ts';

const USAGE = `usage: main.js [--config FILE] [--rotate-keys]
  --config FILE   XML configuration (default: $LJWT_CONFIG; environment variables override it)
  --rotate-keys   create new active signing keys in the key directory (one per algorithm: access
                  tokens, ID tokens), update the JWKS file, exit; running instances pick them up
                  within a minute, the old keys stay published until every token they signed has expired
`;

async function rotateKeys(config: ServiceConfig, logger: Logger): Promise<void> {
  const keys = configKeyManager(config, configTuning(config));
  await keys.init();
  const kid = await keys.rotate();
  const active = Object.fromEntries(keys.algorithms.map((alg) => [alg, keys.activeKid(alg)]));
  logger.info('signing_key_rotated', { kid, active, published: keys.list().map((k) => k.kid) });
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { config: { type: 'string' }, 'rotate-keys': { type: 'boolean' }, help: { type: 'boolean' } }, strict: true });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help) { process.stdout.write(USAGE); return 0; }

  let config: ServiceConfig;
  try {
    config = loadConfig(args.values.config !== undefined ? { file: args.values.config } : {});
  } catch (e) {
    if (e instanceof ConfigError) { process.stderr.write(`configuration error: ${e.message}\n`); return 2; }
    throw e;
  }
  const logger = jsonLogger((l) => process.stdout.write(l), config.logLevel ?? 'info');
  if (args.values['rotate-keys']) { await rotateKeys(config, logger); return 0; }

  const store = createStore(config.redisUrl);
  const authenticator = createLdapAuthenticator(config.ldapServers, config.usernamePattern, childLogger(logger, { component: 'ldap' }));
  // Listen at once: until the first snapshot exists, what needs groups answers 503 + Retry-After.
  const groups = await startGroupDirectory(config, childLogger(logger, { component: 'groups' }), { awaitFirstSync: false });
  const app = await createApp(config, { store, authenticator, groups, logger });
  await app.listen();

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn('shutdown_interrupted', { signal });
        resolve(1);
        return;
      }
      stopping = true;
      logger.info('shutdown_started', { signal });
      // Stop accepting and drain in-flight requests first; their handlers still need the store and LDAP.
      app.close()
        .then(() => authenticator.close())
        .then(() => groups.close())
        .then(() => store.close())
        .then(() => { logger.info('shutdown_complete'); resolve(0); })
        .catch((e) => { logger.error('shutdown_failed', { error: e instanceof Error ? e.message : 'unknown' }); resolve(1); });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

main().then((code) => process.exit(code), (e) => {
  process.stderr.write(`fatal: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
