import assert from 'node:assert/strict';
import type { Client } from 'ldapts';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { requireBinary } from '../../helpers/binaries.js';
import { STANDARD_GROUPS, STANDARD_USERS, asUser, client, failsWith, lastLdapEventId, ldapEvents, ldapsearch, ok, resultCode, seedDirectory, type Directory } from './support.js';

/**
 * Answers kept as bytes (src/ldap/search-answers.ts): a repeated search is answered without running
 * it again, and never with an answer the directory no longer gives (a change, a suspension, another
 * searcher). Driven by ldapts and ldapsearch.
 */
describe('LDAP kept answers to repeated searches', function () {
  this.timeout(60_000);
  let run: RunningAppliance;
  let dir: Directory;
  const open: Client[] = [];
  /** Searches that reached the directory view (were not answered from kept bytes). */
  let ran = 0;

  const bindAs = async (username: string) => {
    const c = client(dir);
    open.push(c);
    await c.bind(dir.users[username]!.dn, dir.users[username]!.password);
    return c;
  };
  const find = async (c: Client, uid: string, attributes = ['uid', 'mail', 'memberOf']) =>
    (await c.search(dir.base, { scope: 'sub', filter: `(&(objectClass=inetOrgPerson)(uid=${uid}))`, attributes })).searchEntries;
  /** Asks twice (an answer is kept the first time while there is room, else the second); the entries of the second. */
  const findKept = async (c: Client, uid: string) => {
    const first = await find(c, uid);
    const second = await find(c, uid);
    assert.deepEqual(second, first);
    return second;
  };
  const setUser = (username: string, body: Record<string, unknown>) => ok(run.api('PUT', `/api/systemusers/${dir.users[username]!.id}`, body), 200, `update ${username}`);

  before(async () => {
    run = await startAppliance();
    dir = await seedDirectory(
      run,
      [...STANDARD_USERS, { username: 'keeper', password: 'Kept-Answer-31x', firstname: 'Keep', lastname: 'Er', uidNumber: 7030, ldapBindingUser: true, bound: true }],
      STANDARD_GROUPS,
    );
    const view = run.appliance.core.ldapDirectory;
    const users = view.users.bind(view);
    view.users = (...args) => {
      ran++;
      return users(...args);
    };
    const groups = view.groups.bind(view);
    view.groups = (...args) => {
      ran++;
      return groups(...args);
    };
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.unbind().catch(() => undefined)));
  });

  after(async () => run?.stop());

  it('answers a repeated search without running it, the same entries each time, with an audit event each time', async () => {
    const c = await bindAs('binder');
    const since = await lastLdapEventId(run);
    const first = await find(c, 'alice');
    assert.equal(first.length, 1);
    assert.equal(first[0]!.dn, dir.users.alice!.dn);
    // The answer is kept (at once while there is room, else the second time: search-answers.ts).
    assert.deepEqual(await find(c, 'alice'), first);
    const ranFirst = ran;
    for (let i = 0; i < 5; i++) assert.deepEqual(await find(c, 'alice'), first, `search ${i + 3}`);
    assert.equal(ran, ranFirst, 'the repeats were answered from the kept answer');
    // Another connection of the same account gets it too (its own message IDs, ldapts checks them).
    const other = await bindAs('binder');
    assert.deepEqual(await find(other, 'alice'), first);
    assert.equal(ran, ranFirst);
    // A different request is a different answer.
    assert.deepEqual((await find(c, 'alice', ['uid'])).map((e) => e.uid), ['alice']);
    assert.ok(ran > ranFirst, 'another attribute list ran');

    const evs = await ldapEvents(run, since, (e) => e.filter((x) => x.event_type === 'ldap_search').length >= 9);
    const searches = evs.filter((e) => e.event_type === 'ldap_search');
    assert.equal(searches.length, 9, 'one event per search, kept or not');
    for (const e of searches.slice(0, 8)) {
      assert.equal(e.success, true);
      assert.equal(e.number_of_results, 1);
      assert.equal(e.filter, '(&(objectClass=inetOrgPerson)(uid=alice))');
      assert.equal(e.scope, 'sub');
      assert.equal(e.base, dir.base);
      assert.deepEqual(e.attributes, ['uid', 'mail', 'memberOf']);
      assert.equal(e.username, 'binder');
      assert.equal(e.dn, dir.users.binder!.dn);
    }
  });

  it('shows a change made through the API at the next search', async () => {
    const c = await bindAs('binder');
    assert.deepEqual((await findKept(c, 'bob')).map((e) => e.mail), ['bob@example.com']);
    await setUser('bob', { email: 'robert@example.com' });
    assert.deepEqual((await find(c, 'bob')).map((e) => e.mail), ['robert@example.com']);
    // A membership change is one too (memberOf).
    const plain = dir.groups.plain!;
    const memberOf = async () => [(await find(c, 'alice'))[0]!.memberOf].flat().map(String).sort();
    assert.deepEqual(await memberOf(), [plain.dn, dir.groups.staff!.dn].sort());
    await ok(run.api('POST', `/api/v2/usergroups/${plain.id}/members`, { op: 'remove', type: 'user', id: dir.users.alice!.id }), 204, 'remove alice from plain');
    try {
      assert.deepEqual(await memberOf(), [dir.groups.staff!.dn]);
    } finally {
      await ok(run.api('POST', `/api/v2/usergroups/${plain.id}/members`, { op: 'add', type: 'user', id: dir.users.alice!.id }), 204, 'add alice to plain');
    }
    assert.deepEqual(await memberOf(), [plain.dn, dir.groups.staff!.dn].sort());
  });

  it('stops showing a suspended user at once', async () => {
    const c = await bindAs('binder');
    assert.equal((await findKept(c, 'dave')).length, 1);
    await setUser('dave', { state: 'SUSPENDED' });
    try {
      assert.equal((await find(c, 'dave')).length, 0);
    } finally {
      await setUser('dave', { state: 'ACTIVATED' });
    }
    assert.equal((await find(c, 'dave')).length, 1);
  });

  it("does not give one searcher's kept answer to another who may see less", async () => {
    // dave is no bind account: he sees his own entry only, whatever was kept for binder. His
    // identity is checked (and kept) by a first search, so that the next could be answered from
    // kept bytes.
    const dave = await bindAs('dave');
    assert.equal((await find(dave, 'dave')).length, 1);
    const binder = await bindAs('binder');
    assert.equal((await findKept(binder, 'alice')).length, 1);
    assert.equal((await find(dave, 'alice')).length, 0);
    assert.equal((await find(dave, 'alice')).length, 0);
    assert.equal((await find(binder, 'alice')).length, 1);
  });

  it('does not answer a connection whose bind account was suspended since it bound', async () => {
    const c = await bindAs('keeper');
    assert.equal((await findKept(c, 'alice')).length, 1);
    await setUser('keeper', { state: 'SUSPENDED' });
    try {
      // The connection goes on as anonymous, which may read the Root DSE only (50).
      await failsWith(find(c, 'alice'), 50);
    } finally {
      await setUser('keeper', { state: 'ACTIVATED' });
    }
  });

  it('answers a repeated group search from the kept answer, and shows a membership change at the next', async () => {
    const c = await bindAs('binder');
    const groupsOf = async (username: string) =>
      (await c.search(dir.base, { scope: 'sub', filter: `(&(objectClass=groupOfNames)(member=${dir.users[username]!.dn}))`, attributes: ['cn'] })).searchEntries.map((e) => String(e.cn)).sort();
    assert.deepEqual(await groupsOf('bob'), ['staff']);
    assert.deepEqual(await groupsOf('bob'), ['staff']);
    const before = ran;
    for (let i = 0; i < 3; i++) assert.deepEqual(await groupsOf('bob'), ['staff']);
    assert.equal(ran, before, 'answered from the kept answer');
    const plain = dir.groups.plain!;
    await ok(run.api('POST', `/api/v2/usergroups/${plain.id}/members`, { op: 'add', type: 'user', id: dir.users.bob!.id }), 204, 'add bob to plain');
    try {
      assert.deepEqual(await groupsOf('bob'), ['plain', 'staff']);
    } finally {
      await ok(run.api('POST', `/api/v2/usergroups/${plain.id}/members`, { op: 'remove', type: 'user', id: dir.users.bob!.id }), 204, 'remove bob from plain');
    }
  });

  it('keeps no answer that is not a success (ldapsearch -z 1: size limit exceeded)', async function () {
    requireBinary(this, 'ldapsearch', 'ldap-utils');
    const before = ran;
    for (let i = 0; i < 3; i++) {
      const r = await ldapsearch(dir, asUser(dir, 'binder'), ['-z', '1', '-b', dir.base, '(objectClass=inetOrgPerson)', 'uid']);
      assert.equal(r.code, 4, `sizeLimitExceeded: ${r.stderr}`);
      assert.equal(r.entries.length, 1);
    }
    assert.ok(ran - before >= 3, `each search ran: ${ran - before} directory reads`);
  });

  it('keeps no answer to a search with controls (a paged search moves on each page)', async () => {
    const c = await bindAs('binder');
    const before = ran;
    for (let i = 0; i < 3; i++) {
      const r = await c.search(dir.base, { scope: 'sub', filter: '(uid=alice)', attributes: ['uid'], paged: { pageSize: 10 } });
      assert.equal(r.searchEntries.length, 1);
    }
    assert.equal(ran - before, 3, 'each paged search ran');
  });

  it('gives ldapsearch the same entries from a kept answer, and the new ones after a change', async function () {
    requireBinary(this, 'ldapsearch', 'ldap-utils');
    const args = ['-b', dir.base, '(&(objectClass=posixAccount)(uid=alice))', 'uid', 'mail', 'cn', 'memberOf', 'uidNumber'];
    const first = await ldapsearch(dir, asUser(dir, 'binder'), args);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.entries.length, 1);
    assert.equal((await ldapsearch(dir, asUser(dir, 'binder'), args)).stdout, first.stdout);
    const ranFirst = ran;
    const again = await ldapsearch(dir, asUser(dir, 'binder'), args);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, first.stdout, 'the same LDIF');
    assert.equal(ran, ranFirst, 'answered from the kept answer');
    await setUser('alice', { lastname: 'Smith' });
    try {
      const changed = await ldapsearch(dir, asUser(dir, 'binder'), args);
      assert.equal(changed.code, 0, changed.stderr);
      assert.deepEqual(changed.entries[0]!.attrs.cn, ['Alice Smith']);
    } finally {
      await setUser('alice', { lastname: 'Öztürk' });
    }
  });
});

