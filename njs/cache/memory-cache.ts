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

interface Slot { value: string; expiresAt: number }

export function createMemoryCache(maxEntries: number, maxBytes: number): MemoryCache {
  let slots: { [key: string]: Slot } = Object.create(null);
  // Insertion order: the oldest entry is dropped first when a bound is hit.
  let order: string[] = [];
  let bytes = 0;
  let count = 0;

  function drop(key: string): void {
    const s = slots[key];
    if (s === undefined) return;
    bytes -= key.length + s.value.length;
    count--;
    delete slots[key];
  }

  function evictOne(): void {
    while (order.length > 0) {
      const key = order.shift() as string;
      if (slots[key] !== undefined) {
        drop(key);
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
      while (order.length > 0 && (bytes + cost > maxBytes || count >= maxEntries)) evictOne();
      slots[key] = { value: value, expiresAt: expiresAt };
      order.push(key);
      bytes += cost;
      count++;
      // Re-set keys leave stale names in `order`; keep it from growing without bound.
      if (order.length > 2 * maxEntries) {
        const live: string[] = [];
        const seen: { [key: string]: boolean } = Object.create(null);
        for (let i = order.length - 1; i >= 0; i--) {
          if (slots[order[i]] !== undefined && !seen[order[i]]) {
            seen[order[i]] = true;
            live.push(order[i]);
          }
        }
        order = live.reverse();
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
