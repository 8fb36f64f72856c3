// The sync's result in compact form: each object id once, groups as integer arrays into
// that list. At 100k users in ~37 groups each there are ~3.7M memberships; as strings in
// per-group arrays (plus the Sets and Maps that counting, merging, encoding and persisting
// them took) they cost seconds of CPU and hundreds of MB in the sync worker; as Int32Arrays
// they are 15 MB and every step is an array walk.

export interface MemberTable {
  /** Distinct object ids. */
  ids: string[];
  /** Group DN (as configured) -> indexes into `ids`, each at most once. Map order is report order. */
  groups: Map<string, Int32Array>;
}

/** A table from group DN -> object ids (tests, small inputs); duplicate ids in a group count once. */
export function tableFromGroups(groups: Map<string, Iterable<string>>): MemberTable {
  const index = new Map<string, number>();
  const ids: string[] = [];
  // Group number (+1) that last took each id: the per-group de-duplication.
  const lastGroup: number[] = [];
  const out = new Map<string, Int32Array>();
  let g = 0;
  for (const [dn, members] of groups) {
    g++;
    const list: number[] = [];
    for (const id of members) {
      let i = index.get(id);
      if (i === undefined) {
        i = ids.length;
        index.set(id, i);
        ids.push(id);
        lastGroup.push(0);
      }
      if (lastGroup[i] !== g) {
        lastGroup[i] = g;
        list.push(i);
      }
    }
    out.set(dn, Int32Array.from(list));
  }
  return { ids, groups: out };
}

/** Group DN -> object ids (for callers that want strings: tests, the admin views). */
export function groupsOfTable(table: MemberTable): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [dn, members] of table.groups) out.set(dn, Array.from(members, (i) => table.ids[i]!));
  return out;
}

/** Ids that are in at least one group. */
export function memberCountOf(table: MemberTable): number {
  const used = new Uint8Array(table.ids.length);
  let count = 0;
  for (const members of table.groups.values()) {
    for (let j = 0; j < members.length; j++) {
      const i = members[j]!;
      if (used[i] === 0) {
        used[i] = 1;
        count++;
      }
    }
  }
  return count;
}

/**
 * Several servers' tables as one, in the given order. Groups whose DNs have the same key
 * (`keyOf`: another spelling of the same DN) become one group under the first spelling,
 * with the union of the members. One table is returned as it is.
 */
export function mergeTables(tables: MemberTable[], keyOf: (dn: string) => string): MemberTable {
  if (tables.length === 1) return tables[0]!;
  const index = new Map<string, number>();
  const ids: string[] = [];
  const byKey = new Map<string, { dn: string; parts: Int32Array[] }>();
  for (const t of tables) {
    const local = new Int32Array(t.ids.length);
    t.ids.forEach((id, i) => {
      let g = index.get(id);
      if (g === undefined) {
        g = ids.length;
        index.set(id, g);
        ids.push(id);
      }
      local[i] = g;
    });
    for (const [dn, members] of t.groups) {
      const k = keyOf(dn);
      let entry = byKey.get(k);
      if (!entry) byKey.set(k, (entry = { dn, parts: [] }));
      entry.parts.push(members.map((i) => local[i]!));
    }
  }
  const groups = new Map<string, Int32Array>();
  const mark = new Int32Array(ids.length);
  let stamp = 0;
  for (const { dn, parts } of byKey.values()) {
    if (parts.length === 1) {
      groups.set(dn, parts[0]!);
      continue;
    }
    stamp++;
    const out: number[] = [];
    for (const p of parts) {
      for (let j = 0; j < p.length; j++) {
        const i = p[j]!;
        if (mark[i] !== stamp) {
          mark[i] = stamp;
          out.push(i);
        }
      }
    }
    groups.set(dn, Int32Array.from(out));
  }
  return { ids, groups };
}

/** The table restricted to the listed group DNs (in that order; absent ones left out). */
export function selectGroups(table: MemberTable, dns: string[]): MemberTable {
  const groups = new Map<string, Int32Array>();
  for (const dn of dns) {
    const m = table.groups.get(dn);
    if (m !== undefined) groups.set(dn, m);
  }
  return { ids: table.ids, groups };
}
