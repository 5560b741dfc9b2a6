import assert from 'node:assert/strict';
import { ConnectionRefusedError, DatabaseError, UniqueConstraintError } from 'sequelize';
import { isDomainError } from '../../../src/core/errors.js';
import { unavailableOr } from '../../../src/store/unavailable.js';
import { createLogThrottle } from '../../../src/util/log-throttle.js';

describe('store errors that mean the database cannot be reached', () => {
  const unavailable = (err: unknown) => {
    const mapped = unavailableOr(err);
    return isDomainError(mapped) && mapped.kind === 'unavailable';
  };

  it('maps a refused connection and PostgreSQL shutdown / cannot-connect-now / connection-exception codes', () => {
    assert.ok(unavailable(new ConnectionRefusedError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))));
    for (const code of ['57P01', '57P02', '57P03', '08006', '08003']) {
      const parent = Object.assign(new Error(`pg ${code}`), { code, sql: 'SELECT 1' });
      assert.ok(unavailable(new DatabaseError(parent as unknown as ConstructorParameters<typeof DatabaseError>[0])), code);
    }
  });

  it('leaves every other error as it was (a constraint, a syntax error, a plain bug)', () => {
    const unique = new UniqueConstraintError({ message: 'dup' });
    assert.equal(unavailableOr(unique), unique);
    const syntax = new DatabaseError(Object.assign(new Error('syntax'), { code: '42601', sql: 'SELEC' }) as unknown as ConstructorParameters<typeof DatabaseError>[0]);
    assert.equal(unavailableOr(syntax), syntax);
    const bug = new TypeError('x is undefined');
    assert.equal(unavailableOr(bug), bug);
  });
});

describe('log throttle', () => {
  it('writes the first occurrence at once, then one line per interval with the number suppressed', () => {
    let t = 0;
    const lines: number[] = [];
    const throttle = createLogThrottle(10_000, () => t);
    for (let i = 0; i < 50; i++) {
      throttle.hit((n) => lines.push(n));
      t += 500; // 50 occurrences over 25 s
    }
    assert.deepEqual(lines, [0, 19, 19]);
  });
});
