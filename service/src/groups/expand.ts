// Nested group expansion for one LDAP server: every configured group DN -> the object ids
// of the users and service accounts that are members at any depth. Works over
// DirectorySource so the same code runs against ldapts (ldapts-source.ts) and against the
// in-memory directory of the unit tests.
//
// The algorithm, one function each:
//   collect            fetch every entry reachable from the configured groups, wave by
//                      wave (one wave per nesting level), into a graph of integer nodes
//     resolveRanges    complete AD's ranged member attributes of the groups just fetched
//     resolveUids      find the entries that posixGroup memberUid values name
//   closeTransitively  per configured group, the principals reachable through members
//   buildTable         group DN -> object ids (member-table.ts), missing groups logged
//
// How entries are fetched (the cost that matters for 100k users):
// - Targeted: one base-scope read per DN reached from the configured groups, CONCURRENCY
//   reads in flight on one connection. Cheap when the configured groups are small.
// - Bulk: one RFC 2696 paged subtree search under the common suffix of the configured
//   groups and the user search base, returning only the attributes needed. A base read
//   costs a round trip plus a server-side lookup per entry (~0.1-0.3 ms against slapd,
//   10-30 s for 100k users); a paged search streams the same entries at tens of thousands
//   per second.
// Mode 'auto' (the default) starts targeted and switches to bulk once more than
// bulkThreshold entries are reached. Entries outside the bulk base are still read one by
// one. Each entry is fetched at most once per run; the only repeat reads are AD range
// continuations ([MS-ADTS] §3.1.1.3.1.3.3).
//
// Memory: a DN is kept once, as the key of its node; group members are Int32Arrays of node
// numbers, not strings (a 100k-user directory has ~1M member values).
import { EqualityFilter, OrFilter, PresenceFilter } from 'ldapts';
import type { Filter } from 'ldapts';
import { objectIdFromEntry } from '../ldap/object-id.ts';
import { commonSuffixKey, dnKey, isUnderKey, stripOptionalUid } from './dn.ts';
import { silentLogger, type Logger } from '../ops/logger.ts';
import { errorText } from './log.ts';
import { groupsOfTable, type MemberTable } from './member-table.ts';

export type AttributeValue = string | Buffer;

/** An entry as ldapts returns it: attribute names in the server's spelling, one value or many. */
export interface RawEntry {
  dn: string;
  [attribute: string]: string | Buffer | string[] | Buffer[];
}

export interface DirectorySource {
  /** Base-scope read of one entry; null when it does not exist or is not visible. */
  read(dn: string, attributes: string[]): Promise<RawEntry | null>;
  /**
   * Subtree search with paged results (RFC 2696); onEntry is called for every entry. An
   * entry may be delivered twice (a search restarted with a smaller page): handle per DN.
   */
  search(base: string, filter: Filter, attributes: string[], onEntry: (entry: RawEntry) => void): Promise<void>;
}

export interface ExpandOptions {
  groupDns: string[];
  userSearchBase: string;
  objectIdAttribute: string;
  mode?: 'auto' | 'targeted' | 'bulk';
  /** In 'auto' mode, entries reached before switching to one bulk search. */
  bulkThreshold?: number;
  /** Base-scope reads in flight at once. */
  concurrency?: number;
  /** memberUid values per (|(uid=a)(uid=b)...) search. */
  uidBatchSize?: number;
  log?: Logger;
}

export interface ExpandStats {
  baseReads: number;
  searches: number;
  searchEntries: number;
  rangeReads: number;
  bulk: boolean;
  skippedMembers: number;
  missingGroups: number;
  durationMs: number;
}

export interface ExpandResult {
  /** Configured group DN (as configured) -> member object ids, compact. */
  table: MemberTable;
  /** The same as strings (computed on access). */
  readonly groups: Map<string, string[]>;
  stats: ExpandStats;
}

