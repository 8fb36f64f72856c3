// Strict UTF-8 decoding (RFC 3629 §3/§4): TextDecoder is absent on njs 0.7.9
// and Buffer#toString replaces invalid sequences instead of failing.
// Rejects overlong forms, surrogate code points (U+D800..U+DFFF), values above
// U+10FFFF and truncated sequences. Returns null on any invalid input.
//
// Per-byte loops are slow in the njs interpreter, so the bytes are first
// turned into a one-char-per-byte string natively; ASCII stretches are copied
// as they are and only the non-ASCII runs are decoded byte by byte. A
// well-formed sequence consists of non-ASCII bytes only, so each maximal run
// must decode on its own.

// String.fromCharCode.apply throws "argument list is too long" above ~1 k
// arguments on njs 0.7.9.
const CHUNK = 1024;
const NON_ASCII_RUN = /[\x80-\xff]+/g;

function byteString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return s;
}

/** Decodes bytes[start, end) that are all >= 0x80; null if they are not complete, valid sequences. */
function decodeRun(bytes: Uint8Array, start: number, end: number): string | null {
  const units: number[] = [];
  let i = start;
  while (i < end) {
    const b0 = bytes[i];
    let cp: number;
    let need: number;
    let min: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      cp = b0 & 0x1f; need = 1; min = 0x80;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      cp = b0 & 0x0f; need = 2; min = 0x800;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      cp = b0 & 0x07; need = 3; min = 0x10000;
    } else {
      return null; // continuation byte as lead, 0xC0/0xC1 (always overlong), 0xF5..0xFF
    }
    if (i + need >= end) return null; // truncated
    for (let k = 1; k <= need; k++) {
      const b = bytes[i + k];
      if ((b & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
    if (cp >= 0x10000) {
      const v = cp - 0x10000;
      units.push(0xd800 | (v >> 10), 0xdc00 | (v & 0x3ff));
    } else {
      units.push(cp);
    }
    i += need + 1;
  }
  let out = '';
  for (let j = 0; j < units.length; j += CHUNK) out += String.fromCharCode.apply(null, units.slice(j, j + CHUNK));
  return out;
}

export function utf8DecodeStrict(bytes: Uint8Array): string | null {
  const bin = byteString(bytes);
  NON_ASCII_RUN.lastIndex = 0;
  let m = NON_ASCII_RUN.exec(bin);
  if (m === null) return bin; // pure ASCII: one char per byte already
  let out = '';
  let pos = 0;
  while (m !== null) {
    const start = m.index;
    const end = start + m[0].length;
    const run = decodeRun(bytes, start, end);
    if (run === null) return null;
    out += bin.substring(pos, start) + run;
    pos = end;
    m = NON_ASCII_RUN.exec(bin);
  }
  return out + bin.substring(pos);
}
