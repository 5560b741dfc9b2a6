import type { Sequelize } from 'sequelize';
import sqlite3 from 'sqlite3';
import type { Param, Row } from './sql.js';
import { OldestFirst } from '../util/oldest-first.js';
import { WRITER_PRAGMAS } from './connection.js';

/**
 * Statements outside transactions, straight on the driver. Sequelize's query pipeline costs more
 * than the query itself on the authentication hot path (measured here: ~7.5k `SELECT 1`/s through
 * Sequelize against ~20k/s on the sqlite3 driver), so single statements skip it; transactions keep
 * going through Sequelize.
 *
 * On SQLite, reads use their own read-only connections and single-statement writes one read-write
 * connection: WAL lets readers read while the writer writes, so a batch of audit inserts never
 * stalls a login. (Writers are serialised by the store's writer lock.)
 */
export interface Driver {
  /** A read. */
  all(sql: string, params: Param[]): Promise<Row[]>;
  /** A single-statement write; its RETURNING rows, if any. */
  write(sql: string, params: Param[]): Promise<Row[]>;
  close(): Promise<void>;
}

/**
 * `$n` → `?n`: SQLite numbers `$name` parameters by first appearance, which breaks when `$2` comes
 * before `$1`; `?n` is positional by number, so the values bind as a plain array.
 */
function toSqliteParams(sql: string): string {
  return sql.replace(/\$(\d+)/g, '?$1');
}

const bindable = (params: Param[]) => params.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));

// Statement texts are the repositories' SQL (values are bound; only LIMIT counts are literal, see
// limitSql), so caches stay small; the bound, least recently used out, guards against many shapes.
const MAX_CACHED_STATEMENTS = 500;
const MAX_CACHED_SQL_LENGTH = 4096;
/**
 * Statements of one SQL text that may run at once on one connection. node-sqlite3 runs the calls on
 * one statement one after another, and starts the next only from the event loop once the previous
 * result has been delivered, so a single statement per text caps a hot query (the account read of
 * every login) at one execution per event-loop turn per connection. Under load a turn takes
 * milliseconds: measured with RADIUS at 3,000 requests/s, reads queued for 60–200 ms in waves and
 * p99 latency went above 100 ms. With two, the next call is already queued on the connection when
 * one finishes; more would only park thread-pool threads on the connection's mutex.
 */
const MAX_STATEMENTS_PER_TEXT = 2;

/** The prepared statements of one SQL text on one connection. */
interface Shape {
  idle: sqlite3.Statement[];
  /** Statements of this text currently executing (or handed to a waiting call). */
  busy: number;
  /** Calls waiting for a statement: given one that finished, or null to prepare a fresh one. */
  waiting: ((s: sqlite3.Statement | null) => void)[];
  /** Dropped from the cache: its statements are finalized as they finish. */
  evicted: boolean;
}

function runAll(s: sqlite3.Statement, params: Param[]): Promise<Row[]> {
  return new Promise((resolve, reject) => s.all(bindable(params), (err: Error | null, rows: Row[]) => (err ? reject(err) : resolve(rows))));
}

class SqliteConnection {
  private readonly shapes = new Map<string, Shape>();
  private readonly coldest = new OldestFirst(this.shapes);
  /** Every statement prepared and not yet finalized, so that close() can finalize them all. */
  private readonly live = new Set<sqlite3.Statement>();
  constructor(readonly db: sqlite3.Database) {}

  static open(file: string, mode: number, pragmas: string): Promise<SqliteConnection> {
    return new Promise((resolve, reject) => {
      const db: sqlite3.Database = new sqlite3.Database(file, mode, (err) => {
        if (err) return reject(err);
        db.exec(pragmas, (e) => (e ? reject(e) : resolve(new SqliteConnection(db))));
      });
    });
  }

  async all(sql: string, params: Param[]): Promise<Row[]> {
    if (sql.length > MAX_CACHED_SQL_LENGTH) {
      // Long statements (multi-row audit inserts, whose text varies with the batch size) are not
      // kept: hundreds of them would hold megabytes of compiled programs for nothing.
      const s = await this.prepare(sql);
      try {
        return await runAll(s, params);
      } finally {
        this.finalize(s);
      }
    }
    const shape = this.shape(sql);
    let s: sqlite3.Statement | null = null;
    try {
      s = await this.acquire(shape, sql);
      const rows = await runAll(s, params);
      this.release(shape, s);
      return rows;
    } catch (err) {
      // A statement that failed (a bad text, a busy database) is not reused.
      if (s) this.finalize(s);
      this.release(shape, null);
      throw err;
    }
  }