// objectClass values (lowercase) that make an entry a group whose members are expanded.
// groupOfNames/groupOfUniqueNames (RFC 4519), posixGroup (RFC 2307), group (AD),
// groupOfMembers (rfc2307bis), groupOfEntries (draft-findlay-ldap-groupofentries).
const GROUP_CLASSES = new Set(['groupofnames', 'groupofuniquenames', 'posixgroup', 'group', 'groupofmembers', 'groupofentries']);
const MEMBER_ATTRIBUTES = ['member', 'uniquemember', 'memberuid'] as const;
const RANGE_RE = /^range=(\d+)-(\d+|\*)$/i;
const MAX_SKIP_LOGS = 50;

/** What a node is. UNSEEN: named by a member value, not fetched (yet). */
const Kind = { UNSEEN: 0, MISSING: 1, GROUP: 2, PRINCIPAL: 3, NO_ID: 4, UID_NONE: 5, UID_AMBIGUOUS: 6 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];
type MemberLists = Record<(typeof MEMBER_ATTRIBUTES)[number], AttributeValue[]>;

/** The reached part of the directory: one node per DN key (and per unresolved memberUid). */
interface Graph {
  index: Map<string, number>;
  keys: string[];
  kind: Kind[];
  /** Object id of PRINCIPAL nodes. */
  objectId: Array<string | null>;
  /** Member nodes of GROUP nodes (member/uniqueMember; memberUid once resolved). */
  members: Array<Int32Array | undefined>;
  /** Lowercase memberUid values of posixGroup nodes, until resolved into members. */
  uids: Map<number, string[]>;
  /** Lowercase uid value(s) of principals under the user search base. */
  uidOf: Map<number, string | string[]>;
  /** The DN as the directory or the configuration spelled it, when it differs from the key. */
  spelling: Map<number, string>;
}

interface Run {
  source: DirectorySource;
  opts: Required<Omit<ExpandOptions, 'log'>>;
  log: Logger;
  attributes: string[];
  userBaseKey: string;
  bulkBaseKey: string;
  graph: Graph;
  stats: ExpandStats;
  bulkDone: boolean;
  /** Groups whose member attributes came back as a partial range: what they carried, where each range goes on. */
  ranged: Array<{ node: number; dn: string; lists: MemberLists; next: Map<string, number> }>;
  uidsResolved: Set<string>;
  /** Skipped member nodes already logged. */
  reported: Set<number>;
}

export async function expandGroups(source: DirectorySource, opts: ExpandOptions): Promise<ExpandResult> {
  const started = performance.now();
  const run = startRun(source, opts);
  await collect(run);
  const closures = closeTransitively(run);
  const table = buildTable(run, closures);
  run.stats.durationMs = performance.now() - started;
  return {
    table,
    stats: run.stats,
    get groups() {
      return groupsOfTable(table);
    },
  };
}

function startRun(source: DirectorySource, opts: ExpandOptions): Run {
  const userBaseKey = dnKey(opts.userSearchBase);
  const graph: Graph = { index: new Map(), keys: [], kind: [], objectId: [], members: [], uids: new Map(), uidOf: new Map(), spelling: new Map() };
  const run: Run = {
    source,
    opts: {
      groupDns: opts.groupDns,
      userSearchBase: opts.userSearchBase,
      objectIdAttribute: opts.objectIdAttribute,
      mode: opts.mode ?? 'auto',
      bulkThreshold: opts.bulkThreshold ?? 1000,
      concurrency: opts.concurrency ?? 16,
      uidBatchSize: opts.uidBatchSize ?? 100,
    },
    log: opts.log ?? silentLogger,
    attributes: ['objectClass', 'member', 'uniqueMember', 'memberUid', 'uid', opts.objectIdAttribute],
    userBaseKey,
    bulkBaseKey: commonSuffixKey([userBaseKey, ...opts.groupDns.map((g) => dnKey(g))]),
    graph,
    stats: { baseReads: 0, searches: 0, searchEntries: 0, rangeReads: 0, bulk: false, skippedMembers: 0, missingGroups: 0, durationMs: 0 },
    bulkDone: false,
    ranged: [],
    uidsResolved: new Set(),
    reported: new Set(),
  };
  for (const g of opts.groupDns) nodeOf(graph, dnKey(g), g);
  return run;
}

