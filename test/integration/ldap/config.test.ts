// End to end: a configuration file in the original format, with a JDBC-like URL
// carrying an escaped service password, drives a real login.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../service/src/config/load.ts';
import { createLdapAuthenticator } from '../../../service/src/ldap/login.ts';
import { LdapLoginError } from '../../../service/src/ldap/errors.ts';
import type { Slapd } from '../../harness/slapd.ts';
import { startFixtureSlapd } from '../../harness/ldap-fixture.ts';

const SVC_DN = 'cn=odd-reader,ou=service-accounts,dc=example,dc=com';
const SVC_PW = 'p@ss:w/rd%,;&<x> ';

describe('configuration file -> LDAP login', () => {
  let slapd: Slapd;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ljwt-cfg-int-'));
  beforeAll(async () => {
    slapd = await startFixtureSlapd({
      ldif: [`dn: ${SVC_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: odd-reader\nuserPassword:: ${Buffer.from(SVC_PW).toString('base64')}\n`],
    });
  });
  afterAll(async () => {
    await slapd?.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('logs in with the service account from a JDBC-like URL with percent-encoded DN and password', async () => {
    const uri = `ldap://${encodeURIComponent(SVC_DN)}:${encodeURIComponent(SVC_PW)}@127.0.0.1:${slapd.port}`;
    const file = path.join(tmp, 'config.xml');
    writeFileSync(
      file,
      `<?xml version="1.0" encoding="UTF-8"?>
<ldapConfig>
  <ldapServer>
    <uri>${uri.replace(/&/g, '&amp;')}</uri>
    <login></login>
    <password></password>
    <dnList>
      <dn>cn=allowed-to-login,ou=groups,dc=example,dc=com</dn>
    </dnList>
    <loginGroup>cn=allowed-to-login,ou=groups,dc=example,dc=com</loginGroup>
  </ldapServer>
</ldapConfig>
`,
    );
    const cfg = loadConfig({ file, env: { LJWT_ISSUER: 'http://127.0.0.1:1' } });
    expect(cfg.ldapServers[0]).toMatchObject({ uri: `ldap://127.0.0.1:${slapd.port}`, bindDn: SVC_DN, bindPassword: SVC_PW });
    const auth = createLdapAuthenticator(cfg.ldapServers, cfg.usernamePattern);
    expect(await auth.ping()).toBe(true);
    expect((await auth.authenticate('jsmith', 'jsmith-pw')).displayName).toBe('Smith, John');
    await expect(auth.authenticate('bob', 'bob-pw')).rejects.toMatchObject({ code: 'NOT_IN_LOGIN_GROUP' });
    await expect(auth.authenticate('bob', 'bob-pw')).rejects.toBeInstanceOf(LdapLoginError);
    expect(await slapd.boundDns()).toContain(SVC_DN);
  });
});
