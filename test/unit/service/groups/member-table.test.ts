import { describe, expect, it } from 'vitest';
import { dnKey } from '../../../../service/src/groups/dn.ts';
import { groupsOfTable, memberCountOf, mergeTables, selectGroups, tableFromGroups } from '../../../../service/src/groups/member-table.ts';
import { decodeSnapshot, encodeSnapshot, encodeTable } from '../../../../service/src/groups/snapshot-codec.ts';

describe('member table', () => {
  it('merges servers: another spelling of a DN is the same group (union, first spelling), ids shared', () => {
    const a = tableFromGroups(new Map([['cn=Eng,dc=x', ['u1', 'u2']], ['cn=a,dc=x', ['u3']]]));
    const b = tableFromGroups(new Map([['CN=eng, DC=x', ['u2', 'u4']], ['cn=b,dc=y', ['u1']]]));
    const m = mergeTables([a, b], dnKey);
    expect(groupsOfTable(m)).toEqual(new Map([['cn=Eng,dc=x', ['u1', 'u2', 'u4']], ['cn=a,dc=x', ['u3']], ['cn=b,dc=y', ['u1']]]));
    expect(memberCountOf(m)).toBe(4);
  });

  it('selects configured groups only; ids left in no group are not members', () => {
    const t = selectGroups(tableFromGroups(new Map([['cn=a', ['u1']], ['cn=b', ['u2']]])), ['cn=b', 'cn=gone']);
    expect([...t.groups.keys()]).toEqual(['cn=b']);
    expect(memberCountOf(t)).toBe(1);
    const snap = decodeSnapshot(encodeTable(t, null, 1));
    expect(snap.memberCount).toBe(1);
    expect(snap.groupsOf('u1')).toEqual([]);
    expect(snap.groupsOf('u2')).toEqual(['cn=b']);
  });

  it('encodes the same bytes from a table as from group -> id lists', () => {
    const groups = new Map([['cn=a', ['u1', 'u2', 'u3']], ['cn=b', ['u2']], ['cn=c', ['u1', 'u3']], ['cn=d', []]]);
    expect(Buffer.from(encodeTable(tableFromGroups(groups), 5, 2))).toEqual(Buffer.from(encodeSnapshot({ groups, updatedAt: 5 }, 2)));
    const snap = decodeSnapshot(encodeTable(tableFromGroups(groups), 5, 2));
    expect(snap.groupsOf('u1')).toEqual(['cn=a', 'cn=c']);
    expect(snap.groupsOf('u3')).toEqual(['cn=a', 'cn=c']);
    expect(snap.groupsOf('u2')).toEqual(['cn=a', 'cn=b']);
  });
});
