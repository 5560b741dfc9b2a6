import type { Logger } from '../core/ports.js';

/** Why a datagram was silently discarded (RFC 2865 §3, RFC 3579 §3.2, RFC 5080 §2.2.2). */
export type DiscardReason =
  | 'too_short'
  | 'bad_length'
  | 'bad_attribute'
  | 'bad_message_authenticator_attribute'
  | 'unknown_client'
  | 'unexpected_code'
  | 'missing_message_authenticator'
  | 'bad_message_authenticator'
  | 'proxy_state_without_message_authenticator'
  | 'bad_request_authenticator'
  | 'no_acct_status_type'
  | 'overloaded'
  | 'duplicate_in_progress';

export interface DiscardLog {
  discard(source: string, reason: DiscardReason): void;
  /** Counts per reason since start. */
  counts(): Record<string, number>;
  /** Writes the pending summaries now (on stop). */
  flush(): void;
  stop(): void;
}

interface SourceWindow {
  startedAt: number;
  /** Discards since the last line written for this source. */
  unlogged: number;
  reasons: Map<DiscardReason, number>;
}

/**
 * Counts discards and logs them rate-limited: the first discard from a source in a window is logged
 * at once; the rest of that window are summed into one line per source when the window ends
 * (default one minute). A flood of garbage therefore costs one log line per source per minute.
 * At most `maxSources` sources (100) are named in a window; beyond that they are summed under
 * `other`, so that a flood from spoofed addresses costs at most ~200 lines a minute: with 10,000,
 * a black-box probe measured 10,000 lines (1.9 MB) a minute, ~2.7 GB a day.
 */
export function createDiscardLog(log: Logger, windowMs = 60_000, maxSources = 100, now: () => number = Date.now): DiscardLog {
  const totals = new Map<string, number>();
  const sources = new Map<string, SourceWindow>();

  const summarise = (source: string, w: SourceWindow) => {
    if (w.unlogged > 0) {
      log.warn(
        { source, discarded: w.unlogged, reasons: Object.fromEntries(w.reasons), windowSeconds: Math.round(windowMs / 1000) },
        `RADIUS: ${w.unlogged} more datagrams from ${source} silently discarded`,
      );
    }
  };

  const flush = (all = false) => {
    const t = now();
    for (const [source, w] of sources) {
      if (all || t - w.startedAt >= windowMs) {
        summarise(source, w);
        sources.delete(source);
      }
    }
  };

  const timer = setInterval(() => flush(), Math.max(1000, Math.min(windowMs, 60_000)));
  timer.unref();

  return {
    discard(sourceAddress, reason) {
      totals.set(reason, (totals.get(reason) ?? 0) + 1);
      const source = sources.has(sourceAddress) || sources.size < maxSources ? sourceAddress : 'other';
      const t = now();
      let w = sources.get(source);
      if (w && t - w.startedAt >= windowMs) {
        summarise(source, w);
        w = undefined;
      }
      if (!w) {
        sources.set(source, { startedAt: t, unlogged: 0, reasons: new Map() });
        log.warn({ source, reason }, `RADIUS: datagram from ${source} silently discarded (${reason})`);
        return;
      }
      w.unlogged++;
      w.reasons.set(reason, (w.reasons.get(reason) ?? 0) + 1);
    },
    counts() {
      return Object.fromEntries(totals);
    },
    flush: () => flush(true),
    stop() {
      clearInterval(timer);
      flush(true);
    },
  };
}
