import { describe, expect, it } from 'vitest';
import { dnEquals, normalizeDn, parseDn, prepareValue, tryNormalizeDn } from '#njs/authz/dn.ts';
import { decodeHeaderList, encodeHeaderList } from '#njs/identity/encode.ts';

describe('parseDn (RFC 4514 §3)', () => {
  it('splits RDNs and multi-valued RDNs', () => {
    expect(parseDn('cn=a+uid=b,ou=people,dc=example')).toEqual([
      [{ type: 'cn', value: 'a', hex: false }, { type: 'uid', value: 'b', hex: false }],
      [{ type: 'ou', value: 'people', hex: false }],
      [{ type: 'dc', value: 'example', hex: false }],
    ]);
  });
  it('unescapes every special character', () => {
    const v = parseDn('cn=\\,\\+\\"\\\\\\<\\>\\;\\=\\ \\#x')[0][0].value;
    expect(v).toBe(',+"\\<>;= #x');
  });
  it('decodes hex pairs as UTF-8', () => {
    expect(parseDn('cn=J\\C3\\BCrgen')[0][0].value).toBe('Jürgen');
    expect(parseDn('cn=\\E6\\97\\A5\\E6\\9C\\AC')[0][0].value).toBe('日本');
    expect(parseDn('cn=\\F0\\9F\\98\\80')[0][0].value).toBe('😀');
    expect(parseDn('cn=a\\2Cb')[0][0].value).toBe('a,b');
  });
  it('keeps #hex BER values as lowercase hex', () => {
    expect(parseDn('cn=#04024869')[0][0]).toEqual({ type: 'cn', value: '#04024869', hex: true });
    expect(normalizeDn('CN=#04024A4B, dc=x')).toBe('cn=#04024a4b,dc=x');
  });
  it('maps OIDs to names and lowercases types', () => {
    expect(normalizeDn('2.5.4.3=x,2.5.4.11=y,2.5.4.10=z,0.9.2342.19200300.100.1.25=d,2.5.4.6=c,2.5.4.7=l,2.5.4.8=s,0.9.2342.19200300.100.1.1=u'))
      .toBe('cn=x,ou=y,o=z,dc=d,c=c,l=l,st=s,uid=u');
    expect(normalizeDn('1.2.840.113556.1.4.1=v')).toBe('1.2.840.113556.1.4.1=v');
    expect(normalizeDn('SN=v')).toBe('sn=v');
  });
  it('accepts the empty DN and parentheses in values', () => {
    expect(parseDn('')).toEqual([]);
    expect(normalizeDn('cn=Admins (EU),ou=groups')).toBe('cn=admins (eu),ou=groups');
  });
  it.each([
    ['cn', 'no "="'],
    ['=x', 'no type'],
    ['cn=a,', 'trailing comma'],
    ['cn=a,,dc=b', 'empty RDN'],
    ['cn=a+', 'trailing plus'],
    ['cn=a;dc=b', 'semicolon separator'],
    ['cn="quoted"', 'quotes'],
    ['cn=a<b', 'unescaped <'],
    ['cn=a\\', 'dangling escape'],
    ['cn=a\\x', 'bad escape'],
    ['cn=a\\4', 'half hex pair'],
    ['cn=\\C3', 'truncated UTF-8'],
    ['cn=\\C0\\AF', 'overlong UTF-8'],
    ['cn=\\ED\\A0\\80', 'UTF-8 surrogate'],
    ['cn=#', 'empty hexstring'],
    ['cn=#123', 'odd hexstring'],
    ['cn=#12zz', 'hexstring junk'],
    ['1cn=a', 'bad descriptor'],
    ['1.02=a', 'OID leading zero'],
    ['c_n=a', 'underscore'],
    ['cn=a\u0000', 'NUL'],
  ])('rejects %j (%s)', (dn) => {
    expect(() => normalizeDn(dn)).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
    expect(tryNormalizeDn(dn)).toBeNull();
  });
});

