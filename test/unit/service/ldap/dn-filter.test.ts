// Pure LDAP helpers: RFC 4515 filter escaping, RFC 4514 DNs, AD GUIDs.
import { describe, expect, it } from 'vitest';
import { FilterParser, EqualityFilter, AndFilter } from 'ldapts';
import { escapeFilterValue, fillFilter } from '../../../../service/src/ldap/filter.ts';
import { dcSuffix, formatDn, isValidDn } from '../../../../service/src/ldap/dn.ts';
import { escapeDnValue, normalizeDn, parseDn } from '#njs/authz/dn.ts';
import { formatAdGuid, objectIdFromEntry } from '../../../../service/src/ldap/object-id.ts';
import { isMemberOfGroup, namingContextOf } from '../../../../service/src/ldap/membership.ts';
import type { Client } from 'ldapts';
import { describeLdapError, isCredentialRejection } from '../../../../service/src/ldap/errors.ts';
import { InvalidCredentialsError, UnavailableError, UnwillingToPerformError, BusyError } from 'ldapts';

describe('escapeFilterValue (RFC 4515 §3)', () => {
  it('escapes the five special characters', () => {
    expect(escapeFilterValue('*')).toBe('\\2a');
    expect(escapeFilterValue('(')).toBe('\\28');
    expect(escapeFilterValue(')')).toBe('\\29');
    expect(escapeFilterValue('\\')).toBe('\\5c');
    expect(escapeFilterValue('\0')).toBe('\\00');
    expect(escapeFilterValue('*)(uid=*')).toBe('\\2a\\29\\28uid=\\2a');
    expect(escapeFilterValue('admin)(|(uid=*')).toBe('admin\\29\\28|\\28uid=\\2a');
  });

  it('leaves UTF-8 characters as they are (UTFMB is "normal"), and they reach the wire intact', () => {
    expect(escapeFilterValue('Jürgen Müller')).toBe('Jürgen Müller');
    expect(escapeFilterValue('山田太郎')).toBe('山田太郎');
    expect(escapeFilterValue('😀')).toBe('😀');
    const f = FilterParser.parseString(`(cn=${escapeFilterValue('Jürgen (M*)')})`) as EqualityFilter;
    expect(f).toBeInstanceOf(EqualityFilter);
    expect(f.value).toBe('Jürgen (M*)');
  });

  it('refuses lone surrogates (not encodable as UTF-8)', () => {
    expect(() => escapeFilterValue('a\uD800')).toThrow(TypeError);
    expect(() => escapeFilterValue('\uDC00b')).toThrow(TypeError);
  });

  it('an injected value stays one equality assertion after parsing', () => {
    for (const evil of ['*)(uid=*', 'admin)(|(uid=*', '*', 'x\0y', 'a\\2a', ')(objectClass=*)(', '\\', '(((', ')))']) {
      const filter = fillFilter('(&(objectClass=person)(uid={username}))', { username: evil });
      const parsed = FilterParser.parseString(filter) as AndFilter;
      expect(parsed.filters).toHaveLength(2);
      const eq = parsed.filters[1] as EqualityFilter;
      expect(eq).toBeInstanceOf(EqualityFilter);
      expect(eq.attribute).toBe('uid');
      expect(eq.value).toBe(evil);
    }
  });

  it('fillFilter replaces every placeholder and ignores "$" replacement patterns', () => {
    expect(fillFilter('(|(uid={username})(mail={username}))', { username: "$&$1'" })).toBe("(|(uid=$&$1')(mail=$&$1'))");
    expect(fillFilter('(uid={other})', { username: 'x' })).toBe('(uid={other})');
  });
});

