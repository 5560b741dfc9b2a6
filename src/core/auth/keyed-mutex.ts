/**
 * Runs async sections one at a time per key (here: per account), without a lock table that grows:
 * a key's entry lives only while someone holds or waits for it. `fn` learns whether it had to wait,
 * so it can re-read state another holder may have changed.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: (waited: boolean) => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous ? previous.then(() => mine) : mine;
    this.tails.set(key, tail);
    if (previous) await previous;
    try {
      return await fn(previous !== undefined);
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys currently held or awaited (tests and metrics). */
  get size(): number {
    return this.tails.size;
  }
}
