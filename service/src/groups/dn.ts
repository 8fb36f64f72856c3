// DN comparison keys. Member values name entries in whatever spelling the writer used
// ("CN=Alice, OU=People,DC=Example,DC=com") while the server returns entry DNs in its
// own spelling, so both sides are reduced to one key before lookups (RFC 4514 §2-3:
// attribute types are case-insensitive; the naming attributes used for people and groups
// (cn, uid, ou, dc, o) all use caseIgnoreMatch (RFC 4519), so values are folded too).

const HEX2 = /^[0-9a-fA-F]{2}$/;
const SIMPLE_DN = /^[A-Za-z0-9=,. _-]*$/;

/** Splits at unescaped separators (RFC 4514 §3: ',' between RDNs, '+' inside an RDN). */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1]!;
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted; // RFC 2253 legacy quoting
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out;
}

/** RFC 4514 §3 value unescaping; hex pairs are UTF-8 bytes. */
function unescapeValue(raw: string): string {
  let v = raw.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  if (!v.includes('\\')) return v;
  const bytes: number[] = [];
  const flush = (out: string[]): void => {
    if (bytes.length) {
      out.push(Buffer.from(bytes).toString('utf8'));
      bytes.length = 0;
    }
  };
  const out: string[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '\\' && i + 1 < v.length) {
      const pair = v.slice(i + 1, i + 3);
      if (HEX2.test(pair)) {
        bytes.push(parseInt(pair, 16));
        i += 2;
        continue;
      }
      flush(out);
      out.push(v[i + 1]!);
      i++;
      continue;
    }
    flush(out);
    out.push(c);
  }
  flush(out);
  return out.join('');
}

/** Re-escapes the characters RFC 4514 §2.4 requires, so the key is unambiguous. */
function escapeValue(v: string): string {
  let out = v.replace(/[\\,+"<>;=\u0000]/g, (c) => (c === '\u0000' ? '\\00' : '\\' + c));
  if (out.startsWith(' ') || out.startsWith('#')) out = '\\' + out;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = out.slice(0, -1) + '\\ ';
  return out;
}

/**
 * Canonical comparison key of a DN: attribute types and values lowercased, whitespace
 * around separators dropped, escapes normalised, multi-valued RDN parts sorted.
 * Not for display: keep the original spelling for anything shown or emitted.
 */
export function dnKey(dn: string): string {
  // Fast path for the common shape (no escapes, quotes, multi-valued RDNs or characters
  // the slow path would escape); it yields exactly what the slow path would.
  if (SIMPLE_DN.test(dn)) {
    const rdns = dn.toLowerCase().split(',');
    const out: string[] = [];
    let simple = true;
    for (const rdn of rdns) {
      const eq = rdn.indexOf('=');
      if (eq < 0 || eq !== rdn.lastIndexOf('=')) {
        if (rdn.trim() === '') continue;
        simple = false;
        break;
      }
      out.push(rdn.slice(0, eq).trim() + '=' + rdn.slice(eq + 1).trim());
    }
    if (simple) return out.join(',');
  }
  const rdns = splitUnescaped(dn.trim(), ',');
  const keyed: string[] = [];
  for (const rdn of rdns) {
    if (rdn.trim() === '') continue;
    const avas = splitUnescaped(rdn, '+').map((ava) => {
      const eq = ava.indexOf('=');
      if (eq < 0) return ava.trim().toLowerCase();
      const type = ava.slice(0, eq).trim().toLowerCase();
      const value = unescapeValue(ava.slice(eq + 1)).toLowerCase();
      return `${type}=${escapeValue(value)}`;
    });
    avas.sort();
    keyed.push(avas.join('+'));
  }
  return keyed.join(',');
}

/** True when `key` equals `baseKey` or lies below it (both already dnKey()'d). */
export function isUnderKey(key: string, baseKey: string): boolean {
  if (baseKey === '') return true;
  return key === baseKey || key.endsWith(',' + baseKey);
}

/** Longest common suffix (in whole RDNs) of several DN keys; '' when none. */
export function commonSuffixKey(keys: string[]): string {
  if (keys.length === 0) return '';
  const split = keys.map((k) => splitUnescaped(k, ','));
  const out: string[] = [];
  for (let i = 1; ; i++) {
    const first = split[0]!;
    if (i > first.length) break;
    const rdn = first[first.length - i]!;
    if (!split.every((parts) => parts.length >= i && parts[parts.length - i] === rdn)) break;
    out.unshift(rdn);
  }
  return out.join(',');
}

/** uniqueMember (RFC 4519 §2.40) is nameAndOptionalUID: "<dn>#'0101'B"; the UID is dropped. */
export function stripOptionalUid(value: string): string {
  return value.replace(/#'[01]*'B$/, '');
}
