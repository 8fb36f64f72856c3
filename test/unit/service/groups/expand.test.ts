// Expansion logic over an in-memory directory that behaves like Active Directory where
// slapd cannot: ranged attribute retrieval (member;range=0-1499 ... ;range=N-*) in base
// reads and in searches. Everything else is covered against real slapd in
// test/integration/ldap/groups-*.test.ts.
import { describe, expect, it } from 'vitest';
import type { Filter } from 'ldapts';
import { expandGroups, type DirectorySource, type RawEntry } from '../../../../service/src/groups/expand.ts';
import { commonSuffixKey, dnKey, isUnderKey, stripOptionalUid } from '../../../../service/src/groups/dn.ts';
import { dnEquals, normalizeDn } from '#njs/authz/dn.ts';
import { silentLogger } from '../../../../service/src/ops/logger.ts';

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
  it('are the canonical form the edge compares group rules with (njs/authz/dn.ts)', () => {
    expect(dnKey('CN=Admins , OU=Groups,DC=Example,DC=com')).toBe(normalizeDn('cn=admins,ou=groups,dc=example,dc=com'));
    for (const [a, b] of [
      ['cn=\\ a,dc=x', 'cn=a,dc=x'], // RFC 4518 §2.6.1: leading/trailing spaces, escaped or not
      ['2.5.4.3=a,dc=x', 'cn=a,dc=x'], // RFC 4517 §4.2.15: types compare by OID
      ['cn=a+cn=a,dc=x', 'cn=a,dc=x'], // an RDN is a set of AVAs
    ]) {
      expect(dnKey(a!), a).toBe(dnKey(b!));
      expect(dnEquals(a!, b!), a).toBe(true);
    }
    // The old sync key trimmed every JS whitespace, folded U+212A to "k", unescaped "#" values
    // and read RFC 1779 quotes and empty RDNs; the edge keeps all of these apart.
    for (const [a, b] of [
      ['cn=admins\u00a0,dc=x', 'cn=admins,dc=x'],
      ['cn=admins\\09,dc=x', 'cn=admins,dc=x'],
      ['cn=\u212a,dc=x', 'cn=k,dc=x'],
      ['cn=#04016b,dc=x', 'cn=\\#04016b,dc=x'],
      ['cn="a,b",dc=x', 'cn=a\\,b,dc=x'],
      ['cn=a,,dc=x', 'cn=a,dc=x'],
      ['cn=\\ff,dc=x', 'cn=\\fe,dc=x'], // invalid UTF-8: no longer both U+FFFD
    ]) {
      expect(dnKey(a!), a).not.toBe(dnKey(b!));
      expect(dnEquals(a!, b!), a).toBe(false);
    }
  });
  it('a value that is not a DN gets a key of its own that lies below nothing', () => {
    const k = dnKey('cn="a,b",dc=x');
    expect(k).toBe(dnKey('cn="a,b",dc=x'));
    expect(k).not.toBe(dnKey('cn="a,b" ,dc=x'));
    expect(isUnderKey(k, dnKey('dc=x'))).toBe(false);
    expect(isUnderKey(k, '')).toBe(false);
    expect(commonSuffixKey([k, dnKey('dc=x')])).toBe('');
    expect(dnKey('garbage')).not.toBe(dnKey('cn=garbage'));
  });
  it('scope never crosses an escaped comma (the canonical form leaves "=" unescaped)', () => {
    // One RDN, cn="x,ou=people", directly below dc=example,dc=com: not in ou=people.
    expect(isUnderKey(dnKey('cn=x\\,ou=people,dc=example,dc=com'), dnKey('ou=people,dc=example,dc=com'))).toBe(false);
    expect(isUnderKey(dnKey('cn=x\\2Cou=people,dc=example,dc=com'), dnKey('ou=people,dc=example,dc=com'))).toBe(false);
    expect(isUnderKey(dnKey('cn=x\\5C,ou=people,dc=example,dc=com'), dnKey('ou=people,dc=example,dc=com'))).toBe(true);
    expect(commonSuffixKey([dnKey('cn=a\\,dc=x,dc=y'), dnKey('cn=b,dc=x,dc=y')])).toBe('dc=y');
  });
});

describe('member values that are not DNs', () => {
  it('are asked of the directory as given, logged and skipped; the rest resolves', async () => {
    const dir = adDirectory([
      { dn: `CN=U1,OU=Users,${BASE}`, objectClass: ['user'], objectGUID: guid(1) },
      { dn: `CN=G,OU=Groups,${BASE}`, objectClass: ['group'], member: ['not a dn', `cn=u1 ,ou=users,${BASE}`, 'cn="U1",OU=Users'], objectGUID: guid(2) },
    ]);
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const log = { ...silentLogger, warn: (_m: string, f?: Record<string, unknown>) => void warnings.push(f) };
    for (const mode of ['targeted', 'bulk'] as const) {
      warnings.length = 0;
      dir.reads.length = 0;
      const { groups, stats } = await expandGroups(dir, { groupDns: [`CN=G,OU=Groups,${BASE}`], userSearchBase: `OU=Users,${BASE}`, objectIdAttribute: 'objectGUID', mode, log });
      expect(groups.get(`CN=G,OU=Groups,${BASE}`)).toEqual([rendered(1)]);
      expect(stats.skippedMembers).toBe(2);
      expect(dir.reads).toEqual(expect.arrayContaining(['not a dn', 'cn="U1",OU=Users']));
      expect(warnings).toEqual(expect.arrayContaining([{ member: 'not a dn' }, { member: 'cn="U1",OU=Users' }]));
    }
  });
});
