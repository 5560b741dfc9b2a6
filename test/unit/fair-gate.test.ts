import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { createFairGate } from '../../src/core/auth/fair-gate.js';

describe('FairGate: password checks in turn by source', () => {
  it('runs at most `concurrency` at once, and a second source waits for one task of the first, not all of them', async () => {
    const gate = createFairGate(2);
    const order: string[] = [];
    let running = 0;
    let peak = 0;
    const task = (name: string) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      order.push(name);
      running--;
      return name;
    };
    const flood = Array.from({ length: 10 }, (_, i) => gate.run('10.0.0.66', task(`a${i}`)));
    const nas = gate.run('192.0.2.1', task('nas'));
    assert.equal(gate.waiting, 9, 'two running, nine waiting');
    await Promise.all([...flood, nas]);
    assert.equal(peak, 2);
    assert.ok(order.indexOf('nas') <= 3, `the NAS ran at position ${order.indexOf('nas')}: ${order.join(' ')}`);
    assert.equal(gate.waiting, 0);
  });

  it('passes results and failures through, a synchronous throw included, and keeps going', async () => {
    const gate = createFairGate(1);
    await assert.rejects(gate.run('k', () => Promise.reject(new Error('boom'))), /boom/);
    await assert.rejects(
      gate.run('k', () => {
        throw new Error('sync');
      }),
      /sync/,
    );
    assert.equal(await gate.run('k', async () => 42), 42);
  });
});
