/**
 * SHA-256 (FIPS 180-4 §6.2) in TypeScript, for HMAC-SHA-256 (RFC 2104) of short messages with a
 * long-lived key: the verified-credential cache (core/auth/credential-cache.ts) computes one for
 * every LDAP bind and RADIUS request it answers.
 *
 * Why not Node's crypto: each `crypto.hash` call costs ~1.7 µs here whatever the length (OpenSSL 3
 * looks the digest up for every call) and an HMAC is two calls, ~6 µs with the copying: 7.7% of
 * the event loop under radclient load. With the key's padded blocks kept as midstates (RFC 2104
 * §4), an HMAC of a message under 56 octets is two compressions of ~0.4 µs each here. util/md5.ts
 * gives the same reasons for MD5, and the libraries measured there for it.
 *
 * Every result is checked against node:crypto (test/unit/util/sha256.test.ts).
 */

/** The state after whole 64-octet blocks: eight words and how many octets they absorbed. */
export interface Sha256Midstate {
  readonly words: Int32Array;
  readonly length: number;
}

/** FIPS 180-4 §5.3.3: the initial hash value. */
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** FIPS 180-4 §4.2.2: the sixty-four constants. */
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/**
 * The message schedule and the block being filled, shared (digests run one at a time on the event
 * loop) and zeroed after each digest: they hold passwords, which should not stay in a long-lived
 * buffer until overwritten.
 */
const W = new Int32Array(64);
const block = new Uint8Array(64);
const state = new Int32Array(8);

/** Zeroes W and the block. */
function scrub(): void {
  for (let t = 0; t < 64; t++) {
    W[t] = 0;
    block[t] = 0;
  }
}

/** FIPS 180-4 §6.2.2: processes the 64 octets at p[o] into s. */
function compress(s: Int32Array, p: Uint8Array, o: number): void {
  for (let t = 0; t < 16; t++) {
    const i = o + 4 * t;
    W[t] = (p[i]! << 24) | (p[i + 1]! << 16) | (p[i + 2]! << 8) | p[i + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!;
    const w2 = W[t - 2]!;
    // σ0 = ROTR7 ^ ROTR18 ^ SHR3, σ1 = ROTR17 ^ ROTR19 ^ SHR10 (§4.1.2).
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (s1 + W[t - 7]! + s0 + W[t - 16]!) | 0;
  }
  let a = s[0]!;
  let b = s[1]!;
  let c = s[2]!;
  let d = s[3]!;
  let e = s[4]!;
  let f = s[5]!;
  let g = s[6]!;
  let h = s[7]!;
  for (let t = 0; t < 64; t++) {
    // Σ1(e) = ROTR6 ^ ROTR11 ^ ROTR25, Ch(e, f, g) = (e & f) ^ (~e & g).
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t]! + W[t]!) | 0;
    // Σ0(a) = ROTR2 ^ ROTR13 ^ ROTR22, Maj(a, b, c) = (a & b) ^ (a & c) ^ (b & c).
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  s[0] = (s[0]! + a) | 0;
  s[1] = (s[1]! + b) | 0;
  s[2] = (s[2]! + c) | 0;
  s[3] = (s[3]! + d) | 0;
  s[4] = (s[4]! + e) | 0;
  s[5] = (s[5]! + f) | 0;
  s[6] = (s[6]! + g) | 0;
  s[7] = (s[7]! + h) | 0;
}

/**
 * Writes SHA-256(prefix || data[0..length]) at out[offset..offset+32], where `from` is the
 * midstate of the prefix (whole blocks), or the plain SHA-256 of the data without it.
 */
export function sha256Into(out: Uint8Array, offset: number, data: Uint8Array, length: number, from?: Sha256Midstate): void {
  state.set(from ? from.words : IV);
  let i = 0;
  for (; length - i >= 64; i += 64) compress(state, data, i);
  let fill = length - i;
  for (let k = 0; k < fill; k++) block[k] = data[i + k]!;
  // §5.1.1: a 1 bit, zeros to 56 octets mod 64, then the length in bits, a 64-bit big-endian word.
  block[fill++] = 0x80;
  if (fill > 56) {
    block.fill(0, fill);
    compress(state, block, 0);
    fill = 0;
  }
  block.fill(0, fill, 56);
  const bits = ((from ? from.length : 0) + length) * 8;
  const high = Math.floor(bits / 0x1_0000_0000);
  const low = bits % 0x1_0000_0000;
  block[56] = high >>> 24;
  block[57] = high >>> 16;
  block[58] = high >>> 8;
  block[59] = high;
  block[60] = low >>> 24;
  block[61] = low >>> 16;
  block[62] = low >>> 8;
  block[63] = low;
  compress(state, block, 0);
  scrub();
  // §6.2.2 step 4: H0…H7, each most significant octet first.
  for (let w = 0; w < 8; w++) {
    const v = state[w]!;
    out[offset + 4 * w] = v >>> 24;
    out[offset + 4 * w + 1] = v >>> 16;
    out[offset + 4 * w + 2] = v >>> 8;
    out[offset + 4 * w + 3] = v;
  }
  state.fill(0);
}

/** SHA-256 of the bytes. */
export function sha256(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(32);
  sha256Into(out, 0, data, data.length);
  return out;
}

/** The state after `first64`, one whole block (an HMAC key's padded block, RFC 2104 §4). */
export function sha256Midstate(first64: Uint8Array): Sha256Midstate {
  if (first64.length !== 64) throw new RangeError('a midstate is taken after one 64-octet block');
  const words = Int32Array.from(IV);
  compress(words, first64, 0);
  scrub();
  return { words, length: 64 };
}
