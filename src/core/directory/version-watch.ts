import type { DirectoryVersion } from '../ports.js';

/**
 * Confirms, one small read at a time, that the directory has not changed anywhere (the store's
 * `directoryVersion`, bumped by every instance's writes). Hot-path caches (EpochCache) keep a read
 * past its own time while the version confirmed after it is the one they read under: one read of a
 * counter every half `ttlMs`, instead of one read per kept user, group or reply list (at 10k users
 * and ~9k RADIUS requests/s nearly every request started a re-read of its user).
 *
 * The bound on staleness is unchanged: a confirmation vouches for the state at the time it started,
 * and a value is served on it for at most `ttlMs` after that.
 */
export interface VersionWatch {
  /** The generation of the latest confirmed version (-1 before the first): taken before a read. */
  generation(): number;
  /**
   * Whether a read taken under `generation` still holds: that version was confirmed again by a read
   * started less than `ttlMs` ago. Starts a confirmation once the latest one is half `ttlMs` old.
   */
  vouches(generation: number): boolean;
  /**
   * How long ago (ms) the latest confirmation started, if it is of `generation` (else null): a value
   * kept since an older read holds the store as of then, not as of now (the user index, user-index.ts).
   */
  confirmedAgo(generation: number): number | null;
  /** Stops the timer and confirms nothing more (the store is closing); kept reads then age out by time. */
  close(): void;
}

/**
 * While the caches are in use (within the last IDLE_MS), the version is confirmed every half
 * `ttlMs` by a timer as well as on demand: with requests further apart than that, the one that
 * found the latest confirmation too old would otherwise re-read its value (and wait for it). As
 * long as the reads kept longest (UNTIMED_KEPT_MS, epoch-cache.ts), so that they are still vouched
 * for when requests come back after a quiet spell; one read of a counter every half `ttlMs`.
 */
const IDLE_MS = 600_000;

/** A watch with a view that overlooks failure-count changes (directoryOnly). */
export interface DirectoryVersionWatch extends VersionWatch {
  /**
   * The same confirmations, with a generation that moves only when `directory` does: for the
   * caches whose answers do not depend on failure counts (the LDAP directory and its user index,
   * the organisation, RADIUS reply lists). Account reads for authentication keep the full watch.
   */
  readonly directoryOnly: VersionWatch;
}

export function createVersionWatch(read: () => Promise<DirectoryVersion>, ttlMs: number, now: () => number = Date.now): DirectoryVersionWatch {
  /**
   * The latest confirmation: its generations (each changes whenever what it covers does, also if
   * it went back), the version, and the start.
   */
  let current: { generation: number; directoryGeneration: number; version: DirectoryVersion; at: number } | null = null;
  let generation = 0;
  let directoryGeneration = 0;
  let inFlight = false;
  let timer: NodeJS.Timeout | null = null;
  /** Real time (not the injected clock) of the last use, for the timer alone. */
  let lastUse = 0;
  let closed = false;
  const confirm = (t: number) => {
    if (inFlight || closed) return;
    inFlight = true;
    read()
      .then(
        (version) => {
          if (!current || current.version.directory !== version.directory) directoryGeneration++;
          if (!current || current.version.directory !== version.directory || current.version.failures !== version.failures) generation++;
          current = { generation, directoryGeneration, version, at: t };
        },
        // A store that cannot answer confirms nothing: kept reads age out by time, as without a watch.
        () => undefined,
      )
      .finally(() => {
        inFlight = false;
      });
  };
  const use = (t: number) => {
    lastUse = performance.now();
    if (!current || t - current.at >= ttlMs / 2) confirm(t);
    if (!timer && !closed) {
      timer = setInterval(() => {
        if (performance.now() - lastUse > IDLE_MS) {
          if (timer) clearInterval(timer);
          timer = null;
          return;
        }
        confirm(now());
      }, Math.max(1, Math.floor(ttlMs / 2)));
      timer.unref();
    }
  };
  const close = () => {
    closed = true;
    if (timer) clearInterval(timer);
    timer = null;
  };
  /** One view of the confirmations: `of` picks the generation it goes by. */
  const view = (of: (c: NonNullable<typeof current>) => number): VersionWatch => ({
    generation() {
      use(now());
      return current ? of(current) : -1;
    },
    vouches(g) {
      const t = now();
      use(t);
      return current !== null && of(current) === g && t < current.at + ttlMs;
    },
    confirmedAgo(g) {
      return current !== null && of(current) === g ? Math.max(0, now() - current.at) : null;
    },
    close,
  });
  return { ...view((c) => c.generation), directoryOnly: view((c) => c.directoryGeneration) };
}
