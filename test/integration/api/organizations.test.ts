import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError, createUser, HEX24, MISSING_ID, organizationId } from './support.js';

/** JumpCloud's password policy keys the contract names, with their enable flags. */
const POLICY_KEYS = [
  'minLength',
  'enableMinLength',
  'needsUppercase',
  'needsLowercase',
  'needsNumeric',
  'needsSymbolic',
  'allowUsernameSubstring',
  'maxHistory',
  'enableMaxHistory',
  'passwordExpirationInDays',
  'enablePasswordExpirationInDays',
  'maxLoginAttempts',
  'enableMaxLoginAttempts',
  'lockoutTimeInSeconds',
  'enableLockoutTimeInSeconds',
  'resetLockoutCounterMinutes',
  'enableResetLockoutCounter',
];

describe('organizations and the password policy', function () {
  let run: RunningAppliance;
  let orgId: string;

  before(async function () {
    run = await startAppliance();
    orgId = await organizationId(run);
  });

  after(async function () {
    await run?.stop();
  });

  const putPolicy = (policy: Record<string, unknown>) => run.api('PUT', `/api/organizations/${orgId}`, { settings: { passwordPolicy: policy } });
  const policyNow = async () => (await run.api('GET', '/api/organizations')).body.results[0].settings.passwordPolicy;

  it('merges a settings change into the stored settings, not into a cached copy: a change made a moment before through another instance is kept', async function () {
    await putPolicy({ maxLoginAttempts: 5, minLength: 8 });
    await run.api('GET', '/api/organizations'); // this instance has the organisation cached now
    // Another instance sharing the database changes the lockout threshold (written to the store
    // directly: this instance's cache does not hear of it).
    const store = run.appliance.store;
    const org = (await store.repos.organizations.get())!;
    await store.repos.organizations.update(org.id, { settings: { ...org.settings, passwordPolicy: { ...org.settings.passwordPolicy, maxLoginAttempts: 3 } } });
    const since = new Date(Date.now() - 1000).toISOString();
    const r = await putPolicy({ minLength: 10 });
    assert.equal(r.status, 200);
    const now = await policyNow();
    assert.equal(now.minLength, 10);
    assert.equal(now.maxLoginAttempts, 3, 'the other change is kept');
    await run.appliance.core.audit.flush();
    const ev = (await run.api('POST', '/insights/directory/v1/events', { service: ['directory'], start_time: since, search_term: { and: [{ event_type: 'organization_update' }] } })).body;
    type PolicyChange = { field: string; from: { minLength: number; maxLoginAttempts: number }; to: { minLength: number; maxLoginAttempts: number } };
    const mine = (ev as { changes: PolicyChange[] }[]).flatMap((e) => e.changes).find((c) => c.field === 'passwordPolicy' && c.to.minLength === 10);
    assert.ok(mine, 'organization_update recorded');
    assert.deepEqual([mine.from.maxLoginAttempts, mine.to.maxLoginAttempts], [3, 3], 'the audit trail shows the stored threshold, untouched');
  });

  describe('GET /api/organizations', function () {
    it('lists the one organisation with its password policy under JumpCloud keys', async function () {
      const res = await run.api('GET', '/api/organizations');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.totalCount, 1);
      assert.equal(res.body.results.length, 1);
      const org = res.body.results[0];
      assert.match(org._id, HEX24);
      assert.equal(typeof org.displayName, 'string');
      assert.ok(org.displayName.length > 0);
      for (const k of POLICY_KEYS) assert.ok(k in org.settings.passwordPolicy, `passwordPolicy lacks ${k}`);
      assert.ok(Number.isInteger(org.settings.passwordPolicy.minLength));
      assert.equal(typeof org.settings.passwordPolicy.needsUppercase, 'boolean');
    });
  });

  describe('PUT /api/organizations/{id}', function () {
    it('sets minLength 12, needsUppercase and needsNumeric and keeps the other keys', async function () {
      const before = await policyNow();
      const res = await putPolicy({ minLength: 12, needsUppercase: true, needsNumeric: true });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const p = res.body.settings.passwordPolicy;
      assert.equal(p.minLength, 12);
      assert.equal(p.needsUppercase, true);
      assert.equal(p.needsNumeric, true);
      assert.equal(p.needsSymbolic, before.needsSymbolic);
      assert.equal(p.maxLoginAttempts, before.maxLoginAttempts);
      assert.deepEqual(await policyNow(), p);
    });

    it('refuses a password breaking several rules with 400 on field password naming every rule', async function () {
      const res = await run.api('POST', '/api/systemusers', { username: 'shorty', email: 'shorty@example.com', password: 'short' });
      assertError(res, 400, 'password');
      assert.match(res.body.message, /12/, `minLength not named: ${res.body.message}`);
      assert.match(res.body.message, /upper/i, `needsUppercase not named: ${res.body.message}`);
      assert.match(res.body.message, /digit|numer|number/i, `needsNumeric not named: ${res.body.message}`);
      assert.equal((await run.api('GET', '/api/systemusers?filter=username:$eq:shorty')).body.totalCount, 0);
    });

    it('names only the rules a password breaks', async function () {
      const res = await run.api('POST', '/api/systemusers', { username: 'shorty', email: 'shorty@example.com', password: 'Short1' });
      assertError(res, 400, 'password');
      assert.match(res.body.message, /12/);
      assert.doesNotMatch(res.body.message, /upper/i);
      assert.doesNotMatch(res.body.message, /digit|numer/i);
    });

    it('accepts a compliant password with 201', async function () {
      const u = await createUser(run, { username: 'shorty', email: 'shorty@example.com', password: 'Compliant-Pass-2024' });
      assert.equal(u.activated, true);
    });

    it('applies the policy to a password set by PUT', async function () {
      const u = (await run.api('GET', '/api/systemusers?filter=username:$eq:shorty')).body.results[0];
      assertError(await run.api('PUT', `/api/systemusers/${u._id}`, { password: 'nouppercase-123' }), 400, 'password');
    });

    const badValues: { policy: Record<string, unknown>; field: string }[] = [
      { policy: { minLength: -1 }, field: 'settings.passwordPolicy.minLength' },
      { policy: { minLength: 'x' }, field: 'settings.passwordPolicy.minLength' },
      { policy: { minLength: 8.5 }, field: 'settings.passwordPolicy.minLength' },
      { policy: { needsUppercase: 'yes' }, field: 'settings.passwordPolicy.needsUppercase' },
      { policy: { favouriteColour: 'blue' }, field: 'settings.passwordPolicy.favouriteColour' },
    ];
    for (const { policy, field } of badValues) {
      it(`refuses ${JSON.stringify(policy)} with 400 naming ${field} and changes nothing`, async function () {
        const before = await policyNow();
        const res = await putPolicy({ needsSymbolic: !before.needsSymbolic, ...policy });
        assertError(res, 400, field);
        assert.deepEqual(await policyNow(), before);
      });
    }

    it('refuses a passwordPolicy that is not an object with 400', async function () {
      assertError(await putPolicy(['minLength'] as unknown as Record<string, unknown>), 400, 'settings.passwordPolicy');
    });

    it('answers 404 for another organisation id', async function () {
      assertError(await run.api('PUT', `/api/organizations/${MISSING_ID}`, { settings: { passwordPolicy: { minLength: 10 } } }), 404);
    });

    it('renames the organisation with displayName', async function () {
      const res = await run.api('PUT', `/api/organizations/${orgId}`, { displayName: 'Example Corp' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await run.api('GET', '/api/organizations')).body.results[0].displayName, 'Example Corp');
    });
  });

  describe('maxHistory', function () {
    // `any`: user JSON as the API returns it.
    let hist: any;

    before(async function () {
      const res = await putPolicy({ enableMaxHistory: true, maxHistory: 2 });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      hist = await createUser(run, { username: 'hist', email: 'hist@example.com', password: 'First-Password-01' });
      const second = await run.api('PUT', `/api/systemusers/${hist._id}`, { password: 'Second-Password-02' });
      assert.equal(second.status, 200, JSON.stringify(second.body));
    });

    it('refuses the previous password on PUT with 400 naming password', async function () {
      const res = await run.api('PUT', `/api/systemusers/${hist._id}`, { password: 'First-Password-01' });
      assertError(res, 400, 'password');
      assert.match(res.body.message, /2|history|previous|last/i);
    });

    it('refuses the current password on PUT', async function () {
      assertError(await run.api('PUT', `/api/systemusers/${hist._id}`, { password: 'Second-Password-02' }), 400, 'password');
    });

    it('accepts a new password', async function () {
      const res = await run.api('PUT', `/api/systemusers/${hist._id}`, { password: 'Third-Password-03' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    });
  });

  describe('allowUsernameSubstring', function () {
    it('refuses a password containing the username when false', async function () {
      assert.equal((await putPolicy({ allowUsernameSubstring: false })).status, 200);
      const res = await run.api('POST', '/api/systemusers', { username: 'mallory', email: 'mallory@example.com', password: 'Xx-MALLORY-Pass-9' });
      assertError(res, 400, 'password');
      assert.match(res.body.message, /username/i);
      assert.equal((await run.api('GET', '/api/systemusers?filter=username:$eq:mallory')).body.totalCount, 0);
    });

    it('refuses it on PUT as well', async function () {
      const m = await createUser(run, { username: 'mallory', email: 'mallory@example.com', password: 'Honest-Password-9' });
      assertError(await run.api('PUT', `/api/systemusers/${m._id}`, { password: 'Mallory-Is-Here-9' }), 400, 'password');
    });

    it('accepts it when true', async function () {
      assert.equal((await putPolicy({ allowUsernameSubstring: true })).status, 200);
      await createUser(run, { username: 'trudy', email: 'trudy@example.com', password: 'Trudy-Pass-2024!' });
    });
  });
});
