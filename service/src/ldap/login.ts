// LDAP / Active Directory login: search-then-bind (RFC 4513 §5.1.3 simple
// bind as the found DN), object id, optional login group. Directories (one per
// <ldapServer>) are searched in order and the user binds where found; within a
// directory the login uses the first replica that is up (replicas.ts) and falls
// over to the next. Searches and user binds run on separate pooled connections
// (pool.ts). Passwords are never logged, never put in errors.
import { randomUUID } from 'node:crypto';
import type { Entry } from 'ldapts';
import type { LdapServerConfig } from '../config/types.ts';
import { openLdapClient, openServiceClient, probeServer } from './connect.ts';
import { describeLdapError, isCredentialRejection, LdapLoginError } from './errors.ts';
import { escapeFilterValue, fillFilter } from './filter.ts';
import { isMemberOfGroup } from './membership.ts';
import { isBinaryGuidAttribute, objectIdFromEntry } from './object-id.ts';
import { BindPool, DEFAULT_POOL_LIMITS, PoolBusyError, SearchPool, type PoolLimits } from './pool.ts';
import { silentLogger, type Logger } from '../ops/logger.ts';
import { atReplica, DirectoryUnavailableError, ReplicaSet, replicaUris, type ReplicaStatus } from './replicas.ts';

export type { ReplicaStatus } from './replicas.ts';

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
  /**
   * The directory (<ldapServer>, named by its first replica's URL) that holds the entry:
   * its groups are the ones a token for this user needs (oauth/group-availability.ts).
   */
  directory: string;
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
  /** Every replica of every directory, up or down, as the login sees them (for /metrics). */
  replicaStatus?(): ReplicaStatus[];
}

/** The LDAP login with its connection pools (ldap/pool.ts); close() closes them. */
export interface PooledAuthenticator extends Authenticator {
  close(): Promise<void>;
  replicaStatus(): ReplicaStatus[];
  /** Open connections per replica, in configured order (for tests and metrics). */
  connections(): Array<{ uri: string; search: number; bind: number; waiting: number }>;
}

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

/** A replica's failure (unreachable, timed out, refused the service account): the next replica may be tried. */
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

/**
 * Everything but a directory's answer (LdapLoginError) and this service's own saturation
 * (every bind connection busy, bindAsUser) is the replica's fault.
 */
const isReplicaFault = (err: unknown): boolean => !(err instanceof LdapLoginError);

type UserSearch = { entry: Entry } | { none: true } | { ambiguous: string[] };

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
function userFromEntry(entry: Entry, objectId: string, username: string, server: LdapServerConfig, directory: string): LdapUser {
  const user: LdapUser = { dn: entry.dn, username, objectId, serverUri: server.uri, directory };
  const displayName = firstString(entry, 'displayName') ?? firstString(entry, 'cn');
  if (displayName !== undefined) user.displayName = displayName;
  const email = firstString(entry, 'mail');
  if (email !== undefined) user.email = email;
  return user;
}

interface ReplicaPools {
  search: SearchPool;
  bind: BindPool;
}

/** One <ldapServer>: its replicas' health and connection pools. */
interface Directory {
  server: LdapServerConfig;
  replicas: ReplicaSet;
  pools: Map<string, ReplicaPools>;
}

/** What one replica answered for a login: the user, or "no such user in this directory". */
interface NotFound { notFound: true; server: LdapServerConfig; pools: ReplicaPools }
type DirectoryAnswer<T> = { found: T } | NotFound;

function openDirectory(server: LdapServerConfig, limits: PoolLimits, emit: Logger): Directory {
  const pools = new Map<string, ReplicaPools>(replicaUris(server).map((uri) => {
    const replica = atReplica(server, uri);
    return [uri, {
      search: new SearchPool(() => openServiceClient(replica), limits.searchConnections),
      bind: new BindPool(() => openLdapClient(replica), limits.bindConnections, limits.acquireTimeoutMs ?? server.operationTimeoutMs),
    }];
  }));
  const replicas = new ReplicaSet(server, { probe: (uri) => probeServer(atReplica(server, uri)), log: emit });
  return { server, replicas, pools };
}

/** RFC 4513 §5.1.2: a simple bind with a DN and an empty password is an "unauthenticated bind" that many servers accept. */
function checkPassword(password: string): void {
  if (typeof password !== 'string' || password.length === 0) {
    throw new LdapLoginError('EMPTY_PASSWORD', 'password is empty');
  }
}

