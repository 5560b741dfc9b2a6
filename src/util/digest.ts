import { hash } from 'node:crypto';
import { type Md5Midstate, md5Into, md5Midstate } from './md5.js';
import { type Sha256Midstate, sha256Into, sha256Midstate } from './sha256.js';

/**
 * MD5 / SHA-256 digests and HMACs (RFC 2104) of a few parts. On the RADIUS hot path each request
 * needs two HMAC-MD5s, an HMAC-SHA-256 and two MD5s.
 * - MD5 is computed by util/md5.ts, and an MD5 HMAC key keeps its padded blocks as midstates
 *   (RFC 2104 §4): Node's one-shot `crypto.hash` costs ~1.7 µs per call here, whatever the length.
 * - An HMAC-SHA-256 key likewise keeps midstates, and util/sha256.ts computes each HMAC (the
 *   verified-credential cache's, for every bind and RADIUS request it answers).
 * - A plain SHA-256 uses `crypto.hash` over the parts copied into one scratch buffer: with
 *   `createHmac`/`createHash` each digest is a native object with a weak handle that the
 *   young-generation GC must visit (measured 2.7 ms of each ~6.5 ms scavenge under radclient load).
 * The results are byte-for-byte those of `createHmac`/`createHash` (tested against them).
 */

export type Algorithm = 'md5' | 'sha256';
/** A part to digest: bytes, or a string taken as UTF-8. */
export type Part = Uint8Array | string;

/** Both algorithms here hash in 64-octet blocks (RFC 1321, FIPS 180-4). */
const BLOCK = 64;
let scratch = Buffer.allocUnsafe(4096);

/** Copies the parts into the scratch buffer; returns how many octets it holds. */
function gather(parts: readonly Part[]): number {
  let need = 0;
  for (const p of parts) need += typeof p === 'string' ? Buffer.byteLength(p, 'utf8') : p.length;
  if (need > scratch.length) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  let off = 0;
  for (const p of parts) {
    if (typeof p === 'string') off += scratch.write(p, off, 'utf8');
    else {
      scratch.set(p, off);
      off += p.length;
    }
  }
  return off;
}

/**
 * Digests the scratch buffer's first `n` octets, then zeroes them: the parts may hold a password or
 * a shared secret, which should not stay in a long-lived buffer until overwritten.
 */
function digestScratch(algorithm: Algorithm, n: number): Buffer {
  try {
    return hash(algorithm, scratch.subarray(0, n), 'buffer');
  } finally {
    scratch.fill(0, 0, n);
  }
}

/**
 * Writes the MD5 of the parts (after the midstate `from`, if given) at out[offset..offset+16],
 * through the scratch buffer, zeroed after: a string made a Buffer of its own would come from
 * Node's shared pool, which nothing zeroes.
 */
function md5OfParts(out: Uint8Array, offset: number, parts: readonly Part[], from?: Md5Midstate): void {
  const n = gather(parts);
  md5Into(out, offset, [scratch.subarray(0, n)], from);
  scratch.fill(0, 0, n);
}

/** The digest of the parts concatenated. */
export function digest(algorithm: Algorithm, ...parts: Part[]): Buffer {
  if (algorithm === 'md5') {
    const out = Buffer.allocUnsafe(16);
    md5OfParts(out, 0, parts);
    return out;
  }
  return digestScratch(algorithm, gather(parts));
}

/** The inner hash of an MD5 or SHA-256 HMAC, between its two steps; zeroed after each. */
const innerMd5 = new Uint8Array(16);
const innerSha256 = new Uint8Array(32);

/** An HMAC key with its padded blocks computed once (RFC 2104 §2), for many messages. */
export class HmacKey {
  /**
   * The state after the padded blocks (RFC 2104 §4), so that each HMAC compresses neither again;
   * the one of the key's algorithm is set. The padded blocks themselves are zeroed once used.
   */
  private readonly md5: { inner: Md5Midstate; outer: Md5Midstate } | null;
  private readonly sha256: { inner: Sha256Midstate; outer: Sha256Midstate } | null;

  constructor(algorithm: Algorithm, key: Uint8Array) {
    // RFC 2104 §2: a key longer than the block is first hashed; a shorter one is padded with zeros.
    const k = key.length > BLOCK ? hash(algorithm, key, 'buffer') : key;
    const inner = Buffer.alloc(BLOCK, 0x36);
    const outer = Buffer.alloc(BLOCK, 0x5c);
    for (let i = 0; i < k.length; i++) {
      inner[i]! ^= k[i]!;
      outer[i]! ^= k[i]!;
    }
    this.md5 = algorithm === 'md5' ? { inner: md5Midstate(inner), outer: md5Midstate(outer) } : null;
    this.sha256 = algorithm === 'sha256' ? { inner: sha256Midstate(inner), outer: sha256Midstate(outer) } : null;
    inner.fill(0);
    outer.fill(0);
  }

  /** HMAC(K, parts concatenated) = H((K ^ opad) || H((K ^ ipad) || parts)). */
  mac(...parts: Part[]): Buffer {
    if (this.md5) {
      const out = Buffer.allocUnsafe(16);
      md5OfParts(innerMd5, 0, parts, this.md5.inner);
      this.outerMd5(out, 0);
      return out;
    }
    const { inner, outer } = this.sha256!;
    const n = gather(parts);
    sha256Into(innerSha256, 0, scratch, n, inner);
    scratch.fill(0, 0, n);
    const out = Buffer.allocUnsafe(32);
    sha256Into(out, 0, innerSha256, 32, outer);
    innerSha256.fill(0);
    return out;
  }

  /** An MD5 HMAC of the parts written at out[offset..offset+16] (a Message-Authenticator in place). */
  macInto(out: Uint8Array, offset: number, ...parts: Uint8Array[]): void {
    if (!this.md5) throw new TypeError('macInto is for MD5 keys');
    this.md5Into(out, offset, parts);
  }

  private md5Into(out: Uint8Array, offset: number, parts: readonly Uint8Array[]): void {
    md5Into(innerMd5, 0, parts, this.md5!.inner);
    this.outerMd5(out, offset);
  }

  /** The HMAC's second step, over the inner hash in `innerMd5`, which it zeroes. */
  private outerMd5(out: Uint8Array, offset: number): void {
    md5Into(out, offset, [innerMd5], this.md5!.outer);
    innerMd5.fill(0);
  }
}

const keys: Record<Algorithm, WeakMap<Buffer, HmacKey>> = { md5: new WeakMap(), sha256: new WeakMap() };

/**
 * The HmacKey of a long-lived key buffer (a RADIUS client's shared secret), computed once per buffer.
 * Keyed by the buffer object: a secret changed by an admin arrives as a new buffer (clients.ts), and
 * a key buffer must never be changed in place, or its padded blocks here would go stale.
 */
export function hmacKeyOf(algorithm: Algorithm, key: Buffer): HmacKey {
  let k = keys[algorithm].get(key);
  if (!k) {
    k = new HmacKey(algorithm, key);
    keys[algorithm].set(key, k);
  }
  return k;
}
