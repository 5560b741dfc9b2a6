import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { MutexInterface } from 'async-mutex';
import type { Driver } from './driver.js';
import { withFolded } from './fold.js';
import { unavailableOr } from './unavailable.js';

export type Param = string | number | boolean | null;
export type Row = Record<string, unknown>;

/**
 * A thin SQL runner over Sequelize's connection and transaction handling. Repositories write
 * portable SQL (SQLite ≥ 3.35 and PostgreSQL 15 both take it) with `$n` bound parameters; every
 * value is bound, never interpolated.
 *
 * On SQLite, writes outside a transaction take the store's writer lock (one writer at a time is
 * what SQLite allows; waiting in-process beats SQLITE_BUSY). Inside a transaction the lock is
 * already held by the transaction itself.
 */
export class Sql {
  constructor(
    readonly sequelize: Sequelize,
    readonly dialect: 'sqlite' | 'postgres',
    private readonly transaction: Transaction | undefined,
    private readonly writerLock: MutexInterface | null,
    /** Driver-level statements outside transactions (see driver.ts). */
    private readonly driver: Driver | null = null,
  ) {}

  /** Whether statements run inside a transaction, whose errors the store maps as a whole. */
  get inTransaction(): boolean {
    return this.transaction !== undefined;
  }

  /** Rows of a SELECT (or of a write with RETURNING, when `write` is set). */
  async rows<T extends Row = Row>(sql: string, params: Param[] = [], write = false): Promise<T[]> {
    try {
      return await this.run<T>(sql, params, write);
    } catch (err) {
      // Outside transactions (which the store maps as a whole), a database that cannot be reached
      // is the one error every caller must tell from its own mistakes.
      throw this.transaction ? err : unavailableOr(err);
    }
  }

  private async run<T extends Row>(sql: string, params: Param[], write: boolean): Promise<T[]> {
    if (!this.transaction && this.driver) {
      const driver = this.driver;
      if (!write) return (await driver.all(sql, params)) as T[];
      const run = () => driver.write(sql, params) as Promise<T[]>;
      return this.writerLock ? this.writerLock.runExclusive(run) : run();
    }
    // Sequelize's SQLite dialect runs any SQL starting with "INSERT INTO" without fetching rows, which
    // loses RETURNING rows; a leading comment keeps it on the row-fetching path (harmless to PostgreSQL).
    const text = write ? `/* returning */ ${sql}` : sql;
    const run = () =>
      this.sequelize.query(text, {
        bind: params,
        type: QueryTypes.SELECT,
        transaction: this.transaction,
        logging: false,
      }) as Promise<T[]>;
    return write && this.writerLock && !this.transaction ? this.writerLock.runExclusive(run) : run();
  }

  async one<T extends Row = Row>(sql: string, params: Param[] = []): Promise<T | null> {
    const r = await this.rows<T>(sql, params);
    return r[0] ?? null;
  }

  /** A write whose effect is not counted. */
  async exec(sql: string, params: Param[] = []): Promise<void> {
    if (!this.transaction && this.driver) {
      await this.rows(sql, params, true);
      return;
    }
    const run = () =>
      this.sequelize.query(sql, { bind: params, type: QueryTypes.RAW, transaction: this.transaction, logging: false });
    try {
      await (this.writerLock && !this.transaction ? this.writerLock.runExclusive(run) : run());
    } catch (err) {
      throw this.transaction ? err : unavailableOr(err);
    }
  }

  /**
   * A write that ends in `RETURNING …`: the number of rows it changed. (The two drivers report
   * affected rows differently; RETURNING is the portable way.)
   */
  async changed(sql: string, params: Param[] = []): Promise<number> {
    return (await this.rows(sql, params, true)).length;
  }

  /** A write ending in `RETURNING …`, with its rows. */
  returning<T extends Row = Row>(sql: string, params: Param[] = []): Promise<T[]> {
    return this.rows<T>(sql, params, true);
  }

  /** `INSERT INTO table (cols) VALUES (...)` from a column → value record (folded shadows added). */
  insert(table: string, input: Record<string, Param>): Promise<void> {
    const row = withFolded(table, input);
    const cols = Object.keys(row);
    const sql = `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`;
    return this.exec(sql, cols.map((c) => row[c] ?? null));
  }

  /** `UPDATE table SET … WHERE id = $n` (folded shadows added); does nothing for an empty change set. */
  update(table: string, id: string, input: Record<string, Param>, idColumn = 'id'): Promise<number> {
    const row = withFolded(table, input);
    const cols = Object.keys(row);
    if (cols.length === 0) return Promise.resolve(0);
    const sets = cols.map((c, i) => `${c} = $${i + 1}`).join(', ');
    return this.changed(`UPDATE ${table} SET ${sets} WHERE ${idColumn} = $${cols.length + 1} RETURNING 1 AS changed`, [
      ...cols.map((c) => row[c] ?? null),
      id,
    ]);
  }
}

// Column conversions: SQLite returns booleans as 0/1, PostgreSQL returns BIGINT as strings.
export const toBool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't';
export const toNum = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const toNumOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : toNum(v));
export const toDate = (v: unknown): Date => new Date(toNum(v));
export const toDateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(toNum(v)));
export const toStr = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
export const ms = (d: Date | null | undefined): number | null => (d ? d.getTime() : null);

export function fromJson<T>(v: unknown, fallback: T): T {
  if (typeof v !== 'string' || v === '') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
}

/** `$a, $b, …` placeholders for an IN list, appending the values to `params`. */
export function inList(params: Param[], values: Param[]): string {
  return values.map((v) => `$${params.push(v)}`).join(', ');
}

/**
 * `LIMIT n` with the count written into the statement text, never bound. SQLite's planner reads the
 * value of a bound LIMIT, so every re-bind expires the compiled statement and the next step
 * re-prepares it (sqlite3_reprepare): measured here, that more than doubled the CPU cost of the
 * one-row lookup behind every LDAP search (0.25 → 0.10 ms). OFFSET has no such effect and stays a
 * parameter. Only a validated non-negative safe integer reaches the text.
 */
export function limitSql(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`invalid LIMIT ${String(n)}`);
  return `LIMIT ${n}`;
}
