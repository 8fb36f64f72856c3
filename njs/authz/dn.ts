// Distinguished names: parse (RFC 4514), normalize and compare.
//
// Why a DN parser at the edge: group rules name groups by DN, and the same
// group reaches us spelled in many ways (AD returns `CN=Admins,OU=...`, an
// operator writes `cn=admins, ou=...`, a value may be escaped `\2C` or `\,`).
// A plain string compare would refuse legitimate users or, worse, make an
// operator loosen rules. Semantics:
//
// Parsing, RFC 4514 §3 (the string form of §2):
// - DN = RDN *("," RDN); RDN = AVA *("+" AVA); AVA = attributeType "=" value.
//   The empty string is the empty DN (zero RDNs). ';' separators (RFC 1779)
//   and quoted values are not accepted.
// - attributeType: a descriptor (ALPHA *(ALPHA / DIGIT / "-")) or a numeric
//   OID without leading zeros (RFC 4512 §1.4).
// - value: `\` + one of `,+"\<>;=` space `#` is that character; `\XX` is the
//   byte 0xXX, and consecutive `\XX` pairs are decoded together as UTF-8
//   (`J\C3\BCrgen` is `Jürgen`; invalid UTF-8 is a parse error). An unescaped
//   `"`, `;`, `<`, `>`, `\` or NUL is a parse error. `#` first means a
//   hexstring (BER encoding, §2.4): kept as lowercase hex, never decoded, so
//   `cn=#04036162 63` only equals the same hexstring.
// - Leniency beyond §3 (operators type DNs by hand): spaces around ',' '+'
//   and '=' are ignored.
//
// Matching, RFC 4517 §4.2.15 distinguishedNameMatch: same number of RDNs,
// and RDN i of one equals RDN i of the other as sets of AVAs (so multi-valued
// RDN order is irrelevant: the AVAs are sorted in the canonical form).
// - attribute types compare case-insensitively, and the common OIDs are
//   mapped to their names (2.5.4.3 = cn, ...) per RFC 4519.
// - values compare as caseIgnoreMatch (RFC 4517 §4.2.11) with the RFC 4518
//   string preparation approximated: §2.2 map (TAB/LF/VT/FF/CR/NEL and the
//   Unicode space separators to SPACE; soft hyphen, zero-width and variation
//   selectors to nothing), lowercasing for case folding, and §2.6.1
//   insignificant space handling (leading and trailing spaces removed,
//   internal runs collapsed to one). Not done: NFKC normalization (§2.3,
//   njs has no String.prototype.normalize), so precomposed and decomposed
//   forms of the same letter differ; attributes whose matching rule is not
//   caseIgnoreMatch (e.g. numeric or telephone values) still compare by the
//   caseIgnore rule, which is at most more lenient on case and space.
//
// The canonical form (normalizeDn) is `type=value` AVAs joined by '+' (in a
// fixed order) and RDNs joined by ','; values escaped per RFC 4514 §2.4.

import { ljwtError } from '../lib/errors.ts';
import { encodeHeaderValue } from '../identity/encode.ts';
import { matchesWhole } from '../lib/text.ts';
import { codePoints, utf8DecodeStrict } from '../lib/utf8.ts';

// RFC 4519 names for the OIDs seen in directory DNs.
const OID_NAMES: { [oid: string]: string } = {
  '2.5.4.3': 'cn',
  '2.5.4.11': 'ou',
  '2.5.4.10': 'o',
  '0.9.2342.19200300.100.1.25': 'dc',
  '2.5.4.6': 'c',
  '2.5.4.7': 'l',
  '2.5.4.8': 'st',
  '0.9.2342.19200300.100.1.1': 'uid',
  '2.5.4.9': 'street',
};

export interface Ava {
  type: string; // normalized: lowercase descriptor or numeric OID
  value: string; // unescaped value ('#' + lowercase hex for a BER hexstring)
  hex: boolean;
}
export type Rdn = Ava[];

