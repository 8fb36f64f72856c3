// LDAP / Active Directory login: search-then-bind (RFC 4513 §5.1.3 simple
// bind as the found DN), object id, optional login group, failover across
// replicas. Searches and user binds run on separate pooled connections
// (pool.ts). Passwords are never logged, never put in errors.
import { randomUUID } from 'node:crypto';
import type { Client, Entry } from 'ldapts';
import type { LdapServerConfig } from '../config/types.ts';
import { closeLdapClient, openLdapClient } from './connect.ts';
import { describeLdapError, isCredentialRejection, LdapLoginError } from './errors.ts';
import { escapeFilterValue, fillFilter } from './filter.ts';
import { isMemberOfGroup } from './membership.ts';
import { isBinaryGuidAttribute, objectIdFromEntry } from './object-id.ts';
import { BindPool, DEFAULT_POOL_LIMITS, SearchPool, type PoolLimits } from './pool.ts';

export interface LdapUser {
  dn: string;
  /**
   * The account's one username, read from the entry: the first usernameAttribute it has
   * (default uid, sAMAccountName, userPrincipalName), never what was typed.
   */
  username: string;
  /** entryUUID as-is, objectGUID as canonical GUID string, or the configured attribute's value. */
  objectId: string;
  displayName?: string;
  email?: string;
  /** The server (config uri, without credentials) that authenticated the user. */
  serverUri: string;
}

/**
 * Called with the DN the username resolved to, after the search and before the
 * password is sent. Returning false refuses the bind (LdapLoginError THROTTLED):
 * this is where the caller counts attempts per directory account, whatever alias
 * of the account was typed.
 */
export type BeforeBind = (dn: string) => Promise<boolean>;

export interface Authenticator {
  authenticate(username: string, password: string, beforeBind?: BeforeBind): Promise<LdapUser>;
  /**
   * The entry a login with this username would bind as, found with the service
   * account and without any password (operator endpoints). null when no single
   * entry matches or it has no object id; LdapLoginError INVALID_USERNAME or
   * DIRECTORY_UNAVAILABLE otherwise.
   */
  findUser(username: string): Promise<LdapUser | null>;
  /** Any server reachable and the service bind accepted (for /readyz). */
  ping(): Promise<boolean>;
}

/** The LDAP login with its connection pools (ldap/pool.ts); close() closes them. */
export interface PooledAuthenticator extends Authenticator {
  close(): Promise<void>;
  /** Open connections per configured server, in order (for tests and metrics). */
  connections(): Array<{ uri: string; search: number; bind: number; waiting: number }>;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/**
 * Default order of the attributes the username is read from. AD accounts have a
 * sAMAccountName and usually a userPrincipalName, and either can be typed at the
 * login form (the default filter matches both): taking the name from the entry, in
 * a fixed order, gives one account one username in `sub` and X-Authenticated-User,
 * so per-user rules and applications see a single identity. uid first: OpenLDAP
 * people have it, and AD entries carrying RFC 2307 attributes mean the Unix login.
 */
export const DEFAULT_USERNAME_ATTRIBUTES = ['uid', 'sAMAccountName', 'userPrincipalName'];

function usernameAttributes(server: LdapServerConfig): string[] {
  return server.usernameAttributes !== undefined && server.usernameAttributes.length > 0
    ? server.usernameAttributes : DEFAULT_USERNAME_ATTRIBUTES;
}

function firstString(entry: Entry, attr: string): string | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
  if (key === undefined) return undefined;
  const v = entry[key];
  const first = Array.isArray(v) ? v[0] : v;
  if (Buffer.isBuffer(first)) return first.toString('utf8');
  return typeof first === 'string' && first !== '' ? first : undefined;
}

/**
 * The account's username: the first configured attribute the entry has. A
 * multi-valued one (uid may hold aliases) gives its first value: RFC 4512 §2.3
 * makes values a set, but OpenLDAP and AD return them in stored order, so the
 * choice is the same on every login.
 */
