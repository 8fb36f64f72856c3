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

import { utf8DecodeStrict, utf8Encode } from '../lib/utf8.ts';

const HEX = '0123456789ABCDEF';

function mustEncode(b: number): boolean {
  // space, '"', '%', '+', ','
  return b <= 0x20 || b >= 0x7f || b === 0x22 || b === 0x25 || b === 0x2b || b === 0x2c;
}

// Fast paths (this runs for every identity value of every request): one
// native regex scan decides whether a value needs encoding at all, and ASCII
// values only have their delimiters replaced. Same output as the byte loop.
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x2a\x2d-\x7e]/;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;
// '%' first, so that the escapes written for the others are not escaped again.
const ASCII_DELIMITERS = ['%', ' ', '"', '+', ','];
const DELIMITER_ESCAPES = ['%25', '%20', '%22', '%2B', '%2C'];

// split/join rather than replace() with a callback: several times cheaper on njs 0.7.9.
function escapeDelimiters(s: string): string {
  let out = s;
  for (let i = 0; i < ASCII_DELIMITERS.length; i++) {
    if (out.indexOf(ASCII_DELIMITERS[i]) >= 0) out = out.split(ASCII_DELIMITERS[i]).join(DELIMITER_ESCAPES[i]);
  }
  return out;
}

/** One header value: printable ASCII 0x21-0x7E only, see the file comment. */
export function encodeHeaderValue(s: string): string {
  if (!NEEDS_ENCODING.test(s)) return s;
  if (!NOT_PRINTABLE_ASCII.test(s)) return escapeDelimiters(s);
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
  const s = utf8DecodeStrict(new Uint8Array(bytes));
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
