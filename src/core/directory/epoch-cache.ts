import { OldestFirst } from '../../util/oldest-first.js';
import type { VersionWatch } from './version-watch.js';

/**
 * A short-lived cache of directory reads for hot paths (repeated authentications, RADIUS reply
 * attributes). An entry is used only while it is younger than `ttlMs` and no write transaction has
 * committed in this process since it was read (the store's commit counter, `epoch`). Changes made
 * through another instance are therefore seen within `ttlMs`; changes made here, at once.
 *
 * A read is stamped with the epoch and time at which it *started* (`mark()` before the read, then
 * `set(key, value, mark)`): a read that overlapped a commit is stored already stale, so it can never
 * outlive a change that it may or may not have seen.
 *
 * Each entry lives a random part of `ttlMs`, between half and all of it. With one fixed lifetime,
 * entries read together (a burst of logins after a quiet spell) expired together, and every cycle
 * the same wave of re-reads queued in the store: measured with RADIUS at 3,000 requests/s and 1k
 * users, waves of ~350 reads of 60–110 ms each, and p99 latency above 100 ms.
 *
 * With `refreshAhead`, an entry is fresh for 50–80% of `ttlMs` and may then still be served, by
 * `peek()` and `load()`, while one re-read runs in the background, until `ttlMs` has passed: the
 * requests that land on an expiring entry no longer wait for the store (RADIUS at 5,000 requests/s
 * and 1k users: the ~1% of requests that waited for a re-read made the p99, 116–352 ms, against
 * 43–74 ms with no re-reads at all). The bound on staleness stays `ttlMs`.
 *
 * With a `watch` on the store's directory version (bumped by every instance's writes), a value
 * whose version has been confirmed unchanged since its read stays fresh (for up to MAX_KEPT_MS),
 * so that a hot key is re-read when something changed rather than every `ttlMs`.
 */
export interface EpochMark {
  readonly epoch: number;
  readonly at: number;
  /** The version watch's generation when the read started (-1: none confirmed yet, or no watch). */
  readonly generation?: number;
}

/** The times a kept value stops being served: fresh, then (with refreshAhead) served stale; the same while the version watch vouches for it. */
export interface Bounds {
  readonly freshUntil: number;
  readonly expiresAt: number;
  readonly keptFreshUntil: number;
  readonly keptUntil: number;
}

export interface EpochCache<V> {
  /** A fresh value. */
  get(key: string): V | undefined;
  /**
   * A fresh value with the mark of the read it came from and the times it is kept until (for values
   * derived from it, see OldestMark).
   */
  entry(key: string): { value: V; mark: EpochMark; bounds: Bounds } | undefined;
  /** A value still within `ttlMs` (and no commit since it was read), and whether it is fresh. */
  peek(key: string): { value: V; fresh: boolean } | undefined;
  /** Taken before the read whose result will be `set`. */
  mark(): EpochMark;
  /**
   * `until`: a time at which the value may turn without any write (a password's expiry); never kept
   * past it. `within`: the bounds of the values it was derived from (OldestMark), never exceeded.
   * Returns the bounds the value is kept within (for values derived from it), or undefined if it is not kept.
   */
  set(key: string, value: V, readStarted: EpochMark, until?: number, within?: Bounds | null): Bounds | undefined;
  /**
   * The cached value, or `read()`'s result, kept. Misses on one key while a read is in flight
   * share that read, if no commit has landed since it started (the rule a cached value obeys):
   * without it, when entries expire under load every request for the key queues its own read
   * (measured with RADIUS at 6,000 requests/s after a pause: p99 0.6-0.9 s for over a second).
   * With `refreshAhead`, a value past its freshness is returned at once and re-read meanwhile.
   */
  load(key: string, read: () => Promise<V>): Promise<V>;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
  /** What the kept values weigh together (0 without `weigh`). */
  readonly weight: number;
}