describe('DNs (RFC 4514): the service uses the one parser of njs/authz/dn.ts', () => {
  const INVALID = expect.objectContaining({ code: 'ERR_CONFIG_INVALID' });
  it('parses escapes, hex pairs, multi-valued RDNs and UTF-8', () => {
    expect(parseDn('cn=Smith\\, John,ou=people,dc=example,dc=com')[0]).toEqual([{ type: 'cn', value: 'Smith, John', hex: false }]);
    expect(parseDn('cn=Smith\\2C John,ou=people')[0]).toEqual([{ type: 'cn', value: 'Smith, John', hex: false }]);
    expect(parseDn('cn=J\\C3\\BCrgen,dc=x')[0]).toEqual([{ type: 'cn', value: 'Jürgen', hex: false }]);
    expect(parseDn('cn=a+uid=b,dc=x')[0]).toEqual([{ type: 'cn', value: 'a', hex: false }, { type: 'uid', value: 'b', hex: false }]);
    expect(parseDn('1.3.6.1.4.1.1466.0=#04024869,dc=x')[0]).toEqual([{ type: '1.3.6.1.4.1.1466.0', value: '#04024869', hex: true }]);
    expect(parseDn('cn=Test (Contractor),ou=people')[0]).toEqual([{ type: 'cn', value: 'Test (Contractor)', hex: false }]);
    expect(parseDn('CN=x, OU=y')).toHaveLength(2);
    expect(parseDn('')).toEqual([]);
  });

  it('rejects malformed DNs', () => {
    for (const bad of ['cn', 'cn=a,', '=a', 'cn=a\\', 'cn=a\\zz', 'c n=a', 'cn=a"b', 'cn=\\ff\\fe']) {
      expect(() => parseDn(bad), bad).toThrow(INVALID);
      expect(isValidDn(bad), bad).toBe(false);
    }
  });

  it('rejects the RFC 1779/2253 legacy forms the edge refuses too (";", quotes, "OID.")', () => {
    // ldap/dn.ts had its own parser that took ';' and "OID." and the group sync's took
    // quotes: a DN the config accepted could then name no group at the edge.
    for (const legacy of ['cn=a;dc=x', 'cn="Smith, John",dc=x', 'OID.2.5.4.3=a,dc=x', '1.02=a']) {
      expect(isValidDn(legacy), legacy).toBe(false);
    }
    expect(isValidDn('2.5.4.3=a,dc=x')).toBe(true);
  });

  it('normalizes spelling differences, not content differences', () => {
    const n = normalizeDn('cn=Smith\\, John,ou=people,dc=example,dc=com');
    expect(normalizeDn('CN=smith\\2c john,OU=People,DC=Example,DC=Com')).toBe(n);
    expect(normalizeDn('cn=Smith\\, John , ou=people,dc=example,dc=com')).toBe(n);
    expect(normalizeDn('2.5.4.3=Smith\\, John,ou=people,dc=example,dc=com')).toBe(n);
    expect(normalizeDn('uid=b+cn=a,dc=x')).toBe(normalizeDn('cn=a+uid=b,dc=x'));
    expect(normalizeDn('cn=Smith John,ou=people,dc=example,dc=com')).not.toBe(n);
    expect(normalizeDn('cn=Smith\\,John,ou=people,dc=example,dc=com')).not.toBe(normalizeDn('cn=Smith,cn=John,ou=people,dc=example,dc=com'));
    // Internal runs of spaces are significant (no RFC 4518 collapsing, see njs/authz/dn.ts);
    // the old ldap/dn.ts collapsed them and NFKC-folded, the edge does neither.
    expect(normalizeDn('cn=Smith\\,  John,ou=people,dc=example,dc=com')).not.toBe(n);
    expect(normalizeDn('cn=\uFF33mith\\, John,ou=people,dc=example,dc=com')).not.toBe(n);
  });

  it('escapeDnValue round-trips through parseDn, escaping only what RFC 4514 §2.4 requires', () => {
    for (const v of ['Smith, John', ' lead', 'trail ', '#hash', 'a+b=c;d<e>f"g\\h', 'x\0y', 'Jürgen', ' ', '  ', '#']) {
      expect(parseDn(`cn=${escapeDnValue(v)},dc=x`)[0]![0]!.value).toBe(v);
    }
    expect(escapeDnValue('a+b=c;d<e>f"g\\h')).toBe('a\\+b=c\\;d\\<e\\>f\\"g\\\\h');
    expect(escapeDnValue(' a b ')).toBe('\\ a b\\ ');
    expect(escapeDnValue('#a#')).toBe('\\#a#');
    expect(escapeDnValue('x\0y')).toBe('x\\00y');
  });

  it('formatDn keeps the spelling of types and values; unescaped trailing spaces are not part of a value', () => {
    expect(formatDn(parseDn('cn=Smith\\2C John,dc=x'))).toBe('cn=Smith\\, John,dc=x');
    expect(formatDn(parseDn('CN=a\\20 , DC=Example '))).toBe('CN=a\\ ,DC=Example');
    expect(formatDn(parseDn('cn=x+2.5.4.3=#0401ff'))).toBe('cn=x+2.5.4.3=#0401ff');
  });

  it('dcSuffix: the trailing dc= RDNs in the spelling given', () => {
    expect(dcSuffix('cn=svc,OU=Service Accounts,DC=ad,DC=example,DC=com')).toBe('DC=ad,DC=example,DC=com');
    expect(dcSuffix('uid=a,0.9.2342.19200300.100.1.25=example')).toBe('0.9.2342.19200300.100.1.25=example');
    expect(dcSuffix('cn=g,o=corp')).toBeUndefined();
    expect(dcSuffix('cn=g,dc=a+dc=b')).toBeUndefined();
  });

  it('the login-group check compares the way the edge does: a look-alike group is not the login group', async () => {
    // The old ldap/dn.ts normalizeDn NFKC-folded values and collapsed every Unicode space,
    // so membership in "cn=staff<NBSP>all" (or "cn=ｓtaff all") counted as the login group.
    // The membership search is paged (ldapts searchPaginated yields pages of entries).
    const groupsHolding = (dns: string[]) =>
      ({
        search: async () => ({ searchEntries: dns.map((dn) => ({ dn })) }),
        async *searchPaginated() { yield { searchEntries: dns.map((dn) => ({ dn })) }; },
      }) as unknown as Client;
    const login = 'cn=staff all,ou=groups,dc=example,dc=com';
    for (const lookalike of ['cn=staff\u00a0all,ou=groups,dc=example,dc=com', 'cn=\uff53taff all,ou=groups,dc=example,dc=com', 'cn=staff  all,ou=groups,dc=example,dc=com']) {
      expect(await isMemberOfGroup(groupsHolding([lookalike]), login, 'uid=u,dc=example,dc=com', { maxDepth: 1 }), lookalike).toBe(false);
    }
    expect(await isMemberOfGroup(groupsHolding(['CN=Staff All, OU=Groups,DC=Example,DC=com']), login, 'uid=u,dc=example,dc=com', { maxDepth: 1 })).toBe(true);
  });

  it('namingContextOf takes the dc= suffix', () => {
    expect(namingContextOf('cn=g,ou=groups,dc=example,dc=com')).toBe('dc=example,dc=com');
    expect(namingContextOf('CN=g,OU=x,DC=ad,DC=example,DC=com')).toBe('DC=ad,DC=example,DC=com');
    expect(namingContextOf('cn=g,o=corp')).toBe('o=corp');
  });
});

