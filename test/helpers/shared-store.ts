import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppliance, type RunningAppliance } from './appliance.js';
import { emptyPostgresDatabase, storeTargets, TEST_DATABASE_URL_ENV } from './test-store.js';

/** Instances on one PostgreSQL database and one data dir, as behind a load balancer. */
export interface SharedStore {
  /** Starts one more instance on the same database and data dir. */
  start(): Promise<RunningAppliance>;
  /** Stops every instance started (the latest first), drops the database and removes the data dir. */
  stop(): Promise<void>;
}

/**
 * A fresh PostgreSQL database and data dir for several instances: they share the store, and the
 * secret key (which seals shared secrets and TOTP seeds) and TLS pair of the data dir. SQLite is one
 * process's file, so without GATEHOUSE_TEST_DATABASE_URL (CI sets it) the calling hook is skipped.
 */
export async function sharedStore(ctx: Mocha.Context, settings: Record<string, unknown>): Promise<SharedStore> {
  if (!storeTargets().includes('postgres')) {
    console.log(`      (skipped: ${TEST_DATABASE_URL_ENV} is not set; CI sets it)`);
    ctx.skip();
  }
  const db = await emptyPostgresDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const started: RunningAppliance[] = [];
  return {
    async start() {
      const run = await startAppliance({ ...settings, databaseUrl: db.url }, { dataDir, keepData: true });
      started.push(run);
      return run;
    },
    async stop() {
      for (const run of started.reverse()) await run.stop();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