describe('LDAP kept answers and the operation timeout', function () {
  this.timeout(30_000);
  let run: RunningAppliance;
  let dir: Directory;

  before(async () => {
    // Reads kept for long enough that the stall below does not outlast them.
    run = await startAppliance({ ldap: { port: 0, ldapsPort: 0, operationTimeoutSeconds: 1 }, auth: { revalidateSeconds: 30 } });
    dir = await seedDirectory(run, STANDARD_USERS.filter((u) => ['binder', 'dave'].includes(u.username)), []);
  });

  after(async () => run?.stop());

  it('keeps no answer of a search that timed out (the client was told timeLimitExceeded)', async () => {
    const view = run.appliance.core.ldapDirectory;
    const users = view.users.bind(view);
    const groups = view.groups.bind(view);
    let slow = false;
    let ran = 0;
    let finished: Promise<void> = Promise.resolve();
    view.users = (...args) => {
      ran++;
      return users(...args);
    };
    // The groups are read last: a store stall there, past the operation timeout, and the search
    // itself then finishes with success after the client was answered.
    view.groups = async (...args) => {
      const page = await groups(...args);
      if (slow) {
        let done!: () => void;
        finished = new Promise((r) => (done = r));
        await new Promise((r) => setTimeout(r, 1_500));
        setTimeout(done, 200);
      }
      return page;
    };
    const c = client(dir);
    try {
      await c.bind(dir.users.binder!.dn, dir.users.binder!.password);
      const find = () => c.search(dir.base, { scope: 'sub', filter: '(|(uid=dave)(cn=no-such-group))', attributes: ['uid'] });
      // Asked for the first time (an answer is kept at once while there is room).
      slow = true;
      assert.equal(await resultCode(find()), 3, 'timeLimitExceeded');
      await finished;
      slow = false;
      const before = ran;
      assert.equal((await find()).searchEntries.length, 1);
      assert.ok(ran > before, 'the search ran: the answer of the timed-out one was not kept');
    } finally {
      view.users = users;
      view.groups = groups;
      await c.unbind().catch(() => undefined);
    }
  });
});
