import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { createCredentialCache } from '../../src/core/auth/credential-cache.js';
import { createFakeClock } from '../helpers/fake-clock.js';

const TTL = 300;

function setup(ttlSeconds = TTL, maxEntries = 100) {
  const clock = createFakeClock();
  const cache = createCredentialCache(ttlSeconds, maxEntries, clock);
  return { clock, cache };
}

describe('credential cache', () => {
  describe('hit', () => {
    it('hits for the same user, password and stamp within the TTL', () => {
      const { cache } = setup();
      cache.remember('u1', 'correct horse', 'stamp-a');
      assert.equal(cache.hit('u1', 'correct horse', 'stamp-a'), true);
    });

    it('misses before anything was remembered', () => {
      const { cache } = setup();
      assert.equal(cache.hit('u1', 'correct horse', 'stamp-a'), false);
    });

    it('misses for another password', () => {
      const { cache } = setup();
      cache.remember('u1', 'correct horse', 'stamp-a');
      assert.equal(cache.hit('u1', 'correct horsE', 'stamp-a'), false);
      assert.equal(cache.hit('u1', '', 'stamp-a'), false);
    });

    it('misses for another user with the same password', () => {
      const { cache } = setup();
      cache.remember('u1', 'correct horse', 'stamp-a');
      assert.equal(cache.hit('u2', 'correct horse', 'stamp-a'), false);
    });

    it('does not confuse user and password boundaries', () => {
      const { cache } = setup();
      cache.remember('u1', 'x', 's');
      // (userId "u1x", password "") must not collide with (userId "u1", password "x").
      assert.equal(cache.hit('u1x', '', 's'), false);
    });

    it('misses with a different stamp, and forgets the stale entry', () => {
      const { cache } = setup();
      cache.remember('u1', 'correct horse', 'stamp-a');
      assert.equal(cache.hit('u1', 'correct horse', 'stamp-b'), false);
      assert.equal(cache.size, 0);
      assert.equal(cache.hit('u1', 'correct horse', 'stamp-a'), false);
    });

    it('still hits one millisecond before the TTL ends', () => {
      const { cache, clock } = setup();
      cache.remember('u1', 'pw', 's');
      clock.advance(TTL * 1000 - 1);
      assert.equal(cache.hit('u1', 'pw', 's'), true);
    });

    it('misses once the TTL has elapsed, and forgets the entry', () => {
      const { cache, clock } = setup();
      cache.remember('u1', 'pw', 's');
      clock.advanceSeconds(TTL);
      assert.equal(cache.hit('u1', 'pw', 's'), false);
      assert.equal(cache.size, 0);
    });

    it('does not extend the TTL on a hit', () => {
      const { cache, clock } = setup();
      cache.remember('u1', 'pw', 's');
      clock.advanceSeconds(TTL - 1);
      assert.equal(cache.hit('u1', 'pw', 's'), true);
      clock.advanceSeconds(1);
      assert.equal(cache.hit('u1', 'pw', 's'), false);
    });

    it('keeps the entry after a wrong password (the caller invalidates on failure)', () => {
      const { cache } = setup();
      cache.remember('u1', 'pw', 's');
      assert.equal(cache.hit('u1', 'wrong', 's'), false);
      assert.equal(cache.hit('u1', 'pw', 's'), true);
    });
  });

  describe('remember', () => {
    it('replaces the previous entry of the user (only the latest password hits)', () => {
      const { cache } = setup();
      cache.remember('u1', 'old', 's1');
      cache.remember('u1', 'new', 's2');
      assert.equal(cache.size, 1);
      assert.equal(cache.hit('u1', 'old', 's2'), false);
      assert.equal(cache.hit('u1', 'new', 's2'), true);
    });

    it('restarts the TTL when the same credential is remembered again', () => {
      const { cache, clock } = setup();
      cache.remember('u1', 'pw', 's');
      clock.advanceSeconds(TTL - 10);
      cache.remember('u1', 'pw', 's');
      clock.advanceSeconds(20);
      assert.equal(cache.hit('u1', 'pw', 's'), true);
    });

    it('evicts the oldest entry beyond maxEntries', () => {
      const { cache } = setup(TTL, 3);
      cache.remember('u1', 'p1', 's');
      cache.remember('u2', 'p2', 's');
      cache.remember('u3', 'p3', 's');
      cache.remember('u4', 'p4', 's');
      assert.equal(cache.size, 3);
      assert.equal(cache.hit('u1', 'p1', 's'), false);
      assert.equal(cache.hit('u2', 'p2', 's'), true);
      assert.equal(cache.hit('u3', 'p3', 's'), true);
      assert.equal(cache.hit('u4', 'p4', 's'), true);
    });

    it('counts a re-remembered user as the newest for eviction', () => {
      const { cache } = setup(TTL, 2);
      cache.remember('u1', 'p1', 's');
      cache.remember('u2', 'p2', 's');
      cache.remember('u1', 'p1', 's');
      cache.remember('u3', 'p3', 's');
      assert.equal(cache.hit('u2', 'p2', 's'), false);
      assert.equal(cache.hit('u1', 'p1', 's'), true);
      assert.equal(cache.hit('u3', 'p3', 's'), true);
    });
  });

  describe('invalidate', () => {
    it('makes the user miss', () => {
      const { cache } = setup();
      cache.remember('u1', 'pw', 's');
      cache.invalidate('u1');
      assert.equal(cache.hit('u1', 'pw', 's'), false);
    });

    it('leaves other users alone', () => {
      const { cache } = setup();
      cache.remember('u1', 'pw', 's');
      cache.remember('u2', 'pw', 's');
      cache.invalidate('u1');
      assert.equal(cache.hit('u2', 'pw', 's'), true);
      assert.equal(cache.size, 1);
    });

    it('does nothing for an unknown user', () => {
      const { cache } = setup();
      cache.remember('u1', 'pw', 's');
      cache.invalidate('nobody');
      assert.equal(cache.size, 1);
    });
  });

  describe('clear', () => {
    it('forgets every entry', () => {
      const { cache } = setup();
      cache.remember('u1', 'pw', 's');
      cache.remember('u2', 'pw', 's');
      cache.clear();
      assert.equal(cache.size, 0);
      assert.equal(cache.hit('u1', 'pw', 's'), false);
    });
  });

  describe('TTL 0', () => {
    it('disables the cache: nothing is remembered and nothing hits', () => {
      const { cache } = setup(0);
      cache.remember('u1', 'pw', 's');
      assert.equal(cache.size, 0);
      assert.equal(cache.hit('u1', 'pw', 's'), false);
    });
  });

  describe('separate instances', () => {
    it('do not share entries (each process has its own key)', () => {
      const clock = createFakeClock();
      const a = createCredentialCache(TTL, 10, clock);
      const b = createCredentialCache(TTL, 10, clock);
      a.remember('u1', 'pw', 's');
      assert.equal(b.hit('u1', 'pw', 's'), false);
    });
  });
});
