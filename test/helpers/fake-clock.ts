import type { Clock } from '../../src/core/ports.js';

/** A Clock whose time only moves when a test says so. */
export interface FakeClock extends Clock {
  /** Sets the time (a Date, epoch milliseconds, or an ISO string). */
  set(t: Date | number | string): void;
  advance(ms: number): void;
  advanceSeconds(seconds: number): void;
  /** The current time in epoch milliseconds. */
  ms(): number;
}

export const DEFAULT_FAKE_TIME = '2025-01-15T10:00:00.000Z';

export function createFakeClock(start: Date | number | string = DEFAULT_FAKE_TIME): FakeClock {
  const toMs = (t: Date | number | string) => {
    const v = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
    if (!Number.isFinite(v)) throw new Error(`fake clock: not a time: ${String(t)}`);
    return v;
  };
  let current = toMs(start);
  return {
    // A fresh Date each time, so that a caller mutating it cannot move the clock.
    now: () => new Date(current),
    set(t) {
      current = toMs(t);
    },
    advance(ms) {
      current += ms;
    },
    advanceSeconds(seconds) {
      current += seconds * 1000;
    },
    ms: () => current,
  };
}
