// Every whole-string check in njs/ fed a value with a trailing "\n" and
// "\r\n". On njs 0.7.9 a regex `$` also matches just before a final "\n"
// (njs/lib/text.ts), so a bare /^...$/.test() lets "value\n" through there
// while Node refuses it. trailing-newline.test.ts asserts the outcomes in
// Node; cross-runtime.test.ts runs the same cases on njs 0.7.9, njs 1.0 and
// QuickJS and requires identical results.
import { extractToken, parseCookies } from '#njs/http/token.ts';
import { isBrowserNavigation } from '#njs/http/challenge.ts';
import { parseEdgeConfig } from '#njs/config.ts';
import { tryNormalizeDn } from '#njs/authz/dn.ts';
import { isBase64url } from '#njs/lib/base64url.ts';
import { execWhole, matchesWhole, trimOws } from '#njs/lib/text.ts';

export const SUFFIXES = ['\n', '\r\n'];

export interface NewlineCase {
  name: string;
  run: (suffix: string) => unknown;
  /** Result for the value as is (suffix ''). */
  plain: unknown;
  /** Result for the value + "\n" and + "\r\n". */
  suffixed: unknown;
}

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln';
const MALFORMED = { error: 'ERR_JWT_MALFORMED' };
const RUNTIME = { ed25519: false, version: '0.7.9' };

function configOutcome(name: string, value: string): unknown {
  const vars: { [k: string]: string } = { ljwt_jwks_file: '/k.json', ljwt_issuer: 'i', ljwt_audience: 'a' };
  vars[name] = value;
  try {
    parseEdgeConfig(vars, RUNTIME);
    return 'ok';
  } catch (e) {
    return { code: (e as { code?: string }).code || 'plain' };
  }
}

const CONFIG_VALUES: [string, string][] = [
  ['ljwt_max_token_length', '100'], ['ljwt_leeway', '5'], ['ljwt_cookie', 'at'], ['ljwt_user_claim', 'sub'],
  ['ljwt_return_param', 'rd'], ['ljwt_jwks_location', '/jwks'], ['ljwt_typ', 'at+jwt'],
  ['ljwt_required_claims', 'sub'], ['ljwt_require_scope', 'read'], ['ljwt_login_url', '/login'],
  ['ljwt_claim_map', 'mail=email'], ['ljwt_require_any_group', 'cn=a'], ['ljwt_algorithms', 'ES256'],
];

const CASES: NewlineCase[] = [
  { name: 'matchesWhole', run: (s) => matchesWhole(/^a$/, 'a' + s), plain: true, suffixed: false },
  { name: 'execWhole', run: (s) => {
    const m = execWhole(/^(a)=([0-9]+)$/, 'a=1' + s);
    return m === null ? null : [m[0], m[1], m[2]];
  }, plain: ['a=1', 'a', '1'], suffixed: null },
  { name: 'trimOws (text before the suffix)', run: (s) => {
    const v = trimOws(' \ta \t' + s);
    return v.substring(0, v.length - s.length);
  }, plain: 'a', suffixed: 'a \t' },
  { name: 'Bearer header b64token', run: (s) => extractToken('Bearer ' + JWT + s, undefined, null),
    plain: { token: JWT, source: 'header' }, suffixed: MALFORMED },
  // A broken Bearer header must not fall back to the cookie.
  { name: 'Bearer header with a cookie present', run: (s) => extractToken('Bearer ' + JWT + s, 'at=' + JWT, 'at'),
    plain: { token: JWT, source: 'header' }, suffixed: MALFORMED },
  { name: 'cookie b64token', run: (s) => extractToken(undefined, 'at=' + JWT + s, 'at'),
    plain: { token: JWT, source: 'cookie' }, suffixed: MALFORMED },
  { name: 'last cookie chunk', run: (s) => extractToken(undefined, 'at.0=' + JWT.slice(0, 9) + '; at.1=' + JWT.slice(9) + s, 'at'),
    plain: { token: JWT, source: 'cookie' }, suffixed: MALFORMED },
  // "at.1\n" is not a chunk name: ignored, as any other unrelated cookie.
  { name: 'cookie chunk index', run: (s) => extractToken(undefined, 'at.0=ab; at.1' + s + '=cd', 'at'),
    plain: { token: 'abcd', source: 'cookie' }, suffixed: { token: 'ab', source: 'cookie' } },
  // The value in front of the suffix: OWS trimming stops at the "\n" (on njs
  // 0.7.9 `[ \t]+$` also ate the space before a final "\n").
  { name: 'cookie value trimming', run: (s) => {
    const v = parseCookies('a=1 ' + s).a[0];
    return v.substring(0, v.length - s.length);
  }, plain: '1', suffixed: '1 ' },
  // A malformed q parameter is ignored (q stays 1), whatever the runtime.
  { name: 'Accept q parameter', run: (s) => isBrowserNavigation({ method: 'GET', accept: 'text/html;q=0' + s }),
    plain: false, suffixed: true },
  { name: 'DN descriptor', run: (s) => tryNormalizeDn('cn' + s + '=a'), plain: 'cn=a', suffixed: null },
  { name: 'DN numeric OID', run: (s) => tryNormalizeDn('2.5.4.3' + s + '=a'), plain: 'cn=a', suffixed: null },
  { name: 'base64url (4n)', run: (s) => isBase64url('YWJj' + s), plain: true, suffixed: false },
  { name: 'base64url (4n+2)', run: (s) => isBase64url('YQ' + s), plain: true, suffixed: false },
];

export const NEWLINE_CASES: NewlineCase[] = CASES.concat(CONFIG_VALUES.map((p): NewlineCase => ({
  name: '$' + p[0], run: (s) => configOutcome(p[0], p[1] + s), plain: 'ok', suffixed: { code: 'ERR_CONFIG_INVALID' },
})));

/** name -> [result for '', for '\n', for '\r\n']. */
export function runNewlineCases(): { [name: string]: unknown[] } {
  const out: { [name: string]: unknown[] } = {};
  for (let i = 0; i < NEWLINE_CASES.length; i++) {
    const c = NEWLINE_CASES[i];
    out[c.name] = [c.run('')].concat(SUFFIXES.map((s) => c.run(s)));
  }
  return out;
}