// ---- collect ---------------------------------------------------------------------------

/** Fetches every entry reachable from the configured groups, one nesting level per wave. */
async function collect(run: Run): Promise<void> {
  const { graph } = run;
  const queued = new Set<number>();
  let frontier: number[] = [];
  for (const g of run.opts.groupDns) {
    const n = graph.index.get(dnKey(g))!;
    if (!queued.has(n)) {
      queued.add(n);
      frontier.push(n);
    }
  }
  while (frontier.length > 0) {
    if (shouldScan(run, queued.size)) await bulkScan(run);
    await readUnseen(run, frontier);
    await resolveRanges(run);
    await resolveUids(run, frontier);
    const next: number[] = [];
    for (const n of frontier) {
      const members = graph.members[n];
      if (members === undefined) continue;
      for (let j = 0; j < members.length; j++) {
        const m = members[j]!;
        if (!queued.has(m)) {
          queued.add(m);
          next.push(m);
        }
      }
    }
    frontier = next;
  }
}

function shouldScan(run: Run, reached: number): boolean {
  if (run.bulkDone || run.bulkBaseKey === '') return false;
  return run.opts.mode === 'bulk' || (run.opts.mode === 'auto' && reached > run.opts.bulkThreshold);
}

/** One paged subtree search under the bulk base: every entry there becomes a node. */
async function bulkScan(run: Run): Promise<void> {
  run.stats.bulk = true;
  run.stats.searches++;
  await run.source.search(run.bulkBaseKey, new PresenceFilter({ attribute: 'objectClass' }), run.attributes, (entry) => {
    run.stats.searchEntries++;
    addEntry(run, entry);
  });
  run.bulkDone = true;
  // The scan saw everything under its base: what it did not return there does not exist.
  const { graph } = run;
  for (let n = 0; n < graph.kind.length; n++) {
    if (graph.kind[n] === Kind.UNSEEN && isUnderKey(graph.keys[n]!, run.bulkBaseKey)) graph.kind[n] = Kind.MISSING;
  }
}

/** Base-scope reads of the frontier's nodes not fetched yet, `concurrency` at a time. */
async function readUnseen(run: Run, frontier: number[]): Promise<void> {
  const { graph } = run;
  const todo: number[] = [];
  for (const n of frontier) {
    if (graph.kind[n] !== Kind.UNSEEN) continue;
    // First named after the scan (a ranged continuation) yet under its base: it does not exist.
    if (run.bulkDone && isUnderKey(graph.keys[n]!, run.bulkBaseKey)) graph.kind[n] = Kind.MISSING;
    else todo.push(n);
  }
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < todo.length) {
      const n = todo[i++]!;
      const dn = graph.spelling.get(n) ?? graph.keys[n]!;
      run.stats.baseReads++;
      let entry: RawEntry | null;
      try {
        entry = await run.source.read(dn, run.attributes);
      } catch (e) {
        throw new Error(`reading ${dn}: ${errorText(e)}`, { cause: e });
      }
      // The server may canonicalise the DN; the result stays under the node we asked for.
      if (entry) addEntry(run, entry, n);
      else graph.kind[n] = Kind.MISSING;
    }
  };
  await Promise.all(Array.from({ length: Math.min(run.opts.concurrency, todo.length) }, worker));
}

/** The node of a DN key, created UNSEEN on first mention. */
function nodeOf(graph: Graph, key: string, spelled?: string): number {
  let n = graph.index.get(key);
  if (n === undefined) {
    n = graph.keys.length;
    graph.index.set(key, n);
    graph.keys.push(key);
    graph.kind.push(Kind.UNSEEN);
    graph.objectId.push(null);
    graph.members.push(undefined);
  }
  // Only spellings that differ from the key are kept (the key is what is usually sent).
  if (spelled !== undefined && spelled !== key && !graph.spelling.has(n)) graph.spelling.set(n, spelled);
  return n;
}

