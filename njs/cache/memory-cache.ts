// A bounded in-process cache for runtimes that keep module state between
// requests (QuickJS reuses its contexts; the njs engine starts every request
// in a fresh VM, where this cache is simply always empty). Used only when no
// js_shared_dict_zone is configured. Bounded by entries and by bytes because
// nginx keeps up to js_context_reuse (default 128) contexts per worker, each
// with its own copy. No Map: the njs engine (0.7.x, 1.0) has none.

export interface MemoryCache {
  get(key: string, now: number): string | null;
  set(key: string, value: string, expiresAt: number): void;
  size(): number;
  clear(): void;
}

interface Slot { value: string; expiresAt: number; seq: number }
// One insertion: the entry it made is the slot whose seq matches.
interface Insertion { key: string; seq: number }

export function createMemoryCache(maxEntries: number, maxBytes: number): MemoryCache {
  let slots: { [key: string]: Slot } = Object.create(null);
  // Insertion order: the oldest entry is dropped first when a bound is hit.
  // Insertions whose entry was replaced or dropped since are skipped.
  let order: Insertion[] = [];
  let bytes = 0;
  let count = 0;
  let nextSeq = 0;

  function drop(key: string): void {
    const s = slots[key];
    if (s === undefined) return;
    bytes -= key.length + s.value.length;
    count--;
    delete slots[key];
  }

  function current(ins: Insertion): boolean {
    const s = slots[ins.key];
    return s !== undefined && s.seq === ins.seq;
  }

  function evictOldest(): void {
    while (order.length > 0) {
      const ins = order.shift() as Insertion;
      if (current(ins)) {
        drop(ins.key);
        return;
      }
    }
  }

  return {
    get: function (key: string, now: number) {
      const s = slots[key];
      if (s === undefined) return null;
      if (!(now < s.expiresAt)) {
        drop(key);
        return null;
      }
      return s.value;
    },
    set: function (key: string, value: string, expiresAt: number) {
      const cost = key.length + value.length;
      if (cost > maxBytes) return;
      drop(key);
      while (order.length > 0 && (bytes + cost > maxBytes || count >= maxEntries)) evictOldest();
      const seq = nextSeq++;
      slots[key] = { value: value, expiresAt: expiresAt, seq: seq };
      order.push({ key: key, seq: seq });
      bytes += cost;
      count++;
      // Replaced and expired entries leave stale insertions behind; keep `order` bounded.
      if (order.length > 2 * maxEntries) {
        const live: Insertion[] = [];
        for (let i = 0; i < order.length; i++) if (current(order[i])) live.push(order[i]);
        order = live;
      }
    },
    size: function () {
      return count;
    },
    clear: function () {
      slots = Object.create(null);
      order = [];
      bytes = 0;
      count = 0;
    },
  };
}
