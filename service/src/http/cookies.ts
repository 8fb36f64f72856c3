import type { IncomingMessage } from 'node:http';

/** All values of one cookie (RFC 6265 §5.4); duplicates are kept so callers can refuse ambiguity. */
export function cookieValues(req: IncomingMessage, name: string): string[] {
  const header = req.headers.cookie;
  if (!header) return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    out.push(v);
  }
  return out;
}

export interface CookieOptions {
  maxAgeSeconds?: number;
  path: string;
  secure: boolean;
  sameSite: 'Strict' | 'Lax';
}

export function serializeCookie(name: string, value: string, o: CookieOptions): string {
  let s = `${name}=${value}; Path=${o.path}; HttpOnly; SameSite=${o.sameSite}`;
  if (o.maxAgeSeconds !== undefined) s += `; Max-Age=${o.maxAgeSeconds}`;
  if (o.secure) s += '; Secure';
  return s;
}
