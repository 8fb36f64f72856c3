// Identity header value encoding (docs/edge contract, "Identity header encoding").
//
// Why: no released njs rejects CR/LF in header values, and claim values are
// attacker-influenced text (a display name, a group DN). Every value injected
// into an upstream request header is therefore reduced to printable ASCII
// 0x21-0x7E: each UTF-8 byte < 0x20, 0x7F, every byte >= 0x80, and the
// delimiters space, '%', ',', '+' and '"' become %XX (uppercase hex). What is
// left needs no quoting under RFC 9110 §5.5 field-value rules, a list is its
// items joined by ',' (so ',' inside an item is never ambiguous), and '+' is
// escaped so that form-style decoders (Python unquote_plus, Java URLDecoder)
// give the same result as decodeURIComponent.
//
// njs 0.7.9 has no TextEncoder/TextDecoder, and its strings are sequences of
// code points (charCodeAt returns the full code point, '😀'.length is 1) while
// Node/QuickJS strings are UTF-16: the code point reader below accepts both.

const HEX = '0123456789ABCDEF';

/** Code points of a JS string; a lone UTF-16 surrogate becomes U+FFFD. */
export function codePoints(s: string): number[] {
  const out: number[] = [];
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out.push(0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00));
        i += 2;
        continue;
      }
    }
    out.push(c >= 0xd800 && c <= 0xdfff ? 0xfffd : c);
    i++;
  }
  return out;
}

/** UTF-8 bytes of a JS string (RFC 3629); lone surrogates are encoded as U+FFFD. */
export function utf8Encode(s: string): number[] {
  const cps = codePoints(s);
  const out: number[] = [];
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i];
    if (cp < 0x80) {
      out.push(cp);
    } else if (cp < 0x800) {
      out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    } else {
      out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    }
  }
  return out;
}

/**
 * Strict UTF-8 decoding (RFC 3629 §3/§4): overlong forms, surrogates, code
 * points above U+10FFFF and truncated sequences give null instead of U+FFFD,
 * so two different byte strings never decode to the same text.
 */
export function utf8Decode(bytes: number[]): string | null {
  let out = '';
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i];
    let cp: number;
    let need: number;
    let min: number;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      cp = b & 0x1f; need = 1; min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      cp = b & 0x0f; need = 2; min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      cp = b & 0x07; need = 3; min = 0x10000;
    } else {
      return null;
    }
    if (i + need >= n) return null;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}

function mustEncode(b: number): boolean {
  // space, '"', '%', '+', ','
  return b <= 0x20 || b >= 0x7f || b === 0x22 || b === 0x25 || b === 0x2b || b === 0x2c;
}

/** One header value: printable ASCII 0x21-0x7E only, see the file comment. */
export function encodeHeaderValue(s: string): string {
  const bytes = utf8Encode(s);
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    out += mustEncode(b) ? '%' + HEX.charAt(b >> 4) + HEX.charAt(b & 15) : String.fromCharCode(b);
  }
  return out;
}

/**
 * A list: encoded items joined by ','. An empty list is '' (nginx then sends no
 * header at all); note a list holding one empty string also encodes to ''.
 */
export function encodeHeaderList(items: string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < items.length; i++) parts.push(encodeHeaderValue(items[i]));
  return parts.join(',');
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Inverse of encodeHeaderValue, for tests and documentation: strict, throws a
 * plain Error on a malformed escape or invalid UTF-8. Upstreams can equally use
 * decodeURIComponent (JS) or urllib.parse.unquote (Python).
 */
export function decodeHeaderValue(v: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x25) {
      const h = hexVal(v.charCodeAt(i + 1));
      const l = hexVal(v.charCodeAt(i + 2));
      if (h < 0 || l < 0) throw new Error('malformed percent escape at ' + i);
      bytes.push(h * 16 + l);
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      throw new Error('non-ASCII character in an encoded header value');
    }
  }
  const s = utf8Decode(bytes);
  if (s === null) throw new Error('percent escapes are not valid UTF-8');
  return s;
}

/** Inverse of encodeHeaderList: '' is the empty list. */
export function decodeHeaderList(v: string): string[] {
  if (v === '') return [];
  const parts = v.split(',');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) out.push(decodeHeaderValue(parts[i]));
  return out;
}