  /**
   * Prepares with a callback: without one, node-sqlite3 reports a failed prepare as an 'error'
   * event on the statement (an uncaught exception) and drops the calls queued on it unanswered.
   */
  private prepare(sql: string): Promise<sqlite3.Statement> {
    return new Promise((resolve, reject) => {
      const s: sqlite3.Statement = this.db.prepare(toSqliteParams(sql), (err: Error | null) => {
        if (err) {
          this.live.delete(s);
          reject(err);
        } else resolve(s);
      });
      this.live.add(s);
    });
  }

  /**
   * Once per statement: node-sqlite3 reports a second finalize as an 'error' event (an uncaught
   * exception). A finalize queues behind any step still pending on the statement.
   */
  private finalize(s: sqlite3.Statement): void {
    if (this.live.delete(s)) s.finalize();
  }

  private shape(sql: string): Shape {
    let shape = this.shapes.get(sql);
    if (shape) {
      // Least recently used first: the one evicted below is the coldest.
      this.shapes.delete(sql);
      this.shapes.set(sql, shape);
      return shape;
    }
    shape = { idle: [], busy: 0, waiting: [], evicted: false };
    this.shapes.set(sql, shape);
    this.coldest.trim(MAX_CACHED_STATEMENTS, (_, old) => {
      old.evicted = true;
      for (const s of old.idle.splice(0)) this.finalize(s);
    });
    return shape;
  }

  private acquire(shape: Shape, sql: string): sqlite3.Statement | Promise<sqlite3.Statement> {
    const idle = shape.idle.pop();
    if (idle) {
      shape.busy++;
      return idle;
    }
    if (shape.busy < MAX_STATEMENTS_PER_TEXT) {
      shape.busy++;
      return this.prepare(sql);
    }
    return new Promise<sqlite3.Statement | null>((r) => shape.waiting.push(r)).then((s) => s ?? this.prepare(sql));
  }

  /** Gives back a slot: with its statement for reuse, or null (failed, or nothing prepared). */
  private release(shape: Shape, s: sqlite3.Statement | null): void {
    if (s && (shape.evicted || !this.live.has(s))) {
      this.finalize(s);
      s = null;
    }
    const next = shape.waiting.shift();
    if (next) return next(s);
    shape.busy--;
    if (s) shape.idle.push(s);
  }

  async close(): Promise<void> {
    for (const shape of this.shapes.values()) {
      shape.evicted = true;
      shape.idle.length = 0;
    }
    // Statements still running finish first: their finalize queues behind them.
    const all = [...this.live];
    this.live.clear();
    await Promise.all(all.map((s) => new Promise((r) => s.finalize(() => r(null)))));
    await new Promise((r) => this.db.close(() => r(null)));
  }
}

export async function createSqliteDriver(file: string, readConnections = 2): Promise<Driver> {
  const readers = await Promise.all(
    Array.from({ length: readConnections }, () => SqliteConnection.open(file, sqlite3.OPEN_READONLY, 'PRAGMA busy_timeout=10000;')),
  );
  // The stand-alone writer inserts the audit trail: a 16 MiB page cache (SQLite's default is 2 MiB)
  // keeps the audit indexes' hot pages between batches instead of reading them back from the file.
  // Measured at 10k users, 11,700 LDAP binds/s: pool threads' system time 2.0 s → 1.25 s per 8 s.
  const writer = await SqliteConnection.open(file, sqlite3.OPEN_READWRITE, `${WRITER_PRAGMAS} PRAGMA cache_size=-16384;`);
  let next = 0;
  return {
    all: (sql, params) => readers[next++ % readers.length]!.all(sql, params),
    write: (sql, params) => writer.all(sql, params),
    async close() {
      await Promise.all([...readers, writer].map((c) => c.close()));
    },
  };
}

interface PgClient {
  query(text: string, values: Param[]): Promise<{ rows: Row[] }>;
}

interface PoolManager {
  getConnection(options: { type: 'read' | 'write' }): Promise<PgClient>;
  releaseConnection(connection: PgClient): void;
}

export function createPgDriver(sequelize: Sequelize): Driver {
  // Sequelize exposes its pool as `connectionManager`; its connections are node-postgres clients.
  const pool = (sequelize as unknown as { connectionManager: PoolManager }).connectionManager;
  const run = async (type: 'read' | 'write', sql: string, params: Param[]) => {
    const client = await pool.getConnection({ type });
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      pool.releaseConnection(client);
    }
  };
  return {
    all: (sql, params) => run('read', sql, params),
    write: (sql, params) => run('write', sql, params),
    async close() {
      /* the pool closes with Sequelize */
    },
  };
}
