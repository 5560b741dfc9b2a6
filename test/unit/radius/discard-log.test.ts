import assert from 'node:assert/strict';
import { createDiscardLog } from '../../../src/radius/discard-log.js';

describe('RADIUS discard counting and rate-limited logging', () => {
  const lines: { obj: Record<string, unknown>; msg?: string }[] = [];
  const log = { debug() {}, info() {}, error() {}, warn: (obj: object, msg?: string) => void lines.push({ obj: obj as Record<string, unknown>, msg }) };
  let t = 0;
  beforeEach(() => {
    lines.length = 0;
    t = 0;
  });

  it('logs the first discard of a source at once and sums the rest of the minute into one line', () => {
    const d = createDiscardLog(log, 60_000, 100, () => t);
    for (let i = 0; i < 1000; i++) d.discard('192.0.2.9', i % 2 ? 'bad_length' : 'unknown_client');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.obj.reason, 'unknown_client');
    t += 60_000;
    d.discard('192.0.2.9', 'bad_length');
    assert.equal(lines.length, 3, 'summary of the past window, then the first line of the new one');
    assert.equal(lines[1]!.obj.discarded, 999);
    assert.deepEqual(lines[1]!.obj.reasons, { bad_length: 500, unknown_client: 499 });
    assert.deepEqual(d.counts(), { unknown_client: 500, bad_length: 501 });
    d.stop();
  });

  it('logs each source separately and bounds the sources it tracks', () => {
    const d = createDiscardLog(log, 60_000, 3, () => t);
    for (let i = 0; i < 10; i++) d.discard(`192.0.2.${i}`, 'unknown_client');
    assert.equal(lines.length, 4, 'three sources and "other"');
    assert.equal(lines[3]!.obj.source, 'other');
    d.stop();
    assert.equal(lines.length, 5, 'stop writes the pending summary of "other"');
    assert.equal(lines[4]!.obj.discarded, 6);
  });
});
