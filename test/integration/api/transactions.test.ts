import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { allEvents, assertError, createUser, organizationId, type InsightsEvent } from './support.js';

describe('transactions and concurrency through the API', function () {
  let run: RunningAppliance;

  before(async function () {
    run = await startAppliance();
  });

  after(async function () {
    await run?.stop();
  });

  const count = async (filter: string) => {
    const res = await run.api('GET', `/api/systemusers?filter=${filter}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.totalCount as number;
  };
  const mentions = (events: InsightsEvent[], text: string) => events.filter((e) => JSON.stringify(e).includes(text));

  describe('a failing request writes nothing', function () {
    // `any`: user JSON as the API returns it.
    let keeper: any;

    before(async function () {
      keeper = await createUser(run, { username: 'keeper', email: 'keeper@example.com', firstname: 'Kept' });
    });

    it('leaves no user and no audit event behind a create refused for a bad email', async function () {
      const eventsBefore = (await allEvents(run)).length;
      assertError(await run.api('POST', '/api/systemusers', { username: 'ghost', email: 'ghost-at-example', password: 'Ghostly-Pass-123' }), 400, 'email');
      assert.equal(await count('username:$eq:ghost'), 0);
      const events = await allEvents(run);
      assert.equal(events.length, eventsBefore);
      assert.deepEqual(mentions(events, 'ghost'), []);
    });

    it('leaves nothing behind a create refused as a duplicate inside the transaction', async function () {
      const eventsBefore = (await allEvents(run)).length;
      assertError(await run.api('POST', '/api/systemusers', { username: 'ghost', email: 'KEEPER@example.com' }), 409, 'email');
      assertError(await run.api('POST', '/api/systemusers', { username: 'ghost', email: 'ghost@example.com', unix_uid: keeper.unix_uid }), 409, 'unix_uid');
      assert.equal(await count('username:$eq:ghost'), 0);
      assert.equal((await allEvents(run)).length, eventsBefore);
    });

    it('applies no part of a refused update', async function () {
      await createUser(run, { username: 'other', email: 'other@example.com' });
      assertError(await run.api('PUT', `/api/systemusers/${keeper._id}`, { firstname: 'Changed', email: 'bad email' }), 400, 'email');
      assertError(await run.api('PUT', `/api/systemusers/${keeper._id}`, { firstname: 'Changed', username: 'other' }), 409, 'username');
      assertError(await run.api('PUT', `/api/systemusers/${keeper._id}`, { firstname: 'Changed', password: 'x' }), 400, 'password');
      const now = (await run.api('GET', `/api/systemusers/${keeper._id}`)).body;
      assert.equal(now.firstname, 'Kept');
      assert.equal(now.username, 'keeper');
      assert.equal(now.activated, false);
      const updates = (await allEvents(run)).filter((e) => e.event_type === 'user_update' && e.resource?.id === keeper._id);
      assert.deepEqual(updates, []);
    });

    it('applies no part of a refused organisation update', async function () {
      const id = await organizationId(run);
      const before = (await run.api('GET', '/api/organizations')).body.results[0];
      const res = await run.api('PUT', `/api/organizations/${id}`, { displayName: 'Renamed', settings: { passwordPolicy: { needsSymbolic: true, minLength: -1 } } });
      assertError(res, 400, 'settings.passwordPolicy.minLength');
      assert.deepEqual((await run.api('GET', '/api/organizations')).body.results[0], before);
      assert.deepEqual((await allEvents(run)).filter((e) => e.event_type === 'organization_update'), []);
    });

    it('leaves no group behind a create refused for a bad RADIUS attribute', async function () {
      const res = await run.api('POST', '/api/v2/usergroups', {
        name: 'ghosts',
        attributes: { posixGroups: [{ name: 'ghosts' }], radius: { reply: [{ name: 'Bad Attribute', value: '1' }] } },
      });
      assertError(res, 400);
      const groups = await run.api('GET', '/api/v2/usergroups');
      assert.deepEqual(groups.body, []);
      assert.deepEqual(mentions(await allEvents(run), 'ghosts'), []);
    });
  });

  describe('concurrent requests', function () {
    it('creates 30 users at once, all 201 with distinct unix_uid', async function () {
      this.timeout(30_000);
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          run.api('POST', '/api/systemusers', {
            username: `burst-${i}`,
            email: `burst-${i}@example.com`,
            department: 'burst',
            // Half with a password, so hashing interleaves with the transactions.
            ...(i % 2 === 0 ? { password: `Concurrent-Pass-${i}-xyz` } : {}),
          }),
        ),
      );
      const failures = replies.filter((r) => r.status !== 201).map((r) => `${r.status} ${JSON.stringify(r.body)}`);
      assert.deepEqual(failures, []);
      const uids = replies.map((r) => r.body.unix_uid as number);
      assert.equal(new Set(uids).size, 30, `uids: ${uids.join(', ')}`);
      for (const uid of uids) assert.ok(uid >= 5000);
      assert.equal(await count('department:$eq:burst'), 30);
      const listed = await run.api('GET', '/api/systemusers?filter=department:$eq:burst&limit=100');
      assert.deepEqual(listed.body.results.map((u: { unix_uid: number }) => u.unix_uid).sort(), [...uids].sort());
      const creates = (await allEvents(run)).filter((e) => e.event_type === 'user_create' && String(e.resource?.username).startsWith('burst-'));
      assert.equal(creates.length, 30);
    });

    it('hands out distinct POSIX ids to users and POSIX groups created at the same time', async function () {
      this.timeout(30_000);
      const replies = await Promise.all([
        ...Array.from({ length: 10 }, (_, i) => run.api('POST', '/api/systemusers', { username: `mix-${i}`, email: `mix-${i}@example.com` })),
        ...Array.from({ length: 10 }, (_, i) => run.api('POST', '/api/v2/usergroups', { name: `mix-group-${i}`, attributes: { posixGroups: [{ name: `mixg${i}` }] } })),
      ]);
      const failures = replies.filter((r) => r.status !== 201).map((r) => `${r.status} ${JSON.stringify(r.body)}`);
      assert.deepEqual(failures, []);
      const ids = replies.map((r) => (r.body.unix_uid ?? r.body.attributes.posixGroups[0].id) as number);
      assert.equal(new Set(ids).size, 20, `ids: ${ids.join(', ')}`);
    });

    it('lets exactly one of 10 racing creations of the same username win', async function () {
      this.timeout(30_000);
      const replies = await Promise.all(
        Array.from({ length: 10 }, (_, i) => run.api('POST', '/api/systemusers', { username: 'racer', email: `racer-${i}@example.com` })),
      );
      const statuses = replies.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, ...Array<number>(9).fill(409)], JSON.stringify(replies.map((r) => r.body)));
      assert.equal(await count('username:$eq:racer'), 1);
    });

    it('keeps one membership when the same member is added 10 times at once', async function () {
      const group = await run.api('POST', '/api/v2/usergroups', { name: 'crowd' });
      const user = (await run.api('GET', '/api/systemusers?filter=username:$eq:keeper')).body.results[0];
      const replies = await Promise.all(
        Array.from({ length: 10 }, () => run.api('POST', `/api/v2/usergroups/${group.body.id}/members`, { op: 'add', type: 'user', id: user._id })),
      );
      assert.deepEqual(replies.map((r) => r.status), Array<number>(10).fill(204), JSON.stringify(replies.map((r) => r.body)));
      const members = await run.api('GET', `/api/v2/usergroups/${group.body.id}/members`);
      assert.equal(members.body.length, 1);
      const adds = (await allEvents(run)).filter((e) => e.event_type === 'association_change' && JSON.stringify(e).includes(group.body.id));
      assert.equal(adds.length, 1, 'one association_change for one membership');
    });
  });
});