function checkUsername(pattern: RegExp, username: string): void {
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
 * Asks each directory in order until one has an answer. Within a directory the first
 * replica that is up answers (a replica's failure moves to the next replica); an answer,
 * including an LdapLoginError, ends the walk: replicas hold the same entries and
 * passwords, and asking again would double the guesses per request. A directory with no
 * replica up is skipped; if no later directory has the user either, the result is
 * DIRECTORY_UNAVAILABLE (the user may be in the one that is down), never "invalid".
 */
async function askDirectories<T>(directories: Directory[], what: string, emit: Logger,
  ask: (server: LdapServerConfig, pools: ReplicaPools, directory: string) => Promise<DirectoryAnswer<T>>): Promise<T | NotFound> {
  const unavailable: DirectoryUnavailableError[] = [];
  let lastNotFound: NotFound | undefined;
  for (const dir of directories) {
    let answer: DirectoryAnswer<T>;
    try {
      ({ value: answer } = await dir.replicas.run(
        (uri) => ask(atReplica(dir.server, uri), dir.pools.get(uri)!, dir.server.uri), isReplicaFault, { watch: true }));
    } catch (err) {
      if (!(err instanceof DirectoryUnavailableError)) throw err;
      unavailable.push(err);
      continue;
    }
    if ('found' in answer) return answer.found;
    lastNotFound = answer;
  }
  if (unavailable.length > 0) {
    emit.error(`${what}: directory unavailable`, { failures: unavailable.map((u) => u.message) });
    const retryAfterSeconds = Math.min(...unavailable.map((u) => u.retryAfterSeconds));
    throw new LdapLoginError('DIRECTORY_UNAVAILABLE', 'no directory server available', { retryAfterSeconds });
  }
  return lastNotFound!;
}

/**
 * The same directory work as a wrong password (a failing bind, as a DN that does not
 * exist), so the response time does not tell which usernames exist.
 */
async function bindLikeAWrongPassword(server: LdapServerConfig, pools: ReplicaPools, password: string): Promise<void> {
  await pools.bind.bind(`cn=${randomUUID()},${server.userSearchBase}`, password).catch(() => undefined);
}

/** The user's entry in this replica's directory; an ambiguous name is refused like a wrong password. */
async function findEntry(server: LdapServerConfig, pools: ReplicaPools, username: string, password: string | null, emit: Logger): Promise<Entry | null> {
  const found = await searchUser(pools.search, server, username);
  if ('none' in found) {
    emit.info('ldap login: no such user', { username, server: server.uri });
    return null;
  }
  if ('ambiguous' in found) {
    emit.warn('ldap login: username matches more than one entry; refusing', { username, server: server.uri, dns: found.ambiguous });
    if (password !== null) await bindLikeAWrongPassword(server, pools, password);
    throw new LdapLoginError('INVALID_CREDENTIALS', 'invalid username or password');
  }
  return found.entry;
}

/** On a bind connection, never on a service connection: those stay bound as the service account. */
async function bindAsUser(server: LdapServerConfig, pools: ReplicaPools, entry: Entry, username: string, password: string, emit: Logger): Promise<void> {
  try {
    await pools.bind.bind(entry.dn, password);
  } catch (err) {
    if (err instanceof PoolBusyError) {
      emit.warn('ldap login: every bind connection busy', { username, server: server.uri });
      throw new LdapLoginError('DIRECTORY_UNAVAILABLE', 'every directory connection is busy', { retryAfterSeconds: 1 });
    }
    if (isCredentialRejection(err)) {
      emit.info('ldap login: bind rejected', { username, dn: entry.dn, server: server.uri, reason: describeLdapError(err) });
      throw new LdapLoginError('INVALID_CREDENTIALS', 'invalid username or password');
    }
    throw new ServerFailure('user bind', err);
  }
}

/**
 * The LdapUser of an entry: its object id and its one username (canonicalUsername). null
 * when either is missing: falling back to the typed name would give the account one
 * identity per alias.
 */
function identify(server: LdapServerConfig, directory: string, entry: Entry, typed: string, what: string, emit: Logger): LdapUser | null {
  const objectId = objectIdFromEntry(entry, server.objectIdAttribute);
  if (objectId === undefined) {
    emit.error(`${what}: user entry has no usable object id attribute`, { username: typed, dn: entry.dn, attribute: server.objectIdAttribute, server: server.uri });
    return null;
  }
  const canonical = canonicalUsername(entry, server);
  if (canonical === undefined) {
    emit.error(`${what}: user entry has none of the username attributes`, { username: typed, dn: entry.dn, attributes: usernameAttributes(server), server: server.uri });
    return null;
  }
  return userFromEntry(entry, objectId, canonical, server, directory);
}

/** Checked only after the password: otherwise the answer would reveal that an account exists. */
async function checkLoginGroup(server: LdapServerConfig, pools: ReplicaPools, entry: Entry, username: string, emit: Logger): Promise<void> {
  const groupDn = server.loginGroupDn;
  if (!groupDn) return;
  const member = await stage('login group check', () =>
    pools.search.run((client) => isMemberOfGroup(client, groupDn, entry.dn, { uid: firstString(entry, 'uid') })),
  );
  if (!member) {
    emit.info('ldap login: not in login group', { username, dn: entry.dn, group: groupDn, server: server.uri });
    throw new LdapLoginError('NOT_IN_LOGIN_GROUP', 'user is not allowed to log in');
  }
}

/** A login on one replica: find the entry, let the caller count the attempt, bind, identify, check the login group. */
async function loginAt(server: LdapServerConfig, pools: ReplicaPools, directory: string, username: string, password: string,
  beforeBind: BeforeBind | undefined, emit: Logger): Promise<DirectoryAnswer<LdapUser>> {
  const entry = await findEntry(server, pools, username, password, emit);
  if (entry === null) return { notFound: true, server, pools };
  if (beforeBind !== undefined && !(await beforeBind(entry.dn))) {
    throw new LdapLoginError('THROTTLED', 'too many failed logins for this account');
  }
  await bindAsUser(server, pools, entry, username, password, emit);
  const user = identify(server, directory, entry, username, 'ldap login', emit);
  if (user === null) throw new LdapLoginError('INVALID_CREDENTIALS', 'invalid username or password');
  await checkLoginGroup(server, pools, entry, username, emit);
  emit.info('ldap login: success', { username: user.username, typed: username, dn: entry.dn, server: server.uri });
  return { found: user };
}

async function lookupAt(server: LdapServerConfig, pools: ReplicaPools, directory: string, username: string, emit: Logger): Promise<DirectoryAnswer<LdapUser | null>> {
  const entry = await findEntry(server, pools, username, null, emit).catch((err: unknown) => {
    if (err instanceof LdapLoginError && err.code === 'INVALID_CREDENTIALS') return undefined; // ambiguous
    throw err;
  });
  if (entry === undefined) return { found: null };
  if (entry === null) return { notFound: true, server, pools };
  return { found: identify(server, directory, entry, username, 'ldap lookup', emit) };
}

/** Every idleMs / 2, closes pooled connections idle for idleMs. */
function closeIdleConnections(pools: () => ReplicaPools[], idleMs: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    for (const p of pools()) {
      p.search.sweep(idleMs);
      p.bind.sweep(idleMs);
    }
  }, Math.max(1000, Math.floor(idleMs / 2)));
  timer.unref();
  return timer;
}

