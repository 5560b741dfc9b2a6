/**
 * Authentication pipeline benchmark: the cost every protocol pays per login, without a wire.
 *
 *   npx tsx bench/auth.ts [--users 1000] [--seconds 5] [--concurrency 16] [--db postgres://…]
 *
 * Prints, for first-time verifications (argon2id every time) and for repeated credentials (the
 * verified-credential cache): closed-loop throughput with p50/p99 latency, then an open-loop run at
 * half of the cached throughput with its p50/p99 and the event loop's p99 delay. Tests never assert
 * on time; this script is where the figures come from.
 */
import '../src/util/threadpool.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { createCore } from '../src/core/index.js';
import { createPasswordHasher } from '../src/core/auth/password-hasher.js';
import { createSecretBox } from '../src/core/auth/secret-box.js';
import { ldapServerResource } from '../src/core/auth/resources.js';
import { systemActor } from '../src/core/access/actor.js';
import { systemClock } from '../src/core/ports.js';
import { openStore } from '../src/store/index.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const USERS = Number(arg('users', '1000'));
const SECONDS = Number(arg('seconds', '5'));
const CONCURRENCY = Number(arg('concurrency', '16'));
const DB = arg('db', '');
const PASSWORD = 'Bench-password-42';

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (n: number) => n.toFixed(n < 10 ? 2 : 1);

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const { store } = await openStore({ databaseUrl: DB, dataDir: dir });
  const log = { debug() {}, info() {}, warn() {}, error: (o: object, m?: string) => console.error(m, o) };
  const make = (ttl: number) =>
    createCore({
      store,
      hasher: createPasswordHasher({ memoryKiB: 19456, iterations: 2, parallelism: 1 }),
      secretBox: createSecretBox(randomBytes(32)),
      clock: systemClock,
      log,
      totpIssuer: 'bench',
      credentialCache: { ttlSeconds: ttl, maxEntries: 1_000_000 },
      audit: { flushIntervalMs: 100, batchSize: 500, maxQueue: 1_000_000 },
    });
  const core = make(300);
  await core.bootstrap({ organizationName: 'bench', adminEmail: 'admin@bench.local', adminPassword: 'Quiet-River-Stone-9', apiKey: '' });
  const ldap = (await core.ldapServers.list())[0]!;
  const group = await core.userGroups.create({ name: 'everyone' }, systemActor);
  await core.associations.change({ type: 'user_group', id: group.id }, 'add', { type: 'ldap_server', id: ldap.id }, systemActor);

  // Seed users directly with one precomputed hash: creating them through the API would hash each.
  const hash = await createPasswordHasher({ memoryKiB: 19456, iterations: 2, parallelism: 1 }).hash(PASSWORD);
  let t0 = performance.now();
  for (let i = 0; i < USERS; i += 500) {
    const n = Math.min(500, USERS - i);
    await Promise.all(
      Array.from({ length: n }, (_, k) =>
        core.users.create({ username: `user${String(i + k).padStart(6, '0')}`, email: `user${i + k}@bench.local` }, systemActor, { passwordHash: hash }),
      ),
    );
  }
  const ids = (await core.users.list({ limit: USERS, offset: 0 })).items.map((u) => u.id);
  for (const id of ids) await core.userGroups.changeMember(group.id, 'add', id, systemActor);
  console.log(`seeded ${USERS} users in ${fmt((performance.now() - t0) / 1000)} s (${store.dialect})`);

  const resource = ldapServerResource(ldap);
  const login = (c: ReturnType<typeof make>, i: number) =>
    c.auth.authenticate({ protocol: 'ldap', login: `user${String(i % USERS).padStart(6, '0')}`, password: PASSWORD, clientIp: '127.0.0.1', resource });

  async function closedLoop(label: string, c: ReturnType<typeof make>, seconds: number) {
    const lat: number[] = [];
    let next = 0;
    let failures = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < end) {
          const s = performance.now();
          const r = await login(c, next++);
          lat.push(performance.now() - s);
          if (r.status !== 'ok') failures++;
        }
      }),
    );
    const rate = lat.length / seconds;
    console.log(`${label}: ${fmt(rate)} auth/s, p50 ${fmt(pct(lat, 50))} ms, p99 ${fmt(pct(lat, 99))} ms, ${failures} failures (concurrency ${CONCURRENCY})`);
    return rate;
  }

  async function openLoop(label: string, c: ReturnType<typeof make>, rate: number, seconds: number) {
    const lat: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const interval = 1000 / rate;
    const start = performance.now();
    const pending: Promise<void>[] = [];
    let i = 0;
    while (performance.now() - start < seconds * 1000) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const s = performance.now();
      pending.push(login(c, i++).then(() => void lat.push(performance.now() - s)));
    }
    await Promise.all(pending);
    loop.disable();
    console.log(
      `${label}: offered ${fmt(rate)}/s, served ${fmt(lat.length / seconds)}/s, p50 ${fmt(pct(lat, 50))} ms, p99 ${fmt(pct(lat, 99))} ms, event loop p99 delay ${fmt(loop.percentile(99) / 1e6)} ms`,
    );
  }

  const uncached = make(0);
  await uncached.load();
  const firstRate = await closedLoop('first-time (argon2id every time)', uncached, SECONDS);
  await openLoop('first-time at half load', uncached, firstRate / 2, SECONDS);
  // Warm the cache, then measure repeated credentials.
  t0 = performance.now();
  for (let i = 0; i < USERS; i += CONCURRENCY * 4) await Promise.all(Array.from({ length: Math.min(CONCURRENCY * 4, USERS - i) }, (_, k) => login(core, i + k)));
  console.log(`cache warmed in ${fmt((performance.now() - t0) / 1000)} s`);
  const cachedRate = await closedLoop('repeated (verified-credential cache)', core, SECONDS);
  await openLoop('repeated at half load', core, cachedRate / 2, SECONDS);

  await uncached.close();
  await core.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
