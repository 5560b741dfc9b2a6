import assert from 'node:assert/strict';
import type { RunningAppliance } from '../../helpers/appliance.js';

/**
 * Shared pieces of the REST API integration tests: raw requests for secret scans, JumpCloud error assertions and Directory Insights queries.
 */

export type ApiResponse = Awaited<ReturnType<RunningAppliance['api']>>;

export const HEX24 = /^[0-9a-f]{24}$/;

/** A well-formed object id that names nothing. */
export const MISSING_ID = 'ffffffffffffffffffffffff';

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
};

/** Asserts a JumpCloud error body `{ code, status, message[, field] }` with the given HTTP status. */
export function assertError(res: ApiResponse, code: number, field?: string): void {
  const detail = JSON.stringify(res.body);
  assert.equal(res.status, code, `expected ${code}, got ${res.status}: ${detail}`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.equal(typeof res.body, 'object', `error body is not JSON: ${detail}`);
  assert.equal(res.body.code, code, detail);
  const name = STATUS_NAMES[code];
  if (name) assert.equal(res.body.status, name, detail);
  assert.equal(typeof res.body.message, 'string', detail);
  assert.ok(res.body.message.length > 0, detail);
  assert.doesNotMatch(res.body.message, /\n\s+at /, `stack trace in error message: ${detail}`);
  if (field !== undefined) assert.equal(res.body.field, field, `expected field ${field}: ${detail}`);
}

/** A request whose reply is returned as raw text, for scanning it for secrets. */
export async function rawApi(run: RunningAppliance, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(run.httpUrl + path, {
    method,
    headers: { 'x-api-key': run.apiKey, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** Asserts that none of `needles` (passwords, secrets) nor an argon2 hash appears in `text`. */
export function assertNoSecrets(text: string, needles: string[], where: string): void {
  assert.ok(!text.includes('$argon2'), `${where}: contains an argon2 hash`);
  for (const n of needles) assert.ok(!text.includes(n), `${where}: contains the secret ${JSON.stringify(n)}`);
}

/** Keys anywhere in a JSON value that name a password, hash or secret (status fields such as password_expired are fine). */
export function secretKeys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => secretKeys(v, `${path}[${i}]`));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
    const here = path ? `${path}.${k}` : k;
    const bad = /hash|secret|salt/i.test(k) || /^(password|pass|pwd|credentials?)$/i.test(k);
    return [...(bad ? [here] : []), ...secretKeys(v, here)];
  });
}

/** A Directory Insights event as the API returns it. */
// `any`: events are open-ended JumpCloud objects; tests read their fields one by one.
export type InsightsEvent = Record<string, any>;

/** `POST /insights/directory/v1/events`, asserting 200 and an array. */
export async function queryEvents(run: RunningAppliance, body: Record<string, unknown>): Promise<InsightsEvent[]> {
  const res = await run.api('POST', '/insights/directory/v1/events', body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.ok(Array.isArray(res.body), 'events answer is not an array');
  return res.body as InsightsEvent[];
}

/** Every event since the epoch, newest first. */
export function allEvents(run: RunningAppliance): Promise<InsightsEvent[]> {
  return queryEvents(run, { service: ['all'], start_time: '2000-01-01T00:00:00Z' });
}

/** Creates a user over the API and returns its JSON, asserting 201. */
// `any`: the user JSON as the API returns it; callers assert its fields.
export async function createUser(run: RunningAppliance, fields: Record<string, unknown>): Promise<any> {
  const res = await run.api('POST', '/api/systemusers', fields);
  assert.equal(res.status, 201, `creating ${JSON.stringify(fields.username)}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The organisation id from `GET /api/organizations`. */
export async function organizationId(run: RunningAppliance): Promise<string> {
  const res = await run.api('GET', '/api/organizations');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.results[0]._id as string;
}

/** Sets password policy keys (JumpCloud names) on the organisation, asserting 200. */
export async function setPasswordPolicy(run: RunningAppliance, policy: Record<string, unknown>): Promise<void> {
  const id = await organizationId(run);
  const res = await run.api('PUT', `/api/organizations/${id}`, { settings: { passwordPolicy: policy } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}
