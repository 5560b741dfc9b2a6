import assert from 'node:assert/strict';
import { ldapServerResource } from '../../../src/core/auth/resources.js';
import type { AuthResource } from '../../../src/core/auth/authenticate.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { allEvents, assertError, createUser, setPasswordPolicy } from './support.js';

const PASSWORD = 'Locksmith-Secret-31';

describe('lockout as seen through the API', function () {
  let run: RunningAppliance;
  let resource: AuthResource;
  // `any`: user JSON as the API returns it.
  let victim: any;
  let bystander: any;

  const fail = (login: string) =>
    run.appliance.core.auth.authenticate({ protocol: 'ldap', login, password: 'wrong', clientIp: '127.0.0.1', resource });
  const getUser = async (id: string) => (await run.api('GET', `/api/systemusers/${id}`)).body;
  const lockedNames = async (value: boolean) => {
    const res = await run.api('GET', `/api/systemusers?filter=account_locked:$eq:${value}&limit=100`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.results.map((u: { username: string }) => u.username) as string[];
  };

  before(async function () {
    run = await startAppliance();
    await setPasswordPolicy(run, { maxLoginAttempts: 3 });
    const servers = await run.api('GET', '/api/v2/ldapservers');
    assert.equal(servers.status, 200, JSON.stringify(servers.body));
    // The REST record carries the id and name the resource policy is built from.
    resource = ldapServerResource(servers.body[0]);
    victim = await createUser(run, { username: 'victim', email: 'victim@example.com', password: PASSWORD });
    bystander = await createUser(run, { username: 'bystander', email: 'bystander@example.com', password: PASSWORD });
    for (const u of [victim, bystander]) {
      const bind = await run.api('POST', `/api/v2/users/${u._id}/associations`, { op: 'add', type: 'ldap_server', id: resource.id });
      assert.equal(bind.status, 204, JSON.stringify(bind.body));
    }
  });

  after(async function () {
    await run?.stop();
  });

  it('shows maxLoginAttempts 3 in the organisation policy', async function () {
    const org = (await run.api('GET', '/api/organizations')).body.results[0];
    assert.equal(org.settings.passwordPolicy.maxLoginAttempts, 3);
    assert.equal(org.settings.passwordPolicy.enableMaxLoginAttempts, true);
  });

  it('lets a bound user authenticate before any failure', async function () {
    const ok = await run.appliance.core.auth.authenticate({ protocol: 'ldap', login: 'victim', password: PASSWORD, clientIp: '127.0.0.1', resource });
    assert.equal(ok.status, 'ok');
  });

  it('does not lock after 2 failures', async function () {
    for (let i = 0; i < 2; i++) assert.equal((await fail('victim')).status, 'invalid');
    const u = await getUser(victim._id);
    assert.equal(u.account_locked, false);
    assert.equal(u.account_locked_date, null);
  });

  it('shows account_locked:true after the 3rd failure', async function () {
    await fail('victim');
    const u = await getUser(victim._id);
    assert.equal(u.account_locked, true);
    assert.ok(Math.abs(Date.parse(u.account_locked_date) - Date.now()) < 60_000, `account_locked_date ${u.account_locked_date}`);
    assert.equal((await getUser(bystander._id)).account_locked, false);
  });

  it('refuses the right password while locked', async function () {
    const r = await run.appliance.core.auth.authenticate({ protocol: 'ldap', login: 'victim', password: PASSWORD, clientIp: '127.0.0.1', resource });
    assert.equal(r.status, 'locked');
  });

  it('lists the user with filter=account_locked:$eq:true, and only it', async function () {
    assert.deepEqual(await lockedNames(true), ['victim']);
    const unlocked = await lockedNames(false);
    assert.ok(unlocked.includes('bystander'), `account_locked:$eq:false lists ${JSON.stringify(unlocked)}, not bystander`);
    assert.ok(!unlocked.includes('victim'), 'account_locked:$eq:false lists the locked user');
  });

  it('POST /unlock clears the lock', async function () {
    const res = await run.api('POST', `/api/systemusers/${victim._id}/unlock`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.account_locked, false);
    assert.equal((await getUser(victim._id)).account_locked, false);
    assert.deepEqual(await lockedNames(true), []);
    const r = await run.appliance.core.auth.authenticate({ protocol: 'ldap', login: 'victim', password: PASSWORD, clientIp: '127.0.0.1', resource });
    assert.equal(r.status, 'ok');
  });

  it('records user_lockout and then user_unlocked in the audit trail', async function () {
    const trail = (await allEvents(run)).filter(
      (e) => e.resource?.id === victim._id && (e.event_type === 'user_lockout' || e.event_type === 'user_unlocked'),
    );
    // Newest first: the unlock, then the lockout.
    assert.deepEqual(
      trail.map((e) => e.event_type),
      ['user_unlocked', 'user_lockout'],
    );
    const [unlocked, lockout] = trail;
    assert.ok(Date.parse(lockout!.timestamp) <= Date.parse(unlocked!.timestamp));
    assert.equal(lockout!.resource.username, 'victim');
    assert.equal(lockout!.resource.type, 'user');
    assert.equal(unlocked!.initiated_by.type, 'admin');
    assert.equal(unlocked!.client_ip, '127.0.0.1');
  });

  it('answers 404 to unlock an unknown user', async function () {
    assertError(await run.api('POST', '/api/systemusers/ffffffffffffffffffffffff/unlock'), 404);
  });
});
