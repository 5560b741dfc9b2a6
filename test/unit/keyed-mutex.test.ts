import assert from 'node:assert/strict';
import { KeyedMutex } from '../../src/core/auth/keyed-mutex.js';

describe('KeyedMutex', () => {
  it('runs sections of the same key one at a time, in arrival order', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const section = (name: string, ms: number) =>
      m.run('k', async () => {
        log.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${name}-`);
      });
    await Promise.all([section('a', 20), section('b', 1), section('c', 5)]);
    assert.deepEqual(log, ['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  });

  it('runs different keys concurrently', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const section = (key: string) =>
      m.run(key, async () => {
        log.push(`${key}+`);
        await new Promise((r) => setTimeout(r, 10));
        log.push(`${key}-`);
      });
    await Promise.all([section('x'), section('y')]);
    assert.deepEqual(log.slice(0, 2).sort(), ['x+', 'y+']);
  });

  it('tells a section whether it waited, and forgets keys nobody holds', async () => {
    const m = new KeyedMutex();
    const waited: boolean[] = [];
    await Promise.all([1, 2, 3].map(() => m.run('k', async (w) => void waited.push(w))));
    assert.deepEqual(waited, [false, true, true]);
    assert.equal(m.size, 0);
  });

  it('releases the key when a section throws', async () => {
    const m = new KeyedMutex();
    await assert.rejects(m.run('k', async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await m.run('k', async (w) => w), false);
    assert.equal(m.size, 0);
  });
});
