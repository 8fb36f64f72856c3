// Pure parts of the operator support: which groups each server's sync expands (the admin
// group added once, where it belongs), the tuning read from the configuration, and the
// metric types of the group figures.
import { describe, expect, it } from 'vitest';
import { configTuning, DEFAULT_TUNING } from '../../../../service/src/app.ts';
import type { LdapServerConfig, ServiceConfig } from '../../../../service/src/config/types.ts';
import { syncTargets } from '../../../../service/src/groups/sync-targets.ts';
import { Metrics } from '../../../../service/src/ops/metrics.ts';
import { silentLogger } from '../../../../service/src/ops/logger.ts';

function server(uri: string, userSearchBase: string, groupDns: string[]): LdapServerConfig {
  return {
    uri,
    bindDn: `cn=reader,${userSearchBase}`,
    bindPassword: 'x',
    groupDns,
    userSearchBase,
    userFilter: '(uid={username})',
    objectIdAttribute: 'entryUUID',
    startTls: false,
    connectTimeoutMs: 1000,
    operationTimeoutMs: 1000,
  };
}

function capture() {
  const warnings: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
  return { warnings, log: { ...silentLogger, warn: (msg: string, fields?: Record<string, unknown>) => warnings.push({ msg, fields }) } };
}

const ENG = 'cn=engineering,ou=groups,dc=example,dc=com';
const ADMINS = 'cn=admins,ou=groups,dc=example,dc=com';

describe('syncTargets', () => {
  it('returns the servers unchanged without an admin group', () => {
    const servers = [server('ldap://a', 'ou=people,dc=example,dc=com', [ENG])];
    expect(syncTargets({ ldapServers: servers })).toBe(servers);
  });

  it('adds the admin group to the servers whose naming context holds it, without modifying the config', () => {
    const a = server('ldap://a', 'ou=people,dc=example,dc=com', [ENG]);
    const replica = server('ldap://b', 'dc=example,dc=com', []);
    const other = server('ldap://c', 'ou=users,dc=other,dc=org', ['cn=staff,dc=other,dc=org']);
    const { log, warnings } = capture();
    const out = syncTargets({ ldapServers: [a, replica, other], adminGroupDn: ADMINS }, log);
    expect(out.map((s) => s.groupDns)).toEqual([[ENG, ADMINS], [ADMINS], ['cn=staff,dc=other,dc=org']]);
    expect(out[2]).toBe(other);
    expect(a.groupDns).toEqual([ENG]);
    expect(replica.groupDns).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('warns when two <ldapServer> elements read the same groups with the same account (replicas written as separate directories)', () => {
    const { log, warnings } = capture();
    syncTargets({ ldapServers: [server('ldap://a', 'ou=people,dc=example,dc=com', [ENG]), server('ldap://b', 'OU=People,DC=Example,DC=com', [ENG.toUpperCase()])] }, log);
    expect(warnings).toEqual([expect.objectContaining({ fields: { directory: 'ldap://a', other: 'ldap://b' } })]);
    expect(warnings[0]!.msg).toMatch(/list their URIs as <uri> elements of one <ldapServer>/);
    const quiet = capture();
    syncTargets({ ldapServers: [server('ldap://a', 'ou=people,dc=example,dc=com', [ENG]), server('ldap://b', 'ou=people,dc=example,dc=com', [])] }, quiet.log);
    expect(quiet.warnings).toEqual([]);
  });

  it('does not list it twice when the <dnList> already has it in another spelling', () => {
    const listed = server('ldap://a', 'ou=people,dc=example,dc=com', [ENG, 'CN=Admins, OU=Groups,DC=Example,DC=COM']);
    const out = syncTargets({ ldapServers: [listed], adminGroupDn: ADMINS });
    expect(out[0]).toBe(listed);
    expect(out[0]!.groupDns).toHaveLength(2);
  });

  it('uses the last RDN as naming context when the search base has no dc= part', () => {
    const s = server('ldap://a', 'ou=people,o=corp', []);
    expect(syncTargets({ ldapServers: [s], adminGroupDn: 'cn=ops,ou=groups,o=corp' })[0]!.groupDns).toEqual(['cn=ops,ou=groups,o=corp']);
  });

  it('warns when no server can hold it and no <dnList> names it', () => {
    const s = server('ldap://a', 'ou=people,dc=example,dc=com', [ENG]);
    const { log, warnings } = capture();
    const out = syncTargets({ ldapServers: [s], adminGroupDn: 'cn=admins,dc=elsewhere,dc=net' }, log);
    expect(out[0]!.groupDns).toEqual([ENG]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toEqual({ group: 'cn=admins,dc=elsewhere,dc=net' });

    // Listed explicitly: the operator chose it, no warning.
    const explicit = server('ldap://a', 'ou=people,dc=example,dc=com', ['cn=admins,dc=elsewhere,dc=net']);
    const c2 = capture();
    syncTargets({ ldapServers: [explicit], adminGroupDn: 'cn=admins,dc=elsewhere,dc=net' }, c2.log);
    expect(c2.warnings).toEqual([]);
  });
});

describe('configTuning', () => {
  it('keeps the defaults for fields the configuration does not set', () => {
    expect(configTuning({} as ServiceConfig)).toEqual(DEFAULT_TUNING);
  });

  it('takes every tuning field the configuration sets, 0 included', () => {
    const t = configTuning({
      keyRotationSeconds: 86400,
      refreshReuseGraceSeconds: 0,
      leewaySeconds: 5,
      accessTokenCookie: 'ljwt_at',
      refreshTokenCookie: '__Host-ljwt_rt',
    } as ServiceConfig);
    expect(t).toEqual({
      ...DEFAULT_TUNING,
      keyRotationSeconds: 86400,
      refreshReuseGraceSeconds: 0,
      leewaySeconds: 5,
      accessTokenCookie: 'ljwt_at',
      refreshTokenCookie: '__Host-ljwt_rt',
    });
  });
});

describe('Metrics gauges', () => {
  it('renders scrape-time values with their declared type, NaN for unknown', async () => {
    const m = new Metrics();
    m.addGauges(async () => [
      { name: 'x_age_seconds', help: 'Age.', value: null },
      { name: 'x_errors_total', help: 'Errors.', value: 3, type: 'counter' },
    ]);
    const text = await m.render();
    expect(text).toContain('# HELP x_age_seconds Age.\n# TYPE x_age_seconds gauge\nx_age_seconds NaN\n');
    expect(text).toContain('# HELP x_errors_total Errors.\n# TYPE x_errors_total counter\nx_errors_total 3\n');
  });
});
