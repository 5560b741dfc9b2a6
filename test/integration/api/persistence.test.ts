import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { radiusServerResource } from '../../../src/core/auth/resources.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { allEvents, assertError, createUser, organizationId } from './support.js';

const RADIUS_SECRET = 'persistent-shared-secret-0042';

describe('restart persistence', function () {
  let first: RunningAppliance | undefined;
  let second: RunningAppliance | undefined;
  let dataDir: string;
  // `any`: API JSON of the records created before the restart.
  let user: any;
  let group: any;
  let radius: any;
  let orgId: string;

  before(async function () {
    first = await startAppliance({}, { keepData: true });
    dataDir = first.dataDir;
    user = await createUser(first, { username: 'durable', email: 'durable@example.com', password: 'Long-Lasting-Pass-1', ldap_binding_user: true });
    group = (await first.api('POST', '/api/v2/usergroups', { name: 'keepers', attributes: { posixGroups: [{ name: 'keepers' }] } })).body;
    assert.equal((await first.api('POST', `/api/v2/usergroups/${group.id}/members`, { op: 'add', type: 'user', id: user._id })).status, 204);
    const r = await first.api('POST', '/api/radiusservers', { name: 'wifi', networkSourceIp: '10.30.0.0/16', sharedSecret: RADIUS_SECRET, mfa: 'ENABLED' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    radius = r.body;
    assert.equal((await first.api('POST', `/api/v2/usergroups/${group.id}/associations`, { op: 'add', type: 'radius_server', id: radius._id })).status, 204);
    orgId = await organizationId(first);
    const policy = await first.api('PUT', `/api/organizations/${orgId}`, { settings: { passwordPolicy: { minLength: 14, needsSymbolic: true } } });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));
    await first.stop();
    first = undefined;
    second = await startAppliance({}, { dataDir });
  });

  after(async function () {
    await first?.stop();
    await second?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('still accepts the bootstrap API key', async function () {
    const res = await second!.api('GET', '/api/systemusers');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.totalCount, 1);
  });

  it('keeps the organisation and its password policy', async function () {
    const org = (await second!.api('GET', '/api/organizations')).body.results[0];
    assert.equal(org._id, orgId);
    assert.equal(org.settings.passwordPolicy.minLength, 14);
    assert.equal(org.settings.passwordPolicy.needsSymbolic, true);
  });

  it('keeps enforcing the password policy', async function () {
    const res = await second!.api('POST', '/api/systemusers', { username: 'newbie', email: 'newbie@example.com', password: 'Short-1' });
    assertError(res, 400, 'password');
  });

  it('keeps the user with its uid and password', async function () {
    const res = await second!.api('GET', `/api/systemusers/${user._id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.username, 'durable');
    assert.equal(res.body.unix_uid, user.unix_uid);
    assert.equal(res.body.activated, true);
    assert.equal(res.body.ldap_binding_user, true);
    const server = await second!.appliance.core.radiusServers.get(radius._id);
    const auth = await second!.appliance.core.auth.authenticate({
      protocol: 'radius',
      login: 'durable',
      password: 'Long-Lasting-Pass-1',
      clientIp: '10.30.0.1',
      resource: radiusServerResource(server),
    });
    assert.equal(auth.status, 'ok', 'the password set before the restart still authenticates');
  });

  it('keeps the group, its gid and its member', async function () {
    const g = await second!.api('GET', `/api/v2/usergroups/${group.id}`);
    assert.equal(g.status, 200, JSON.stringify(g.body));
    assert.deepEqual(g.body.attributes.posixGroups, group.attributes.posixGroups);
    const members = await second!.api('GET', `/api/v2/usergroups/${group.id}/members`);
    assert.deepEqual(members.body.map((m: { to: { id: string } }) => m.to.id), [user._id]);
    const memberOf = await second!.api('GET', `/api/v2/users/${user._id}/memberof`);
    assert.deepEqual(memberOf.body.map((m: { id: string }) => m.id), [group.id]);
  });

  it('keeps the RADIUS server, its association and its sealed secret', async function () {
    const r = await second!.api('GET', `/api/radiusservers/${radius._id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.name, 'wifi');
    assert.equal(r.body.networkSourceIp, '10.30.0.0/16');
    assert.equal(r.body.mfa, 'ENABLED');
    const edges = await second!.api('GET', `/api/v2/radiusservers/${radius._id}/associations`);
    assert.deepEqual(edges.body.map((e: { to: { id: string; type: string } }) => `${e.to.type}:${e.to.id}`), [`user_group:${group.id}`]);
    // The secret key lives in the data dir: the sealed secret must still open after a restart.
    assert.equal(await second!.appliance.core.radiusServers.sharedSecret(radius._id), RADIUS_SECRET);
  });

  it('keeps the audit trail', async function () {
    const events = await allEvents(second!);
    assert.ok(events.some((e) => e.event_type === 'user_create' && e.resource?.id === user._id));
    assert.ok(events.some((e) => e.event_type === 'organization_update'));
  });

  it('does not hand out a used POSIX id again', async function () {
    const fresh = await createUser(second!, { username: 'fresh', email: 'fresh@example.com' });
    assert.notEqual(fresh.unix_uid, user.unix_uid);
    assert.notEqual(fresh.unix_uid, group.attributes.posixGroups[0].id);
  });
});