/** Records a fetched entry on its node (the first delivery wins: a repeated one is ignored). */
function addEntry(run: Run, entry: RawEntry, asked?: number): void {
  const { graph } = run;
  const n = asked ?? nodeOf(graph, dnKey(entry.dn), entry.dn);
  if (graph.kind[n] !== Kind.UNSEEN) return;
  const attrs = attributesOf(entry);
  const classes = (attrs.get('objectclass')?.values ?? []).map((v) => text(v).toLowerCase());
  if (classes.some((c) => GROUP_CLASSES.has(c))) {
    graph.kind[n] = Kind.GROUP;
    const lists: MemberLists = { member: attrs.get('member')?.values ?? [], uniquemember: attrs.get('uniquemember')?.values ?? [], memberuid: attrs.get('memberuid')?.values ?? [] };
    const next = new Map<string, number>();
    for (const attr of MEMBER_ATTRIBUTES) {
      const from = attrs.get(attr)?.next;
      if (from != null) next.set(attr, from);
    }
    // A partial range: members are set once resolveRanges has read the rest.
    if (next.size > 0) {
      graph.members[n] = new Int32Array(0);
      run.ranged.push({ node: n, dn: entry.dn, lists, next });
    } else {
      setMembers(run, n, lists);
    }
    return;
  }
  // Same rendering as the login path (objectGUID -> canonical GUID string), so ids compare equal.
  const id = objectIdFromEntry(entry, run.opts.objectIdAttribute) ?? null;
  graph.kind[n] = id === null ? Kind.NO_ID : Kind.PRINCIPAL;
  graph.objectId[n] = id;
  if (isUnderKey(graph.keys[n]!, run.userBaseKey)) {
    const uids = (attrs.get('uid')?.values ?? []).map((v) => text(v).toLowerCase());
    if (uids.length > 0) graph.uidOf.set(n, uids.length === 1 ? uids[0]! : uids);
  }
}

function setMembers(run: Run, n: number, lists: MemberLists): void {
  const { graph } = run;
  const out = new Int32Array(lists.member.length + lists.uniquemember.length);
  let k = 0;
  for (const v of lists.member) {
    const dn = text(v);
    out[k++] = nodeOf(graph, dnKey(dn), dn);
  }
  for (const v of lists.uniquemember) {
    const dn = stripOptionalUid(text(v));
    out[k++] = nodeOf(graph, dnKey(dn), dn);
  }
  graph.members[n] = out;
  if (lists.memberuid.length > 0) graph.uids.set(n, lists.memberuid.map((v) => text(v).toLowerCase()));
  else graph.uids.delete(n);
}

/** Reads the rest of every ranged member attribute ([MS-ADTS] §3.1.1.3.1.3.3), then sets the members. */
async function resolveRanges(run: Run): Promise<void> {
  const pending = run.ranged;
  run.ranged = [];
  for (const r of pending) {
    for (const [attr, from] of r.next) {
      const values = r.lists[attr as keyof MemberLists];
      let next: number | null = from;
      while (next !== null) {
        const entry = await run.source.read(r.dn, [`${attr};range=${next}-*`]);
        run.stats.rangeReads++;
        if (!entry) throw new Error(`ranged read of ${attr} on ${r.dn} returned no entry`);
        const more = attributesOf(entry).get(attr);
        if (!more || more.values.length === 0) break;
        for (const v of more.values) values.push(v);
        if (more.next !== null && more.next <= next) throw new Error(`ranged read of ${attr} on ${r.dn} did not advance`);
        next = more.next;
      }
    }
    setMembers(run, r.node, r.lists);
  }
}

