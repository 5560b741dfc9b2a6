import { randomBytes, timingSafeEqual } from 'node:crypto';
import { HmacKey } from '../../util/digest.js';
import type { Clock } from '../ports.js';
import { OldestFirst } from '../../util/oldest-first.js';

/**
 * The verified-credential cache. After a successful argon2id verification, an HMAC-SHA-256 of
 * (user, password) under a per-process random key is kept in memory for `ttlSeconds`, together with
 * a stamp of everything the verification depended on (the password hash and the account's state,
 * lock and MFA settings). A later request with the same password and an unchanged stamp skips
 * argon2id; anything else pays the full cost. Nothing here is ever written to disk.
 *
 * Trade-off (documented in config): while an entry lives, someone who can read this process's
 * memory can test password guesses at HMAC speed instead of argon2id speed. A TTL of 0 disables it.
 */
export interface CredentialCache {
  /** True when this exact credential was verified within the TTL and the stamp is unchanged. */
  hit(userId: string, password: string, stamp: string): boolean;
  remember(userId: string, password: string, stamp: string): void;
  invalidate(userId: string): void;
  clear(): void;
  readonly size: number;
}

interface Entry {
  mac: Buffer;
  stamp: string;
  expiresAt: number;
}

export function createCredentialCache(ttlSeconds: number, maxEntries: number, clock: Clock): CredentialCache {
  const key = new HmacKey('sha256', randomBytes(32));
  const entries = new Map<string, Entry>();
  const oldest = new OldestFirst(entries);
  const mac = (userId: string, password: string) => key.mac(userId, '\0', password);
  const enabled = ttlSeconds > 0;

  return {
    hit(userId, password, stamp) {
      if (!enabled) return false;
      const e = entries.get(userId);
      if (!e) return false;
      if (e.expiresAt <= clock.now().getTime() || e.stamp !== stamp) {
        entries.delete(userId);
        return false;
      }
      return timingSafeEqual(e.mac, mac(userId, password));
    },
    remember(userId, password, stamp) {
      if (!enabled) return;
      entries.delete(userId);
      entries.set(userId, { mac: mac(userId, password), stamp, expiresAt: clock.now().getTime() + ttlSeconds * 1000 });
      // Map keeps insertion order: the first key is the oldest entry.
      oldest.trim(maxEntries);
    },
    invalidate(userId) {
      entries.delete(userId);
    },
    clear() {
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
