// Expansion logic over an in-memory directory that behaves like Active Directory where
// slapd cannot: ranged attribute retrieval (member;range=0-1499 ... ;range=N-*) in base
// reads and in searches. Everything else is covered against real slapd in
// test/integration/groups-*.test.ts.
import { describe, expect, it } from 'vitest';
import type { Filter } from 'ldapts';
import { expandGroups, type DirectorySource, type RawEntry } from '../../service/src/groups/expand.ts';
import { commonSuffixKey, dnKey, isUnderKey, stripOptionalUid } from '../../service/src/groups/dn.ts';

const RANGE = 1500;
const BASE = 'DC=corp,DC=example';

interface AdEntry {
  dn: string;
  objectClass: string[];
  member?: string[];
  objectGUID?: Buffer;
}

function guid(n: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(n, 12);
  b[0] = 0xaa;
  return b;
}
function rendered(n: number): string {
  return `000000aa-0000-0000-0000-0000${n.toString(16).padStart(8, '0')}`;
}

/** AD semantics: values of `member` beyond MaxValRange come back as member;range=lo-hi. */
function adDirectory(entries: AdEntry[]): DirectorySource & { reads: string[]; rangeRequests: string[] } {
  const byKey = new Map(entries.map((e) => [dnKey(e.dn), e]));
  const reads: string[] = [];
  const rangeRequests: string[] = [];
  const render = (e: AdEntry, attributes: string[]): RawEntry => {
    const out: RawEntry = { dn: e.dn, objectClass: e.objectClass };
    if (e.objectGUID) out.objectGUID = e.objectGUID;
    for (const a of attributes) {
      const m = /^member;range=(\d+)-\*$/i.exec(a);
      const members = e.member ?? [];
      if (a.toLowerCase() === 'member') {
        if (members.length > RANGE) out[`member;range=0-${RANGE - 1}`] = members.slice(0, RANGE);
        else if (members.length) out.member = members;
      } else if (m) {
        rangeRequests.push(`${e.dn} ${a}`);
        const lo = Number(m[1]);
        const hi = lo + RANGE - 1;
        if (hi >= members.length - 1) out[`member;range=${lo}-*`] = members.slice(lo);
        else out[`member;range=${lo}-${hi}`] = members.slice(lo, hi + 1);
      }
    }
    return out;
  };
  return {
    reads,
    rangeRequests,
    async read(dn, attributes) {
      reads.push(dn);
      const e = byKey.get(dnKey(dn));
      return e ? render(e, attributes) : null;
    },
    async search(base: string, _filter: Filter, attributes: string[], onEntry: (e: RawEntry) => void) {
      const baseKey = dnKey(base);
      for (const e of entries) if (isUnderKey(dnKey(e.dn), baseKey)) onEntry(render(e, attributes));
    },
  };
}

function bigAd(users: number) {
  const entries: AdEntry[] = [];
  const userDns: string[] = [];
  for (let i = 0; i < users; i++) {
    const dn = `CN=User ${i},OU=Users,${BASE}`;
    userDns.push(dn);
    entries.push({ dn, objectClass: ['top', 'person', 'organizationalPerson', 'user'], objectGUID: guid(i) });
  }
  entries.push({ dn: `CN=Huge,OU=Groups,${BASE}`, objectClass: ['top', 'group'], member: [...userDns, `CN=Inner,OU=Groups,${BASE}`], objectGUID: guid(900001) });
  entries.push({ dn: `CN=Inner,OU=Groups,${BASE}`, objectClass: ['top', 'group'], member: [`CN=Huge,OU=Groups,${BASE}`, `CN=Gone,OU=Users,${BASE}`], objectGUID: guid(900002) });
  return entries;
}