export function createLdapAuthenticator(servers: LdapServerConfig[], usernamePattern: RegExp, log?: Logger,
  poolLimits: Partial<PoolLimits> = {}): PooledAuthenticator {
  if (servers.length === 0) throw new Error('createLdapAuthenticator: no LDAP servers configured');
  const limits: PoolLimits = { ...DEFAULT_POOL_LIMITS, ...poolLimits };
  const emit: Logger = log ?? silentLogger;
  const directories = servers.map((server) => openDirectory(server, limits, emit));
  const allPools = (): Array<[string, ReplicaPools]> => directories.flatMap((d) => [...d.pools.entries()]);
  const sweeper = closeIdleConnections(() => allPools().map(([, p]) => p), limits.idleMs);
  // A /g or /y pattern keeps lastIndex between test() calls and would accept
  // or refuse the same name alternately.
  const pattern = new RegExp(usernamePattern.source, usernamePattern.flags.replace(/[gy]/g, ''));

  return {
    async authenticate(username: string, password: string, beforeBind?: BeforeBind): Promise<LdapUser> {
      checkPassword(password);
      checkUsername(pattern, username);
      const answer = await askDirectories(directories, 'ldap login', emit,
        (server, pools, directory) => loginAt(server, pools, directory, username, password, beforeBind, emit));
      if ('notFound' in answer) {
        await bindLikeAWrongPassword(answer.server, answer.pools, password);
        throw new LdapLoginError('INVALID_CREDENTIALS', 'invalid username or password');
      }
      return answer;
    },

    async findUser(username: string): Promise<LdapUser | null> {
      checkUsername(pattern, username);
      const answer = await askDirectories(directories, 'ldap lookup', emit, (server, pools, directory) => lookupAt(server, pools, directory, username, emit));
      return answer !== null && 'notFound' in answer ? null : answer;
    },

    /** New connections: readiness means a connection and a service bind work now on some replica. */
    async ping(): Promise<boolean> {
      const up = await Promise.all(directories.map((d) => d.replicas.probeAll()));
      return up.some((u) => u);
    },

    replicaStatus(): ReplicaStatus[] {
      return directories.flatMap((d) => d.replicas.status());
    },

    connections() {
      return allPools().map(([uri, p]) => ({ uri, search: p.search.connections(), bind: p.bind.connections(), waiting: p.bind.waiting() }));
    },

    async close(): Promise<void> {
      clearInterval(sweeper);
      for (const d of directories) d.replicas.close();
      await Promise.all(allPools().flatMap(([, p]) => [p.search.close(), p.bind.close()]));
    },
  };
}
