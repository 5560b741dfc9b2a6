import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SecretBox } from '../ports.js';

const VERSION = 'v1';
const TAG_LENGTH = 16;

/**
 * AES-256-GCM secret box for secrets at rest (TOTP seeds, RADIUS shared secrets, signing keys).
 * Format `v1.<iv>.<tag>.<ciphertext>` (base64url). The context (e.g. `totp:<userId>`) is bound as
 * additional authenticated data, so a sealed value copied to another row does not open.
 */
export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('secret key must be 32 bytes');
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join('.');
    },
    open(sealed, context) {
      const [version, iv, tag, ct] = sealed.split('.');
      if (version !== VERSION || iv === undefined || tag === undefined || ct === undefined) {
        throw new Error('sealed secret has an unknown format');
      }
      const tagBytes = Buffer.from(tag, 'base64url');
      // A truncated tag would lower the forgery bar to its length: accept only the full 128 bits.
      if (tagBytes.length !== TAG_LENGTH) throw new Error('sealed secret has a bad authentication tag');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_LENGTH });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tagBytes);
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    },
    deriveKey(purpose) {
      return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `gatehouse:${purpose}`, 32));
    },
  };
}

/** Parses a 32-byte key given as 64 hex digits or base64. */
export function parseSecretKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new Error('must be 32 bytes, as 64 hex digits or base64');
  return key;
}
