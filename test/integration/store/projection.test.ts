import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import sqlite3 from 'sqlite3';
import { projection } from '../../../src/store/projection.js';
import type { Row } from '../../../src/store/sql.js';

/** Rows packed by SQLite's json_array and unpacked by the projection are the rows node-sqlite3 gives column by column. */
describe('store projection (SQLite rows packed as JSON)', () => {
  let db: sqlite3.Database;
  const all = (sql: string, params: unknown[] = []) =>
    new Promise<Row[]>((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as Row[]))));

  before(async () => {
    db = new sqlite3.Database(':memory:');
    // The column types the projected tables use: text, BIGINT and TINYINT(1) (INTEGER affinity).
    await all('CREATE TABLE t (id INTEGER PRIMARY KEY, s VARCHAR(64), n BIGINT, b TINYINT(1))');
  });

  after(() => new Promise<void>((resolve) => db.close(() => resolve())));

  const columns = ['t.s', 't.n', 't.b', '(t.s IS NOT NULL) AS has_s', `(SELECT group_concat(x.s, char(30)) FROM t x WHERE x.n = t.n) AS same_n`];

  it('gives the same names, values and types as plain columns, for any text, integer and null', async () => {
    const packed = projection('sqlite', columns);
    const plain = projection('postgres', columns);
    const text = fc.option(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('', 'a\u0000b', '"\\\u2028\u0001', '[1,2]', 'null')), { nil: null });
    const int = fc.option(fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1_796_106_120_051, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER)), { nil: null });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(text, int, fc.constantFrom(0, 1)), { minLength: 1, maxLength: 5 }), async (rows) => {
        await all('DELETE FROM t');
        for (const [s, n, b] of rows) await all('INSERT INTO t (s, n, b) VALUES (?, ?, ?)', [s, n, b]);
        const expected = await all(`SELECT ${plain.list} FROM t ORDER BY t.id`);
        const got = packed.rows(await all(`SELECT ${packed.list} FROM t ORDER BY t.id`));
        assert.deepEqual(got, expected);
        assert.deepEqual(Object.keys(got[0]!), ['s', 'n', 'b', 'has_s', 'same_n']);
      }),
      { numRuns: 150 },
    );
  });

  it('adds a column with and(), and lists plain columns with their names on PostgreSQL', async () => {
    const base = projection('sqlite', ['t.s']);
    await all('DELETE FROM t');
    await all('INSERT INTO t (s, n, b) VALUES (?, ?, ?)', ['x', 7, 1]);
    const more = base.and('t.n * 2 AS twice');
    assert.deepEqual(more.rows(await all(`SELECT ${more.list} FROM t`)), [{ s: 'x', twice: 14 }]);
    assert.deepEqual(base.rows(await all(`SELECT ${base.list} FROM t`)), [{ s: 'x' }], 'and() leaves the base as it was');
    assert.equal(projection('postgres', ['u.id', '(a IS NULL) AS none']).list, 'u.id AS id, (a IS NULL) AS none');
    assert.throws(() => projection('sqlite', ['count(*)']), /name the column/);
    // Built once (repositories are made per transaction; each projection compiles a function).
    assert.equal(projection('sqlite', ['t.s']), base);
    assert.equal(base.and('t.n * 2 AS twice'), more);
    assert.notEqual(projection('postgres', ['t.s']), base);
  });

  it('builds the same rows where code generation from strings is disallowed', () => {
    const script = `import { projection } from ${JSON.stringify(new URL('../../../src/store/projection.ts', import.meta.url).href)};
      const p = projection('sqlite', ['t.s', 't.n']);
      process.stdout.write(JSON.stringify(p.rows([{ packed_row: '["a",1]' }])));`;
    const out = execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), [{ s: 'a', n: 1 }]);
  });
});
