import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'mocha';
import { invalid, storeUnavailable } from '../../src/core/errors.js';
import type { AuditEvent } from '../../src/core/audit/event.js';
import { createAuditRecorder, type AuditRecorder } from '../../src/core/audit/recorder.js';
import type { AuditRepository, Logger } from '../../src/core/ports.js';
import { systemActor } from '../../src/core/access/actor.js';
import { createFakeClock } from '../helpers/fake-clock.js';

const silentLog: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** An audit repository whose writes finish only when the test releases them. */
function slowRepo() {
  const writes: AuditEvent[][] = [];
  const waiting: (() => void)[] = [];
  const repo = {
    append(events: AuditEvent[]) {
      writes.push(events);
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    query: () => Promise.resolve([]),
    purge: () => Promise.resolve({ expired: 0, overLimit: 0 }),
  } as AuditRepository;
  /** Finishes the writes started so far, then lets the recorder's continuations run. */
  const release = async () => {
    for (const r of waiting.splice(0)) r();
    await new Promise((r) => setImmediate(r));
  };
  return { repo, writes, release };
}

function recorder(repo: AuditRepository, batchSize: number, flushIntervalMs = 20): AuditRecorder {
  return createAuditRecorder({ repo, clock: createFakeClock(), log: silentLog, organizationId: () => 'org', flushIntervalMs, batchSize, maxQueue: 100_000 });
}

const record = (a: AuditRecorder, n: number) => {
  for (let i = 0; i < n; i++) a.record({ event_type: 'ldap_bind', service: 'ldap', success: true, initiated_by: systemActor.actor });
};

const sizes = (writes: AuditEvent[][]) => writes.map((w) => w.length);

describe('audit recorder batching', () => {
  it('events recorded while a batch is being written wait for the next batch instead of one insert each', async () => {
    const { repo, writes, release } = slowRepo();
    const a = recorder(repo, 10);
    record(a, 10); // a full batch starts a write at once
    assert.deepEqual(sizes(writes), [10]);
    // While it runs, events keep arriving, each past the batch size: none may start a write of its own.
    for (let i = 0; i < 7; i++) {
      record(a, 1);
      await new Promise((r) => setImmediate(r));
    }
    await release();
    // The write in progress does not trail a short insert of what came in meanwhile.
    assert.deepEqual(sizes(writes), [10]);
    assert.equal(a.pending, 7);
    // The timer writes them, together.
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(sizes(writes), [10, 7]);
    await release();
    assert.equal(a.pending, 0);
    await a.close();
  });

  it('a write goes on with further full batches that arrived meanwhile', async () => {
    const { repo, writes, release } = slowRepo();
    const a = recorder(repo, 5, 60_000);
    record(a, 5);
    record(a, 12); // two more full batches and 2 events over
    await release();
    await release();
    assert.deepEqual(sizes(writes), [5, 5, 5]);
    await release();
    assert.equal(a.pending, 2);
    const closing = a.close();
    await release();
    await closing;
    assert.deepEqual(sizes(writes), [5, 5, 5, 2]);
  });

  it('flush() writes everything queued, in batches', async () => {
    const { repo, writes, release } = slowRepo();
    const a = recorder(repo, 4, 60_000);
    record(a, 3);
    const flushed = a.flush();
    await release();
    await flushed;
    assert.deepEqual(sizes(writes), [3]);
    assert.equal(a.pending, 0);
    await a.close();
  });
});

describe('audit recorder and a store that fails', () => {
  /** A store that refuses every batch holding a `poison` event, and can be down (unreachable or busy). */
  function failingRepo() {
    const stored: AuditEvent[] = [];
    const st = { down: false as false | Error, attempts: 0 };
    const repo = {
      async append(events: AuditEvent[]) {
        st.attempts++;
        if (st.down) throw st.down;
        if (events.some((e) => e.event_type === ('poison' as string))) throw invalid('audit', 'NOT NULL constraint failed', 'audit.refused');
        stored.push(...events);
      },
      query: () => Promise.resolve([]),
      purge: () => Promise.resolve({ expired: 0, overLimit: 0 }),
    } as AuditRepository;
    return { repo, stored, st };
  }
  const logged: { obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const log: Logger = { ...silentLog, error: (obj: Record<string, unknown>, msg?: string) => void logged.push({ obj, msg }) };
  const make = (repo: AuditRepository) => createAuditRecorder({ repo, clock: createFakeClock(), log, organizationId: () => 'org', flushIntervalMs: 60_000, batchSize: 100, maxQueue: 100_000 });
  const bind = (a: AuditRecorder, username: string, event_type = 'ldap_bind') => a.record({ event_type: event_type as 'ldap_bind', service: 'ldap', success: true, initiated_by: systemActor.actor, username });

  beforeEach(() => void logged.splice(0));

  it('stores the rest of a batch the store refuses, and logs the refused event in full instead of retrying it for ever', async () => {
    const { repo, stored } = failingRepo();
    const a = make(repo);
    for (let i = 0; i < 5; i++) bind(a, `before${i}`);
    bind(a, 'bad', 'poison');
    for (let i = 0; i < 5; i++) bind(a, `after${i}`);
    await a.flush();
    assert.equal(a.pending, 0);
    assert.deepEqual(
      stored.map((e) => e.username),
      [...[0, 1, 2, 3, 4].map((i) => `before${i}`), ...[0, 1, 2, 3, 4].map((i) => `after${i}`)],
    );
    const refused = logged.filter((l) => /refused/.test(l.msg ?? ''));
    assert.equal(refused.length, 1);
    assert.equal((refused[0]!.obj.audit as AuditEvent).username, 'bad');
    // The trail goes on.
    bind(a, 'later');
    await a.flush();
    assert.equal(stored.at(-1)!.username, 'later');
    await a.close();
  });

  it('takes off the queue only what a write stored, when the full queue dropped events meanwhile', async () => {
    const { repo, writes, release } = slowRepo();
    const a = createAuditRecorder({ repo, clock: createFakeClock(), log, organizationId: () => 'org', flushIntervalMs: 60_000, batchSize: 5, maxQueue: 10 });
    for (let i = 0; i < 5; i++) bind(a, `a${i}`);
    const writing = a.flush();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes.map((w) => w.map((e) => e.username)), [['a0', 'a1', 'a2', 'a3', 'a4']]);
    // Meanwhile 8 more: the queue holds 10 at most, so a0–a2 (being written) go to the log.
    for (let i = 0; i < 8; i++) bind(a, `b${i}`);
    assert.equal(logged.filter((l) => /queue full/.test(l.msg ?? '')).length, 3);
    await release();
    assert.equal(a.pending, 8, 'b0–b7 wait: none taken off for the dropped a0–a2');
    // The write goes on with the next full batch, and the flush then takes the rest.
    await release();
    await release();
    await writing;
    assert.equal(a.pending, 0);
    assert.deepEqual(writes.slice(1).map((w) => w.map((e) => e.username)), [['b0', 'b1', 'b2', 'b3', 'b4'], ['b5', 'b6', 'b7']]);
    await a.close();
  });

  it('keeps every event of a batch while the store is unreachable or busy, and writes them once it is back', async () => {
    const { repo, stored, st } = failingRepo();
    const a = make(repo);
    for (const down of [storeUnavailable(), Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY' })]) {
      st.down = down;
      for (let i = 0; i < 3; i++) bind(a, `u${i}`);
      await a.flush();
      assert.equal(a.pending, 3, 'nothing dropped');
      assert.equal(logged.filter((l) => /refused/.test(l.msg ?? '')).length, 0);
      st.down = false;
      await a.flush();
      assert.equal(a.pending, 0);
      assert.deepEqual(stored.splice(0).map((e) => e.username), ['u0', 'u1', 'u2']);
    }
    await a.close();
  });
});
