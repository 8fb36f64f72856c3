// Runs the edge modules over fixed inputs and returns plain data. The
// cross-runtime test executes this bundled on njs 0.7.9, njs 1.0 and QuickJS
// and compares with Node: njs strings are code point sequences, Node/QuickJS
// strings are UTF-16, and njs 0.7.9 lacks many library members.
import { decodeHeaderList, encodeHeaderList, encodeHeaderValue } from '#njs/identity/encode.ts';
import { dnEquals, escapeDnValue, isWithinNormalizedDn, parseDn, splitNormalizedDn, tryNormalizeDn } from '#njs/authz/dn.ts';
import { evaluatePolicy } from '#njs/authz/policy.ts';
import { identityFromClaims } from '#njs/identity/headers.ts';
import { cookiesWithoutToken, extractToken, isCompactJwsShape } from '#njs/http/token.ts';
import { base64urlDecodeOrNull } from '#njs/lib/base64url.ts';
import { bearerChallenge, isBrowserNavigation, loginRedirectUrl } from '#njs/http/challenge.ts';
import { parseEdgeConfig } from '#njs/config.ts';
import { utf8DecodeStrict, utf8Encode } from '#njs/lib/utf8.ts';
import { runNewlineCases } from './trailing-newline-cases.ts';

function codeOf(f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    return { code: (e as { code?: string }).code || 'plain' };
  }
}

// Text longer than the 1024 arguments one Function.prototype.apply takes in
// the njs engine (njs/lib/utf8.ts decodes in chunks).
function longText(): { text: string; dn: string } {
  let text = '';
  let dn = 'cn=';
  for (let i = 0; i < 700; i++) {
    text += '\u00e9' + String.fromCodePoint(0x1f600) + 'x';
    dn += '\\C3\\A9';
  }
  return { text: text, dn: dn };
}

function base64urlCases(): unknown[] {
  const inputs = ['', 'A', 'AA', 'AB', 'AAA', 'AAB', 'AAAA', 'AA==', 'AAA=', 'A+AA', 'A/AA', 'AA AA', ' AAAA', 'AAAA ',
    'AAAA\n', 'AAAA\r\n', 'AA\tAA', 'AAAA.', 'AAA\u00e9', 'AAA\u0000', '\uff21AAA', 'AAAAA', 'YWJj', 'YQ', 'YR', '-_-_',
    'AAAA\nAA', 'Zm9v\u00ff', 'eyJhbGciOiJIUzI1NiJ9'];
  const out: unknown[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const b = base64urlDecodeOrNull(inputs[i]);
    out.push(b === null ? null : Array.prototype.slice.call(b));
  }
  return out;
}

