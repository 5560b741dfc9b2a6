/**
 * The appliance as a RADIUS benchmark target: a fresh data dir, N users `user00000…` with one
 * precomputed argon2id hash (bench/auth.ts pattern), all members of a group bound to a RADIUS
 * server for 127.0.0.1. Prints `KEY=VALUE` lines once ready, then serves until SIGTERM/SIGINT.
 *
 *   npx tsx bench/radius-server.ts --users 1000 --secret S [--dist] [--password P] [--cache-ttl 300] [--db URL] [--no-warm] [--loop-slices] [--dup-seconds N] [--heap-sampling FILE]
 *
 * Unless --no-warm (or a cache TTL of 0), every user authenticates once in-process before READY, so
 * that the load measures repeated credentials (the verified-credential cache), not argon2id.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

/**
 * The appliance's modules: with --dist the built ones (`npm run build`), which is what `node
 * dist/main.js` runs; otherwise the sources through tsx, whose transform (esbuild's keepNames
 * wrappers on every function, closures included) costs: radclient at 1k users, 5 alternations of
 * two runs, 10,864 req/s from the sources against 12,337 built (0.098 / 0.087 ms CPU per request).
 */
const LIB = process.argv.includes('--dist') ? '../dist' : '../src';
await import(`${LIB}/util/threadpool.js`);
const { createAppliance } = (await import(`${LIB}/appliance.js`)) as typeof import('../src/appliance.js');
const { loadConfig } = (await import(`${LIB}/config/load.js`)) as typeof import('../src/config/load.js');
const { systemActor } = (await import(`${LIB}/core/access/actor.js`)) as typeof import('../src/core/access/actor.js');
const { createPasswordHasher } = (await import(`${LIB}/core/auth/password-hasher.js`)) as typeof import('../src/core/auth/password-hasher.js');
const { radiusServerResource } = (await import(`${LIB}/core/auth/resources.js`)) as typeof import('../src/core/auth/resources.js');
const { createLogger } = (await import(`${LIB}/logger.js`)) as typeof import('../src/logger.js');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const USERS = Number(arg('users', '1000'));
const SECRET = arg('secret', 'bench-radius-secret-0123456789');
const PASSWORD = arg('password', 'Passw0rd!');
const CACHE_TTL = Number(arg('cache-ttl', '300'));
const DB = arg('db', '');
/** Write a CPU profile of the serving phase (not the seeding) to this file on stop. */
const PROFILE = arg('profile', '');
const WARM = !process.argv.includes('--no-warm') && CACHE_TTL > 0;
/** radius.duplicateCacheSeconds (default: the config's), to measure what the duplicate cache costs. */
const DUP_SECONDS = arg('dup-seconds', '');

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-radius-bench-'));
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: join(dir, 'data'),
      certsDir: join(dir, 'certs'),
      databaseUrl: DB,
      bindAddress: '127.0.0.1',
      logLevel: 'error',
      http: { port: 0 },
      ldap: { port: 0, ldapsPort: 0 },
      radius: { port: 0, accountingPort: 0, ...(DUP_SECONDS ? { duplicateCacheSeconds: Number(DUP_SECONDS) } : {}) },
      auth: { credentialCacheTtlSeconds: CACHE_TTL, credentialCacheMaxEntries: 1_000_000 },
      bootstrap: { adminEmail: 'admin@bench.local', adminPassword: 'Quiet-River-Stone-9' },
    },
  });
  const gh = await createAppliance(config, { logger: createLogger('error') });
  const core = gh.core;
  const t0 = performance.now();
  const { server } = await core.radiusServers.create({ name: 'bench-nas', networkSourceIp: '127.0.0.1', sharedSecret: SECRET }, systemActor);
  const group = await core.userGroups.create({ name: 'radius-users' }, systemActor);
  await core.associations.change({ type: 'user_group', id: group.id }, 'add', { type: 'radius_server', id: server.id }, systemActor);
  // One precomputed hash for everyone: creating users through the API would hash each password.
  const hash = await createPasswordHasher({ memoryKiB: 19456, iterations: 2, parallelism: 1 }).hash(PASSWORD);
  for (let i = 0; i < USERS; i += 500) {
    const n = Math.min(500, USERS - i);
    const users = await Promise.all(
      Array.from({ length: n }, (_, k) =>
        core.users.create({ username: `user${String(i + k).padStart(5, '0')}`, email: `user${i + k}@bench.local` }, systemActor, { passwordHash: hash }),
      ),
    );
    await Promise.all(users.map((u) => core.userGroups.changeMember(group.id, 'add', u.id, systemActor)));
  }
  const seeded = (performance.now() - t0) / 1000;
  let warmed = 0;
  if (WARM) {
    const t1 = performance.now();
    const resource = radiusServerResource(server);
    const everyone = async () => {
      for (let i = 0; i < USERS; i += 64) {
        await Promise.all(
          Array.from({ length: Math.min(64, USERS - i) }, (_, k) =>
            core.auth.authenticate({ protocol: 'radius', login: `user${String(i + k).padStart(5, '0')}`, password: PASSWORD, clientIp: '127.0.0.1', resource }),
          ),
        );
      }
    };
    await everyone();
    // Again once auth.revalidateSeconds has passed: the account reads of the first pass predate the
    // instance's first look at the directory version, so each is read once more (the steady state
    // keeps them while the version stands); without this, a short measurement at 10k users would
    // time that one-off pass instead.
    await new Promise((r) => setTimeout(r, config.auth.revalidateSeconds * 1000 + 500));
    await everyone();
    warmed = (performance.now() - t1) / 1000;
  }
  const endpoints = await gh.start();
  console.log(`GATEHOUSE_RADIUS_PORT=${endpoints.radius!.port}`);
  console.log(`GATEHOUSE_PID=${process.pid}`);
  console.log(`GATEHOUSE_SEED_SECONDS=${seeded.toFixed(1)}`);
  console.log(`GATEHOUSE_DIALECT=${gh.store.dialect}`);
  console.log(`GATEHOUSE_WARM_SECONDS=${warmed.toFixed(1)}`);
  let session: Session | null = null;
  if (PROFILE) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  // --heap-sampling FILE: V8's sampling heap profile of the serving phase, including objects that
  // were promoted and then collected by a full GC (what feeds the old generation's collections).
  const HEAP = arg('heap-sampling', '');
  let heapSession: Session | null = null;
  if (HEAP) {
    heapSession = new Session();
    heapSession.connect();
    await heapSession.post('HeapProfiler.enable');
    // `as never`: V8 takes these two flags, which @types/node's protocol typings do not list yet.
    await heapSession.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false } as never);
  }
  // Event-loop delay while serving: a stall here is a latency spike for every request in flight.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  // --loop-slices: the event loop's worst delay per 250 ms, to line up with the load's slow slices.
  if (process.argv.includes('--loop-slices')) {
    const slice = monitorEventLoopDelay({ resolution: 1 });
    slice.enable();
    setInterval(() => {
      const u = process.cpuUsage();
      console.error(`loop-slice t=${(performance.now() / 1000).toFixed(2)} max_ms=${(slice.max / 1e6).toFixed(1)} cpu_ms=${((u.user + u.system) / 1000).toFixed(0)}`);
      slice.reset();
    }, 250).unref();
  }
  console.log('GATEHOUSE_READY=1');

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const s = gh.radius.stats();
    console.error(`gatehouse radius stats: ${JSON.stringify(s)}`);
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    console.error(`gatehouse event-loop delay ms: p50 ${ms(loopDelay.percentile(50))} p99 ${ms(loopDelay.percentile(99))} max ${ms(loopDelay.max)}`);
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(PROFILE, JSON.stringify(profile));
    }
    if (heapSession) {
      const { profile } = await heapSession.post('HeapProfiler.stopSampling');
      writeFileSync(HEAP, JSON.stringify(profile));
    }
    await gh.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
