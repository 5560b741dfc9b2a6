import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
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
