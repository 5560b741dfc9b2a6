import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Sequelize } from 'sequelize';
import sqlite3 from 'sqlite3';

export interface ConnectionOptions {
  /** `sqlite:PATH`, `postgres://…`, or empty for `<dataDir>/gatehouse.sqlite`. */
  databaseUrl: string;
  dataDir: string;
}

/**
 * SQLite connections as Gatehouse needs them (libraries.md, "Sequelize 6.37 + SQLite"): WAL so that
 * readers never wait for the writer, FULL sync so that a committed lockout count or used TOTP step
 * survives a power cut, a busy timeout as a last resort (writes are serialised in-process anyway),
 * and foreign keys on. Sequelize opens connections through `dialectModule.Database`, so the pragmas
 * run on every connection it opens, transactions included, before it is used.
 */
/**
 * The pragmas of every connection that writes. Checkpoints run every 10,000 WAL pages (~40 MB)
 * rather than SQLite's 1,000: each audit batch rewrites the same few hundred index leaf pages
 * (events are indexed by user, whose keys are scattered), and at 1,000 pages nearly every batch
 * copied its pages into the database again. A WAL that outgrew that (a checkpoint held off by
 * readers) is cut back to 64 MB once checkpointed.
 */
export const WRITER_PRAGMAS =
  'PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; ' +
  'PRAGMA wal_autocheckpoint=10000; PRAGMA journal_size_limit=67108864;';

class GatehouseSqliteDatabase extends sqlite3.Database {
  constructor(filename: string, mode: number, callback: (err: Error | null) => void) {
    super(filename, mode, (err) => {
      if (err) return callback(err);
      this.exec(WRITER_PRAGMAS, (e) => callback(e ?? null));
    });
  }
}

const sqliteModule = { ...sqlite3, Database: GatehouseSqliteDatabase };

export function sqlitePathOf(o: ConnectionOptions): string | null {
  if (!o.databaseUrl) return resolve(o.dataDir, 'gatehouse.sqlite');
  if (o.databaseUrl.startsWith('sqlite:')) return resolve(o.databaseUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''));
  return null;
}

export function openSequelize(o: ConnectionOptions): { sequelize: Sequelize; dialect: 'sqlite' | 'postgres' } {
  const file = sqlitePathOf(o);
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    const sequelize = new Sequelize({
      dialect: 'sqlite',
      storage: file,
      dialectModule: sqliteModule,
      logging: false,
    });
    return { sequelize, dialect: 'sqlite' };
  }
  const sequelize = new Sequelize(o.databaseUrl, {
    dialect: 'postgres',
    logging: false,
    pool: { max: 10, min: 1, idle: 30_000, acquire: 30_000 },
  });
  return { sequelize, dialect: 'postgres' };
}
