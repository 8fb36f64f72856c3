// Pure LDAP helpers: RFC 4515 filter escaping, RFC 4514 DNs, AD GUIDs.
import { describe, expect, it } from 'vitest';
import { FilterParser, EqualityFilter, AndFilter } from 'ldapts';
import { escapeFilterValue, fillFilter } from '../../service/src/ldap/filter.ts';
import { DnSyntaxError, escapeDnValue, formatDn, isDnWithin, normalizeDn, parseDn } from '../../service/src/ldap/dn.ts';
import { formatAdGuid, objectIdFromEntry } from '../../service/src/ldap/object-id.ts';
import { namingContextOf } from '../../service/src/ldap/membership.ts';
import { describeLdapError, isCredentialRejection } from '../../service/src/ldap/errors.ts';
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

describe('DNs (RFC 4514)', () => {
  it('parses escapes, hex pairs, multi-valued RDNs and UTF-8', () => {
    expect(parseDn('cn=Smith\\, John,ou=people,dc=example,dc=com')[0]).toEqual([{ type: 'cn', value: 'Smith, John' }]);
    expect(parseDn('cn=Smith\\2C John,ou=people')[0]).toEqual([{ type: 'cn', value: 'Smith, John' }]);
    expect(parseDn('cn=J\\C3\\BCrgen,dc=x')[0]).toEqual([{ type: 'cn', value: 'Jürgen' }]);
    expect(parseDn('cn=a+uid=b,dc=x')[0]).toEqual([{ type: 'cn', value: 'a' }, { type: 'uid', value: 'b' }]);
    expect(parseDn('1.3.6.1.4.1.1466.0=#04024869,dc=x')[0]).toEqual([{ type: '1.3.6.1.4.1.1466.0', value: '#04024869', hex: true }]);
    expect(parseDn('cn=Test (Contractor),ou=people')[0]).toEqual([{ type: 'cn', value: 'Test (Contractor)' }]);
    expect(parseDn('CN=x, OU=y')).toHaveLength(2);
    expect(parseDn('')).toEqual([]);
  });

  it('rejects malformed DNs', () => {
    for (const bad of ['cn', 'cn=a,', '=a', 'cn=a\\', 'cn=a\\zz', 'c n=a', 'cn=a"b', 'cn=\\ff\\fe']) {
      expect(() => parseDn(bad), bad).toThrow(DnSyntaxError);
    }
  });

  it('normalizes spelling differences, not content differences', () => {
    const n = normalizeDn('cn=Smith\\, John,ou=people,dc=example,dc=com');
    expect(normalizeDn('CN=smith\\2c john,OU=People,DC=Example,DC=Com')).toBe(n);
    expect(normalizeDn('cn=Smith\\,  John , ou=people,dc=example,dc=com')).toBe(n);
    expect(normalizeDn('uid=b+cn=a,dc=x')).toBe(normalizeDn('cn=a+uid=b,dc=x'));
    expect(normalizeDn('cn=Smith John,ou=people,dc=example,dc=com')).not.toBe(n);
    expect(normalizeDn('cn=Smith\\,John,ou=people,dc=example,dc=com')).not.toBe(normalizeDn('cn=Smith,cn=John,ou=people,dc=example,dc=com'));
  });

  it('escapeDnValue round-trips through parseDn', () => {
    for (const v of ['Smith, John', ' lead', 'trail ', '#hash', 'a+b=c;d<e>f"g\\h', 'x\0y', 'Jürgen']) {
      expect(parseDn(`cn=${escapeDnValue(v)},dc=x`)[0]![0]!.value).toBe(v);
    }
    expect(formatDn(parseDn('cn=Smith\\2C John,dc=x'))).toBe('cn=Smith\\, John,dc=x');
  });

  it('isDnWithin compares RDN by RDN', () => {
    expect(isDnWithin('uid=a,ou=people,dc=example,dc=com', 'DC=example,DC=com')).toBe(true);
    expect(isDnWithin('dc=example,dc=com', 'dc=example,dc=com')).toBe(true);
    expect(isDnWithin('cn=x\\,dc=example,dc=com', 'dc=example,dc=com')).toBe(false);
    expect(isDnWithin('dc=com', 'dc=example,dc=com')).toBe(false);
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