describe('AD ranged retrieval', () => {
  for (const mode of ['targeted', 'bulk'] as const) {
    it(`${mode}: a 3,700-member group is read in ranges 0-1499, 1500-2999, 3000-*`, async () => {
      const dir = adDirectory(bigAd(3700));
      const { groups, stats } = await expandGroups(dir, {
        groupDns: [`CN=Huge,OU=Groups,${BASE}`],
        userSearchBase: `OU=Users,${BASE}`,
        objectIdAttribute: 'objectGUID',
        mode,
      });
      const ids = groups.get(`CN=Huge,OU=Groups,${BASE}`)!;
      expect(ids).toHaveLength(3700);
      expect(new Set(ids)).toEqual(new Set(Array.from({ length: 3700 }, (_, i) => rendered(i))));
      expect(dir.rangeRequests).toEqual([`CN=Huge,OU=Groups,${BASE} member;range=1500-*`, `CN=Huge,OU=Groups,${BASE} member;range=3000-*`]);
      expect(stats.rangeReads).toBe(2);
      expect(stats.skippedMembers).toBe(1); // CN=Gone
      if (mode === 'targeted') {
        // Every entry once (+2 range continuations), never a user twice.
        expect(new Set(dir.reads.map((d) => dnKey(d))).size).toBe(dir.reads.length - 2);
      }
    });
  }

  it('auto mode switches to one bulk scan when the expansion gets large', async () => {
    const dir = adDirectory(bigAd(2000));
    const { stats } = await expandGroups(dir, {
      groupDns: [`CN=Huge,OU=Groups,${BASE}`],
      userSearchBase: `OU=Users,${BASE}`,
      objectIdAttribute: 'objectGUID',
      bulkThreshold: 500,
    });
    expect(stats.bulk).toBe(true);
    expect(stats.baseReads).toBeLessThan(5);
  });

  it('a range that does not advance is an error, not an endless loop', async () => {
    const entries = bigAd(1600);
    const dir = adDirectory(entries);
    const broken: DirectorySource = {
      read: async (dn, attrs) => {
        const e = await dir.read(dn, attrs);
        if (e && attrs.some((a) => a.startsWith('member;range=')))
          return { dn: e.dn, 'member;range=0-1499': entries.slice(0, 1500).map((x) => x.dn) };
        return e;
      },
      search: dir.search,
    };
    await expect(
      expandGroups(broken, { groupDns: [`CN=Huge,OU=Groups,${BASE}`], userSearchBase: BASE, objectIdAttribute: 'objectGUID', mode: 'targeted' }),
    ).rejects.toThrow(/did not advance/);
  });
});

describe('DN keys', () => {
  it('compare DNs the way the directory does', () => {
    expect(dnKey('CN=Alice Smith, OU=People,DC=Example,DC=com')).toBe(dnKey('cn=alice smith,ou=people,dc=example,dc=com'));
    expect(dnKey('cn=a\\2cb,dc=x')).toBe(dnKey('cn=a\\,b,dc=x'));
    expect(dnKey('cn=a\\2cb,dc=x')).not.toBe(dnKey('cn=a,cn=b,dc=x'));
    expect(dnKey('cn=x+uid=y,dc=z')).toBe(dnKey('UID=y + CN=x,dc=z'));
    expect(dnKey('cn=J\\C3\\BCrgen,dc=x')).toBe(dnKey('cn=jürgen,dc=x'));
    expect(dnKey('cn=a,dc=x')).not.toBe(dnKey('cn=b,dc=x'));
  });
  it('scope and suffix helpers', () => {
    expect(isUnderKey(dnKey('uid=a,ou=p,dc=x'), dnKey('dc=x'))).toBe(true);
    expect(isUnderKey(dnKey('uid=a,ou=p,dc=xy'), dnKey('dc=y'))).toBe(false);
    expect(commonSuffixKey([dnKey('ou=people,dc=example,dc=com'), dnKey('cn=g,ou=groups,dc=example,dc=com')])).toBe('dc=example,dc=com');
    expect(commonSuffixKey([dnKey('dc=a'), dnKey('dc=b')])).toBe('');
    expect(stripOptionalUid("uid=a,dc=x#'0101'B")).toBe('uid=a,dc=x');
    expect(stripOptionalUid('cn=a#b,dc=x')).toBe('cn=a#b,dc=x');
  });
});
