import assert from 'node:assert/strict';
import { ldapServerResource } from '../../../src/core/auth/resources.js';
import { startAppliance, TEST_ADMIN_EMAIL, TEST_API_KEY, type RunningAppliance } from '../../helpers/appliance.js';
import {
  allEvents,
  assertError,
  assertNoSecrets,
  createUser,
  HEX24,
  organizationId,
  queryEvents,
  rawApi,
  type InsightsEvent,
} from './support.js';

/**
 * Real JumpCloud Directory Insights events (shared/reference/jumpcloud-di-events.json), without the
 * geoip and useragent blocks. SIEM parsers read these shapes, so Gatehouse's events must carry the
 * same keys with the same JSON types.
 */
const REFERENCE_USER_UPDATE = {
  initiated_by: { id: '5bf6defbdcd8233029e0c599', source: 'scim', type: 'admin', email: 'maurice.moss@sekoia.io' },
  resource: { id: '628cf9c0d6f4831f8192fa8d', type: 'user', username: 'john.wick' },
  changes: [
    { field: 'state', from: 'ACTIVATED', to: 'SUSPENDED' },
    { field: 'suspended', from: false, to: true },
  ],
  auth_method: 'api key',
  event_type: 'user_update',
  correlation: {},
  service: 'directory',
  success: true,
  organization: '641b3db57090821c0b2f8183',
  '@version': '1',
  client_ip: '10.11.12.13',
  id: '64908c2ef675033f5a7a5e1e',
  message_chain: {},
  timestamp: '2023-06-19T17:11:10.381Z',
};

const REFERENCE_ASSOCIATION_CHANGE = {
  initiated_by: { id: '61e536ebdbbe784cb2e55fb5', type: 'admin', email: 'maurice.moss@sekoia.io' },
  association: {
    op: 'add',
    action_source: 'manual',
    connection: {
      from: { name: 'JDOE-DESKTOP', type: 'system', object_id: '6447f8a7caa17d71c56b2dca' },
      to: { name: 'john.doe', type: 'user', object_id: '636b8c40f03d374a5c7f6ceb' },
    },
    attributes: null,
  },
  auth_method: 'session',
  event_type: 'association_change',
  provider: null,
  service: 'directory',
  success: true,
  organization: '641b3db57090821c0b2f8183',
  '@version': '1',
  client_ip: '176.161.221.161',
  id: '64930a6d00466f31842811a1',
  timestamp: '2023-06-21T14:34:21.089Z',
};

/** JumpCloud pipeline bookkeeping and SCIM/session details Gatehouse has no counterpart for. */
const NOT_APPLICABLE = new Set(['@version', 'correlation', 'message_chain', 'provider', 'source']);