describe('DN comparison (RFC 4517 distinguishedNameMatch)', () => {
  const a = 'cn=Smith\\, John,ou=people,dc=example,dc=com';
  const b = 'CN=smith\\2C john , OU=People,DC=Example,DC=COM';
  it('matches escaped and case/space variants', () => {
    expect(dnEquals(a, b)).toBe(true);
    expect(normalizeDn(a)).toBe('cn=smith\\, john,ou=people,dc=example,dc=com');
  });
  it('survives the header encoding round trip', () => {
    const encoded = encodeHeaderList([a, 'cn=Jürgen,dc=x']);
    expect(encoded).toBe('cn=Smith\\%2C%20John%2Cou=people%2Cdc=example%2Cdc=com,cn=J%C3%BCrgen%2Cdc=x');
    const back = decodeHeaderList(encoded);
    expect(dnEquals(back[0], b)).toBe(true);
    expect(dnEquals(back[1], 'cn=J\\C3\\BCrgen,DC=X')).toBe(true);
  });
  it('compares hex-escaped UTF-8 to the literal text', () => {
    expect(dnEquals('cn=J\\C3\\BCrgen', 'cn=Jürgen')).toBe(true);
    expect(dnEquals('cn=J\\c3\\bcrgen', 'CN=JÜRGEN')).toBe(true);
    expect(dnEquals('cn=Jurgen', 'cn=Jürgen')).toBe(false);
  });
  it('ignores the order inside multi-valued RDNs but not RDN order', () => {
    expect(dnEquals('cn=a+uid=b,dc=x', 'UID=B + CN=A,dc=x')).toBe(true);
    expect(dnEquals('cn=a+uid=b,dc=x', 'cn=a,uid=b,dc=x')).toBe(false);
    expect(dnEquals('cn=a,dc=x', 'dc=x,cn=a')).toBe(false);
    expect(dnEquals('cn=a+cn=a,dc=x', 'cn=a,dc=x')).toBe(true);
  });
  it('ignores spaces at the ends of values only (no RFC 4518 mapping: see identity/cookie-tossing-and-group-dn-equality.test.ts)', () => {
    expect(dnEquals('cn=  John Smith  ,dc=x', 'cn=john smith,dc=x')).toBe(true);
    expect(dnEquals('cn=\\ John\\ ,dc=x', 'cn=John,dc=x')).toBe(true);
    expect(dnEquals('cn=John    Smith,dc=x', 'cn=john smith,dc=x')).toBe(false);
    expect(dnEquals('cn=John\u00a0Smith', 'cn=John Smith')).toBe(false);
    expect(dnEquals('cn=John\\09Smith', 'cn=John Smith')).toBe(false);
    expect(dnEquals('cn=John Smith', 'cn=JohnSmith')).toBe(false);
    expect(prepareValue('  a \u200b B  ')).toBe('a \u200b b');
  });
  it('does not confuse an escaped comma with an RDN boundary', () => {
    expect(dnEquals('cn=a\\,dc=x', 'cn=a,dc=x')).toBe(false);
    expect(dnEquals('cn=a\\+uid=b', 'cn=a+uid=b')).toBe(false);
    expect(dnEquals('cn=\\#x', 'cn=#78')).toBe(false);
  });
  it('treats an unparseable side as never equal', () => {
    expect(dnEquals('cn=a;', 'cn=a;')).toBe(false);
    expect(tryNormalizeDn(42 as unknown as string)).toBeNull();
  });
  it('canonical form re-parses to itself', () => {
    const samples = [a, b, 'cn=\\#x\\+y\\;z,dc=x', 'cn=a\\"b\\<c\\>d\\\\e', 'cn=#0401ff', 'uid=b+cn=a'];
    for (const s of samples) {
      const n = normalizeDn(s);
      expect(normalizeDn(n)).toBe(n);
    }
  });
});

describe('normalizeDn fast path for simple DNs agrees with the parser', () => {
  it('on 3,000 random DNs, each also written with spaces around separators (which takes the parser)', () => {
    let seed = 7;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const types = ['CN', 'cn', 'OU', 'ou', 'DC', 'dc', 'uid', 'O', 'l', 'st', 'x-custom', 'userPrincipalName'];
    const chars = 'aZ09_.-Kk';
    for (let i = 0; i < 3000; i++) {
      const rdns: [string, string][] = [];
      const n = 1 + rnd(5);
      for (let j = 0; j < n; j++) {
        const words = 1 + rnd(3);
        const ws: string[] = [];
        for (let w = 0; w < words; w++) {
          let word = '';
          const len = 1 + rnd(6);
          for (let c = 0; c < len; c++) word += chars[rnd(chars.length)];
          ws.push(word);
        }
        rdns.push([types[rnd(types.length)], ws.join(' ')]);
      }
      const simple = rdns.map(([t, v]) => `${t}=${v}`).join(',');
      const spaced = rdns.map(([t, v]) => ` ${t} = ${v} `).join(',');
      expect(normalizeDn(simple)).toBe(normalizeDn(spaced));
      expect(normalizeDn(simple)).toBe(simple.toLowerCase());
    }
  });
  it('leaves everything else to the parser', () => {
    expect(normalizeDn('CN=A\\,B,DC=x')).toBe('cn=a\\,b,dc=x');
    expect(normalizeDn('2.5.4.3=Admins,dc=x')).toBe('cn=admins,dc=x');
    expect(normalizeDn('cn=a+ou=b,dc=x')).toBe(normalizeDn('ou=b+cn=a,dc=x'));
    // A final newline is value text to the parser; the fast path must not swallow it (njs's $ would).
    expect(normalizeDn('cn=a,dc=X\n')).toBe('cn=a,dc=x\n');
  });
});
