// Strict base64url (RFC 4648 §5 without padding, as JWS requires: RFC 7515 §2).
// Buffer.from(s, 'base64url') silently skips invalid characters and ignores
// non-zero trailing bits, so every input is validated here first: two
// different strings must never decode to the same bytes (signature malleability).

// Any character outside the alphabet, searched for without anchors: njs 0.7.9
// (PCRE) lets `$` match before a final "\n", which Buffer.from() then skips,
// so /^[A-Za-z0-9_-]*$/ would accept "abc\n". A regex, not a character loop:
// the njs interpreter is about 100x slower per character than PCRE.
const NOT_BASE64URL = /[^A-Za-z0-9_-]/;

function sextet(c: number): number {
  if (c >= 65 && c <= 90) return c - 65; // A-Z
  if (c >= 97 && c <= 122) return c - 71; // a-z
  if (c >= 48 && c <= 57) return c + 4; // 0-9
  if (c === 45) return 62; // -
  if (c === 95) return 63; // _
  return -1;
}

/** True when `s` is canonical unpadded base64url. */
export function isBase64url(s: string): boolean {
  if (typeof s !== 'string') return false;
  const rem = s.length % 4;
  if (rem === 1 || NOT_BASE64URL.test(s)) return false;
  if (rem === 0) return true;
  // rem 2 encodes 1 byte (8 of 12 bits used), rem 3 encodes 2 bytes (16 of 18):
  // the unused low bits of the last character must be zero (RFC 4648 §3.5).
  const last = sextet(s.charCodeAt(s.length - 1));
  return rem === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

/** Decodes canonical base64url; null for anything else. */
export function base64urlDecodeOrNull(s: string): Uint8Array | null {
  if (!isBase64url(s)) return null;
  return Buffer.from(s, 'base64url');
}

export function base64urlEncode(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}