/** Resolves the frontier groups' memberUid values to entries under the user search base. */
async function resolveUids(run: Run, frontier: number[]): Promise<void> {
  const { graph } = run;
  const wanted = new Set<string>();
  for (const n of frontier) for (const u of graph.uids.get(n) ?? []) if (!run.uidsResolved.has(u)) wanted.add(u);
  if (wanted.size === 0) return;
  const todo = [...wanted];
  if (!run.bulkDone) {
    for (let i = 0; i < todo.length; i += run.opts.uidBatchSize) {
      const batch = todo.slice(i, i + run.opts.uidBatchSize);
      // Filter objects, not strings: values are encoded as-is, no RFC 4515 escaping to get wrong.
      const filter =
        batch.length === 1
          ? new EqualityFilter({ attribute: 'uid', value: batch[0]! })
          : new OrFilter({ filters: batch.map((u) => new EqualityFilter({ attribute: 'uid', value: u })) });
      run.stats.searches++;
      await run.source.search(run.opts.userSearchBase, filter, run.attributes, (e) => {
        run.stats.searchEntries++;
        addEntry(run, e);
      });
    }
  }
  for (const u of todo) run.uidsResolved.add(u);
}

// ---- close transitively ----------------------------------------------------------------

/**
 * Per configured group, the principal nodes reachable through members (DFS over the
 * integer graph; `mark[n] === stamp` is both the cycle guard and the de-duplication).
 * Configured groups that are missing or not groups map to null.
 */
function closeTransitively(run: Run): Map<string, Int32Array | null> {
  const { graph } = run;
  linkUids(run);
  const out = new Map<string, Int32Array | null>();
  const mark = new Int32Array(graph.keys.length);
  const found = new Int32Array(graph.keys.length);
  const stack: number[] = [];
  let stamp = 0;
  for (const g of run.opts.groupDns) {
    if (out.has(g)) continue;
    const root = graph.index.get(dnKey(g))!;
    if (graph.kind[root] !== Kind.GROUP) {
      out.set(g, null);
      continue;
    }
    stamp++;
    let count = 0;
    mark[root] = stamp;
    stack.push(root);
    while (stack.length > 0) {
      const e = graph.members[stack.pop()!]!;
      for (let j = 0; j < e.length; j++) {
        const m = e[j]!;
        if (mark[m] === stamp) continue;
        mark[m] = stamp;
        const k = graph.kind[m];
        if (k === Kind.GROUP) stack.push(m);
        else if (k === Kind.PRINCIPAL) found[count++] = m;
        else reportSkip(run, m);
      }
    }
    out.set(g, found.slice(0, count));
  }
  if (run.stats.skippedMembers > MAX_SKIP_LOGS) run.log.warn('more group members skipped', { total: run.stats.skippedMembers });
  return out;
}

/**
 * memberUid values -> member nodes: the one principal under the user search base carrying
 * that uid. An unknown or ambiguous uid becomes a pseudo node that grants nothing
 * (guessing would hand a group to the wrong person) and is logged once.
 */
function linkUids(run: Run): void {
  const { graph } = run;
  if (graph.uids.size === 0) return;
  const byUid = new Map<string, number[]>();
  for (const [n, uid] of graph.uidOf) {
    for (const u of typeof uid === 'string' ? [uid] : uid) {
      const list = byUid.get(u);
      if (!list) byUid.set(u, [n]);
      else if (!list.includes(n)) list.push(n);
    }
  }
  for (const [g, uids] of graph.uids) {
    const extra: number[] = [];
    for (const uid of uids) {
      const nodes = byUid.get(uid) ?? [];
      if (nodes.length === 1) extra.push(nodes[0]!);
      else {
        const pseudo = nodeOf(graph, `\u0000uid:${uid}`);
        graph.kind[pseudo] = nodes.length > 1 ? Kind.UID_AMBIGUOUS : Kind.UID_NONE;
        extra.push(pseudo);
      }
    }
    const current = graph.members[g]!;
    const all = new Int32Array(current.length + extra.length);
    all.set(current);
    all.set(extra, current.length);
    graph.members[g] = all;
  }
  graph.uids.clear();
}