export interface EpochCacheOptions<V = unknown> {
  now?: () => number;
  random?: () => number;
  /** Serve a value past its freshness while it is re-read (see above); for `load()` and `peek()` users. */
  refreshAhead?: boolean;
  /**
   * With a watch on the store's directory version (version-watch.ts), a value read under a version
   * confirmed again since stays fresh for `ttlMs` after that confirmation started, however old it
   * is (up to MAX_KEPT_MS): changes through other instances are still seen within `ttlMs`, without
   * re-reading it. (The watch's `ttlMs` is the one that counts; give both the same.)
   */
  watch?: VersionWatch;
  /**
   * With `weigh`, the most all kept values may weigh together (their bytes, say): the oldest are
   * dropped beyond it, and a value heavier than all of it is not kept.
   */
  maxWeight?: number;
  weigh?: (key: string, value: V) => number;
  /**
   * How long a value may be kept on the version watch alone, from its read (MAX_KEPT_MS unless
   * given). Longer only for values that nothing turns but a write: see UNTIMED_KEPT_MS.
   */
  maxKeptMs?: number;
}

/**
 * How long a value may be kept on the directory version alone, from its read. Some answers depend
 * on the time as well as on the store: LDAP visibility leaves out users whose lock or password
 * expiry has come, as of the read. Those turns are seen within this bound (or `ttlMs` if longer).
 */
const MAX_KEPT_MS = 30_000;

/**
 * `maxKeptMs` for values in which nothing turns with time alone (authentication's account reads,
 * whose lock and password age are judged at each use; RADIUS reply attributes): kept while the
 * version watch vouches, up to this long. With 30 seconds, a burst after a quiet spell (the morning's
 * logins, a NAS fleet back from an outage) found every such read gone at once: 10k users, RADIUS
 * at 5,900 requests/s after 30 s without any, p99 148–208 ms in the first second (the store
 * re-reading two rows per request), against 5–10 ms once they were read.
 */
export const UNTIMED_KEPT_MS = 600_000;

interface Entry<V> extends Bounds {
  value: V;
  read: EpochMark;
  weight: number;
  freshUntil: number;
  expiresAt: number;
  epoch: number;
  /** The version watch's generation when the read started. */
  generation: number;
  /** As freshUntil and expiresAt, while the watch vouches for the version read under. */
  keptFreshUntil: number;
  keptUntil: number;
}

export function createEpochCache<V>(ttlMs: number, maxEntries: number, epoch: () => number, options: EpochCacheOptions<V> = {}): EpochCache<V> {
  const { now = Date.now, random = Math.random, refreshAhead = false, watch, weigh, maxWeight = Infinity, maxKeptMs = MAX_KEPT_MS } = options;
  const entries = new Map<string, Entry<V>>();
  const keptMs = Math.max(ttlMs, maxKeptMs);
  const oldest = new OldestFirst(entries);
  let weight = 0;
  const dropped = (_key: string, e: Entry<V>) => {
    weight -= e.weight;
  };
  const remove = (key: string) => {
    const e = entries.get(key);
    if (!e) return;
    entries.delete(key);
    dropped(key, e);
  };
  const inFlight = new Map<string, { read: Promise<V>; epoch: number }>();
  /** The entry if it may be served, and whether it is fresh (its time, or a confirmed version). */
  const valid = (key: string) => {
    const e = entries.get(key);
    if (!e) return undefined;
    const t = now();
    const vouched = watch !== undefined && t < e.keptUntil && watch.vouches(e.generation);
    if (e.epoch !== epoch() || (t >= e.expiresAt && !vouched)) {
      remove(key);
      return undefined;
    }
    return { e, fresh: t < e.freshUntil || (vouched && t < e.keptFreshUntil) };
  };
  /** The read in flight for `key` that a cached value could be replaced by, or a new one. */
  const readShared = (key: string, read: () => Promise<V>): Promise<V> => {
    const pending = inFlight.get(key);
    if (pending && pending.epoch === epoch()) return pending.read;
    const started = cache.mark();
    const shared = read().then(
      (value) => {
        if (inFlight.get(key)?.read === shared) inFlight.delete(key);
        cache.set(key, value, started);
        return value;
      },
      (err: unknown) => {
        if (inFlight.get(key)?.read === shared) inFlight.delete(key);
        throw err;
      },
    );
    // A background refresh may have no one awaiting it; its failure reaches the next caller that
    // has to wait for a read, not the process as an unhandled rejection.
    shared.catch(() => undefined);
    inFlight.set(key, { read: shared, epoch: started.epoch });
    return shared;
  };
  const cache: EpochCache<V> = {
    get(key) {
      if (ttlMs <= 0) return undefined;
      const v = valid(key);
      return v?.fresh ? v.e.value : undefined;
    },
    entry(key) {
      if (ttlMs <= 0) return undefined;
      const v = valid(key);
      return v?.fresh ? { value: v.e.value, mark: v.e.read, bounds: v.e } : undefined;
    },
    peek(key) {
      if (ttlMs <= 0) return undefined;
      const v = valid(key);
      return v ? { value: v.e.value, fresh: v.fresh } : undefined;
    },
    mark() {
      return { epoch: epoch(), at: now(), generation: watch?.generation() ?? -1 };
    },
    set(key, value, readStarted, until = Infinity, within = null) {
      if (ttlMs <= 0) return undefined;
      remove(key);
      // Already stale: a commit landed while the value was being read.
      if (readStarted.epoch !== epoch()) return undefined;
      const w = weigh ? weigh(key, value) : 0;
      if (w > maxWeight) return undefined;
      const r = random();
      const share = refreshAhead ? 0.8 - 0.3 * r : 1 - 0.5 * r;
      const freshUntil = Math.min(until, readStarted.at + ttlMs * share, within?.freshUntil ?? Infinity);
      const entry: Entry<V> = {
        value,
        read: readStarted,
        weight: w,
        freshUntil,
        expiresAt: Math.min(until, refreshAhead ? readStarted.at + ttlMs : freshUntil, within?.expiresAt ?? Infinity),
        epoch: readStarted.epoch,
        generation: readStarted.generation ?? -1,
        keptFreshUntil: Math.min(until, readStarted.at + keptMs * share, within?.keptFreshUntil ?? Infinity),
        keptUntil: Math.min(until, readStarted.at + keptMs, within?.keptUntil ?? Infinity),
      };
      entries.set(key, entry);
      weight += w;
      oldest.trim(maxEntries, dropped);
      while (weight > maxWeight && entries.size > 0) oldest.trim(entries.size - 1, dropped);
      return entries.get(key) === entry ? entry : undefined;
    },
    load(key, read) {
      if (ttlMs <= 0) return read();
      const hit = cache.peek(key);
      if (hit?.fresh) return Promise.resolve(hit.value);
      const next = readShared(key, read);
      return hit ? Promise.resolve(hit.value) : next;
    },
    delete(key) {
      remove(key);
    },
    clear() {
      entries.clear();
      weight = 0;
    },
    get size() {
      return entries.size;
    },
    get weight() {
      return weight;
    },
  };
  return cache;
}

