import type { Sequelize } from 'sequelize';

/** The advisory lock's key (two int4, PostgreSQL's two-key form): "Gate" and the startup work. */
const KEY = [0x47617465, 1] as const;

interface PgClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/**
 * Runs `fn` (migrations, the bootstrap of an empty store) while no other instance sharing the
 * database runs its own: instances started together behind a load balancer otherwise each saw the
 * schema missing and one failed half way with `relation … already exists`, or each saw no
 * organisation and both seeded one. On PostgreSQL a session-level advisory lock, held on a
 * connection of its own (fn's queries use the pool's other connections); released when fn ends, or
 * by PostgreSQL when that connection drops. SQLite is one process's file: nothing to do.
 */
export async function withStartupLock<T>(sequelize: Sequelize, dialect: 'sqlite' | 'postgres', fn: () => Promise<T>): Promise<T> {
  if (dialect !== 'postgres') return fn();
  // The pg driver's client: sequelize types its connections as an opaque object.
  const conn = (await sequelize.connectionManager.getConnection({ type: 'write' })) as unknown as PgClient;
  try {
    await conn.query('SELECT pg_advisory_lock($1, $2)', [...KEY]);
    try {
      return await fn();
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1, $2)', [...KEY]).catch(() => undefined);
    }
  } finally {
    sequelize.connectionManager.releaseConnection(conn as unknown as Parameters<Sequelize['connectionManager']['releaseConnection']>[0]);
  }
}
