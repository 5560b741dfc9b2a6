/**
 * Splits a TCP byte stream into whole LDAPMessage PDUs before any parser sees them.
 *
 * Why: ldapjs's own stream parser concatenates every chunk into one growing buffer (quadratic),
 * recurses once per message left in a chunk (a few thousand tiny pipelined PDUs in one TCP write
 * overflow the stack) and throws on non-LDAP bytes. Here chunks are kept as a list and joined once
 * per PDU, messages are cut in a loop, and a PDU larger than `maxPduBytes`, an indefinite length
 * (not allowed, RFC 4511 §5.1) or a first byte that is not a SEQUENCE is a framing error.
 */
export class FramingError extends Error {}

const SEQUENCE = 0x30;

export class PduFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Total size of the PDU at the head of the buffer once its header has been read. */
  private need = 0;

  /**
   * Largest PDU accepted. The connection lowers it while the client has not bound (see
   * connection.ts); a PDU whose header has already been read keeps the limit it was read under.
   */
  maxPduBytes: number;

  constructor(maxPduBytes: number) {
    this.maxPduBytes = maxPduBytes;
  }

  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds received bytes; returns the complete PDUs now available, in order. Throws FramingError. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    while (this.buffered > 0) {
      if (this.need === 0) {
        const header = this.peek(6);
        const size = this.pduSize(header);
        if (size === null) break;
        this.need = size;
      }
      if (this.buffered < this.need) break;
      out.push(this.take(this.need));
      this.need = 0;
    }
    return out;
  }

  /** The first `n` buffered bytes (fewer if not yet received), copying only across chunk edges. */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n || this.chunks.length === 1) return first.subarray(0, n);
    const parts: Buffer[] = [];
    let got = 0;
    for (const c of this.chunks) {
      parts.push(c.subarray(0, n - got));
      got += Math.min(c.length, n - got);
      if (got >= n) break;
    }
    return Buffer.concat(parts);
  }

  /** Removes and returns the first `n` bytes. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let result: Buffer;
    if (first.length >= n) {
      result = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const parts: Buffer[] = [];
      let got = 0;
      while (got < n) {
        const c = this.chunks[0]!;
        const want = n - got;
        if (c.length <= want) {
          parts.push(c);
          got += c.length;
          this.chunks.shift();
        } else {
          parts.push(c.subarray(0, want));
          this.chunks[0] = c.subarray(want);
          got += want;
        }
      }
      result = Buffer.concat(parts, n);
    }
    this.buffered -= n;
    return result;
  }

  /** Total PDU size from its tag and length octets, or null when the header is incomplete. */
  private pduSize(h: Buffer): number | null {
    if (h.length >= 1 && h[0] !== SEQUENCE) throw new FramingError(`not an LDAPMessage (tag 0x${h[0]!.toString(16)})`);
    if (h.length < 2) return null;
    const l0 = h[1]!;
    if (l0 < 0x80) return this.check(2 + l0);
    if (l0 === 0x80) throw new FramingError('indefinite length is not allowed');
    const octets = l0 & 0x7f;
    if (octets > 4) throw new FramingError('length too large');
    if (h.length < 2 + octets) return null;
    let len = 0;
    for (let k = 0; k < octets; k++) len = len * 256 + h[2 + k]!;
    return this.check(2 + octets + len);
  }

  private check(size: number): number {
    if (size > this.maxPduBytes) throw new FramingError(`message of ${size} bytes exceeds the limit of ${this.maxPduBytes}`);
    return size;
  }
}
