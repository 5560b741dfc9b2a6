import { availableParallelism } from 'node:os';
import { hash as argon2Hash, verify as argon2Verify, type Options } from '@node-rs/argon2';
import { Semaphore } from 'async-mutex';

/** argon2id cost parameters (OWASP minimum: m=19 MiB, t=2, p=1). */
export interface Argon2Params {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Constant-time verification; false (never a throw) for a malformed or foreign hash. */
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the same work as a real verification, for unknown users (uniform timing). */
  verifyDummy(password: string): Promise<void>;
}

/** Longest password accepted anywhere; longer input is refused before hashing (cost bound). */
export const MAX_PASSWORD_LENGTH = 1024;

// @node-rs/argon2 exports Algorithm as a `const enum`, which isolated-module builds cannot inline.
const ARGON2ID = 2 as Options['algorithm'];

/**
 * argon2id via @node-rs/argon2, which runs on libuv's thread pool, never on the event loop. A
 * semaphore keeps at most one hash per core in flight so that store queries sharing the pool are
 * never queued behind a burst of password checks.
 */
export function createPasswordHasher(params: Argon2Params, concurrency = availableParallelism()): PasswordHasher {
  const options: Options = {
    algorithm: ARGON2ID,
    memoryCost: params.memoryKiB,
    timeCost: params.iterations,
    parallelism: params.parallelism,
  };
  const slots = new Semaphore(Math.max(1, concurrency));
  let dummy: Promise<string> | null = null;
  const dummyHash = () => (dummy ??= argon2Hash('gatehouse-dummy-password', options));

  const verify = (hash: string, password: string) =>
    slots.runExclusive(async () => {
      if (!hash.startsWith('$argon2')) return false;
      try {
        return await argon2Verify(hash, password);
      } catch {
        return false;
      }
    });

  return {
    hash: (password) => slots.runExclusive(() => argon2Hash(password, options)),
    verify,
    async verifyDummy(password) {
      await verify(await dummyHash(), password);
    },
  };
}

/** Whether a stored hash is one Gatehouse can verify (for imports). */
export function isSupportedHash(hash: string): boolean {
  return /^\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(hash);
}
