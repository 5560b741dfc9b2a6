/**
 * Runs at most `concurrency` tasks at once and, when more wait, serves their keys in turn (round
 * robin): one source that keeps hundreds of password checks in flight gets its turn like any other
 * source, instead of everyone queueing behind it (security.md: availability under hostile load).
 *
 * Used for password hashing, which is what an unauthenticated peer can make expensive: with the
 * libuv pool's plain FIFO, 190 LDAP connections binding with wrong passwords from one address held
 * a RADIUS NAS's request for 2 s (measured by a black-box probe on 2 cores).
 */
export interface FairGate {
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
  /** Tasks waiting (not running). */
  readonly waiting: number;
}

export function createFairGate(concurrency: number): FairGate {
  let running = 0;
  let waitingCount = 0;
  // Keys in turn order; each with its own FIFO of starters.
  const queues = new Map<string, (() => void)[]>();

  const next = () => {
    while (running < concurrency && queues.size > 0) {
      // The first key in the Map is the one whose turn it is; it goes to the back after one task.
      const [key, queue] = queues.entries().next().value as [string, (() => void)[]];
      const start = queue.shift()!;
      queues.delete(key);
      if (queue.length > 0) queues.set(key, queue);
      waitingCount--;
      running++;
      start();
    }
  };

  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const start = () => {
          Promise.resolve()
            .then(task)
            .then(resolve, reject)
            .finally(() => {
              running--;
              next();
            });
        };
        const queue = queues.get(key);
        if (queue) queue.push(start);
        else queues.set(key, [start]);
        waitingCount++;
        next();
      });
    },
    get waiting() {
      return waitingCount;
    },
  };
}
