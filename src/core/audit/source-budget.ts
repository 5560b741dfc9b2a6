import { OldestFirst } from '../../util/oldest-first.js';

/**
 * How many audit events requests that prove nothing (an unauthenticated peer reading the Root DSE,
 * a search refused to an anonymous session, a SASL or LDAPv2 bind refused before any password
 * check) may write: a token bucket per source address and one for all of them. Such requests cost
 * the peer nothing, and each wrote a row: a black-box probe pipelined 163,500 anonymous Root DSE
 * searches in 10 s on one connection, and the data directory grew by 129 MB (~13 MB/s, with 200
 * connections allowed per address). Requests that check a password are bounded by argon2id already
 * (see fair-gate), and authenticated ones are accountable, so they are recorded in full.
 *
 * Over budget, events are counted, not stored; the caller logs the count (slapd, for comparison,
 * logs operations to syslog and stores none).
 */
export interface SourceBudgetOptions {
  /** Sustained events per second per source. */
  perSourcePerSecond: number;
  /** Events a source may write at once after a quiet spell. */
  perSourceBurst: number;
  /**
   * Sustained events per second from all sources together (a flood from many addresses), per lane:
   * each protocol has its own, so that a flood of one (anonymous LDAP searches) cannot starve the
   * others' records (a NAS's CHAP refusals, SAML replays).
   */
  totalPerSecond: number;
  /** Sources remembered; the oldest are forgotten beyond it (they start again with a full bucket). */
  maxSources?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export interface SourceBudget {
  /** Whether an event from `source` in `lane` may be written now (and takes its tokens if so). */
  take(source: string, lane?: string): boolean;
  /** Events refused since the last call, by source, and resets the count. */
  drainRefused(): { total: number; top: { source: string; count: number } | null };
}

export function createSourceBudget(o: SourceBudgetOptions): SourceBudget {
  // Monotonic: a wall clock stepped back (NTP) would otherwise stop the refill for that long.
  const now = o.now ?? (() => performance.now());
  const maxSources = o.maxSources ?? 10_000;
  const buckets = new Map<string, Bucket>();
  const oldest = new OldestFirst(buckets);
  const totalCap = Math.max(o.totalPerSecond, o.perSourceBurst);
  const lanes = new Map<string, Bucket>();
  let refused = new Map<string, number>();
  let refusedTotal = 0;

  const refill = (b: Bucket, rate: number, cap: number, t: number) => {
    b.tokens = Math.min(cap, b.tokens + (Math.max(0, t - b.at) / 1000) * rate);
    b.at = t;
  };

  return {
    take(source, lane = '') {
      const t = now();
      let b = buckets.get(source);
      if (!b) {
        b = { tokens: o.perSourceBurst, at: t };
        buckets.set(source, b);
        oldest.trim(maxSources);
      } else refill(b, o.perSourcePerSecond, o.perSourceBurst, t);
      let all = lanes.get(lane);
      if (!all) lanes.set(lane, (all = { tokens: totalCap, at: t }));
      else refill(all, o.totalPerSecond, totalCap, t);
      if (b.tokens >= 1 && all.tokens >= 1) {
        b.tokens -= 1;
        all.tokens -= 1;
        return true;
      }
      refusedTotal++;
      // Bounded like the buckets: a flood from many addresses must not grow this map either.
      if (refused.has(source) || refused.size < 1_000) refused.set(source, (refused.get(source) ?? 0) + 1);
      return false;
    },
    drainRefused() {
      let top: { source: string; count: number } | null = null;
      for (const [source, count] of refused) if (!top || count > top.count) top = { source, count };
      const total = refusedTotal;
      refused = new Map();
      refusedTotal = 0;
      return { total, top };
    },
  };
}
