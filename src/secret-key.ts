import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSecretKey } from './core/auth/secret-box.js';
import { ConfigError } from './config/load.js';

/**
 * The key that seals secrets at rest: `secretKey` (GATEHOUSE_SECRET_KEY, or `file:`) when given,
 * otherwise `<dataDir>/secret.key`, created once with mode 0600. Losing it makes TOTP seeds and
 * RADIUS shared secrets unreadable, so it is never regenerated over an existing file.
 */
export function loadSecretKey(secretKey: string, dataDir: string): Buffer {
  const existing = findSecretKey(secretKey, dataDir);
  if (existing) return existing;
  return writeSecretKey(dataDir, randomBytes(32));
}

/** The configured or stored key, or null when neither exists yet (nothing is created). */
export function findSecretKey(secretKey: string, dataDir: string): Buffer | null {
  if (secretKey) {
    try {
      return parseSecretKey(secretKey);
    } catch (err) {
      throw new ConfigError('secretKey (GATEHOUSE_SECRET_KEY)', (err as Error).message);
    }
  }
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) {
    try {
      return parseSecretKey(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError('secretKey', `${file} is unreadable: ${(err as Error).message}`);
    }
  }
  return null;
}

/** Stores a key as `<dataDir>/secret.key` (mode 0600); refuses to overwrite one. */
export function writeSecretKey(dataDir: string, key: Buffer): Buffer {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'secret.key'), key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}
