/**
 * A short-lived cache of directory reads for hot paths (repeated authentications, RADIUS reply
 * attributes). An entry is used only while it is younger than `ttlMs` and no write transaction has
 * committed in this process since it was read (the store's commit counter, `epoch`). Changes made
 * through another instance are therefore seen within `ttlMs`; changes made here, at once.
 */
export interface EpochCache<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
}

export function createEpochCache<V>(ttlMs: number, maxEntries: number, epoch: () => number, now: () => number = Date.now): EpochCache<V> {
  const entries = new Map<string, { value: V; at: number; epoch: number }>();
  return {
    get(key) {
      if (ttlMs <= 0) return undefined;
      const e = entries.get(key);
      if (!e) return undefined;
      if (e.epoch !== epoch() || now() - e.at >= ttlMs) {
        entries.delete(key);
        return undefined;
      }
      return e.value;
    },
    set(key, value) {
      if (ttlMs <= 0) return;
      entries.delete(key);
      entries.set(key, { value, at: now(), epoch: epoch() });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    delete(key) {
      entries.delete(key);
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
