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
//   The empty string is the empty DN (zero RDNs).
// - attributeType: a descriptor (ALPHA *(ALPHA / DIGIT / "-")) or a numeric
//   OID without leading zeros (RFC 4512 §1.4).
// - value: `\` + one of `,+"\<>;=` space `#` is that character; `\XX` is the
//   byte 0xXX, and consecutive `\XX` pairs are decoded together as UTF-8
//   (`J\C3\BCrgen` is `Jürgen`; invalid UTF-8 is a parse error). An unescaped
//   `"`, `;`, `<`, `>`, `\` or NUL is a parse error. `#` first means a
//   hexstring (BER encoding, §2.4): kept as lowercase hex, never decoded, so
//   `cn=#04036162 63` only equals the same hexstring.
// - Leniency beyond §3 (operators type DNs by hand): spaces around ',' '+'
//   and '=' are ignored (an unescaped space at the end of a value is not
//   part of it; `\ ` or `\20` is).
// - Not accepted, although RFC 2253 §4 let parsers take them: RFC 1779
//   quoting (`cn="a,b"`), ';' between RDNs and the `OID.` type prefix.
//   Directories return RFC 4514 strings; a form only some of our modules
//   read would let the edge, the login service and the group sync disagree
//   about which group a DN names. This module is the one DN parser of the
//   project: the service's config checks (service/src/ldap/dn.ts) and group
//   sync keys (service/src/groups/dn.ts) are built on it.
//
// Matching, RFC 4517 §4.2.15 distinguishedNameMatch: same number of RDNs,
// and RDN i of one equals RDN i of the other as sets of AVAs (so multi-valued
// RDN order is irrelevant: the AVAs are sorted in the canonical form).
// - attribute types compare case-insensitively, and the common OIDs are
//   mapped to their names (2.5.4.3 = cn, ...) per RFC 4519.
// - values compare case-insensitively (JS toLowerCase, except that the
//   Kelvin sign U+212A stays apart from "k") after removing the spaces at
//   either end (RFC 4518 §2.6.1). Nothing else of RFC 4518 is applied: no
//   §2.2 mapping (TAB, NBSP and other spaces to SPACE, soft hyphen,
//   zero-width and variation selectors to nothing), no collapsing of
//   internal spaces, no NFKC. The edge may only equate what every directory
//   keeps apart from anything else: Active Directory does not apply those
//   mappings, so whoever may create a group next to `cn=domain admins` could
//   otherwise name it `cn=domain  admins` or `cn=domain ad<U+200B>mins` and
//   pass the rule. The cost is failing closed when an operator writes a DN
//   with different internal spacing than the directory returns.
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
  type: string; // as written (a valid descriptor or numeric OID); see normalizeAttributeType
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

// A character that may stand unescaped inside a value (not a separator, not
// '\\', and not one RFC 4514 §3 requires to be escaped).
function isPlain(c: string): boolean {
  return c !== ',' && c !== '+' && c !== '\\' && c !== '"' && c !== ';' && c !== '<' && c !== '>' && c !== '\u0000';
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
    if (!matchesWhole(/^[A-Za-z][A-Za-z0-9-]*$/, rawType) && !matchesWhole(/^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/, rawType)) {
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
      // value.length up to the last character that is not an unescaped space
      let kept = 0;
      let pending: number[] = [];
      const flush = () => {
        if (pending.length > 0) {
          const s = utf8DecodeStrict(new Uint8Array(pending));
          if (s === null) fail('DN: hex escapes are not valid UTF-8');
          value += s;
          kept = value.length;
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
            kept = value.length;
            i += 2;
            continue;
          }
          fail('DN: invalid escape "\\' + d + '"');
        }
        if (!isPlain(c)) fail('DN: character "' + (c === '\u0000' ? '\\00' : c) + '" must be escaped in a value');
        flush();
        // A run of plain characters is appended in one step (the group sync
        // keys 100k+ member values with this parser).
        let j = i + 1;
        while (j < n && isPlain(dn.charAt(j))) j++;
        value += dn.substring(i, j);
        let last = j - 1;
        while (last >= i && dn.charAt(last) === ' ') last--;
        if (last >= i) kept = value.length - (j - 1 - last);
        i = j;
      }
      flush();
      value = value.substring(0, kept);
    }
    rdn.push({ type: rawType, value: value, hex: hex });
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

// The only non-ASCII code point whose lowercase is ASCII besides U+0130
// (which lowercases to "i" + U+0307, so never to plain ASCII).
const KELVIN_SIGN = '\u212a';

