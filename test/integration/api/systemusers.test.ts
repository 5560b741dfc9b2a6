import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError, assertNoSecrets, createUser, HEX24, MISSING_ID, rawApi, secretKeys } from './support.js';

const ALICE_PASSWORD = 'Wonderland-Rabbit-77';
const BOB_PASSWORD = 'Builder-Can-Fix-It-8';

/** Every field the contract lists for user JSON. */
const CONTRACT_USER_FIELDS = [
  '_id',
  'username',
  'email',
  'firstname',
  'lastname',
  'displayname',
  'state',
  'activated',
  'account_locked',
  'password_expired',
  'totp_enabled',
  'enable_user_portal_multifactor',
  'ldap_binding_user',
  'unix_uid',
  'unix_guid',
  'mfa',
  'created',
];

describe('systemusers (v1)', function () {
  let run: RunningAppliance;
  // `any`: user JSON as the API returns it; the tests assert its fields.
  let alice: any;
  let bob: any;

  before(async function () {
    run = await startAppliance();
  });

  after(async function () {
    await run?.stop();
  });

  /** Scans one raw reply for passwords, hashes and secret-named keys. */
  const scan = async (method: string, path: string, body: unknown, needles: string[]) => {
    const res = await rawApi(run, method, path, body);
    assertNoSecrets(res.text, needles, `${method} ${path}`);
    if (res.text) assert.deepEqual(secretKeys(JSON.parse(res.text)), [], `${method} ${path}: secret-named keys`);
    return res;
  };

  describe('POST /api/systemusers', function () {
    it('creates a user with a password: 201 with JumpCloud fields, activated', async function () {
      const res = await run.api('POST', '/api/systemusers', {
        username: 'Alice',
        email: 'alice@example.com',
        password: ALICE_PASSWORD,
        firstname: 'Alice',
        lastname: 'Liddell',
        displayname: 'Alice Liddell',
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      alice = res.body;
      for (const f of CONTRACT_USER_FIELDS) assert.ok(f in alice, `user JSON lacks ${f}`);
      assert.match(alice._id, HEX24);
      assert.equal(alice.username, 'alice');
      assert.equal(alice.email, 'alice@example.com');
      assert.equal(alice.firstname, 'Alice');
      assert.equal(alice.lastname, 'Liddell');
      assert.equal(alice.displayname, 'Alice Liddell');
      assert.equal(alice.state, 'ACTIVATED');
      assert.equal(alice.activated, true);
      assert.equal(alice.account_locked, false);
      assert.equal(alice.password_expired, false);
      assert.equal(alice.totp_enabled, false);
      assert.equal(alice.enable_user_portal_multifactor, false);
      assert.equal(alice.ldap_binding_user, false);
      assert.ok(Number.isInteger(alice.unix_uid) && alice.unix_uid >= 5000, `unix_uid ${alice.unix_uid}`);
      assert.ok(Number.isInteger(alice.unix_guid), `unix_guid ${alice.unix_guid}`);
      assert.deepEqual(alice.mfa, { configured: false, exclusion: false, exclusionUntil: null });
      assert.ok(Math.abs(Date.parse(alice.created) - Date.now()) < 60_000, `created ${alice.created}`);
    });

    it('creates a user without a password as not activated', async function () {
      bob = await createUser(run, { username: 'bob', email: 'bob@example.com', ldap_binding_user: true });
      assert.equal(bob.activated, false);
      assert.equal(bob.ldap_binding_user, true);
      assert.match(bob._id, HEX24);
      assert.notEqual(bob._id, alice._id);
    });

    it('allocates a distinct unix_uid of at least 5000 to each user', async function () {
      const carol = await createUser(run, { username: 'carol', email: 'carol@example.com' });
      const uids = [alice.unix_uid, bob.unix_uid, carol.unix_uid];
      for (const uid of uids) assert.ok(uid >= 5000, `uid ${uid}`);
      assert.equal(new Set(uids).size, 3, `uids ${uids.join(', ')}`);
    });

    it('keeps an explicit unix_uid and refuses one already in use', async function () {
      const dora = await createUser(run, { username: 'dora', email: 'dora@example.com', unix_uid: 7100 });
      assert.equal(dora.unix_uid, 7100);
      const clash = await run.api('POST', '/api/systemusers', { username: 'dora2', email: 'dora2@example.com', unix_uid: 7100 });
      assertError(clash, 409, 'unix_uid');
    });

    it('lowercases the username', async function () {
      const res = await run.api('GET', `/api/systemusers/${alice._id}`);
      assert.equal(res.body.username, 'alice');
    });

    it('refuses a duplicate username (in any case) with 409 naming username', async function () {
      const res = await run.api('POST', '/api/systemusers', { username: 'ALICE', email: 'other-alice@example.com' });
      assertError(res, 409, 'username');
      assert.match(res.body.message, /alice/);
    });

    it('refuses a duplicate email (in any case) with 409 naming email', async function () {
      const res = await run.api('POST', '/api/systemusers', { username: 'alice2', email: 'Alice@Example.COM' });
      assertError(res, 409, 'email');
    });

    it('refuses a malformed email with 400 naming email', async function () {
      const res = await run.api('POST', '/api/systemusers', { username: 'eve', email: 'not-an-email' });
      assertError(res, 400, 'email');
    });

    it('refuses a missing username with 400 naming username', async function () {
      const res = await run.api('POST', '/api/systemusers', { email: 'nameless@example.com' });
      assertError(res, 400, 'username');
    });

    const wrongTypes: { body: Record<string, unknown>; field: string }[] = [
      { body: { ldap_binding_user: 'yes' }, field: 'ldap_binding_user' },
      { body: { unix_uid: 'x' }, field: 'unix_uid' },
      { body: { unix_guid: 1.5 }, field: 'unix_guid' },
      { body: { firstname: { first: 'Eve' } }, field: 'firstname' },
      { body: { mfa: { exclusion: 'maybe' } }, field: 'mfa.exclusion' },
      { body: { state: 'DORMANT' }, field: 'state' },
      { body: { firstname: 'Eve\u0000' }, field: 'firstname' },
      // A lone surrogate has no UTF-8 form: PostgreSQL and SQLite would each store something else.
      { body: { lastname: 'Eve\ud800' }, field: 'lastname' },
      { body: { description: '\udc00x' }, field: 'description' },
      // Noncharacters: U+FFFE and U+FFFF are not XML characters, so no assertion could carry them.
      { body: { firstname: 'a\ufffeb' }, field: 'firstname' },
      { body: { lastname: 'x\u{10ffff}' }, field: 'lastname' },
      // JSON carries its types: nothing is converted (null, "false" and 0 are not false).
      { body: { suspended: null }, field: 'suspended' },
      { body: { suspended: 'false' }, field: 'suspended' },
      { body: { password: 123456789012 }, field: 'password' },
      { body: { username: ['eve'] }, field: 'username' },
      { body: { unix_uid: true }, field: 'unix_uid' },
      { body: { firstname: true }, field: 'firstname' },
    ];
    for (const { body, field } of wrongTypes) {
      it(`refuses ${JSON.stringify(body)} with 400 naming ${field}`, async function () {
        const res = await run.api('POST', '/api/systemusers', { username: 'eve', email: 'eve@example.com', ...body });
        assertError(res, 400, field);
        assert.match(res.body.message, new RegExp(field.replace('.', '\\.')));
      });
    }

    it('answers malformed JSON with a 400 JSON error', async function () {
      const res = await run.api('POST', '/api/systemusers', '{"username": "eve",');
      assertError(res, 400);
    });

    it('created none of the refused users', async function () {
      const res = await run.api('GET', '/api/systemusers?filter=username:$eq:eve');
      assert.equal(res.body.totalCount, 0);
    });
  });

  describe('never returns a password, hash or secret', function () {
    it('in create, get, list, update, delete and action replies', async function () {
      const needles = [ALICE_PASSWORD, BOB_PASSWORD];
      const fresh = await scan('POST', '/api/systemusers', { username: 'probe', email: 'probe@example.com', password: 'Scanner-Darkly-55' }, [
        ...needles,
        'Scanner-Darkly-55',
      ]);
      const scanId = JSON.parse(fresh.text)._id as string;
      await scan('GET', `/api/systemusers/${alice._id}`, undefined, needles);
      await scan('GET', '/api/systemusers?limit=100', undefined, [...needles, 'Scanner-Darkly-55']);
      await scan('PUT', `/api/systemusers/${bob._id}`, { password: BOB_PASSWORD }, needles);
      await scan('POST', `/api/systemusers/${bob._id}/expire`, undefined, needles);
      await scan('POST', `/api/systemusers/${bob._id}/unlock`, undefined, needles);
      await scan('DELETE', `/api/systemusers/${scanId}`, undefined, ['Scanner-Darkly-55']);
    });

    it('marks a user activated once a password is set by PUT', async function () {
      const res = await run.api('GET', `/api/systemusers/${bob._id}`);
      assert.equal(res.body.activated, true);
    });
  });

  describe('GET /api/systemusers/{id}', function () {
    it('returns the user', async function () {
      const res = await run.api('GET', `/api/systemusers/${alice._id}`);
      assert.equal(res.status, 200);
      assert.equal(res.body._id, alice._id);
      assert.equal(res.body.email, 'alice@example.com');
      assert.equal(res.body.unix_uid, alice.unix_uid);
    });

    it('answers 404 NOT_FOUND for an unknown id', async function () {
      assertError(await run.api('GET', `/api/systemusers/${MISSING_ID}`), 404);
    });
  });

  describe('PUT /api/systemusers/{id}', function () {
    it('changes only the fields given', async function () {
      const res = await run.api('PUT', `/api/systemusers/${alice._id}`, { firstname: 'Alicia', department: 'Research' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.firstname, 'Alicia');
      assert.equal(res.body.lastname, 'Liddell');
      assert.equal(res.body.email, 'alice@example.com');
      assert.equal(res.body.activated, true);
      assert.equal(res.body.unix_uid, alice.unix_uid);
      const again = await run.api('GET', `/api/systemusers/${alice._id}`);
      assert.equal(again.body.firstname, 'Alicia');
    });

    it('suspends with suspended:true and reactivates with suspended:false', async function () {
      const off = await run.api('PUT', `/api/systemusers/${bob._id}`, { suspended: true });
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.equal(off.body.state, 'SUSPENDED');
      assert.equal((await run.api('GET', `/api/systemusers/${bob._id}`)).body.state, 'SUSPENDED');
      const on = await run.api('PUT', `/api/systemusers/${bob._id}`, { suspended: false });
      assert.equal(on.body.state, 'ACTIVATED');
    });

    it('suspends with state:SUSPENDED', async function () {
      const res = await run.api('PUT', `/api/systemusers/${bob._id}`, { state: 'SUSPENDED' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.state, 'SUSPENDED');
    });

    it('refuses to take another user’s username with 409 and changes nothing', async function () {
      const res = await run.api('PUT', `/api/systemusers/${bob._id}`, { username: 'alice', lastname: 'Taken' });
      assertError(res, 409, 'username');
      const bobNow = await run.api('GET', `/api/systemusers/${bob._id}`);
      assert.equal(bobNow.body.username, 'bob');
      assert.equal(bobNow.body.lastname, '');
    });

    it('refuses a bad email with 400 naming email', async function () {
      assertError(await run.api('PUT', `/api/systemusers/${bob._id}`, { email: 'bob at example' }), 400, 'email');
    });

    it('refuses a unix_uid another user has with 409 naming unix_uid', async function () {
      const res = await run.api('PUT', `/api/systemusers/${bob._id}`, { unix_uid: alice.unix_uid });
      assertError(res, 409, 'unix_uid');
      assert.match(res.body.message, /unix_uid/);
      assert.equal((await run.api('GET', `/api/systemusers/${bob._id}`)).body.unix_uid, bob.unix_uid);
    });

    it('accepts a unix_uid equal to a POSIX group’s gid on POST and PUT alike (uids and gids are separate POSIX namespaces)', async function () {
      const group = await run.api('POST', '/api/v2/usergroups', { name: 'uid-clash', attributes: { posixGroups: [{ name: 'uidclash' }] } });
      assert.equal(group.status, 201, JSON.stringify(group.body));
      const gid = group.body.attributes.posixGroups[0].id as number;
      const created = await run.api('POST', '/api/systemusers', { username: 'clasher', email: 'clasher@example.com', unix_uid: gid });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.unix_uid, gid);
      await run.api('DELETE', `/api/systemusers/${created.body._id}`);
      const res = await run.api('PUT', `/api/systemusers/${bob._id}`, { unix_uid: gid });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.unix_uid, gid);
      await run.api('PUT', `/api/systemusers/${bob._id}`, { unix_uid: bob.unix_uid });
    });

    it('answers 404 for an unknown id', async function () {
      assertError(await run.api('PUT', `/api/systemusers/${MISSING_ID}`, { firstname: 'Ghost' }), 404);
    });
  });

  describe('GET /api/systemusers (list)', function () {
    // Five users in their own department, created in this order (so their uids increase).
    const names = ['lu-anna', 'lu-bert', 'lu-cleo', 'lu-dirk', 'lu-emma'];
    const byName: Record<string, { _id: string; unix_uid: number }> = {};
    const dept = 'filter=department:$eq:qa-list';
    const usernames = (body: { results: { username: string }[] }) => body.results.map((u) => u.username);

    before(async function () {
      for (const n of names) {
        byName[n] = await createUser(run, {
          username: n,
          email: `${n}@example.com`,
          department: 'qa-list',
          firstname: n === 'lu-cleo' ? 'Zebediah' : 'Listed',
          state: n === 'lu-dirk' ? 'SUSPENDED' : 'ACTIVATED',
        });
      }
    });

    it('refuses limit and skip that are not finite numbers (1e309, Infinity) with 400, as it does a JSON 1e309', async function () {
      for (const q of ['limit=1e309', 'skip=1e309', 'limit=Infinity', 'skip=-Infinity']) {
        assertError(await run.api('GET', `/api/systemusers?${q}`), 400, q.split('=')[0]);
      }
      const raw = await fetch(`${run.httpUrl}/api/systemusers`, {
        method: 'POST',
        headers: { 'x-api-key': run.apiKey, 'content-type': 'application/json' },
        body: '{"username":"huge","email":"huge@example.com","unix_uid":1e309}',
      });
      assert.equal(raw.status, 400);
      assert.match(JSON.stringify(await raw.json()), /unix_uid/);
    });

    it('pages with limit and skip and reports totalCount', async function () {
      const res = await run.api('GET', `/api/systemusers?${dept}&sort=username&limit=2&skip=1`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.totalCount, 5);
      assert.deepEqual(usernames(res.body), ['lu-bert', 'lu-cleo']);
    });

    it('answers a skip beyond any page (up to 2^64 and 1e30) with 400, on every list', async function () {
      for (const path of ['/api/systemusers', '/api/v2/usergroups', '/api/applications', '/api/systems', '/api/radiusservers', '/api/v2/systemgroups']) {
        for (const skip of ['99999999999999999999', '1e30', '10000001']) {
          const res = await run.api('GET', `${path}?skip=${skip}`);
          assertError(res, 400);
        }
        assert.equal((await run.api('GET', `${path}?skip=10000000`)).status, 200, `${path}: the largest skip`);
      }
    });

    it('sorts descending with sort=-username', async function () {
      const res = await run.api('GET', `/api/systemusers?${dept}&sort=-username`);
      assert.deepEqual(usernames(res.body), [...names].reverse());
    });

    it('filters username:$eq:ALICE case-insensitively', async function () {
      const res = await run.api('GET', '/api/systemusers?filter=username:$eq:ALICE');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.totalCount, 1);
      assert.deepEqual(usernames(res.body), ['alice']);
    });

    it('filters state:$eq:SUSPENDED', async function () {
      const res = await run.api('GET', '/api/systemusers?filter=state:$eq:SUSPENDED&limit=100');
      assert.ok(res.body.results.length > 0);
      for (const u of res.body.results) assert.equal(u.state, 'SUSPENDED', u.username);
      assert.ok(usernames(res.body).includes('lu-dirk'));
      assert.ok(!usernames(res.body).includes('lu-anna'));
    });

    it('filters unix_uid:$gte:5001', async function () {
      const all = await run.api('GET', '/api/systemusers?limit=1000');
      const expected = all.body.results.filter((u: { unix_uid: number }) => u.unix_uid >= 5001).length;
      assert.ok(expected < all.body.totalCount, 'some user has uid 5000');
      const res = await run.api('GET', '/api/systemusers?filter=unix_uid:$gte:5001&limit=1000');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.totalCount, expected);
      for (const u of res.body.results) assert.ok(u.unix_uid >= 5001, `${u.username} has uid ${u.unix_uid}`);
    });

    it('filters account_locked:$eq:false to every user when nobody is locked', async function () {
      const all = await run.api('GET', '/api/systemusers?limit=1000');
      const res = await run.api('GET', '/api/systemusers?filter=account_locked:$eq:false&limit=1000');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.totalCount, all.body.totalCount, `account_locked:$eq:false lists ${res.body.totalCount} of ${all.body.totalCount} users`);
      const none = await run.api('GET', '/api/systemusers?filter=account_locked:$eq:true');
      assert.equal(none.body.totalCount, 0);
    });

    it('ANDs repeated filter parameters', async function () {
      const suspended = await run.api('GET', `/api/systemusers?${dept}&filter=state:$eq:SUSPENDED`);
      assert.deepEqual(usernames(suspended.body), ['lu-dirk']);
      const fromCleo = await run.api('GET', `/api/systemusers?${dept}&filter=unix_uid:$gte:${byName['lu-cleo']!.unix_uid}&sort=username`);
      assert.deepEqual(usernames(fromCleo.body), ['lu-cleo', 'lu-dirk', 'lu-emma']);
      assert.equal(fromCleo.body.totalCount, 3);
    });

    it('refuses an unknown filter field with 400 naming it', async function () {
      const res = await run.api('GET', '/api/systemusers?filter=shoe_size:$eq:42');
      assertError(res, 400, 'filter');
      assert.match(res.body.message, /shoe_size/);
    });

    it('refuses a filter without an operator with 400', async function () {
      assertError(await run.api('GET', '/api/systemusers?filter=username'), 400, 'filter');
    });

    it('refuses an unknown sort field with 400', async function () {
      assertError(await run.api('GET', '/api/systemusers?sort=-shoe_size'), 400, 'sort');
    });

    it('searches free text with search=', async function () {
      const res = await run.api('GET', '/api/systemusers?search=Zebediah');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(usernames(res.body), ['lu-cleo']);
      const byEmail = await run.api('GET', '/api/systemusers?search=lu-emma%40example');
      assert.deepEqual(usernames(byEmail.body), ['lu-emma']);
      const none = await run.api('GET', '/api/systemusers?search=nobody-has-this');
      assert.equal(none.body.totalCount, 0);
    });

    it('projects with fields=username email', async function () {
      const res = await run.api('GET', `/api/systemusers?${dept}&fields=username%20email&sort=username`);
      assert.equal(res.body.results.length, 5);
      for (const u of res.body.results) {
        assert.deepEqual(Object.keys(u).filter((k) => k !== '_id').sort(), ['email', 'username']);
        assert.equal(u.email, `${u.username}@example.com`);
      }
    });
  });

  describe('unlock, expire and resetmfa', function () {
    // resetmfa takes an optional body; `{}` here keeps these tests about the action itself
    // (the body-less form has its own test below).
    const bodyOf = (action: string) => (action === 'resetmfa' ? {} : undefined);
    for (const action of ['unlock', 'expire', 'resetmfa']) {
      it(`POST /{id}/${action} returns the user`, async function () {
        const res = await run.api('POST', `/api/systemusers/${alice._id}/${action}`, bodyOf(action));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body._id, alice._id);
        assert.equal(res.body.username, 'alice');
      });

      it(`POST /{id}/${action} answers 404 for an unknown id`, async function () {
        assertError(await run.api('POST', `/api/systemusers/${MISSING_ID}/${action}`, bodyOf(action)), 404);
      });
    }

    it('POST /{id}/resetmfa works without a request body (the body is optional)', async function () {
      const res = await run.api('POST', `/api/systemusers/${alice._id}/resetmfa`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body._id, alice._id);
    });

    it('expire sets password_expired', async function () {
      const res = await run.api('GET', `/api/systemusers/${alice._id}`);
      assert.equal(res.body.password_expired, true);
    });

    it('a new password clears password_expired', async function () {
      const res = await run.api('PUT', `/api/systemusers/${alice._id}`, { password: 'Looking-Glass-2024' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.password_expired, false);
    });
  });

  describe('POST /api/systemusers/{id}/totp', function () {
    const SEED = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

    it('provisions a generated seed: 201 {secret, otpauth_uri}, then the user is enrolled', async function () {
      const raw = await rawApi(run, 'POST', `/api/systemusers/${alice._id}/totp`, {});
      assert.equal(raw.status, 201, raw.text);
      const body = JSON.parse(raw.text) as { secret: string; otpauth_uri: string };
      assert.match(body.secret, /^[A-Z2-7]{26,}=*$/);
      assert.match(body.otpauth_uri, /^otpauth:\/\/totp\//);
      assert.equal(new URL(body.otpauth_uri).searchParams.get('secret'), body.secret);
      const user = await rawApi(run, 'GET', `/api/systemusers/${alice._id}`);
      const u = JSON.parse(user.text);
      assert.equal(u.totp_enabled, true);
      assert.equal(u.mfa.configured, true);
      assertNoSecrets(user.text, [body.secret], 'GET after TOTP provisioning');
      assertNoSecrets((await rawApi(run, 'GET', '/api/systemusers?limit=100')).text, [body.secret], 'list after TOTP provisioning');
    });

    it('keeps a supplied base32 seed', async function () {
      const res = await run.api('POST', `/api/systemusers/${bob._id}/totp`, { secret: SEED });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.secret, SEED);
      assert.equal(new URL(res.body.otpauth_uri).searchParams.get('secret'), SEED);
      assert.equal((await run.api('GET', `/api/systemusers/${bob._id}`)).body.totp_enabled, true);
    });

    for (const secret of ['not base32 at all!', 'JBSWY3DP', '0189ABCD0189ABCD0189ABCD0189']) {
      it(`refuses the seed ${JSON.stringify(secret)} with 400 naming secret`, async function () {
        assertError(await run.api('POST', `/api/systemusers/${alice._id}/totp`, { secret }), 400, 'secret');
      });
    }

    it('answers 404 for an unknown user', async function () {
      assertError(await run.api('POST', `/api/systemusers/${MISSING_ID}/totp`, {}), 404);
    });

    it('provisions a generated seed for a POST without a body (the body is optional)', async function () {
      const dora = (await run.api('GET', '/api/systemusers?filter=username:$eq:dora')).body.results[0];
      const res = await run.api('POST', `/api/systemusers/${dora._id}/totp`);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.match(res.body.secret, /^[A-Z2-7]{26,}=*$/);
      // Leave dora as she was, so the totp_enabled filter below sees only alice.
      assert.equal((await run.api('POST', `/api/systemusers/${dora._id}/resetmfa`, {})).status, 200);
    });

    it('resetmfa clears totp_enabled and mfa.configured', async function () {
      const res = await run.api('POST', `/api/systemusers/${bob._id}/resetmfa`, {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.totp_enabled, false);
      assert.equal(res.body.mfa.configured, false);
      assert.equal((await run.api('GET', `/api/systemusers/${bob._id}`)).body.totp_enabled, false);
    });

    it('filters totp_enabled:$eq:true', async function () {
      const res = await run.api('GET', '/api/systemusers?filter=totp_enabled:$eq:true&limit=100');
      assert.deepEqual(res.body.results.map((u: { username: string }) => u.username), ['alice']);
    });
  });

  describe('DELETE /api/systemusers/{id}', function () {
    it('deletes the user and then answers 404', async function () {
      const carol = (await run.api('GET', '/api/systemusers?filter=username:$eq:carol')).body.results[0];
      const res = await run.api('DELETE', `/api/systemusers/${carol._id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body._id, carol._id);
      assertError(await run.api('GET', `/api/systemusers/${carol._id}`), 404);
      assertError(await run.api('DELETE', `/api/systemusers/${carol._id}`), 404);
      assert.equal((await run.api('GET', '/api/systemusers?filter=username:$eq:carol')).body.totalCount, 0);
    });

    it('frees the username for a new user', async function () {
      const again = await createUser(run, { username: 'carol', email: 'carol@example.com' });
      assert.match(again._id, HEX24);
    });

    it('takes an empty body sent as application/json, as JumpCloud SDKs send it (DELETE, bodiless POST)', async function () {
      const u = await createUser(run, { username: 'sdk-user', email: 'sdk-user@example.com' });
      const headers = { 'x-api-key': run.apiKey, 'content-type': 'application/json' };
      const unlock = await fetch(`${run.httpUrl}/api/systemusers/${u._id}/unlock`, { method: 'POST', headers });
      assert.equal(unlock.status, 200, await unlock.text());
      const del = await fetch(`${run.httpUrl}/api/systemusers/${u._id}`, { method: 'DELETE', headers });
      assert.equal(del.status, 200, await del.text());
      // A body that is not JSON, or poisons the prototype, is still refused.
      const bad = await fetch(`${run.httpUrl}/api/systemusers`, { method: 'POST', headers, body: '{"__proto__":{"x":1},"username":"p"}' });
      assert.equal(bad.status, 400);
      const junk = await fetch(`${run.httpUrl}/api/systemusers`, { method: 'POST', headers, body: '{nope' });
      assert.equal(junk.status, 400);
      assert.match(junk.headers.get('content-type') ?? '', /application\/json/);
    });
  });
});