export function collect(): unknown {
  const emoji = String.fromCodePoint(0x1f600);
  const strings = ['plain', 'a\r\nb', 'nul\u0000', '\u007f', 'caf\u00e9', '\u65e5\u672c', emoji, 'x' + emoji + 'y',
    String.fromCharCode(0xd800) + 'z', '100% , + "q"'];
  const enc: string[] = [];
  for (let i = 0; i < strings.length; i++) enc.push(encodeHeaderValue(strings[i]));
  const dns = ['cn=Smith\\, John,ou=people,dc=example,dc=com', 'CN=smith\\2C john , OU=People,DC=Example,DC=COM',
    'cn=J\\C3\\BCrgen', 'cn=J\u00fcrgen', 'cn=\\F0\\9F\\98\\80+uid=' + emoji + ',dc=x', 'uid=\\F0\\9F\\98\\80+cn=x', 'cn=\u00c9MILE',
    'cn=a;b', 'cn=\\C3', 'cn=#0401FF', 'cn=a  \u00a0 b'];
  const norm: (string | null)[] = [];
  for (let i = 0; i < dns.length; i++) norm.push(tryNormalizeDn(dns[i]));
  const cfg = parseEdgeConfig({
    ljwt_jwks_file: '/a.json', ljwt_issuer: 'i', ljwt_audience: 'a',
    ljwt_require_any_group: 'cn=J\\C3\\BCrgen | cn=x,dc=y', ljwt_claim_map: 'mail=email',
  }, { ed25519: false, version: '0.7.9' });
  const claims = { sub: 'j' + emoji, dns: ['CN=J\u00dcRGEN', 'cn=other'], oids: ['1-2'], email: 'a b@x', scope: 'r w' };
  const long = longText();
  const longBytes = utf8Encode(long.text);
  return {
    enc: enc,
    list: encodeHeaderList(strings),
    back: decodeHeaderList(encodeHeaderList(['a,b', 'caf\u00e9', emoji])),
    norm: norm,
    eq: [dnEquals(dns[0], dns[1]), dnEquals(dns[2], dns[3]), dnEquals(dns[4], 'uid=' + emoji + '+cn=' + emoji + ',DC=X')],
    cfg: cfg,
    cfgErrors: [
      codeOf(() => parseEdgeConfig({ ljwt_issuer: 'i', ljwt_audience: 'a' }, { ed25519: false, version: '0.7.9' })),
      codeOf(() => parseEdgeConfig({ ljwt_jwks_file: '/a', ljwt_issuer: 'i', ljwt_audience: 'a', ljwt_algorithms: 'EdDSA' },
        { ed25519: false, version: '0.7.9' })),
    ],
    policy: [evaluatePolicy(cfg.policy, claims), evaluatePolicy(cfg.policy, { dns: ['cn=Jurgen'] })],
    identity: identityFromClaims(claims, { userClaim: 'sub', claimMap: cfg.claimMap }),
    identityError: codeOf(() => identityFromClaims({ sub: 'u', dns: [1] }, { userClaim: 'sub', claimMap: [] })),
    tokens: [
      extractToken('Bearer abc.def.ghi', undefined, null),
      extractToken('Basic xyz', 'at.0=ab; at.1=cd', 'at'),
      extractToken(undefined, 'at=a; at=b', 'at'),
      extractToken('Bearer a b', undefined, null),
    ],
    upstreamCookies: [
      cookiesWithoutToken('a=1; at=x.y.z; b=2', 'at'),
      cookiesWithoutToken('at.0=x;a=1; at.1=y; at.9=z; at.x=w; u=caf\u00e9 ' + emoji, 'at'),
      cookiesWithoutToken('a=1;b=2', 'at'),
      cookiesWithoutToken('at=x', 'at'),
      cfg.validate.requiredClaims,
      parseEdgeConfig({ ljwt_jwks_file: '/a.json', ljwt_issuer: 'i', ljwt_audience: 'a', ljwt_required_claims: 'email' },
        { ed25519: false, version: '0.7.9' }).validate.requiredClaims,
    ],
    challenges: [bearerChallenge('r', null, 401), bearerChallenge('r', 'ERR_JWT_EXPIRED', 401),
      bearerChallenge('r', 'ERR_ACCESS_DENIED', 403)],
    nav: [isBrowserNavigation({ method: 'GET', accept: 'text/html' }),
      isBrowserNavigation({ method: 'GET', accept: 'text/html', secFetchMode: 'cors' })],
    long: [longBytes.length, utf8DecodeStrict(new Uint8Array(longBytes)) === long.text,
      decodeHeaderList(encodeHeaderList([long.text])).join('') === long.text,
      (tryNormalizeDn(long.dn) || '').length, utf8DecodeStrict(new Uint8Array(longBytes.slice(0, longBytes.length - 2)))],
    newline: runNewlineCases(),
    // Canonical base64url by the round trip through Buffer: the same verdicts
    // and bytes as Node's on every runtime, whatever their decoders make of
    // foreign characters, padding and trailing bits.
    base64url: base64urlCases(),
    jwsShape: ['YQ.YQ.YQ', 'YWJj..YQ', 'YQ.YQ.YR', 'YQ.Y~Q.YQ', 'YQ.YQ.YQ\n', 'YQ.YQ.YQ.YQ', 'Y\u00e9.YQ.YQ'].map(isCompactJwsShape),
    ascii: [[0x7b, 0x7d], [0x61, 0xc3, 0xa9], [0x61, 0x80], [0xc3, 0x28], [0xef, 0xbf, 0xbd], [0x00, 0x7f]]
      .map((b) => utf8DecodeStrict(new Uint8Array(b))),
    redirect: [loginRedirectUrl('/login', 'rd', '/a?b=' + emoji), loginRedirectUrl('/login', 'rd', '//evil')],
    dnForms: [
      parseDn('CN=a\\20 , 2.5.4.3=' + emoji + ' +UID=\\#x'),
      [escapeDnValue(' #a,b' + emoji + ' '), escapeDnValue('#'), escapeDnValue('x\u0000y'), escapeDnValue('caf\u00e9')],
      splitNormalizedDn('cn=a\\\\\\,b,cn=c\\00,dc=x'),
      [isWithinNormalizedDn('cn=x\\,dc=y,dc=z', 'dc=y,dc=z'), isWithinNormalizedDn('cn=x\\\\,dc=y,dc=z', 'dc=y,dc=z'),
        isWithinNormalizedDn('cn=' + emoji + ',dc=z', 'dc=z'), isWithinNormalizedDn('dc=yz', 'dc=z')],
    ],
  };
}
