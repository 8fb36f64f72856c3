// Leaf value conversion, shared by XML elements and environment variables so
// both give the same checks and the same messages. Every converter throws
// ConfigError(where, problem).
import net from 'node:net';
import { FilterParser } from 'ldapts';
import { isValidDn } from '../ldap/dn.ts';
import { fillFilter } from '../ldap/filter.ts';
import { ConfigError } from './errors.ts';
import type { LeafType } from './schema.ts';

const show = (s: string): string => JSON.stringify(s.length > 80 ? s.slice(0, 80) + '…' : s);

export interface LdapUri {
  /** The URL without userinfo, path, query or fragment: ldap[s]://host[:port]. */
  uri: string;
  bindDn?: string;
  bindPassword?: string;
}

export function parseLdapUri(raw: string, where: string): LdapUri {
  const s = raw.trim();
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ConfigError(where, `expected ldap:// or ldaps:// URL, got ${show(maskUserinfo(s))}`);
  }
  if ((u.protocol !== 'ldap:' && u.protocol !== 'ldaps:') || u.hostname === '') {
    throw new ConfigError(where, `expected ldap:// or ldaps:// URL, got ${show(maskUserinfo(s))}`);
  }
  if ((u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') {
    throw new ConfigError(where, 'LDAP URL must be scheme://host[:port] (no DN, attributes, scope or filter part)');
  }
  const out: LdapUri = { uri: `${u.protocol}//${u.host}` };
  // "JDBC-like" URL: user and password percent-encoded in the
  // userinfo (RFC 3986 §3.2.1) so DNs with ',' '=' and passwords with '@' ':' fit.
  try {
    if (u.username !== '') out.bindDn = decodeURIComponent(u.username);
    if (u.password !== '') out.bindPassword = decodeURIComponent(u.password);
  } catch {
    throw new ConfigError(where, 'bad percent-encoding in the user:password part of the LDAP URL');
  }
  if (out.bindDn !== undefined && !isValidDn(out.bindDn)) {
    throw new ConfigError(where, 'the user part of the LDAP URL is not a valid DN');
  }
  return out;
}

