import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { createSqliteDriver, type Driver } from '../../../src/store/driver.js';
import { limitSql } from '../../../src/store/sql.js';

describe('SQLite driver: statement cache', function () {
  let dir: string;
  let driver: Driver;

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-driver-'));
    const file = join(dir, 'db.sqlite');
    // The driver opens existing databases (migrations create them); make one with a table.
    await new Promise<void>((resolve, reject) => {
      const db = new sqlite3.Database(file, (err) => {
        if (err) return reject(err);
        db.exec('PRAGMA journal_mode=WAL; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);', (e) => (e ? reject(e) : db.close(() => resolve())));
      });
    });
    driver = await createSqliteDriver(file);
    for (let k = 0; k < 20; k++) await driver.write('INSERT INTO t (k, v) VALUES ($1, $2)', [k, `v${k}`]);
  });

  afterEach(async function () {
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers correctly across more statement shapes than it keeps (least recently used evicted)', async function () {
    // 1200 shapes, alternating over two reader connections: each sees 600 and keeps at most 500.
    for (let n = 0; n < 1200; n++) {
      const rows = await driver.all(`SELECT k FROM t ORDER BY k ${limitSql(n)} OFFSET $1`, [1]);
      assert.equal(rows.length, Math.min(n, 19));
    }
    // The first shapes were evicted and finalized; using them again prepares them afresh.
    const again = await driver.all(`SELECT k FROM t ORDER BY k ${limitSql(1)} OFFSET $1`, [3]);
    assert.deepEqual(again, [{ k: 3 }]);
  });

  it('finishes a query already running on a statement that gets evicted meanwhile', async function () {
    const pending = Array.from({ length: 8 }, (_, i) => driver.all('SELECT v FROM t WHERE k = $1', [i]));
    // Push that statement out of both connections' caches while its queries are in flight.
    const flood = Array.from({ length: 1100 }, (_, n) => driver.all(`SELECT ${n} AS n, v FROM t WHERE k = $1`, [n % 20]));
    const [first, rest] = await Promise.all([Promise.all(pending), Promise.all(flood)]);
    assert.deepEqual(
      first.map((r) => r[0]?.v),
      Array.from({ length: 8 }, (_, i) => `v${i}`),
    );
    assert.equal(rest.length, 1100);
    assert.deepEqual(await driver.all('SELECT v FROM t WHERE k = $1', [5]), [{ v: 'v5' }]);
  });

  it('runs many concurrent calls of one text on several statements, each with its own values', async function () {
    const keys = Array.from({ length: 300 }, (_, i) => (i * 7) % 20);
    const rows = await Promise.all(keys.map((k) => driver.all('SELECT k, v FROM t WHERE k = $1', [k])));
    assert.deepEqual(
      rows.map((r) => r[0]),
      keys.map((k) => ({ k, v: `v${k}` })),
    );
  });

  it('closes while calls are running: every call settles and close() resolves', async function () {
    const running = Array.from({ length: 12 }, (_, i) => driver.all('SELECT v FROM t WHERE k = $1', [i % 20]));
    const closing = driver.close();
    const settled = await Promise.allSettled(running);
    await closing;
    assert.equal(settled.length, 12);
    for (const r of settled) if (r.status === 'fulfilled') assert.equal(r.value.length, 1);
    driver = await createSqliteDriver(join(dir, 'db.sqlite'));
    assert.deepEqual(await driver.all('SELECT v FROM t WHERE k = $1', [3]), [{ v: 'v3' }]);
  });

  it('does not reuse a statement whose call failed, and keeps answering other calls', async function () {
    for (let i = 0; i < 3; i++) await assert.rejects(driver.all('SELECT nope FROM t WHERE k = $1', [1]), /no such column/);
    const [bad, good] = await Promise.allSettled([driver.all('SELECT nope FROM t WHERE k = $1', [1]), driver.all('SELECT v FROM t WHERE k = $1', [2])]);
    assert.equal(bad.status, 'rejected');
    assert.deepEqual(good.status === 'fulfilled' && good.value, [{ v: 'v2' }]);
  });
});

describe('limitSql', function () {
  it('writes a non-negative integer count into the text', function () {
    assert.equal(limitSql(0), 'LIMIT 0');
    assert.equal(limitSql(500), 'LIMIT 500');
  });

  it('refuses anything else, so only digits ever reach the statement', function () {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      assert.throws(() => limitSql(bad), RangeError, String(bad));
    }
    assert.throws(() => limitSql('1; DROP TABLE t' as unknown as number), RangeError);
  });
});