function isHex(c: string): boolean {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
function isAlpha(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

function fail(msg: string): never {
  throw ljwtError('ERR_CONFIG_INVALID', msg);
}

/** Parse an RFC 4514 DN into RDNs; throws ERR_CONFIG_INVALID when it is not one. */
export function parseDn(dn: string): Rdn[] {
  if (typeof dn !== 'string') fail('a DN must be a string');
  const n = dn.length;
  let i = 0;
  const skipSpaces = () => {
    while (i < n && dn.charAt(i) === ' ') i++;
  };
  const rdns: Rdn[] = [];
  skipSpaces();
  if (i === n) return rdns;
  let rdn: Rdn = [];
  for (;;) {
    // attributeType
    skipSpaces();
    const tStart = i;
    while (i < n && (isAlpha(dn.charAt(i)) || isDigit(dn.charAt(i)) || dn.charAt(i) === '-' || dn.charAt(i) === '.')) i++;
    const rawType = dn.substring(tStart, i);
    let type: string;
    if (matchesWhole(/^[A-Za-z][A-Za-z0-9-]*$/, rawType)) {
      type = rawType.toLowerCase();
    } else if (matchesWhole(/^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/, rawType)) {
      type = OID_NAMES[rawType] || rawType;
    } else {
      fail(rawType === '' ? 'DN: attribute type expected at offset ' + tStart : 'DN: invalid attribute type "' + rawType + '"');
    }
    skipSpaces();
    if (dn.charAt(i) !== '=') fail('DN: "=" expected after attribute type "' + rawType + '"');
    i++;
    skipSpaces();
    // attributeValue
    let value = '';
    let hex = false;
    if (dn.charAt(i) === '#') {
      i++;
      const hStart = i;
      while (i < n && isHex(dn.charAt(i))) i++;
      const h = dn.substring(hStart, i);
      if (h.length === 0 || h.length % 2 !== 0) fail('DN: a "#" value needs an even, non-zero number of hex digits');
      value = '#' + h.toLowerCase();
      hex = true;
      skipSpaces();
    } else {
      let pending: number[] = [];
      const flush = () => {
        if (pending.length > 0) {
          const s = utf8DecodeStrict(new Uint8Array(pending));
          if (s === null) fail('DN: hex escapes are not valid UTF-8');
          value += s;
          pending = [];
        }
      };
      while (i < n) {
        const c = dn.charAt(i);
        if (c === ',' || c === '+') break;
        if (c === '\\') {
          const d = dn.charAt(i + 1);
          if (isHex(d) && isHex(dn.charAt(i + 2))) {
            pending.push(parseInt(dn.substring(i + 1, i + 3), 16));
            i += 3;
            continue;
          }
          if (d !== '' && ',+"\\<>;= #'.indexOf(d) >= 0) {
            flush();
            value += d;
            i += 2;
            continue;
          }
          fail('DN: invalid escape "\\' + d + '"');
        }
        if (c === '"' || c === ';' || c === '<' || c === '>' || c === '\u0000') {
          fail('DN: character "' + (c === '\u0000' ? '\\00' : c) + '" must be escaped in a value');
        }
        flush();
        value += c;
        i++;
      }
      flush();
    }
    rdn.push({ type: type, value: value, hex: hex });
    if (i === n) {
      rdns.push(rdn);
      return rdns;
    }
    const sep = dn.charAt(i);
    if (sep === ',') {
      rdns.push(rdn);
      rdn = [];
    } else if (sep !== '+') {
      fail('DN: "," or "+" expected at offset ' + i);
    }
    i++;
    skipSpaces();
    if (i === n) fail('DN: attribute type expected after "' + sep + '"');
  }
}

// RFC 4518 §2.2: characters mapped to SPACE, and to nothing.
function mapCodePoint(cp: number): number {
  if (cp === 0x09 || cp === 0x0a || cp === 0x0b || cp === 0x0c || cp === 0x0d || cp === 0x85) return 0x20;
  if (cp === 0xa0 || cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 ||
    cp === 0x202f || cp === 0x205f || cp === 0x3000) return 0x20;
  if (cp === 0xad || cp === 0x34f || cp === 0x1806 || (cp >= 0x180b && cp <= 0x180d) || cp === 0x200b ||
    cp === 0x200c || cp === 0x200d || cp === 0x2060 || (cp >= 0xfe00 && cp <= 0xfe0f) || cp === 0xfeff ||
    cp === 0xfffc) return -1;
  return cp;
}

/** caseIgnore value preparation (see the file comment). */
export function prepareValue(v: string): string {
  const cps = codePoints(v);
  let out = '';
  let space = false;
  for (let i = 0; i < cps.length; i++) {
    const cp = mapCodePoint(cps[i]);
    if (cp < 0) continue;
    if (cp === 0x20) {
      space = true;
      continue;
    }
    if (space && out !== '') out += ' ';
    space = false;
    out += String.fromCodePoint(cp);
  }
  return out.toLowerCase();
}

// RFC 4514 §2.4 escaping of a prepared value (which has no leading/trailing space).
function escapeValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v.charAt(i);
    if (',+"\\<>;'.indexOf(c) >= 0 || (i === 0 && c === '#')) out += '\\' + c;
    else if (c === '\u0000') out += '\\00';
    else out += c;
  }
  return out;
}

function canonicalAva(a: Ava): string {
  return a.type + '=' + (a.hex ? a.value : escapeValue(prepareValue(a.value)));
}

function canonicalRdn(rdn: Rdn): string {
  const parts: string[] = [];
  for (let i = 0; i < rdn.length; i++) parts.push(canonicalAva(rdn[i]));
  // Sort by an ASCII key so the order is the same on every runtime (njs
  // compares strings by code point, Node by UTF-16 unit).
  const keyed: { k: string; v: string }[] = [];
  for (let i = 0; i < parts.length; i++) keyed.push({ k: encodeHeaderValue(parts[i]), v: parts[i] });
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const out: string[] = [];
  for (let i = 0; i < keyed.length; i++) {
    // An AVA repeated inside one RDN is the same set member.
    if (i === 0 || keyed[i].k !== keyed[i - 1].k) out.push(keyed[i].v);
  }
  return out.join('+');
}

/** Canonical form for comparison; throws ERR_CONFIG_INVALID for an unparseable DN (config use). */
export function normalizeDn(dn: string): string {
  const rdns = parseDn(dn);
  const parts: string[] = [];
  for (let i = 0; i < rdns.length; i++) parts.push(canonicalRdn(rdns[i]));
  return parts.join(',');
}

/** Canonical form, or null when `dn` is not a DN (token use: it then matches nothing). */
export function tryNormalizeDn(dn: unknown): string | null {
  if (typeof dn !== 'string') return null;
  try {
    return normalizeDn(dn);
  } catch (e) {
    return null;
  }
}

/** RFC 4517 distinguishedNameMatch as described above; an unparseable side is never equal. */
export function dnEquals(a: string, b: string): boolean {
  const na = tryNormalizeDn(a);
  const nb = tryNormalizeDn(b);
  return na !== null && nb !== null && na === nb;
}
