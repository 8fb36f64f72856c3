// Which directories' groups a token needs: the directory holding the user's entry (as the
// login recorded it, else found from the entry's DN under a search base), plus those that
// can hold the same object id (same attribute, when it is not a globally unique one);
// every directory when the user's own cannot be told.
import { describe, expect, it } from 'vitest';
import type { LdapServerConfig } from '../../../../service/src/config/types.ts';
import { directoriesOfSubject } from '../../../../service/src/oauth/group-availability.ts';

function server(uri: string, userSearchBase: string, objectIdAttribute = 'entryUUID'): LdapServerConfig {
  return { uri, bindDn: 'cn=r', bindPassword: 'x', groupDns: [], userSearchBase, userFilter: '(uid={username})', objectIdAttribute, startTls: false, connectTimeoutMs: 1000, operationTimeoutMs: 1000 };
}

const A = server('ldap://a', 'ou=people,dc=a,dc=test');
const B = server('ldap://b', 'ou=people,dc=b,dc=test', 'objectGUID');
const C = server('ldap://c', 'dc=c,dc=test', 'employeeNumber');
const D = server('ldap://d', 'dc=d,dc=test', 'EmployeeNumber');

describe('directoriesOfSubject', () => {
  it('unique object ids: only the directory the login recorded', () => {
    expect([...directoriesOfSubject([A, B, C], { directory: 'ldap://b', dn: 'uid=x,ou=people,dc=a,dc=test' })]).toEqual(['ldap://b']);
  });

  it('without a recorded directory: the directories whose search base holds the DN (any spelling)', () => {
    expect([...directoriesOfSubject([A, B], { dn: 'UID=x, OU=People,DC=A,DC=Test' })]).toEqual(['ldap://a']);
  });

  it('an id attribute that is not globally unique: every directory using that attribute too', () => {
    expect([...directoriesOfSubject([A, B, C, D], { directory: 'ldap://c' })].sort()).toEqual(['ldap://c', 'ldap://d']);
  });

  it('unknown directory, DN under no base, or no subject: every directory', () => {
    const all = ['ldap://a', 'ldap://b', 'ldap://c'];
    expect([...directoriesOfSubject([A, B, C], { directory: 'ldap://gone' })].sort()).toEqual(all);
    expect([...directoriesOfSubject([A, B, C], { dn: 'uid=x,dc=elsewhere' })].sort()).toEqual(all);
    expect([...directoriesOfSubject([A, B, C])].sort()).toEqual(all);
  });
});