/** Logs a member that grants nothing, once per node (the first MAX_SKIP_LOGS in full). */
function reportSkip(run: Run, n: number): void {
  const { graph, stats, log } = run;
  if (run.reported.has(n)) return;
  run.reported.add(n);
  const skip = (reason: string, fields: Record<string, unknown>): void => {
    stats.skippedMembers++;
    if (stats.skippedMembers <= MAX_SKIP_LOGS) log.warn(`group member skipped: ${reason}`, fields);
  };
  const shown = graph.spelling.get(n) ?? graph.keys[n]!;
  switch (graph.kind[n]) {
    case Kind.UNSEEN:
    case Kind.MISSING:
      skip('no such entry (or not visible to the service account)', { member: shown });
      break;
    case Kind.NO_ID:
      skip(`entry has no ${run.opts.objectIdAttribute}`, { member: shown });
      break;
    case Kind.UID_NONE:
      skip('memberUid matches no entry under the user search base', { memberUid: shown.slice(5) });
      break;
    case Kind.UID_AMBIGUOUS:
      skip('memberUid matches several entries', { memberUid: shown.slice(5) });
      break;
  }
}

// ---- build result ----------------------------------------------------------------------

/** Configured group DN (as configured) -> indexes into one list of object ids; missing configured groups logged. */
function buildTable(run: Run, closures: Map<string, Int32Array | null>): MemberTable {
  const { graph } = run;
  const ids: string[] = [];
  // Node -> index in ids (-1: none yet). Two entries carrying the same id value share one.
  const slot = new Int32Array(graph.keys.length).fill(-1);
  const byId = new Map<string, number>();
  const groups = new Map<string, Int32Array>();
  // Repeated ids within a group (only two entries sharing an id value produce any) are dropped.
  const mark = new Int32Array(graph.keys.length);
  let stamp = 0;
  for (const [g, nodes] of closures) {
    if (nodes === null) {
      run.stats.missingGroups++;
      const n = graph.index.get(dnKey(g))!;
      run.log.warn(graph.kind[n] === Kind.MISSING || graph.kind[n] === Kind.UNSEEN ? 'configured group DN not found' : 'configured group DN is not a group', { group: g });
      groups.set(g, new Int32Array(0));
      continue;
    }
    const members = new Int32Array(nodes.length);
    let k = 0;
    stamp++;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      let x = slot[n]!;
      if (x < 0) {
        const id = graph.objectId[n]!;
        x = byId.get(id) ?? -1;
        if (x < 0) {
          x = ids.length;
          ids.push(id);
          byId.set(id, x);
        }
        slot[n] = x;
      }
      if (mark[x] === stamp) continue;
      mark[x] = stamp;
      members[k++] = x;
    }
    groups.set(g, k === members.length ? members : members.slice(0, k));
  }
  return { ids, groups };
}

// ---- entry attributes ------------------------------------------------------------------

interface Ranged {
  values: AttributeValue[];
  /** Next range start when the server returned a partial range (AD MaxValRange). */
  next: number | null;
}

function values(v: string | Buffer | string[] | Buffer[] | undefined): AttributeValue[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function text(v: AttributeValue): string {
  return typeof v === 'string' ? v : v.toString('utf8');
}

/**
 * Attribute values by lowercase base name. AD answers a request for `member` on a large
 * group with `member;range=0-1499` (and an empty `member`); the final chunk is
 * `member;range=N-*`.
 */
function attributesOf(entry: RawEntry): Map<string, Ranged> {
  const out = new Map<string, Ranged>();
  for (const name of Object.keys(entry)) {
    if (name === 'dn') continue;
    const parts = name.toLowerCase().split(';');
    const base = parts[0]!;
    let next: number | null = null;
    for (const opt of parts.slice(1)) {
      const m = RANGE_RE.exec(opt);
      if (m && m[2] !== '*') next = Number(m[2]) + 1;
    }
    const prev = out.get(base);
    const vals = values(entry[name]);
    if (prev) {
      for (const v of vals) prev.values.push(v);
      if (next !== null) prev.next = next;
    } else {
      out.set(base, { values: vals.slice(), next });
    }
  }
  return out;
}
