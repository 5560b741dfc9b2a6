import type { Sequelize } from 'sequelize';
import sqlite3 from 'sqlite3';
import type { Param, Row } from './sql.js';

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

class SqliteConnection {
  private readonly statements = new Map<string, sqlite3.Statement>();
  constructor(readonly db: sqlite3.Database) {}

  static open(file: string, mode: number, pragmas: string): Promise<SqliteConnection> {
    return new Promise((resolve, reject) => {
      const db: sqlite3.Database = new sqlite3.Database(file, mode, (err) => {
        if (err) return reject(err);
        db.exec(pragmas, (e) => (e ? reject(e) : resolve(new SqliteConnection(db))));
      });
    });
  }

  all(sql: string, params: Param[]): Promise<Row[]> {
    let stmt = this.statements.get(sql);
    let transient = false;
    if (stmt) {
      // Least recently used first: the one evicted below is the coldest.
      this.statements.delete(sql);
      this.statements.set(sql, stmt);
    } else {
      stmt = this.db.prepare(toSqliteParams(sql));
      // Long statements (multi-row audit inserts, whose text varies with the batch size) are not
      // kept: hundreds of them would hold megabytes of compiled programs for nothing.
      if (sql.length > MAX_CACHED_SQL_LENGTH) transient = true;
      else {
        this.statements.set(sql, stmt);
        if (this.statements.size > MAX_CACHED_STATEMENTS) {
          const [coldest, old] = this.statements.entries().next().value!;
          this.statements.delete(coldest);
          // node-sqlite3 queues finalize behind any step still pending on that statement.
          old.finalize();
        }
      }
    }
    const s = stmt;
    return new Promise((resolve, reject) =>
      s.all(bindable(params), (err: Error | null, rows: Row[]) => {
        if (transient) s.finalize();
        if (err) reject(err);
        else resolve(rows);
      }),
    );
  }

  async close(): Promise<void> {
    for (const s of this.statements.values()) await new Promise((r) => s.finalize(() => r(null)));
    await new Promise((r) => this.db.close(() => r(null)));
  }
}

export async function createSqliteDriver(file: string, readConnections = 2): Promise<Driver> {
  const readers = await Promise.all(
    Array.from({ length: readConnections }, () => SqliteConnection.open(file, sqlite3.OPEN_READONLY, 'PRAGMA busy_timeout=10000;')),
  );
  const writer = await SqliteConnection.open(
    file,
    sqlite3.OPEN_READWRITE,
    'PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;',
  );
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
