/**
 * Audit append benchmark: what storing the trail costs per event, without a protocol around it.
 *
 *   npx tsx bench/audit.ts [--events 60000] [--batch 500] [--users 10000] [--db postgres://…]
 *
 * Appends RADIUS-shaped events (one per authentication, as the recorder batches them) to a fresh
 * store and prints the process's CPU per event (all threads: on SQLite the insert runs on the
 * thread pool), the event loop's busy time per event, wall time, and bytes written per event (WAL
 * and checkpoints, from /proc/self/io). Tests never assert on time; this script is where the
 * figures come from.
 */
import '../src/util/threadpool.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { AuditEvent } from '../src/core/audit/event.js';
import { openStore } from '../src/store/index.js';
import { newId } from '../src/util/ids.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const EVENTS = Number(arg('events', '60000'));
const BATCH = Number(arg('batch', '500'));
const USERS = Number(arg('users', '10000'));
const DB = arg('db', '');

/** Bytes this process has written so far (Linux). */
const written = () => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);

/** A radius_auth_attempt event as the pipeline records it, for one of USERS users. */
function event(i: number): AuditEvent {
  const n = String(i % USERS).padStart(5, '0');
  const username = `user${n}`;
  return {
    event_type: 'radius_auth_attempt',
    service: 'radius',
    success: true,
    client_ip: '127.0.0.1',
    initiated_by: { id: `64f0c0ffee00000000${n.padStart(6, '0')}`, type: 'user', username },
    username,
    mfa: false,
    resource: { id: '64f0aaaabbbbccccddddeeee', type: 'radius_server', name: 'bench' },
    auth_type: 'pap',
    nas_mfa_state: 'DISABLED',
    id: newId(),
    timestamp: new Date().toISOString(),
    organization: '64f0aaaabbbbccccddddffff',
  } as AuditEvent;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-bench-'));
  const { store } = await openStore({ databaseUrl: DB, dataDir: dir });
  try {
    // The events are built before the clock starts: what is measured is the append alone.
    const batches: AuditEvent[][] = [];
    for (let i = 0; i < EVENTS; i += BATCH) batches.push(Array.from({ length: Math.min(BATCH, EVENTS - i) }, (_, j) => event(i + j)));
    const w0 = written();
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    for (const b of batches) await store.repos.audit.append(b);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    const per = (x: number) => (x / EVENTS).toFixed(1);
    console.log(
      `audit append (${store.dialect}): ${EVENTS} events in batches of ${BATCH}, ${USERS} users: ` +
        `CPU ${per(cpu.user + cpu.system)} µs/event, event loop busy ${per(elu.active * 1000)} µs/event, ` +
        `wall ${per(wall * 1000)} µs/event, written ${((written() - w0) / EVENTS).toFixed(0)} B/event`,
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
