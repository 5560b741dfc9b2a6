import { randomBytes } from 'node:crypto';

/**
 * A 24-hex identifier shaped like JumpCloud's (MongoDB ObjectId): 4 bytes of seconds since the epoch,
 * then 8 random bytes. Sorting ids sorts by creation second, which keeps index inserts local.
 */
export function newId(now: number = Date.now()): string {
  const head = Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0')
    .slice(-8);
  return head + randomBytes(8).toString('hex');
}

export function isId(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{24}$/.test(v);
}
