// A group sync never fails because of a server's paged-results limits: a page size above
// the server's size.pr is halved until it is accepted, a refused paged-results control
// falls back to one unpaged search. Real slapd with olcLimits set for the service account.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'ldapts';
import { startSlapd, type Slapd } from '../../harness/slapd.ts';
import { startGroupDirectory } from '../../../service/src/groups/directory.ts';
import { pagedSearch, pagingState } from '../../../service/src/ldap/paged-search.ts';
import { BASE, SYNC_DN, SYNC_PW, captureLog, groupDn, groupOfNames, idsOf, ous, serverConfig, serviceAccount, serviceConfig, user, userDn } from '../ldap/groups-fixtures.ts';

const USERS = Array.from({ length: 900 }, (_, i) => `u${String(i).padStart(4, '0')}`);
const GROUP = groupDn('all');

function ldif(): string[] {
  // 900 members: the bulk scan pages through more than two pages of 400.
  return [...ous(), serviceAccount(), ...USERS.map((u) => user(u)), groupOfNames('all', USERS.map((u) => userDn(u)))];
}

interface Case {
  name: string;
  limits: string[];
  /** What the sync must end up using. */
  expectPaged: boolean;
  expectPageSizeAtMost?: number;
}

const CASES: Case[] = [
  { name: 'page size above size.pr (adminLimitExceeded): halved until accepted', limits: ['users size.pr=400 size.prtotal=unlimited'], expectPaged: true, expectPageSizeAtMost: 400 },
  { name: 'paged-results control refused (size.prtotal=disabled): one unpaged search', limits: ['users size.soft=unlimited size.hard=unlimited size.prtotal=disabled'], expectPaged: false },
  { name: 'entries through paging capped (size.prtotal=300): one unpaged search', limits: ['users size.pr=400 size.prtotal=300 size.soft=unlimited size.hard=unlimited'], expectPaged: false },
];

describe.each(CASES)('group sync under server page limits: $name', ({ limits, expectPaged, expectPageSizeAtMost }) => {
  let slapd: Slapd;
  let ids: Map<string, string>;
  beforeAll(async () => {
    slapd = await startSlapd({ ldif: ldif(), limits });
    ids = await idsOf(slapd.url, slapd.adminDn, slapd.adminPassword, USERS.map((u) => userDn(u)));
  });
  afterAll(async () => {
    await slapd?.destroy();
  });

  it('the limit is real: a paged search with the default page size is refused', async () => {
    const c = new Client({ url: slapd.url });
    await c.bind(SYNC_DN, SYNC_PW);
    try {
      const pages = async () => {
        for await (const _ of c.searchPaginated(`ou=people,${BASE}`, { filter: '(uid=*)', attributes: ['uid'], paged: { pageSize: 500 } })) void _;
      };
      await expect(pages()).rejects.toMatchObject({ code: expect.any(Number) });
    } finally {
      await c.unbind();
    }
  });

  it('a bulk sync succeeds with every member, and the adaptation is logged', async () => {
    const log = captureLog();
    const config = serviceConfig([serverConfig(slapd.url, [GROUP])]);
    const dir = await startGroupDirectory(config, log, { mode: 'in-thread', expand: { mode: 'bulk' } });
    try {
      const result = await dir.syncNow();
      expect(result.ok, result.error ?? '').toBe(true);
      expect(dir.status().stale).toBe(false);
      for (const u of USERS) expect(dir.groupsOf(ids.get(userDn(u))!)).toEqual([GROUP]);
      const adapted = log.lines.filter((l) => l.level === 'warn' && /page/.test(l.msg));
      expect(adapted.length).toBeGreaterThan(0);
    } finally {
      await dir.close();
    }
  });

  it('the paging state records what the server accepts', async () => {
    const c = new Client({ url: slapd.url });
    await c.bind(SYNC_DN, SYNC_PW);
    try {
      const state = pagingState(500);
      const seen = new Set<string>();
      await pagedSearch(c, `ou=people,${BASE}`, { filter: '(uid=*)', attributes: ['uid'], state }, (e) => void seen.add(e.dn));
      expect(seen.size).toBe(USERS.length);
      expect(state.paged).toBe(expectPaged);
      if (expectPageSizeAtMost !== undefined) expect(state.pageSize).toBeLessThanOrEqual(expectPageSizeAtMost);
    } finally {
      await c.unbind();
    }
  });
});
