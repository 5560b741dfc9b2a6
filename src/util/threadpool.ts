import { availableParallelism } from 'node:os';

/**
 * argon2id (via @node-rs/argon2), sqlite3 and fs all share libuv's thread pool (4 threads by default).
 * The pool is created on first use, so this module is imported first by the entry points: it gives the
 * pool room for one hash per core (the hasher's limit), the SQLite writer, two statements on each of
 * the two reader connections (store/driver.ts) and file work, so that cheap queries never wait
 * behind password hashing or an fsync. Measured with RADIUS at 3,000 requests/s: with 4 threads,
 * reads queued and p99 latency reached 150-430 ms after a pause; with 8, 13-97 ms.
 */
if (!process.env.UV_THREADPOOL_SIZE) {
  process.env.UV_THREADPOOL_SIZE = String(Math.max(8, availableParallelism() + 6));
}