/** For error messages: never echo a password embedded in a URL. */
export function maskUserinfo(s: string): string {
  return s.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function parseHttpUrl(s: string, where: string, issuer: boolean): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new ConfigError(where, `expected an absolute http(s) URL, got ${show(s)}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(where, `expected an absolute http(s) URL, got ${show(s)}`);
  if (u.username !== '' || u.password !== '') throw new ConfigError(where, 'URL must not contain user:password');
  if (s.includes('#')) throw new ConfigError(where, 'URL must not contain a fragment (RFC 6749 §3.1.2)');
  if (issuer) {
    if (u.search !== '' || s.includes('?')) throw new ConfigError(where, 'issuer must not contain a query (RFC 8414 §2)');
    if (u.protocol === 'http:' && !isLoopback(u.hostname)) {
      throw new ConfigError(where, 'issuer must use https (http only on a loopback host)');
    }
  }
  // Exact-match comparisons later (redirect URIs) use the string as written.
  return s;
}

function parseIpList(s: string, where: string): string[] {
  const items = s.split(/[\s,]+/).filter((x) => x !== '');
  for (const it of items) {
    const [addr, prefix, extra] = it.split('/');
    const fam = net.isIP(addr ?? '');
    if (fam === 0 || extra !== undefined) throw new ConfigError(where, `not an IP address or CIDR range: ${show(it)}`);
    if (prefix !== undefined) {
      const n = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
      if (!(n >= 0 && n <= (fam === 4 ? 32 : 128))) throw new ConfigError(where, `bad prefix length in ${show(it)}`);
    }
  }
  return items;
}

export function parseListen(s: string, where: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new ConfigError(where, `expected host:port, :port or port, got ${show(s)}`);
  const host = m[1] ? m[1].replace(/^\[(.*)\]$/, '$1') : '';
  return { host: host === '' ? '127.0.0.1' : host, port };
}

/** Converts one leaf's text. Returns string | number | boolean | RegExp | string[] | LdapUri. */
export function convertLeaf(type: LeafType, raw: string, where: string): unknown {
  const s = type.kind === 'secret' ? raw : raw.trim();
  switch (type.kind) {
    case 'secret':
      return s;
    case 'string':
    case 'path':
      if (s === '') throw new ConfigError(where, 'must not be empty');
      return s;
    case 'ldapUrl':
      return parseLdapUri(s, where);
    case 'httpUrl':
      return parseHttpUrl(s, where, false);
    case 'issuerUrl':
      return parseHttpUrl(s, where, true);
    case 'optionalDn':
    case 'dn':
      if (type.kind === 'optionalDn' && s === '') return '';
      if (s === '' || !isValidDn(s)) throw new ConfigError(where, `expected a distinguished name (RFC 4514), got ${show(s)}`);
      return s;
    case 'int': {
      if (!/^\d+$/.test(s)) throw new ConfigError(where, `expected a whole number, got ${show(s)}`);
      const n = Number(s);
      if (type.min !== undefined && n < type.min) throw new ConfigError(where, `must be at least ${type.min}, got ${s}`);
      if (type.max !== undefined && n > type.max) throw new ConfigError(where, `must be at most ${type.max}, got ${s}`);
      return n;
    }
    case 'bool':
      // xs:boolean lexical space.
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      throw new ConfigError(where, `expected true or false, got ${show(s)}`);
    case 'enum':
      if (!type.values!.includes(s)) throw new ConfigError(where, `expected one of ${type.values!.join(', ')}, got ${show(s)}`);
      return s;
    case 'regex': {
      // Unanchored, "[a-z]+" would accept "x)(uid=*": the pattern must cover the whole name.
      if (!s.startsWith('^') || !s.endsWith('$') || s.endsWith('\\$')) {
        throw new ConfigError(where, `regular expression must be anchored with ^ and $, got ${show(s)}`);
      }
      try {
        // Wrapped again: in "^a|b$" each anchor binds to one alternative only ("a)(uid=*" matches).
        return new RegExp(`^(?:${s})$`, 'u');
      } catch (e) {
        throw new ConfigError(where, `invalid regular expression: ${(e as Error).message}`);
      }
    }
    case 'filter': {
      if (!s.includes('{username}')) throw new ConfigError(where, 'filter must contain {username}');
      try {
        FilterParser.parseString(fillFilter(s, { username: 'probe' }));
      } catch (e) {
        throw new ConfigError(where, `invalid LDAP filter (RFC 4515): ${(e as Error).message}`);
      }
      // ldapts' parser tolerates a missing ")", so check the nesting here:
      // one parenthesized expression, balanced (values escape parentheses as \28 \29).
      let depth = 0;
      let balanced = s.startsWith('(');
      for (let k = 0; k < s.length && balanced; k++) {
        if (s[k] === '(') depth++;
        else if (s[k] === ')') {
          depth--;
          if (depth < 0 || (depth === 0 && k !== s.length - 1)) balanced = false;
        }
      }
      if (!balanced || depth !== 0) {
        throw new ConfigError(where, 'invalid LDAP filter (RFC 4515): must be one balanced parenthesized expression');
      }
      return s;
    }
    case 'attribute':
      if (!/^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/.test(s)) throw new ConfigError(where, `not an LDAP attribute name: ${show(s)}`);
      return s;
    case 'listen':
      return parseListen(s, where);
    case 'redisUrl': {
      let u: URL | undefined;
      try {
        u = new URL(s);
      } catch {
        u = undefined;
      }
      if (!u || (u.protocol !== 'redis:' && u.protocol !== 'rediss:')) {
        throw new ConfigError(where, `expected redis:// or rediss:// URL, got ${show(maskUserinfo(s))}`);
      }
      return s;
    }
    case 'ipList':
      return parseIpList(s, where);
    case 'clientId':
      if (!/^[A-Za-z0-9._~-]{1,128}$/.test(s)) throw new ConfigError(where, `client id must be 1-128 of A-Z a-z 0-9 . _ ~ -, got ${show(s)}`);
      return s;
    case 'cookieName':
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/.test(s)) throw new ConfigError(where, `not a cookie name (RFC 6265 §4.1.1 token): ${show(s)}`);
      return s;
    case 'scopeToken':
      // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
      if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s)) throw new ConfigError(where, `invalid scope token ${show(s)}`);
      return s;
  }
}
