import assert from 'node:assert/strict';
import { createDuplicateCache, duplicateKey, type DuplicateCache } from '../../../src/radius/duplicate-cache.js';

describe('RADIUS duplicate cache (RFC 5080 §2.2.2)', () => {
  let t = 0;
  const now = () => t;
  beforeEach(() => (t = 1_000_000));
  /** A request processed and answered. */
  const answer = (c: DuplicateCache, key: string, reply: Buffer | null) => {
    assert.equal(c.begin(key).status, 'new');
    c.finish(key, reply);
  };

  it('keys on source address, port, Identifier and Request Authenticator', () => {
    const a = Buffer.alloc(16, 1);
    const keys = new Set([
      duplicateKey('auth', '192.0.2.1', 1000, 5, a),
      duplicateKey('auth', '192.0.2.2', 1000, 5, a),
      duplicateKey('auth', '192.0.2.1', 1001, 5, a),
      duplicateKey('auth', '192.0.2.1', 1000, 6, a),
      duplicateKey('auth', '192.0.2.1', 1000, 5, Buffer.alloc(16, 2)),
      duplicateKey('acct', '192.0.2.1', 1000, 5, a),
    ]);
    assert.equal(keys.size, 6);
  });

  it('reports a request in progress, then its reply until the entry expires', () => {
    const c = createDuplicateCache(5000, 100, now);
    assert.deepEqual(c.begin('k'), { status: 'new' });
    assert.deepEqual(c.begin('k'), { status: 'in_progress' });
    const reply = Buffer.from('reply');
    c.finish('k', reply);
    assert.deepEqual(c.begin('k'), { status: 'answered', reply });
    t += 4999;
    assert.equal(c.begin('k').status, 'answered');
    t += 1;
    assert.deepEqual(c.begin('k'), { status: 'new' });
  });

  it('remembers a request that was processed without a reply', () => {
    const c = createDuplicateCache(5000, 100, now);
    c.begin('k');
    c.finish('k', null);
    assert.deepEqual(c.begin('k'), { status: 'answered', reply: null });
  });

  it('forgets a request whose processing failed, so that a retransmission is processed', () => {
    const c = createDuplicateCache(5000, 100, now);
    c.begin('k');
    c.abort('k');
    assert.deepEqual(c.begin('k'), { status: 'new' });
  });

  it('stays within its bound by dropping the oldest answered entries, never one in progress', () => {
    const c = createDuplicateCache(60_000, 10, now);
    c.begin('busy');
    for (let i = 0; i < 50; i++) answer(c, `k${i}`, Buffer.from([i]));
    assert.ok(c.size <= 11, `size ${c.size}`);
    assert.equal(c.begin('busy').status, 'in_progress');
    assert.equal(c.begin('k49').status, 'answered');
    assert.equal(c.begin('k0').status, 'new');
  });

  it('drops expired entries as new requests arrive', () => {
    const c = createDuplicateCache(1000, 1000, now);
    for (let i = 0; i < 100; i++) answer(c, `k${i}`, null);
    t += 2000;
    c.begin('fresh');
    assert.equal(c.size, 1);
  });

  it('keeps a key answered again after its first entry expired, when the sweep reaches the old one', () => {
    const c = createDuplicateCache(1000, 1000, now);
    answer(c, 'k', Buffer.from('first'));
    t += 1000;
    answer(c, 'k', Buffer.from('second'));
    t += 1;
    c.begin('other');
    assert.deepEqual(c.begin('k'), { status: 'answered', reply: Buffer.from('second') });
  });

  it('answers and expires correctly across many entries (queue compaction)', () => {
    const c = createDuplicateCache(1000, 100_000, now);
    for (let i = 0; i < 5000; i++) {
      answer(c, `k${i}`, null);
      t += 1;
    }
    // Entries answered in the last second are still known; older ones are gone.
    assert.equal(c.begin('k4999').status, 'answered');
    assert.equal(c.begin('k0').status, 'new');
    assert.ok(c.size <= 1002, `size ${c.size}`);
  });
});
