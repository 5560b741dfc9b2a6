import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/**
 * A new RADIUS shared secret for "Generate a new secret": 32 characters from an alphabet without
 * look-alikes (about 187 bits), drawn without modulo bias, as core generates one at creation. The
 * caller stores it through `radiusServers.update` (sealed) and shows it once.
 */
export function generateSharedSecret(length = 32): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 256 - (256 % ALPHABET.length)) out += ALPHABET[b % ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}