describe('object ids', () => {
  it('renders AD GUIDs in MS-DTYP mixed-endian order', () => {
    const bytes = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    expect(formatAdGuid(bytes)).toBe('04030201-0605-0807-090a-0b0c0d0e0f10');
    expect(formatAdGuid(Buffer.from('b3f1c2d4a5e6f7081920a1b2c3d4e5f6', 'hex'))).toBe('d4c2f1b3-e6a5-08f7-1920-a1b2c3d4e5f6');
    expect(() => formatAdGuid(new Uint8Array(15))).toThrow(RangeError);
  });

  it('objectIdFromEntry: binary GUID, string UUID, missing or multi-valued', () => {
    const guid = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
    expect(objectIdFromEntry({ objectGUID: guid }, 'objectGUID')).toBe('04030201-0605-0807-090a-0b0c0d0e0f10');
    expect(objectIdFromEntry({ objectguid: [guid] }, 'objectGUID')).toBe('04030201-0605-0807-090a-0b0c0d0e0f10');
    expect(objectIdFromEntry({ objectGUID: 'not-binary' }, 'objectGUID')).toBeUndefined();
    expect(objectIdFromEntry({ entryUUID: 'a1b2c3d4-0000-1111-2222-333344445555' }, 'entryUUID')).toBe('a1b2c3d4-0000-1111-2222-333344445555');
    expect(objectIdFromEntry({ entryUUID: ['a', 'b'] }, 'entryUUID')).toBeUndefined();
    expect(objectIdFromEntry({ entryUUID: '' }, 'entryUUID')).toBeUndefined();
    expect(objectIdFromEntry({}, 'entryUUID')).toBeUndefined();
  });
});

describe('LDAP error classification', () => {
  it('credential rejections never fail over; transport and server health errors do', () => {
    expect(isCredentialRejection(new InvalidCredentialsError('x'))).toBe(true);
    expect(isCredentialRejection(new UnwillingToPerformError('x'))).toBe(true);
    expect(isCredentialRejection(new UnavailableError('x'))).toBe(false);
    expect(isCredentialRejection(new BusyError('x'))).toBe(false);
    expect(isCredentialRejection(new Error('Connection timeout'))).toBe(false);
    expect(describeLdapError(new InvalidCredentialsError('secret diag'))).toBe('InvalidCredentialsError (result code 49)');
  });
});
