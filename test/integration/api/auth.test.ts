import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError } from './support.js';

describe('REST API authentication and public endpoints', function () {
  let run: RunningAppliance;

  before(async function () {
    run = await startAppliance();
  });

  after(async function () {
    await run?.stop();
  });

  const protectedCalls: { method: string; path: string; body?: unknown }[] = [
    { method: 'GET', path: '/api/systemusers' },
    { method: 'POST', path: '/api/systemusers', body: { username: 'intruder', email: 'intruder@example.com' } },
    { method: 'GET', path: '/api/v2/usergroups' },
    { method: 'GET', path: '/api/organizations' },
    { method: 'GET', path: '/api/radiusservers' },
    { method: 'POST', path: '/insights/directory/v1/events', body: { service: ['all'], start_time: '2000-01-01T00:00:00Z' } },
  ];

  describe('x-api-key', function () {
    for (const call of protectedCalls) {
      it(`answers 401 UNAUTHENTICATED JSON to ${call.method} ${call.path} without a key`, async function () {
        const res = await fetch(run.httpUrl + call.path, {
          method: call.method,
          headers: call.body ? { 'content-type': 'application/json' } : {},
          body: call.body ? JSON.stringify(call.body) : undefined,
        });
        assert.equal(res.status, 401);
        assert.match(res.headers.get('content-type') ?? '', /application\/json/);
        const body = (await res.json()) as { code: unknown; status: unknown; message: unknown };
        assert.equal(body.code, 401);
        assert.equal(body.status, 'UNAUTHENTICATED');
        assert.equal(typeof body.message, 'string');
      });

      it(`answers 401 UNAUTHENTICATED JSON to ${call.method} ${call.path} with a wrong key`, async function () {
        const res = await run.api(call.method, call.path, call.body, { 'x-api-key': 'not-the-key-0123456789abcdefghij' });
        assertError(res, 401);
      });
    }

    it('gives the same answer for a missing and a wrong key', async function () {
      const missing = await fetch(`${run.httpUrl}/api/systemusers`);
      const wrong = await run.api('GET', '/api/systemusers', undefined, { 'x-api-key': 'wrong' });
      assert.deepEqual(await missing.json(), wrong.body);
    });

    it('lets the bootstrap key through', async function () {
      const res = await run.api('GET', '/api/systemusers');
      assert.equal(res.status, 200);
      assert.equal(res.body.totalCount, 0);
    });

    it('creates nothing for an unauthenticated write', async function () {
      await fetch(`${run.httpUrl}/api/systemusers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'wrong' },
        body: JSON.stringify({ username: 'sneaky', email: 'sneaky@example.com' }),
      });
      const res = await run.api('GET', '/api/systemusers?filter=username:$eq:sneaky');
      assert.equal(res.body.totalCount, 0);
    });
  });

  describe('error bodies', function () {
    it('answers an id that is not 24 hex digits with 404, without asking the store, and only after the key check', async function () {
      for (const [method, path] of [
        ['GET', '/api/systemusers/a%00b'],
        ['PUT', '/api/systemusers/not-an-id'],
        ['DELETE', '/api/v2/usergroups/%F0%9F%98%80'],
        ['GET', '/api/radiusservers/FFFFFFFFFFFFFFFFFFFFFFFF'],
      ] as const) {
        const res = await run.api(method, path, method === 'PUT' ? { firstname: 'x' } : undefined);
        assertError(res, 404);
        assert.match(res.body.message, /24 hexadecimal/, `${method} ${path}`);
      }
      const anonymous = await fetch(`${run.httpUrl}/api/systemusers/a%00b`);
      assert.equal(anonymous.status, 401);
    });

    it('answers an unknown route with a 404 JSON error', async function () {
      assertError(await run.api('GET', '/api/v2/nothing-here'), 404);
    });

    it('answers an oversized body with a 413 JSON error', async function () {
      const res = await run.api('POST', '/api/systemusers', { username: 'big', email: 'big@example.com', description: 'x'.repeat(3_000_000) });
      assertError(res, 413);
      assert.equal(res.body.status, 'PAYLOAD_TOO_LARGE');
    });

    it('answers an over-long id with a JSON error in the contract shape {code: <status>, status, message}', async function () {
      const res = await run.api('GET', `/api/systemusers/${'a'.repeat(300)}`);
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
      assertError(res, res.status);
      assert.equal(typeof res.body.status, 'string', JSON.stringify(res.body));
    });
  });

  describe('GET /health', function () {
    it('answers 200 {status:"ok"} without a key', async function () {
      const res = await fetch(`${run.httpUrl}/health`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ok' });
    });
  });

  describe('GET /openapi.json', function () {
    it('is an OpenAPI 3 document listing /api/systemusers', async function () {
      const res = await run.api('GET', '/openapi.json');
      assert.equal(res.status, 200);
      assert.match(String(res.body.openapi), /^3\./);
      assert.equal(typeof res.body.info?.title, 'string');
      const users = res.body.paths?.['/api/systemusers'];
      assert.ok(users, `paths: ${Object.keys(res.body.paths ?? {}).join(', ')}`);
      assert.ok(users.get && users.post, 'GET and POST /api/systemusers are documented');
      assert.ok(res.body.paths['/insights/directory/v1/events']?.post, 'Directory Insights is documented');
    });
  });
});
