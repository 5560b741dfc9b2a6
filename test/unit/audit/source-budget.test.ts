import assert from 'node:assert/strict';
import { createSourceBudget } from '../../../src/core/audit/source-budget.js';

describe('the audit budget of unauthenticated requests', () => {
  const setup = () => {
    let t = 1_000_000;
    const budget = createSourceBudget({ perSourcePerSecond: 20, perSourceBurst: 200, totalPerSecond: 300, maxSources: 3, now: () => t });
    const takeN = (source: string, n: number) => Array.from({ length: n }, () => budget.take(source)).filter(Boolean).length;
    return { budget, takeN, advance: (ms: number) => (t += ms) };
  };

  it('lets a burst through per source, then the sustained rate', () => {
    const { takeN, advance } = setup();
    assert.equal(takeN('10.0.0.1', 1000), 200);
    advance(1000);
    assert.equal(takeN('10.0.0.1', 1000), 20);
    advance(50);
    assert.equal(takeN('10.0.0.1', 10), 1);
  });

  it('keeps sources apart, within a total for all of them', () => {
    const { takeN, advance } = setup();
    assert.equal(takeN('10.0.0.1', 250), 200);
    // The total (300 at once) leaves the second source 100 of its 200.
    assert.equal(takeN('10.0.0.2', 250), 100);
    advance(1000);
    assert.equal(takeN('10.0.0.3', 500), 200, 'the total refilled at 300/s, the new source has its whole burst');
  });

  it('counts what it refused, by source, and starts the count again', () => {
    const { budget, takeN } = setup();
    takeN('10.0.0.1', 210);
    takeN('10.0.0.2', 95);
    takeN('10.0.0.2', 10);
    // 10.0.0.1: 200 of 210; 10.0.0.2: 100 of 105, the total (300) being spent.
    assert.deepEqual(budget.drainRefused(), { total: 15, top: { source: '10.0.0.1', count: 10 } });
    assert.deepEqual(budget.drainRefused(), { total: 0, top: null });
  });

  it('forgets the oldest sources beyond its bound (they come back with a whole burst)', () => {
    const { takeN } = setup();
    takeN('a', 200);
    takeN('b', 1);
    takeN('c', 1);
    takeN('d', 1);
    // Remembered, 'a' would have nothing left; forgotten, it has a whole burst (the total has 97).
    assert.equal(takeN('a', 50), 50);
  });

  it('keeps a total per lane, so that a flood in one lane leaves the others theirs', () => {
    const { budget } = setup();
    let ldap = 0;
    for (let i = 0; i < 2000; i++) if (budget.take(`10.0.${Math.floor(i / 200)}.1`, 'ldap')) ldap++;
    assert.equal(ldap, 300, 'the ldap total');
    assert.equal(budget.take('10.9.9.9', 'radius'), true, 'radius has its own');
  });

  it('survives a clock going back: no negative refill, the buckets work on', () => {
    const { takeN, advance } = setup();
    assert.equal(takeN('10.0.0.1', 200), 200);
    advance(-3_600_000);
    assert.equal(takeN('10.0.0.1', 10), 0);
    advance(1000);
    assert.equal(takeN('10.0.0.1', 100), 20, 'refills from the new time on');
  });
});
