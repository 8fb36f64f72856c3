// Parsed configurations kept for later requests (njs/nginx/config-store.ts).
// On the njs engine every request starts in a fresh VM: what one request
// stored in the shared zone must come back as the very configuration a new
// parse gives, under the same settings, build and njs only; anything else in
// the zone is a miss, never an exception. A fresh module import stands for
// the fresh VM.
import { afterEach, describe, expect, it } from 'vitest';
import { hasExplicitAlgorithms, parseEdgeConfig } from '#njs/config.ts';
import { freshModule, installDecisionZone, installFailingZone, installNjsVersion, removeNjsGlobals } from '../../../harness/njs-globals.ts';

// By a name the type check does not follow: the adapter's types need njs's globals (njs/tsconfig.json).
const STORE_MODULE: string = '#njs/nginx/config-store.ts';
interface ConfigStore {
  storeConfig(text: string, stored: ReturnType<typeof parsed>): void;
  storedConfig(text: string): ReturnType<typeof parsed> | null;
}

const freshStore = () => freshModule<ConfigStore>(STORE_MODULE);

const RUNTIME = { ed25519: false, version: '0.8.9' };
const MINIMAL = { ljwt_issuer: 'https://idp', ljwt_audience: 'api://x', ljwt_jwks_file: '/k.jwks' };
const EVERY_SETTING = {
  ljwt_jwks_file: '/a.json  /b.json', ljwt_pem_files: '/k1.pem /k2.pem', ljwt_jwks_location: '/_ljwt_jwks',
  ljwt_algorithms: 'HS256 ES256', ljwt_issuer: 'https://a https://b', ljwt_audience: 'off', ljwt_leeway: '0',
  ljwt_typ: 'off', ljwt_required_claims: 'sub exp iat', ljwt_max_token_length: '16384', ljwt_cookie: '__Host-ljwt',
  ljwt_user_claim: 'preferred_username', ljwt_claim_map: 'email=email roles=realm_access.roles',
  ljwt_login_url: 'https://sso.example.com/login?x=1', ljwt_return_param: 'return_to', ljwt_realm: 'Example Corp',
  ljwt_require_any_group: 'CN=Admins,DC=example,DC=com | cn=ops\\2C eu,dc=example,dc=com',
  ljwt_require_all_groups: 'cn=staff,dc=example,dc=com', ljwt_require_scope: 'read write',
  ljwt_require_claim: 'tenant=acme mfa=true url=a=b', ljwt_cache_max_age: '0', ljwt_pass_authorization: 'on',
};

function parsed(values: Record<string, string>) {
  return { cfg: parseEdgeConfig(values, RUNTIME), explicitAlgorithms: hasExplicitAlgorithms(values) };
}

afterEach(removeNjsGlobals);

describe('configurations kept in the shared zone', () => {
  it('come back in a fresh VM exactly as a new parse gives them, for every kind of setting', async () => {
    installDecisionZone();
    for (const values of [MINIMAL, EVERY_SETTING]) {
      const text = JSON.stringify(values);
      (await freshStore()).storeConfig(text, parsed(values));
      expect((await freshStore()).storedConfig(text)).toStrictEqual(parsed(values));
    }
  });

  it('are found only under the same settings text and the same njs version', async () => {
    installDecisionZone('0.8.9');
    (await freshStore()).storeConfig('settings A', parsed(MINIMAL));
    expect((await freshStore()).storedConfig('settings B')).toBeNull();
    const entries = installDecisionZone('1.0.2');
    (await freshStore()).storeConfig('settings A', parsed(MINIMAL));
    installNjsVersion('0.8.10');
    expect((await freshStore()).storedConfig('settings A')).toBeNull();
    expect(entries.size).toBe(1);
  });

  it('name the code that stored them, so another build never reads them', async () => {
    const entries = installDecisionZone();
    (await freshStore()).storeConfig('settings', parsed(MINIMAL));
    const [key] = [...entries.keys()];
    // Node runs the sources; a bundle has LJWT_BUILD_ID from scripts/build.mjs in the same place.
    expect(key.startsWith('config source ')).toBe(true);
    entries.set(key.replace('config source ', 'config 0123456789abcdef '), entries.get(key)!);
    entries.delete(key);
    expect((await freshStore()).storedConfig('settings')).toBeNull();
  });

  it('are a miss, not an exception, when the zone holds something else or fails', async () => {
    const entries = installDecisionZone();
    (await freshStore()).storeConfig('settings', parsed(MINIMAL));
    const [key] = [...entries.keys()];
    for (const junk of ['not json', '"text"', 'null', '{"cfg":null}', '{}']) {
      entries.set(key, junk);
      expect((await freshStore()).storedConfig('settings')).toBeNull();
    }
    installFailingZone();
    const store = await freshStore();
    expect(store.storedConfig('settings')).toBeNull();
    expect(() => store.storeConfig('settings', parsed(MINIMAL))).not.toThrow();
  });

  it('are kept in module scope where there is no zone (QuickJS reuses its contexts)', async () => {
    installNjsVersion('1.0.2');
    const store = await freshStore();
    const p = parsed(MINIMAL);
    store.storeConfig('settings', p);
    expect(store.storedConfig('settings')).toBe(p);
    expect((await freshStore()).storedConfig('settings')).toBeNull();
  });
});