/** caseIgnore value preparation (see the file comment). */
export function prepareValue(v: string): string {
  let start = 0;
  let end = v.length;
  while (start < end && v.charAt(start) === ' ') start++;
  while (end > start && v.charAt(end - 1) === ' ') end--;
  let t = v.substring(start, end);
  if (hasSurrogate(t)) {
    // codePoints: a lone UTF-16 surrogate becomes U+FFFD on every runtime.
    const cps = codePoints(t);
    t = '';
    for (let i = 0; i < cps.length; i++) t += String.fromCodePoint(cps[i]);
  }
  if (t.indexOf(KELVIN_SIGN) < 0) return t.toLowerCase();
  // U+212A lowercases to "k": kept apart from it, like every other look-alike.
  const parts = t.split(KELVIN_SIGN);
  for (let i = 0; i < parts.length; i++) parts[i] = parts[i].toLowerCase();
  return parts.join(KELVIN_SIGN);
}

// Node strings hold astral characters as surrogate pairs, njs strings as one
// code point: only strings with a unit in D800-DFFF need codePoints().
function hasSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return true;
  }
  return false;
}

/**
 * An attribute value escaped for a DN string, exactly as RFC 4514 §2.4
 * requires: `,+"\<>;` anywhere, '#' or space first, space last, NUL as `\00`.
 * Nothing else is escaped, so the canonical form keeps UTF-8 text readable.
 */
export function escapeDnValue(v: string): string {
  const n = v.length;
  let plain = n === 0 || (v.charAt(0) !== ' ' && v.charAt(0) !== '#' && v.charAt(n - 1) !== ' ');
  for (let i = 0; plain && i < n; i++) plain = isPlain(v.charAt(i));
  if (plain) return v;
  let out = '';
  for (let i = 0; i < n; i++) {
    const c = v.charAt(i);
    if (c === '\u0000') out += '\\00';
    else if (!isPlain(c) || (i === 0 && (c === '#' || c === ' ')) || (i === n - 1 && c === ' ')) out += '\\' + c;
    else out += c;
  }
  return out;
}

/** The attribute type as compared: descriptors lowercased, common OIDs named (RFC 4519). */
export function normalizeAttributeType(type: string): string {
  return isDigit(type.charAt(0)) ? OID_NAMES[type] || type : type.toLowerCase();
}

function canonicalAva(a: Ava): string {
  return normalizeAttributeType(a.type) + '=' + (a.hex ? a.value : escapeDnValue(prepareValue(a.value)));
}

function canonicalRdn(rdn: Rdn): string {
  if (rdn.length === 1) return canonicalAva(rdn[0]);
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

// DNs as directories usually write them: descriptor types, values of
// letters, digits, '_', '.', '-' and single inner spaces, RDNs joined by a
// bare ','. Their canonical form is simply the lowercased string (types
// lowercased, values prepared by lowercasing, nothing to escape), and the
// parser costs tens of microseconds per DN on njs: this runs for every group
// of every token checked against a group rule.
const SIMPLE_DN = /^[A-Za-z][A-Za-z0-9-]*=[A-Za-z0-9_.-]+(?: [A-Za-z0-9_.-]+)*(?:,[A-Za-z][A-Za-z0-9-]*=[A-Za-z0-9_.-]+(?: [A-Za-z0-9_.-]+)*)*$/;

/** Canonical form for comparison; throws ERR_CONFIG_INVALID for an unparseable DN (config use). */
export function normalizeDn(dn: string): string {
  if (typeof dn === 'string' && matchesWhole(SIMPLE_DN, dn)) return dn.toLowerCase();
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

// Operations on canonical forms (normalizeDn output), for callers that keep
// keys instead of re-parsing: in a canonical form every '\\' starts an escape
// of the next character, so a ',' preceded by an even run of '\\' separates RDNs.

function isSeparatorAt(n: string, p: number): boolean {
  if (n.charAt(p) !== ',') return false;
  let k = 0;
  while (p - k - 1 >= 0 && n.charAt(p - k - 1) === '\\') k++;
  return k % 2 === 0;
}

/** The RDNs of a canonical form, first (leaf) to last; [] for the empty DN. */
export function splitNormalizedDn(n: string): string[] {
  const out: string[] = [];
  if (n === '') return out;
  let start = 0;
  for (let i = 0; i < n.length; i++) {
    if (n.charAt(i) === '\\') i++;
    else if (n.charAt(i) === ',') {
      out.push(n.substring(start, i));
      start = i + 1;
    }
  }
  out.push(n.substring(start));
  return out;
}

/**
 * True when canonical form `n` names `base` or an entry below it: `base` is a
 * whole-RDN suffix of `n` (RFC 4512 §2.3.2). The empty DN contains every DN.
 */
export function isWithinNormalizedDn(n: string, base: string): boolean {
  if (base === '' || n === base) return true;
  const p = n.length - base.length - 1;
  return p > 0 && n.substring(p + 1) === base && isSeparatorAt(n, p);
}