/** Asserts that `actual` has every key of `reference` (recursively through objects) with the same JSON type. */
function assertShapedLike(actual: unknown, reference: unknown, path: string): void {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (reference === null) return; // JumpCloud sends null where a value may be absent; any type will do.
  assert.equal(kind(actual), kind(reference), `${path}: ${JSON.stringify(actual)} is not a ${kind(reference)}`);
  if (kind(reference) === 'object') {
    for (const [k, v] of Object.entries(reference as Record<string, unknown>)) {
      if (NOT_APPLICABLE.has(k)) continue;
      assert.ok(k in (actual as Record<string, unknown>), `${path}.${k} is missing`);
      assertShapedLike((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    }
  } else if (kind(reference) === 'array' && (reference as unknown[]).length > 0 && (actual as unknown[]).length > 0) {
    assertShapedLike((actual as unknown[])[0], (reference as unknown[])[0], `${path}[0]`);
  }
}

const ALICE_PASSWORD = 'Insight-Wonderland-1';
const BOB_PASSWORD = 'Insight-Builder-22';
const RADIUS_SECRET = 'radius-shared-secret-for-insights';
const TOTP_SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('Directory Insights: POST /insights/directory/v1/events', function () {
  let run: RunningAppliance;
  let orgId: string;
  let adminId: string;
  let startTime: string;
  let generatedSecret: string;
  // `any`: API JSON of the records the events are about.
  let alice: any;
  let bob: any;
  let devs: any;
  let ldapServer: any;
  let carl: any;
  let kiosk: any;
  let events: InsightsEvent[];

  const ok = async (method: string, path: string, body?: unknown) => {
    const res = await run.api(method, path, body);
    assert.ok(res.status >= 200 && res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const since = (body: Record<string, unknown>) => queryEvents(run, { start_time: startTime, ...body });

  before(async function () {
    run = await startAppliance();
    orgId = await organizationId(run);
    const bootstrap = await allEvents(run);
    adminId = bootstrap.find((e) => e.event_type === 'admin_create')!.resource.id;
    // Everything after the bootstrap events is this file's doing.
    startTime = new Date(Math.max(...bootstrap.map((e) => Date.parse(e.timestamp))) + 1).toISOString();

    alice = await createUser(run, { username: 'alice', email: 'alice@example.com', password: ALICE_PASSWORD });
    bob = await createUser(run, { username: 'bob', email: 'bob@example.com' });
    await ok('PUT', `/api/systemusers/${alice._id}`, { state: 'SUSPENDED' });
    devs = await ok('POST', '/api/v2/usergroups', { name: 'devs' });
    await ok('POST', `/api/v2/usergroups/${devs.id}/members`, { op: 'add', type: 'user', id: alice._id });
    ldapServer = (await ok('GET', '/api/v2/ldapservers'))[0];
    await ok('POST', `/api/v2/usergroups/${devs.id}/associations`, { op: 'add', type: 'ldap_server', id: ldapServer.id });
    await ok('PUT', `/api/organizations/${orgId}`, { settings: { passwordPolicy: { minLength: 10 } } });
    await ok('POST', '/api/radiusservers', { name: 'wifi', networkSourceIp: '10.9.0.0/16', sharedSecret: RADIUS_SECRET });
    generatedSecret = (await ok('POST', '/api/radiusservers', { name: 'vpn', networkSourceIp: '10.8.0.1' })).sharedSecret;
    await ok('PUT', `/api/radiusservers/${(await ok('GET', '/api/radiusservers')).results[0]._id}`, { sharedSecret: `${RADIUS_SECRET}-2` });
    await ok('POST', `/api/systemusers/${bob._id}/totp`, { secret: TOTP_SEED });
    await ok('PUT', `/api/systemusers/${bob._id}`, { password: BOB_PASSWORD });
    carl = await createUser(run, { username: 'carl', email: 'carl@example.com' });
    await ok('DELETE', `/api/systemusers/${carl._id}`);
    await ok('PUT', `/api/v2/usergroups/${devs.id}`, { description: 'Developers' });
    kiosk = await ok('POST', '/api/systems', { displayName: 'kiosk' });
    await ok('PUT', `/api/systems/${kiosk._id}`, { displayName: 'kiosk-lobby' });
    // One protocol event (service ldap), with a wrong password that must not be recorded either.
    await run.appliance.core.auth.authenticate({
      protocol: 'ldap',
      login: 'bob',
      password: 'Wrong-Builder-Password-9',
      clientIp: '127.0.0.1',
      resource: ldapServerResource(ldapServer),
    });
    events = await since({ service: ['all'] });
  });

  after(async function () {
    await run?.stop();
  });

  const ofType = (type: string) => events.filter((e) => e.event_type === type);

  describe('the answer', function () {
    it('is an array, newest first', async function () {
      assert.ok(events.length >= 12, `only ${events.length} events`);
      for (let i = 1; i < events.length; i++) {
        assert.ok(Date.parse(events[i - 1]!.timestamp) >= Date.parse(events[i]!.timestamp), `event ${i} is newer than event ${i - 1}`);
      }
      assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'ids are unique');
    });

    it('gives every event id, event_type, service, timestamp, success, client_ip, initiated_by and organization', async function () {
      for (const e of events) {
        const where = `${e.event_type} ${JSON.stringify(e).slice(0, 300)}`;
        assert.equal(typeof e.id, 'string', where);
        assert.ok(e.id.length > 0, where);
        assert.equal(typeof e.event_type, 'string', where);
        assert.ok(['directory', 'ldap', 'radius', 'sso', 'systems'].includes(e.service), where);
        assert.ok(!Number.isNaN(Date.parse(e.timestamp)), where);
        assert.equal(typeof e.success, 'boolean', where);
        assert.equal(e.client_ip, '127.0.0.1', where);
        assert.equal(typeof e.initiated_by?.type, 'string', where);
        assert.equal(e.organization, orgId, where);
      }
    });

    it('names the admin behind the API key as initiated_by {id, type:"admin", email} on directory events', async function () {
      const directory = events.filter((e) => e.service === 'directory');
      assert.ok(directory.length >= 10);
      for (const e of directory) {
        assert.match(e.initiated_by.id, HEX24, e.event_type);
        assert.equal(e.initiated_by.id, adminId, e.event_type);
        assert.equal(e.initiated_by.type, 'admin', e.event_type);
        assert.equal(e.initiated_by.email, TEST_ADMIN_EMAIL, e.event_type);
      }
    });
  });

  describe('directory events', function () {
    it('records user_create for each new user with resource {id, type:"user", username}', async function () {
      const creates = ofType('user_create');
      assert.deepEqual(
        creates.map((e) => e.resource).sort((a, b) => a.username.localeCompare(b.username)),
        [
          { id: alice._id, type: 'user', username: 'alice' },
          { id: bob._id, type: 'user', username: 'bob' },
          { id: carl._id, type: 'user', username: 'carl' },
        ],
      );
      for (const e of creates) assert.equal(e.success, true);
    });

    it('records a state change as user_update with changes [{field, from, to}]', async function () {
      const update = ofType('user_update').find((e) => e.resource?.id === alice._id);
      assert.ok(update, 'no user_update for alice');
      assert.deepEqual(update.resource, { id: alice._id, type: 'user', username: 'alice' });
      assert.deepEqual(
        update.changes.find((c: { field: string }) => c.field === 'state'),
        { field: 'state', from: 'ACTIVATED', to: 'SUSPENDED' },
      );
      for (const c of update.changes) assert.deepEqual(Object.keys(c).sort(), ['field', 'from', 'to']);
    });

    it('shapes user_update like the JumpCloud reference event', async function () {
      const update = ofType('user_update').find((e) => e.resource?.id === alice._id);
      assertShapedLike(update, REFERENCE_USER_UPDATE, 'user_update');
      assert.equal(update!.auth_method, 'api key');
    });

    it('records a group membership as association_change with op and connection from/to', async function () {
      const change = ofType('association_change').find((e) => JSON.stringify(e.association).includes(alice._id));
      assert.ok(change, 'no association_change for alice');
      assert.equal(change.association.op, 'add');
      const ends = [change.association.connection.from, change.association.connection.to];
      for (const end of ends) assert.deepEqual(Object.keys(end).sort(), ['name', 'object_id', 'type']);
      assert.deepEqual(
        ends.sort((a, b) => a.type.localeCompare(b.type)),
        [
          { name: 'alice', object_id: alice._id, type: 'user' },
          { name: 'devs', object_id: devs.id, type: 'user_group' },
        ],
      );
      assertShapedLike(change, REFERENCE_ASSOCIATION_CHANGE, 'association_change');
    });

    it('records a group ↔ LDAP server binding as association_change', async function () {
      const change = ofType('association_change').find((e) => JSON.stringify(e.association).includes(ldapServer.id));
      assert.ok(change, 'no association_change for the LDAP server');
      assert.equal(change.association.op, 'add');
      const ends = [change.association.connection.from, change.association.connection.to].sort((a, b) => a.type.localeCompare(b.type));
      assert.deepEqual(ends, [
        { name: ldapServer.name, object_id: ldapServer.id, type: 'ldap_server' },
        { name: 'devs', object_id: devs.id, type: 'user_group' },
      ]);
    });

    it('records group_create with the group as resource', async function () {
      const [create] = ofType('group_create');
      assert.ok(create, 'no group_create');
      assert.deepEqual(create.resource, { id: devs.id, type: 'user_group', name: 'devs' });
    });

    it('records user_delete with the user as resource', async function () {
      assert.deepEqual(
        ofType('user_delete').map((e) => e.resource),
        [{ id: carl._id, type: 'user', username: 'carl' }],
      );
    });

    it('records user_password_change for a password set by PUT', async function () {
      const changes = ofType('user_password_change');
      assert.deepEqual(changes.map((e) => e.resource?.id), [bob._id]);
      assert.equal(changes[0]!.success, true);
    });

    it('records group_update with changes', async function () {
      const [update] = ofType('group_update');
      assert.ok(update, 'no group_update');
      assert.equal(update.resource.id, devs.id);
      assert.deepEqual(update.changes, [{ field: 'description', from: '', to: 'Developers' }]);
    });

    it('records system_create and system_update under service systems', async function () {
      const [create] = ofType('system_create');
      const [update] = ofType('system_update');
      assert.ok(create && update, 'system events missing');
      assert.equal(create.service, 'systems');
      assert.equal(create.resource.id, kiosk._id);
      assert.equal(update.service, 'systems');
      assert.deepEqual(update.changes.find((c: { field: string }) => c.field === 'displayName'), { field: 'displayName', from: 'kiosk', to: 'kiosk-lobby' });
    });

    it('records organization_update with the changes', async function () {
      const [update] = ofType('organization_update');
      assert.ok(update, 'no organization_update');
      assert.equal(update.organization, orgId);
      assert.ok(Array.isArray(update.changes) && update.changes.length > 0, JSON.stringify(update.changes));
      assert.match(JSON.stringify(update.changes), /minLength/);
    });
  });

  describe('query parameters', function () {
    it('service:["directory"] keeps only directory events', async function () {
      const directory = await since({ service: ['directory'] });
      assert.ok(directory.length > 0);
      for (const e of directory) assert.equal(e.service, 'directory', e.event_type);
      assert.ok(directory.some((e) => e.event_type === 'user_create'));
      assert.ok(!directory.some((e) => e.event_type === 'ldap_bind'));
    });

    it('service:["ldap"] keeps only the LDAP bind', async function () {
      const ldap = await since({ service: ['ldap'] });
      assert.deepEqual(
        ldap.map((e) => [e.event_type, e.service, e.success]),
        [['ldap_bind', 'ldap', false]],
      );
      assert.equal(ldap[0]!.initiated_by.username, 'bob');
    });

    it('service:["systems"] keeps only the device events', async function () {
      const systems = await since({ service: ['systems'] });
      assert.deepEqual(systems.map((e) => e.event_type), ['system_update', 'system_create']);
    });

    it('service:["directory","ldap"] is the union', async function () {
      const both = await since({ service: ['directory', 'ldap'] });
      const directory = await since({ service: ['directory'] });
      const ldap = await since({ service: ['ldap'] });
      assert.equal(both.length, directory.length + ldap.length);
    });

    it('search_term "alice" finds the events that mention alice', async function () {
      const found = await since({ service: ['all'], search_term: 'alice' });
      assert.ok(found.length >= 3, `found ${found.length}`);
      for (const e of found) assert.match(JSON.stringify(e), /alice/i);
      assert.ok(found.some((e) => e.event_type === 'user_create' && e.resource.username === 'alice'));
      assert.ok(!found.some((e) => e.event_type === 'group_create'));
      assert.ok(!found.some((e) => e.event_type === 'user_create' && e.resource.username === 'bob'));
    });

    it('search_term {and:[{event_type:"user_create"}]} keeps only user_create', async function () {
      const found = await since({ service: ['all'], search_term: { and: [{ event_type: 'user_create' }] } });
      assert.equal(found.length, 3);
      for (const e of found) assert.equal(e.event_type, 'user_create');
    });

    it('search_term {and:[…]} with two terms needs both', async function () {
      const found = await since({ service: ['all'], search_term: { and: [{ event_type: 'user_create' }, { 'resource.username': 'bob' }] } });
      assert.deepEqual(found.map((e) => e.resource.id), [bob._id]);
    });

    it('search_term {or:[…]} takes either', async function () {
      const found = await since({ service: ['all'], search_term: { or: [{ event_type: 'group_create' }, { event_type: 'organization_update' }] } });
      assert.deepEqual(found.map((e) => e.event_type).sort(), ['group_create', 'organization_update']);
    });

    it('limit caps the answer to the newest events', async function () {
      const two = await since({ service: ['all'], limit: 2 });
      assert.deepEqual(two.map((e) => e.id), events.slice(0, 2).map((e) => e.id));
    });

    it('end_time excludes later events', async function () {
      const none = await queryEvents(run, { service: ['all'], start_time: '2000-01-01T00:00:00Z', end_time: '2000-01-02T00:00:00Z' });
      assert.deepEqual(none, []);
    });

    it('refuses a missing start_time with 400 naming it', async function () {
      assertError(await run.api('POST', '/insights/directory/v1/events', { service: ['all'] }), 400, 'start_time');
    });

    it('refuses an unparseable start_time with 400', async function () {
      assertError(await run.api('POST', '/insights/directory/v1/events', { service: ['all'], start_time: 'last tuesday' }), 400, 'start_time');
    });

    it('refuses an unknown service with 400', async function () {
      const res = await run.api('POST', '/insights/directory/v1/events', { service: ['bogus'], start_time: startTime });
      assertError(res, 400);
      assert.match(res.body.field, /^service/);
    });

    it('refuses an empty service list with 400', async function () {
      const res = await run.api('POST', '/insights/directory/v1/events', { service: [], start_time: startTime });
      assertError(res, 400);
      assert.match(res.body.field, /^service/);
    });

    it('refuses a search on an unknown field with 400', async function () {
      const res = await run.api('POST', '/insights/directory/v1/events', { service: ['all'], start_time: startTime, search_term: { and: [{ password: 'x' }] } });
      assertError(res, 400);
      assert.match(res.body.field, /^search_term/);
    });
  });

  describe('secrets', function () {
    it('no event contains a password, a shared secret, a TOTP seed, the API key or a hash', async function () {
      const raw = await rawApi(run, 'POST', '/insights/directory/v1/events', { service: ['all'], start_time: '2000-01-01T00:00:00Z' });
      assert.equal(raw.status, 200);
      assertNoSecrets(
        raw.text,
        [ALICE_PASSWORD, BOB_PASSWORD, 'Wrong-Builder-Password-9', RADIUS_SECRET, generatedSecret, TOTP_SEED, TEST_API_KEY, TOTP_SEED.toLowerCase()],
        'insights events',
      );
    });
  });
});
