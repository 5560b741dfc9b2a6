import assert from 'node:assert/strict';
import { createEpochCache, OldestMark, UNTIMED_KEPT_MS, type EpochCache } from '../../src/core/directory/epoch-cache.js';
import { createVersionWatch } from '../../src/core/directory/version-watch.js';

describe('EpochCache', () => {
  let now = 1_000;
  let epoch = 0;
  let random = 0;
  const cache = () => createEpochCache<string>(2000, 3, () => epoch, { now: () => now, random: () => random });

  beforeEach(() => {
    now = 1_000;
    epoch = 0;
    random = 0;
  });

  it('returns a value within its lifetime', () => {
    const c = cache();
    c.set('a', 'A', c.mark());
    now += 1999;
    assert.equal(c.get('a'), 'A');
  });

  it('drops a value once the lifetime has passed', () => {
    const c = cache();
    c.set('a', 'A', c.mark());
    now += 2000;
    assert.equal(c.get('a'), undefined);
    assert.equal(c.size, 0);
  });

  it('gives each entry a lifetime between half and all of ttlMs, so that entries read together do not expire together', () => {
    const c = cache();
    random = 1;
    c.set('short', 'S', c.mark());
    random = 0.5;
    c.set('middle', 'M', c.mark());
    now += 1000;
    assert.equal(c.get('short'), undefined);
    assert.equal(c.get('middle'), 'M');
    now += 499;
    assert.equal(c.get('middle'), 'M');
    now += 1;
    assert.equal(c.get('middle'), undefined);
  });

  it('drops every value after a write (a new epoch)', () => {
    const c = cache();
    c.set('a', 'A', c.mark());
    epoch++;
    assert.equal(c.get('a'), undefined);
    c.set('a', 'B', c.mark());
    assert.equal(c.get('a'), 'B');
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const c = cache();
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, k.toUpperCase(), c.mark());
    assert.equal(c.get('a'), undefined);
    assert.equal(c.get('d'), 'D');
    assert.equal(c.size, 3);
  });

  it('stores a read that overlapped a commit as already stale', () => {
    const c = cache();
    const m = c.mark();
    epoch++; // an admin change commits while the read is in flight
    c.set('a', 'A', m);
    assert.equal(c.get('a'), undefined);
  });

  it('dates an entry from when its read started', () => {
    const c = cache();
    const m = c.mark();
    now += 1500; // a slow read
    c.set('a', 'A', m);
    now += 600;
    assert.equal(c.get('a'), undefined);
  });

  it('caches nothing with a lifetime of 0', () => {
    const c = createEpochCache<string>(0, 10, () => 0);
    c.set('a', 'A', c.mark());
    assert.equal(c.get('a'), undefined);
  });

  it('gives a fresh value with the mark of its read (entry)', () => {
    const c = cache();
    const m = c.mark();
    now += 500;
    c.set('a', 'A', m);
    const e = c.entry('a')!;
    assert.deepEqual([e.value, e.mark, e.bounds.freshUntil], ['A', m, 1000 + 2000]);
    now += 1500;
    assert.equal(c.entry('a'), undefined);
  });

  describe('a value derived from several reads (OldestMark)', () => {
    it('is kept as long as its oldest read: no longer than any of its inputs', () => {
      const pages = cache();
      const derived = cache();
      const marks = new OldestMark();
      pages.set('old', 'O', pages.mark());
      now += 1500;
      pages.set('new', 'N', pages.mark());
      marks.note(pages.entry('new')!.mark);
      marks.note(pages.entry('old')!.mark);
      derived.set('answer', 'O+N', marks.mark!);
      now += 499;
      assert.equal(derived.get('answer'), 'O+N');
      now += 1;
      assert.equal(pages.get('old'), undefined);
      assert.equal(derived.get('answer'), undefined, 'gone with its oldest input');
    });

    it('gives no mark for reads on either side of a commit, nor for no read', () => {
      const c = cache();
      const marks = new OldestMark();
      assert.equal(marks.mark, null);
      marks.note(c.mark());
      epoch++;
      marks.note(c.mark());
      assert.equal(marks.mark, null);
    });

    it('is never kept longer than an input is kept, whatever lifetime each drew', () => {
      const pages = cache();
      const derived = cache();
      random = 1; // the page lives half of ttlMs
      pages.set('page', 'P', pages.mark());
      const hit = pages.entry('page')!;
      const marks = new OldestMark();
      marks.note(hit.mark, hit.bounds);
      random = 0; // the derived value would live all of it
      derived.set('answer', 'from P', marks.mark!, Infinity, marks.bounds);
      now += 999;
      assert.equal(derived.get('answer'), 'from P');
      now += 1;
      assert.equal(pages.get('page'), undefined);
      assert.equal(derived.get('answer'), undefined, 'gone with the page');
    });

    it('takes the older generation of the version watch, which is vouched for no longer than the newer', () => {
      const marks = new OldestMark();
      marks.note({ epoch: 0, at: 100, generation: 5 });
      marks.note({ epoch: 0, at: 200, generation: 4 });
      assert.deepEqual(marks.mark, { epoch: 0, at: 100, generation: 4 });
    });
  });

  it('keeps the values within a total weight, dropping the oldest, and never one heavier than all of it', () => {
    const c = createEpochCache<string>(2000, 10, () => epoch, { now: () => now, random: () => random, weigh: (_k, v) => v.length, maxWeight: 10 });
    c.set('a', 'aaaa', c.mark());
    c.set('b', 'bbbb', c.mark());
    assert.equal(c.size, 2);
    c.set('c', 'cccc', c.mark()); // 12 > 10: the oldest goes
    assert.deepEqual([c.get('a'), c.get('b'), c.get('c')], [undefined, 'bbbb', 'cccc']);
    c.set('b', 'b', c.mark()); // replaced: its old weight is given back
    c.set('d', 'ddddd', c.mark());
    assert.deepEqual([c.get('b'), c.get('c'), c.get('d')], ['b', 'cccc', 'ddddd']);
    c.set('e', 'x'.repeat(11), c.mark());
    assert.equal(c.get('e'), undefined, 'heavier than all of maxWeight');
    assert.equal(c.get('d'), 'ddddd', 'and pushed nothing out');
    c.delete('d');
    c.set('f', 'ffff', c.mark());
    assert.equal(c.size, 3);
  });

  describe('load', () => {
    /** A read that the test finishes, counting how many were started. */
    const reads = () => {
      const started: ((v: string) => void)[] = [];
      const failers: ((e: Error) => void)[] = [];
      const read = () =>
        new Promise<string>((resolve, reject) => {
          started.push(resolve);
          failers.push(reject);
        });
      return { read, started, failers };
    };

    it('shares one read among the misses on a key while it is in flight, then serves the kept value', async () => {
      const c = cache();
      const r = reads();
      const all = [c.load('a', r.read), c.load('a', r.read), c.load('a', r.read)];
      assert.equal(r.started.length, 1);
      r.started[0]!('A');
      assert.deepEqual(await Promise.all(all), ['A', 'A', 'A']);
      assert.equal(await c.load('a', r.read), 'A');
      assert.equal(r.started.length, 1);
    });

    it('does not share a read that started before a commit', async () => {
      const c = cache();
      const r = reads();
      const before = c.load('a', r.read);
      epoch++;
      const after = c.load('a', r.read);
      assert.equal(r.started.length, 2);
      r.started[0]!('old');
      r.started[1]!('new');
      assert.equal(await before, 'old');
      assert.equal(await after, 'new');
      // The read that overlapped the commit was not kept; the later one was.
      assert.equal(c.get('a'), 'new');
    });

    it('keeps no failure: the next miss reads again', async () => {
      const c = cache();
      const r = reads();
      const first = c.load('a', r.read);
      r.failers[0]!(new Error('store down'));
      await assert.rejects(first, /store down/);
      const second = c.load('a', r.read);
      assert.equal(r.started.length, 2);
      r.started[1]!('A');
      assert.equal(await second, 'A');
    });

    describe('with refreshAhead', () => {
      const ahead = () => createEpochCache<string>(2000, 3, () => epoch, { now: () => now, random: () => random, refreshAhead: true });

      it('is fresh for 50-80% of ttlMs, then served as it is while one re-read runs, until ttlMs', async () => {
        const c = ahead();
        const r = reads();
        random = 0; // freshest: 80%
        c.set('a', 'A', c.mark());
        now += 1599;
        assert.deepEqual(c.peek('a'), { value: 'A', fresh: true });
        now += 1;
        assert.deepEqual(c.peek('a'), { value: 'A', fresh: false });
        assert.equal(c.get('a'), undefined, 'get() gives fresh values only');
        assert.equal(await c.load('a', r.read), 'A');
        assert.equal(await c.load('a', r.read), 'A');
        assert.equal(r.started.length, 1, 'one re-read');
        r.started[0]!('A2');
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(c.peek('a'), { value: 'A2', fresh: true });
        random = 1; // shortest: 50%
        c.set('b', 'B', c.mark());
        now += 999;
        assert.equal(c.get('b'), 'B');
        now += 1;
        assert.equal(c.get('b'), undefined);
      });

      /** After `change` (time passing, a commit), 'A' is not served: load waits for the read. */
      const waitsForReadAfter = async (change: () => void) => {
        const c = ahead();
        const r = reads();
        c.set('a', 'A', c.mark());
        change();
        assert.equal(c.peek('a'), undefined);
        const next = c.load('a', r.read);
        r.started[0]!('A2');
        assert.equal(await next, 'A2');
      };

      it('waits for a read once ttlMs has passed', () => waitsForReadAfter(() => (now += 2000)));

      it('serves nothing read before a commit', () =>
        waitsForReadAfter(() => {
          now += 1700;
          epoch++;
        }));

      it('lets a failed re-read go unnoticed by the process, and the next wait sees the store', async () => {
        const c = ahead();
        const r = reads();
        c.set('a', 'A', c.mark());
        now += 1700;
        assert.equal(await c.load('a', r.read), 'A');
        let unhandled = 0;
        const count = () => unhandled++;
        process.on('unhandledRejection', count);
        try {
          r.failers[0]!(new Error('store down'));
          await new Promise((resolve) => setImmediate(resolve));
          assert.equal(unhandled, 0);
        } finally {
          process.off('unhandledRejection', count);
        }
        assert.equal(await c.load('a', r.read), 'A', 'still within ttlMs: served, and read again');
        now += 300;
        const next = c.load('a', r.read);
        r.failers[r.failers.length - 1]!(new Error('store down'));
        await assert.rejects(next, /store down/);
      });
    });

    it('reads every time with a lifetime of 0', async () => {
      const c = createEpochCache<string>(0, 10, () => 0);
      const r = reads();
      const both = [c.load('a', r.read), c.load('a', r.read)];
      assert.equal(r.started.length, 2);
      r.started.forEach((resolve) => resolve('A'));
      assert.deepEqual(await Promise.all(both), ['A', 'A']);
    });
  });

  describe('with a watch on the directory version', () => {
    /** A version the test sets, read by the watch; counts the reads, and can fail them. */
    const store = () => {
      const st = { version: 7, failures: 0, reads: 0, fail: false };
      const read = async () => {
        st.reads++;
        if (st.fail) throw new Error('store down');
        return { directory: st.version, failures: st.failures };
      };
      return { st, watch: createVersionWatch(read, 2000, () => now) };
    };
    const settle = () => new Promise((r) => setImmediate(r));
    /** load() with a counted read that answers at once. */
    const loader = () => {
      let n = 0;
      return { read: async () => `read ${++n}`, count: () => n };
    };
    /** A cache on a watch that has confirmed its first version (as the appliance's first read starts it). */
    const started = async () => {
      const { st, watch } = store();
      const c = createEpochCache<string>(2000, 10, () => epoch, { now: () => now, random: () => random, watch });
      watch.generation();
      await settle();
      return { st, watch, c, r: loader() };
    };
    /** Moves time on in 500 ms steps, using `key` at each (which lets the watch confirm). */
    const steps = async (c: EpochCache<string>, n: number, key = 'a') => {
      for (let i = 0; i < n; i++) {
        now += 500;
        c.get(key);
        await settle();
      }
    };

    it('keeps a value past ttlMs while the version is confirmed unchanged: one read of the version, not of each value', async () => {
      const { st, c, r } = await started();
      assert.equal(await c.load('a', r.read), 'read 1');
      assert.equal(await c.load('b', r.read), 'read 2');
      await steps(c, 20);
      assert.equal(await c.load('a', r.read), 'read 1', '10 s later, still the first read');
      assert.equal(await c.load('b', r.read), 'read 2');
      assert.equal(r.count(), 2);
      assert.ok(st.reads >= 9 && st.reads <= 12, `about one version read per second (ttl/2): ${st.reads}`);
    });

    it('re-reads a value once the version has moved (a write through any instance), within ttlMs', async () => {
      const { st, c, r } = await started();
      await c.load('a', r.read);
      now += 1500;
      st.version = 8; // another instance wrote
      c.get('a'); // half ttl passed: a confirmation starts, and finds the change
      await settle();
      now += 600; // past the value's own time
      assert.equal(c.get('a'), undefined);
      assert.equal(await c.load('a', r.read), 'read 2');
    });

    it('drops a kept account read when failure counts move, but not what the directory-only view vouches for', async () => {
      const { st, watch, c, r } = await started();
      const d = createEpochCache<string>(2000, 10, () => epoch, { now: () => now, random: () => random, watch: watch.directoryOnly });
      await c.load('a', r.read);
      await d.load('a', r.read);
      const generation = watch.directoryOnly.generation();
      now += 1500;
      st.failures = 1; // a first wrong password, through any instance
      c.get('a');
      await settle();
      now += 600;
      assert.equal(c.get('a'), undefined, 'the full watch saw the change');
      assert.equal(d.get('a'), 'read 2', 'the directory-only view did not');
      assert.equal(watch.directoryOnly.generation(), generation);
      assert.equal(watch.directoryOnly.confirmedAgo(generation), 600);
      now += 1500;
      st.version = 8;
      d.get('a');
      await settle();
      now += 600;
      assert.equal(d.get('a'), undefined, 'a directory write moves both');
    });

    it('counts a version that went back (a restored database) as a change', async () => {
      const { st, c, r } = await started();
      await c.load('a', r.read); // read under version 7
      now += 1100;
      st.version = 9;
      c.get('a');
      await settle();
      now += 1100;
      st.version = 7;
      c.get('a');
      await settle();
      now += 100;
      assert.equal(c.get('a'), undefined, 'version 7 again is not the 7 the value was read under');
    });

    it('keeps a value on the version for at most 30 s from its read (answers that depend on the time: lock and password expiry)', async () => {
      const { c, r } = await started();
      await c.load('a', r.read);
      await steps(c, 59);
      assert.equal(c.get('a'), 'read 1', '29.5 s');
      now += 500;
      assert.equal(c.get('a'), undefined, '30 s');
    });

    it('keeps a value in which nothing turns with time (maxKeptMs) for up to 10 minutes while the version stands', async () => {
      const { st, watch } = store();
      const c = createEpochCache<string>(2000, 10, () => epoch, { now: () => now, random: () => random, watch, maxKeptMs: UNTIMED_KEPT_MS });
      watch.generation();
      await settle();
      const r = loader();
      await c.load('a', r.read);
      await steps(c, 1199);
      assert.equal(c.get('a'), 'read 1', '599.5 s');
      assert.equal(r.count(), 1);
      assert.ok(st.reads >= 550, `the version was confirmed all along: ${st.reads}`);
      now += 500;
      assert.equal(c.get('a'), undefined, '10 min');
      st.version = 8;
      await c.load('b', r.read);
      now += 1100;
      c.get('b');
      await settle();
      now += 1000;
      assert.equal(c.get('b'), undefined, 'a write through any instance is still seen within ttlMs');
    });

    it('falls back to ttlMs when the version cannot be read', async () => {
      const { st, c, r } = await started();
      await c.load('a', r.read);
      st.fail = true;
      now += 1500;
      c.get('a');
      await settle();
      now += 600;
      assert.equal(c.get('a'), undefined);
    });

    it('never keeps a value past the time it was set to turn (a password expiry), however the version stands', async () => {
      const { c } = await started();
      c.set('a', 'A', c.mark(), now + 5000);
      await steps(c, 9);
      assert.equal(c.get('a'), 'A', '4.5 s');
      now += 500;
      assert.equal(c.get('a'), undefined, '5 s');
    });

    it('confirms nothing once closed (the store is closing): kept values age out by time', async () => {
      const { st, watch, c, r } = await started();
      await c.load('a', r.read);
      watch.close();
      const reads = st.reads;
      now += 1500;
      c.get('a');
      await settle();
      assert.equal(st.reads, reads);
      now += 600;
      assert.equal(c.get('a'), undefined);
    });

    it('still drops a value at once on a commit in this process', async () => {
      const { c, r } = await started();
      await c.load('a', r.read);
      epoch++;
      assert.equal(c.get('a'), undefined);
    });
  });
});