function canonicalUsername(entry: Entry, server: LdapServerConfig): string | undefined {
  for (const a of usernameAttributes(server)) {
    const v = firstString(entry, a);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Server-level failure: the next server may be tried. */
class ServerFailure extends Error {
  constructor(
    readonly stage: string,
    cause: unknown,
  ) {
    super(`${stage}: ${describeLdapError(cause)}`, { cause });
  }
}

async function stage<T>(name: string, p: () => Promise<T>): Promise<T> {
  try {
    return await p();
  } catch (err) {
    if (err instanceof LdapLoginError || err instanceof ServerFailure) throw err;
    throw new ServerFailure(name, err);
  }
}

type UserSearch = { entry: Entry } | { none: true } | { ambiguous: string[] };

/** Service connection: connected and bound as the service account (failures are ServerFailure). */
async function openServiceClient(server: LdapServerConfig): Promise<Client> {
  const client = await stage('connect', () => openLdapClient(server));
  try {
    await stage('service bind', () => client.bind(server.bindDn, server.bindPassword));
  } catch (err) {
    await closeLdapClient(client);
    throw err;
  }
  return client;
}

/** The user's entry under userSearchBase with server.userFilter, searched on a service-account connection. */
async function searchUser(pool: SearchPool, server: LdapServerConfig, username: string): Promise<UserSearch> {
  const objectIdAttr = server.objectIdAttribute;
  const filter = fillFilter(server.userFilter, { username });
  const { searchEntries } = await stage('user search', () =>
    pool.run((client) => client.search(server.userSearchBase, {
      scope: 'sub',
      filter,
      // Two are enough to tell "exactly one" from "ambiguous" (RFC 4511 §4.5.1.4).
      sizeLimit: 2,
      // uid also for the login group's posixGroup memberUid check, whatever names the username.
      attributes: [...new Set([objectIdAttr, 'displayName', 'cn', 'mail', 'uid', ...usernameAttributes(server)])],
      explicitBufferAttributes: isBinaryGuidAttribute(objectIdAttr) ? [objectIdAttr] : [],
    })),
  );
  if (searchEntries.length === 0) return { none: true };
  if (searchEntries.length > 1) return { ambiguous: searchEntries.map((e) => e.dn) };
  return { entry: searchEntries[0]! };
}

/** The LdapUser of a found entry (username from canonicalUsername, already checked present). */
function userFromEntry(entry: Entry, objectId: string, username: string, server: LdapServerConfig): LdapUser {
  const user: LdapUser = { dn: entry.dn, username, objectId, serverUri: server.uri };
  const displayName = firstString(entry, 'displayName') ?? firstString(entry, 'cn');
  if (displayName !== undefined) user.displayName = displayName;
  const email = firstString(entry, 'mail');
  if (email !== undefined) user.email = email;
  return user;
}

interface ServerPools {
  server: LdapServerConfig;
  search: SearchPool;
  bind: BindPool;
}

export function createLdapAuthenticator(servers: LdapServerConfig[], usernamePattern: RegExp, log?: LogFn,
  poolLimits: Partial<PoolLimits> = {}): PooledAuthenticator {
  if (servers.length === 0) throw new Error('createLdapAuthenticator: no LDAP servers configured');
  const limits: PoolLimits = { ...DEFAULT_POOL_LIMITS, ...poolLimits };
  const pools = new Map<LdapServerConfig, ServerPools>(servers.map((server) => [server, {
    server,
    search: new SearchPool(() => openServiceClient(server), limits.searchConnections),
    bind: new BindPool(() => openLdapClient(server), limits.bindConnections, limits.acquireTimeoutMs ?? server.operationTimeoutMs),
  }]));
  const poolsOf = (server: LdapServerConfig): ServerPools => pools.get(server)!;
  const sweeper = setInterval(() => {
    for (const p of pools.values()) {
      p.search.sweep(limits.idleMs);
      p.bind.sweep(limits.idleMs);
    }
  }, Math.max(1000, Math.floor(limits.idleMs / 2)));
  sweeper.unref();
  // A /g or /y pattern keeps lastIndex between test() calls and would accept
  // or refuse the same name alternately.
  const pattern = new RegExp(usernamePattern.source, usernamePattern.flags.replace(/[gy]/g, ''));
  const emit: LogFn = log ?? (() => undefined);

  function checkUsername(username: string): void {
    if (typeof username !== 'string' || !pattern.test(username)) {
      throw new LdapLoginError('INVALID_USERNAME', 'username has an invalid format');
    }
    try {
      escapeFilterValue(username);
    } catch {
      // Not encodable as UTF-8 (lone surrogate): no filter can carry it.
      throw new LdapLoginError('INVALID_USERNAME', 'username has an invalid format');
    }
  }

  /**
   * The answer of the first server that gives one, in configured order. A directory
   * answer (including LdapLoginError) ends the walk: replicas hold the same entries
   * and passwords, and asking the next one would double the guesses per request.
   */
  async function firstAnswer<T>(what: string, ask: (server: LdapServerConfig) => Promise<T>): Promise<T> {
    const failures: string[] = [];
    for (const server of servers) {
      try {
        return await ask(server);
      } catch (err) {
        if (err instanceof LdapLoginError) throw err;
        const reason = err instanceof Error ? err.message : String(err);
        failures.push(`${server.uri}: ${reason}`);
        emit('warn', `${what}: server failed, trying next`, { server: server.uri, reason });
      }
    }
    emit('error', `${what}: no directory server available`, { failures });
    throw new LdapLoginError('DIRECTORY_UNAVAILABLE', 'no directory server available');
  }

  async function attempt(server: LdapServerConfig, username: string, password: string, beforeBind?: BeforeBind): Promise<LdapUser> {
    const { search, bind } = poolsOf(server);
    const objectIdAttr = server.objectIdAttribute;
    const found = await searchUser(search, server, username);
    if ('none' in found || 'ambiguous' in found) {
      if ('none' in found) emit('info', 'ldap login: no such user', { username, server: server.uri });
      else emit('warn', 'ldap login: username matches more than one entry; refusing', { username, server: server.uri, dns: found.ambiguous });
      // Same directory work as a wrong password (a failing bind, as a DN that does not
      // exist), so the response time does not tell which usernames exist.
      await bind.bind(`cn=${randomUUID()},${server.userSearchBase}`, password).catch(() => undefined);
      throw new LdapLoginError('INVALID_CREDENTIALS', 'invalid username or password');
    }
    const entry = found.entry;
    if (beforeBind !== undefined && !(await beforeBind(entry.dn))) {
      throw new LdapLoginError('THROTTLED', 'too many failed logins for this account');
    }

    // On a bind connection, never on the service connection: the search connections stay
    // bound as the service account for the group check and the next logins.
    try {
      await bind.bind(entry.dn, password);
    } catch (err) {
      if (isCredentialRejection(err)) {
        emit('info', 'ldap login: bind rejected', { username, dn: entry.dn, server: server.uri, reason: describeLdapError(err) });
        throw new LdapLoginError('INVALID_CREDENTIALS', 'invalid username or password');
      }
      throw new ServerFailure('user bind', err);
    }

    const objectId = objectIdFromEntry(entry, objectIdAttr);
    if (objectId === undefined) {
      emit('error', 'ldap login: user entry has no usable object id attribute', {
        username,
        dn: entry.dn,
        attribute: objectIdAttr,
        server: server.uri,
      });
      throw new LdapLoginError('INVALID_CREDENTIALS', 'invalid username or password');
    }
    const canonical = canonicalUsername(entry, server);
    if (canonical === undefined) {
      // Falling back to the typed name would give the account one identity per alias.
      emit('error', 'ldap login: user entry has none of the username attributes', {
        username,
        dn: entry.dn,
        attributes: usernameAttributes(server),
        server: server.uri,
      });
      throw new LdapLoginError('INVALID_CREDENTIALS', 'invalid username or password');
    }

    // Checked only after the password: otherwise the answer would reveal
    // that an account exists to someone who does not know its password.
    if (server.loginGroupDn) {
      const groupDn = server.loginGroupDn;
      const member = await stage('login group check', () =>
        search.run((client) => isMemberOfGroup(client, groupDn, entry.dn, { uid: firstString(entry, 'uid') })),
      );
      if (!member) {
        emit('info', 'ldap login: not in login group', { username, dn: entry.dn, group: groupDn, server: server.uri });
        throw new LdapLoginError('NOT_IN_LOGIN_GROUP', 'user is not allowed to log in');
      }
    }

    const user = userFromEntry(entry, objectId, canonical, server);
    emit('info', 'ldap login: success', { username: user.username, typed: username, dn: entry.dn, server: server.uri });
    return user;
  }

  return {
    async authenticate(username: string, password: string, beforeBind?: BeforeBind): Promise<LdapUser> {
      // RFC 4513 §5.1.2: a simple bind with a DN and an empty password is an
      // "unauthenticated bind" that many servers answer with success.
      if (typeof password !== 'string' || password.length === 0) {
        throw new LdapLoginError('EMPTY_PASSWORD', 'password is empty');
      }
      checkUsername(username);
      return firstAnswer('ldap login', (server) => attempt(server, username, password, beforeBind));
    },

    async findUser(username: string): Promise<LdapUser | null> {
      checkUsername(username);
      return firstAnswer('ldap lookup', async (server) => {
        const found = await searchUser(poolsOf(server).search, server, username);
        if ('ambiguous' in found) {
          emit('warn', 'ldap lookup: username matches more than one entry', { username, server: server.uri, dns: found.ambiguous });
          return null;
        }
        if ('none' in found) return null;
        const objectId = objectIdFromEntry(found.entry, server.objectIdAttribute);
        if (objectId === undefined) {
          emit('error', 'ldap lookup: user entry has no usable object id attribute', {
            username,
            dn: found.entry.dn,
            attribute: server.objectIdAttribute,
            server: server.uri,
          });
          return null;
        }
        const canonical = canonicalUsername(found.entry, server);
        if (canonical === undefined) {
          emit('error', 'ldap lookup: user entry has none of the username attributes', {
            username,
            dn: found.entry.dn,
            attributes: usernameAttributes(server),
            server: server.uri,
          });
          return null;
        }
        return userFromEntry(found.entry, objectId, canonical, server);
      });
    },

    /** A new connection each time: readiness means a connection and a service bind work now. */
    async ping(): Promise<boolean> {
      for (const server of servers) {
        let c: Client | undefined;
        try {
          c = await openLdapClient(server);
          await c.bind(server.bindDn, server.bindPassword);
          return true;
        } catch (err) {
          emit('warn', 'ldap ping failed', { server: server.uri, reason: describeLdapError(err) });
        } finally {
          await closeLdapClient(c);
        }
      }
      return false;
    },

    connections() {
      return [...pools.values()].map((p) => ({ uri: p.server.uri, search: p.search.connections(), bind: p.bind.connections(), waiting: p.bind.waiting() }));
    },

    async close(): Promise<void> {
      clearInterval(sweeper);
      await Promise.all([...pools.values()].flatMap((p) => [p.search.close(), p.bind.close()]));
    },
  };
}
