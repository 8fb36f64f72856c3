// Distinguished names (RFC 4514): parsing, escaping, and a normalized form
// for comparing member values with entry DNs. Servers return the same DN in
// different spellings (`cn=Smith\, John` vs `cn=Smith\2C John`, `CN=` vs
// `cn=`), so DNs are never compared as raw strings.

export interface Ava {
  /** Attribute type as written (descr or numeric OID). */
  type: string;
  /** Decoded value; for a `#hex` value (RFC 4514 §2.3 BER form) the lowercase `#hex` text itself. */
  value: string;
  /** The value was written in `#hex` form. */
  hex?: true;
}
export type Rdn = Ava[];

export class DnSyntaxError extends Error {
  override readonly name = 'DnSyntaxError';
}

const TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$/;

/**
 * Parses an RFC 4514 string DN. Lenient where RFC 1779/2253 producers
 * differ (spaces around `,` `+` `=`, `;` as RDN separator); strict about
 * escapes and hex pairs, which must decode to valid UTF-8.
 */
export function parseDn(dn: string): Rdn[] {
  const rdns: Rdn[] = [];
  if (dn.trim() === '') return rdns;
  let i = 0;
  let rdn: Rdn = [];
  const n = dn.length;
  const skipSpaces = (): void => {
    while (i < n && dn[i] === ' ') i++;
  };
  for (;;) {
    skipSpaces();
    const typeStart = i;
    while (i < n && dn[i] !== '=' && dn[i] !== ',' && dn[i] !== '+' && dn[i] !== ';') i++;
    if (dn[i] !== '=') throw new DnSyntaxError(`missing "=" in ${JSON.stringify(dn)}`);
    let type = dn.slice(typeStart, i).trim();
    if (/^oid\./i.test(type)) type = type.slice(4);
    if (!TYPE.test(type)) throw new DnSyntaxError(`bad attribute type ${JSON.stringify(type)} in ${JSON.stringify(dn)}`);
    i++; // '='
    skipSpaces();
    let value: string;
    let hex = false;
    if (dn[i] === '#') {
      hex = true;
      const start = i;
      i++;
      while (i < n && /[0-9A-Fa-f]/.test(dn[i]!)) i++;
      value = dn.slice(start, i).toLowerCase();
      if (value.length < 3 || value.length % 2 === 0) throw new DnSyntaxError(`bad hex value in ${JSON.stringify(dn)}`);
      skipSpaces();
    } else {
      const bytes: number[] = [];
      let trailingSpaces = 0; // unescaped spaces at the end are not part of the value
      while (i < n) {
        const c = dn[i]!;
        if (c === ',' || c === '+' || c === ';') break;
        if (c === '\\') {
          const next = dn[i + 1];
          if (next === undefined) throw new DnSyntaxError(`dangling "\\" in ${JSON.stringify(dn)}`);
          if (/[0-9A-Fa-f]/.test(next) && /[0-9A-Fa-f]/.test(dn[i + 2] ?? '')) {
            bytes.push(parseInt(dn.slice(i + 1, i + 3), 16));
            i += 3;
          } else if (' "#+,;<=>\\'.includes(next)) {
            bytes.push(next.charCodeAt(0));
            i += 2;
          } else {
            throw new DnSyntaxError(`bad escape "\\${next}" in ${JSON.stringify(dn)}`);
          }
          trailingSpaces = 0;
          continue;
        }
        if (c === '"' || c === '<' || c === '>' || c === '\0') {
          throw new DnSyntaxError(`unescaped ${JSON.stringify(c)} in ${JSON.stringify(dn)}`);
        }
        const cp = dn.codePointAt(i)!;
        const enc = Buffer.from(String.fromCodePoint(cp), 'utf8');
        for (const b of enc) bytes.push(b);
        i += cp > 0xffff ? 2 : 1;
        trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
      }
      const buf = Buffer.from(bytes.slice(0, bytes.length - trailingSpaces));
      try {
        value = new TextDecoder('utf-8', { fatal: true }).decode(buf);
      } catch {
        throw new DnSyntaxError(`value is not valid UTF-8 in ${JSON.stringify(dn)}`);
      }
    }
    rdn.push(hex ? { type, value, hex: true } : { type, value });
    if (i >= n) {
      rdns.push(rdn);
      return rdns;
    }
    const sep = dn[i]!;
    i++;
    if (sep === '+') continue;
    rdns.push(rdn);
    rdn = [];
    if (i >= n || dn.slice(i).trim() === '') throw new DnSyntaxError(`empty RDN at the end of ${JSON.stringify(dn)}`);
  }
}

/** Escapes an attribute value for use inside a DN string (RFC 4514 §2.4). */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let k = 0; k < value.length; k++) {
    const c = value[k]!;
    if (c === '\0') out += '\\00';
    else if ('"+,;<>\\='.includes(c)) out += '\\' + c;
    else if ((c === ' ' || c === '#') && k === 0) out += '\\' + c;
    else if (c === ' ' && k === value.length - 1) out += '\\ ';
    else out += c;
  }
  return out;
}

function normalizeValue(v: string): string {
  // Approximates caseIgnoreMatch with RFC 4518 insignificant-space handling;
  // every naming attribute we meet (cn, ou, dc, uid, o, l, c) uses it.
  return v.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * A canonical string for equality tests between DNs: lowercase types and
 * values, one escape spelling, multi-valued RDNs sorted. Throws DnSyntaxError
 * on malformed input.
 */
function normalizedRdns(dn: string): string[] {
  return parseDn(dn).map((rdn) =>
    rdn
      .map((a) => `${a.type.toLowerCase()}=${a.hex ? a.value : escapeDnValue(normalizeValue(a.value))}`)
      .sort()
      .join('+'),
  );
}

export function normalizeDn(dn: string): string {
  return normalizedRdns(dn).join(',');
}

export function isValidDn(dn: string): boolean {
  try {
    parseDn(dn);
    return true;
  } catch {
    return false;
  }
}

/** True when `dn` equals `base` or lies below it. */
export function isDnWithin(dn: string, base: string): boolean {
  const d = normalizedRdns(dn);
  const b = normalizedRdns(base);
  if (b.length > d.length) return false;
  const offset = d.length - b.length;
  return b.every((r, k) => d[offset + k] === r);
}

/** Serializes parsed RDNs back to an RFC 4514 string. */
export function formatDn(rdns: Rdn[]): string {
  return rdns.map((rdn) => rdn.map((a) => `${a.type}=${a.hex ? a.value : escapeDnValue(a.value)}`).join('+')).join(',');
}
