import { randomBytes } from 'node:crypto';

// MongoDB ObjectId layout: a random value per process plus a counter make ids unique across
// instances without reading the random source for every id (audit events are created per request).
const processRandom = randomBytes(5).toString('hex');
let counter = randomBytes(3).readUIntBE(0, 3);

/**
 * A 24-hex identifier shaped like JumpCloud's (a MongoDB ObjectId): 4 bytes of seconds since the
 * epoch, 5 random bytes fixed per process, a 3-byte counter. Sorting ids sorts by creation second,
 * which keeps index inserts local.
 */
export function newId(now: number = Date.now()): string {
  const head = Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0')
    .slice(-8);
  counter = (counter + 1) % 0x1000000;
  return head + processRandom + counter.toString(16).padStart(6, '0');
}

export function isId(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{24}$/.test(v);
}
