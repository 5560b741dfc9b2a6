/**
 * One log line per `intervalMs` for a condition that repeats on every request while it lasts (the
 * store unreachable during a database restart logged ~1,200 identical errors in seconds): the first
 * occurrence at once, then at most one per interval with the number suppressed since.
 */
export function createLogThrottle(intervalMs: number, now: () => number = Date.now) {
  let lastAt = -Infinity;
  let suppressed = 0;
  return {
    /** Calls `write(suppressedSinceLastLine)` when a line is due; counts the occurrence otherwise. */
    hit(write: (suppressed: number) => void): void {
      const t = now();
      if (t - lastAt < intervalMs) {
        suppressed++;
        return;
      }
      lastAt = t;
      const n = suppressed;
      suppressed = 0;
      write(n);
    },
  };
}
