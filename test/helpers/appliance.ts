import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAppliance, type Appliance, type Endpoints } from '../../src/appliance.js';
import { loadConfig } from '../../src/config/load.js';
import type { Clock } from '../../src/core/ports.js';
import { createLogger } from '../../src/logger.js';
import { emptyPostgresDatabase } from './test-store.js';

export const TEST_API_KEY = 'test-api-key-0123456789abcdefghij';
export const TEST_ADMIN_EMAIL = 'admin@example.com';
export const TEST_ADMIN_PASSWORD = 'correct-horse-battery-7';

export interface RunningAppliance {
  appliance: Appliance;
  /** Ports actually bound (LDAP and RADIUS appear once their adapters run). */
  endpoints: Endpoints;
  httpUrl: string;
  /** UDP ports of the RADIUS listeners on 127.0.0.1 (authentication, accounting). */
  radiusPort: number;
  radiusAccountingPort: number;
  apiKey: string;
  dataDir: string;
  /** fetch against the appliance with the API key and JSON body handling. */
  // `any`: tests assert JSON bodies field by field; typing every response shape here would only restate the schemas.
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

/**
 * The whole appliance in-process on loopback with free ports and a fresh temporary data dir
 * (SQLite by default; pass `databaseUrl` for PostgreSQL).
 */
export async function startAppliance(
  overrides: Record<string, unknown> = {},
  opts: { clock?: Clock; dataDir?: string; keepData?: boolean; tlsCheckIntervalMs?: number } = {},
): Promise<RunningAppliance> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const defaults: Record<string, unknown> = {
    dataDir: join(dataDir, 'data'),
    certsDir: join(dataDir, 'certs'),
    bindAddress: '127.0.0.1',
    logLevel: 'silent',
    http: { port: 0 },
    ldap: { port: 0, ldapsPort: 0 },
    radius: { port: 0, accountingPort: 0 },
    audit: { flushIntervalMs: 10 },
    bootstrap: { apiKey: TEST_API_KEY, adminEmail: TEST_ADMIN_EMAIL, adminPassword: TEST_ADMIN_PASSWORD },
  };
  // Section overrides merge into the defaults (`{ ldap: { requireTls: true } }` keeps port 0).
  const merged: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(overrides)) {
    const d = defaults[k];
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) && d && typeof d === 'object' ? { ...d, ...v } : v;
  }
  // Opt-in: every appliance of the run on a PostgreSQL database of its own (tests that read the
  // SQLite file directly do not apply then).
  let dropDatabase: (() => Promise<void>) | undefined;
  if (process.env.GATEHOUSE_TEST_APPLIANCE_STORE === 'postgres' && merged.databaseUrl === undefined) {
    const db = await emptyPostgresDatabase();
    merged.databaseUrl = db.url;
    dropDatabase = db.drop;
  }
  const config = loadConfig({ env: {}, overrides: merged });
  const appliance = await createAppliance(config, { clock: opts.clock, tlsCheckIntervalMs: opts.tlsCheckIntervalMs, logger: createLogger(process.env.GATEHOUSE_TEST_LOG_LEVEL ?? 'silent') });
  const endpoints = await appliance.start();
  const httpUrl = `http://127.0.0.1:${endpoints.http.port}`;
  return {
    appliance,
    endpoints,
    httpUrl,
    radiusPort: endpoints.radius?.port ?? 0,
    radiusAccountingPort: endpoints.radius?.accountingPort ?? 0,
    apiKey: TEST_API_KEY,
    dataDir,
    async api(method, path, body, headers = {}) {
      const res = await fetch(httpUrl + path, {
        method,
        headers: {
          'x-api-key': TEST_API_KEY,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON: keep the text */
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async stop() {
      await appliance.stop();
      await dropDatabase?.();
      if (!opts.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
