/**
 * Whether a key was probably offered before: a Bloom filter of 2^20 bits (128 KiB, two hashes),
 * cleared after 2^18 keys so that it forgets. This is TinyLFU's "doorkeeper" (Einziger, Friedman
 * and Manes, ACM TOS 2017): a cache that admits a value only when its key comes a second time keeps
 * one-off keys (a scan over 100k users asks each once) out of memory, where they would push out the
 * values asked again. A false positive only admits one value more.
 */
export class SeenBefore {
  private readonly bits = new Uint32Array(1 << 15);
  private added = 0;

  /** True if `key` was probably given before; it is remembered either way. */
  testAndSet(key: string): boolean {
    // FNV-1a over the UTF-16 code units, and a second index from a multiplicative mix of it.
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    const a = h >>> 12;
    const b = Math.imul(h, 0x9e3779b1) >>> 12;
    if (this.has(a) && this.has(b)) return true;
    if (++this.added > 1 << 18) {
      this.bits.fill(0);
      this.added = 1;
    }
    this.bits[a >>> 5]! |= 1 << (a & 31);
    this.bits[b >>> 5]! |= 1 << (b & 31);
    return false;
  }

  private has(i: number): boolean {
    return ((this.bits[i >>> 5]! >>> (i & 31)) & 1) === 1;
  }
}