/**
 * The mark of a value derived from several reads (an LDAP answer built from pages, resolved names
 * and member lists, each maybe kept from an earlier read): the oldest of them, so that the derived
 * value, kept on the same rules, cannot outlive any of its inputs. Reads on either side of a commit
 * give no mark: such a value must not be kept.
 */
export class OldestMark {
  private oldest: EpochMark | null = null;
  private mixed = false;
  private earliest: { -readonly [K in keyof Bounds]: Bounds[K] } | null = null;

  /** `bounds`: the times the input is kept until, if it is kept (a value derived from it must not outlast them). */
  note(mark: EpochMark, bounds?: Bounds): void {
    const o = this.oldest;
    if (!o) this.oldest = mark;
    else if (o.epoch !== mark.epoch) this.mixed = true;
    // Generations only grow; the older one is never vouched for longer than the newer.
    else if (mark.at < o.at || (mark.generation ?? -1) < (o.generation ?? -1)) {
      this.oldest = { epoch: o.epoch, at: Math.min(o.at, mark.at), generation: Math.min(o.generation ?? -1, mark.generation ?? -1) };
    }
    if (!bounds) return;
    const e = this.earliest;
    if (!e) this.earliest = { freshUntil: bounds.freshUntil, expiresAt: bounds.expiresAt, keptFreshUntil: bounds.keptFreshUntil, keptUntil: bounds.keptUntil };
    else {
      e.freshUntil = Math.min(e.freshUntil, bounds.freshUntil);
      e.expiresAt = Math.min(e.expiresAt, bounds.expiresAt);
      e.keptFreshUntil = Math.min(e.keptFreshUntil, bounds.keptFreshUntil);
      e.keptUntil = Math.min(e.keptUntil, bounds.keptUntil);
    }
  }

  /** The mark to keep the derived value under; null when nothing was read or the reads straddle a commit. */
  get mark(): EpochMark | null {
    return this.mixed ? null : this.oldest;
  }

  /** The earliest times the kept inputs go (the `within` of EpochCache.set); null if none is kept. */
  get bounds(): Bounds | null {
    return this.earliest;
  }
}
