import { availableParallelism } from 'node:os';

/**
 * argon2id (via @node-rs/argon2), sqlite3 and fs all share libuv's thread pool (4 threads by default).
 * The pool is created on first use, so this module is imported first by the entry points: it gives the
 * pool room for one hash per core plus store and file work, so that cheap queries never wait behind
 * password hashing.
 */
if (!process.env.UV_THREADPOOL_SIZE) {
  process.env.UV_THREADPOOL_SIZE = String(Math.max(6, availableParallelism() + 4));
}
