/**
 * A short-lived cache of directory reads for hot paths (repeated authentications, RADIUS reply
 * attributes). An entry is used only while it is younger than `ttlMs` and no write transaction has
 * committed in this process since it was read (the store's commit counter, `epoch`). Changes made
 * through another instance are therefore seen within `ttlMs`; changes made here, at once.
 *
 * A read is stamped with the epoch and time at which it *started* (`mark()` before the read, then
 * `set(key, value, mark)`): a read that overlapped a commit is stored already stale, so it can never
 * outlive a change that it may or may not have seen.
 */
export interface EpochMark {
  readonly epoch: number;
  readonly at: number;
}

export interface EpochCache<V> {
  get(key: string): V | undefined;
  /** Taken before the read whose result will be `set`. */
  mark(): EpochMark;
  set(key: string, value: V, readStarted: EpochMark): void;
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
    mark() {
      return { epoch: epoch(), at: now() };
    },
    set(key, value, readStarted) {
      if (ttlMs <= 0) return;
      entries.delete(key);
      // Already stale: a commit landed while the value was being read.
      if (readStarted.epoch !== epoch()) return;
      entries.set(key, { value, at: readStarted.at, epoch: readStarted.epoch });
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
