// What njs/authz/dn.ts offers beyond comparison, for the service (config
// checks, search bases, group sync keys): the parsed spelling, RFC 4514 §2.4
// escaping, and suffix tests on canonical forms. Cross-runtime: the same
// calls run on njs/QuickJS in cross-runtime-entry.ts (dnForms).
import { describe, expect, it } from 'vitest';
import {
  escapeDnValue,
  isWithinNormalizedDn,
  normalizeAttributeType,
  normalizeDn,
  parseDn,
  splitNormalizedDn,
} from '#njs/authz/dn.ts';

const EMOJI = String.fromCodePoint(0x1f600);

describe('parseDn keeps the spelling', () => {
  it('types as written; comparison maps them (normalizeAttributeType)', () => {
    expect(parseDn('CN=a+2.5.4.3=b')[0].map((a) => a.type)).toEqual(['CN', '2.5.4.3']);
    expect(normalizeAttributeType('CN')).toBe('cn');
    expect(normalizeAttributeType('2.5.4.3')).toBe('cn');
    expect(normalizeAttributeType('0.9.2342.19200300.100.1.25')).toBe('dc');
    expect(normalizeAttributeType('1.2.3')).toBe('1.2.3');
    expect(normalizeDn('CN=a+2.5.4.3=b')).toBe('cn=a+cn=b');
  });
  it('drops unescaped spaces at the end of a value, keeps escaped ones', () => {
    expect(parseDn('cn=a  ,dc=x ')).toEqual([[{ type: 'cn', value: 'a', hex: false }], [{ type: 'dc', value: 'x', hex: false }]]);
    expect(parseDn('cn=a\\20 +uid=b\\ ')[0].map((a) => a.value)).toEqual(['a ', 'b ']);
    expect(parseDn('cn=a b ')[0][0].value).toBe('a b');
    expect(parseDn('cn=\\ ')[0][0].value).toBe(' ');
    expect(parseDn('cn=   ')[0][0].value).toBe('');
  });
  it('matches the cross-runtime sample', () => {
    expect(parseDn('CN=a\\20 , 2.5.4.3=' + EMOJI + ' +UID=\\#x')).toEqual([
      [{ type: 'CN', value: 'a ', hex: false }],
      [{ type: '2.5.4.3', value: EMOJI, hex: false }, { type: 'UID', value: '#x', hex: false }],
    ]);
  });
});

describe('escapeDnValue (RFC 4514 §2.4)', () => {
  it('escapes exactly the required characters and round-trips', () => {
    expect(escapeDnValue(' #a,b' + EMOJI + ' ')).toBe('\\ #a\\,b' + EMOJI + '\\ ');
    expect(escapeDnValue('#')).toBe('\\#');
    expect(escapeDnValue('x\u0000y')).toBe('x\\00y');
    expect(escapeDnValue('caf\u00e9')).toBe('caf\u00e9');
    expect(escapeDnValue('a=b')).toBe('a=b');
    expect(escapeDnValue('')).toBe('');
    for (const v of [' ', '  x  ', ',+"\\<>;', '#x#', 'a\u0000', EMOJI + ' ']) {
      expect(parseDn('cn=' + escapeDnValue(v))[0][0].value, JSON.stringify(v)).toBe(v);
    }
  });
  it('is the escaping of the canonical form', () => {
    expect(normalizeDn('cn=\\#A\\,b\\00')).toBe('cn=' + escapeDnValue('#a,b\u0000'));
  });
});

describe('canonical forms: RDN split and suffix test', () => {
  it('splits only at unescaped commas', () => {
    expect(splitNormalizedDn('cn=a\\\\\\,b,cn=c\\00,dc=x')).toEqual(['cn=a\\\\\\,b', 'cn=c\\00', 'dc=x']);
    expect(splitNormalizedDn(normalizeDn('cn=a\\\\,dc=x'))).toEqual(['cn=a\\\\', 'dc=x']);
    expect(splitNormalizedDn('')).toEqual([]);
  });
  it('a base matches whole RDNs only, never across an escaped comma', () => {
    const within = (dn: string, base: string) => isWithinNormalizedDn(normalizeDn(dn), normalizeDn(base));
    expect(within('uid=a,ou=people,dc=example,dc=com', 'DC=example,DC=com')).toBe(true);
    expect(within('dc=example,dc=com', 'dc=example, dc=com')).toBe(true);
    expect(within('dc=com', 'dc=example,dc=com')).toBe(false);
    expect(within('dc=yz', 'dc=z')).toBe(false);
    // One RDN whose value is "x,dc=example" (an entry directly below dc=com).
    expect(within('cn=x\\,dc=example,dc=com', 'dc=example,dc=com')).toBe(false);
    expect(within('cn=x\\2Cdc=example,dc=com', 'dc=example,dc=com')).toBe(false);
    // A value ending in a backslash: the comma after it does separate RDNs.
    expect(within('cn=x\\\\,dc=example,dc=com', 'dc=example,dc=com')).toBe(true);
    expect(within('cn=x,2.5.4.3=Y', 'cn=y')).toBe(true);
    expect(within('cn=x', '')).toBe(true);
  });
});
