import { randomBytes } from 'node:crypto';
import { createPasswordHasher } from '../../src/core/auth/password-hasher.js';
import { createSecretBox } from '../../src/core/auth/secret-box.js';
import { createCore, type CoreOptions } from '../../src/core/index.js';
import type { Logger } from '../../src/core/ports.js';

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** argon2id at the OWASP minimum, the appliance's floor. */
export const testHasher = createPasswordHasher({ memoryKiB: 19456, iterations: 2, parallelism: 1 });

/**
 * The core as tests assemble it around a store and a clock: the test hasher, a fresh secret key,
 * no log, no verified-credential cache, and audit batches written within 5 ms. `o` adds or
 * replaces options (mail, revalidateSeconds, …).
 */
export function createTestCore(o: Pick<CoreOptions, 'store' | 'clock'> & Partial<CoreOptions>) {
  return createCore({
    hasher: testHasher,
    secretBox: createSecretBox(randomBytes(32)),
    log: silentLogger,
    totpIssuer: 'Test',
    credentialCache: { ttlSeconds: 0, maxEntries: 1 },
    audit: { flushIntervalMs: 5, batchSize: 100, maxQueue: 10_000 },
    ...o,
  });
}
