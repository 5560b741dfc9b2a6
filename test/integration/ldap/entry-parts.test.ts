import assert from 'node:assert/strict';
import type { Client } from 'ldapts';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { requireBinary } from '../../helpers/binaries.js';
import { STANDARD_GROUPS, STANDARD_USERS, asUser, client, ldapsearch, seedDirectory, type Directory } from './support.js';

/**
 * A user's group names (memberOf) and a group's member list (member, memberUid) are each a store
 * read of their own: a search reads them only when it may return them (ldap-directory.ts,
 * EntryParts), and a search that asks for them afterwards still gets them. Driven by ldapts and
 * ldapsearch, with the store's reads counted.
 */
describe('LDAP searches read group names and member lists only when asked for', function () {
  this.timeout(60_000);
  let run: RunningAppliance;
  let dir: Directory;
  let c: Client;
  const reads = { groupNames: 0, members: 0 };

  before(async () => {
    // Nothing kept: every search reaches the store, so that the reads can be counted.
    run = await startAppliance({ auth: { revalidateSeconds: 0 } });
    dir = await seedDirectory(run, STANDARD_USERS, STANDARD_GROUPS);
    const users = run.appliance.store.repos.users;
    const withGroupNames = users.queryWithGroupNames.bind(users);
    users.queryWithGroupNames = (...args) => {
      reads.groupNames++;
      return withGroupNames(...args);
    };
    const membersOf = users.membersOf.bind(users);
    users.membersOf = (...args) => {
      reads.members++;
      return membersOf(...args);
    };
    c = client(dir);
    await c.bind(dir.users.binder!.dn, dir.users.binder!.password);
  });

  after(async () => {
    await c?.unbind().catch(() => undefined);
    await run?.stop();
  });

  const find = async (filter: string, attributes: string[]) => {
    const before = { ...reads };
    const { searchEntries } = await c.search(dir.base, { scope: 'sub', filter, attributes });
    return { entries: searchEntries, groupNames: reads.groupNames - before.groupNames, members: reads.members - before.members };
  };
  const staff = () => `cn=staff,${dir.usersBase}`;

  it('finds a user without reading its groups when memberOf is not asked for, then shows them when it is', async () => {
    const plain = await find('(uid=alice)', ['uid', 'uidNumber']);
    assert.deepEqual(plain.entries.map((e) => e.uid), ['alice']);
    assert.equal(plain.entries[0]!.memberOf, undefined);
    assert.equal(plain.groupNames, 0, 'no group names read');
    // The same filter again, now with memberOf: not the page read without them.
    for (const attributes of [['uid', 'memberOf'], ['MEMBEROF'], ['*'], []]) {
      const asked = await find('(uid=alice)', attributes);
      assert.ok(asked.groupNames > 0, `${JSON.stringify(attributes)}: group names read`);
      assert.deepEqual([asked.entries[0]!.memberOf].flat().map(String).sort(), [`cn=plain,${dir.usersBase}`, staff()], JSON.stringify(attributes));
    }
    assert.equal((await find('(uid=alice)', ['1.1'])).groupNames, 0, '1.1 asks for no attribute');
    assert.equal((await find('(uid=alice)', ['+'])).groupNames, 0, 'memberOf is a user attribute, not an operational one');
  });

  it('finds a group without reading its members when member and memberUid are not asked for, then shows them when they are', async () => {
    const plain = await find('(&(objectClass=groupOfNames)(member=' + dir.users.bob!.dn + '))', ['cn', 'gidNumber']);
    assert.deepEqual(plain.entries.map((e) => e.cn), ['staff']);
    assert.equal(plain.entries[0]!.member, undefined);
    assert.equal(plain.members, 0, 'no member list read');
    const asked = await find('(&(objectClass=groupOfNames)(member=' + dir.users.bob!.dn + '))', ['cn', 'member']);
    assert.ok(asked.members > 0);
    assert.deepEqual([asked.entries[0]!.member].flat().map(String).sort(), [dir.users.alice!.dn, dir.users.bob!.dn].sort());
    const uids = await find('(cn=staff)', ['memberUid']);
    assert.ok(uids.members > 0);
    assert.deepEqual([uids.entries[0]!.memberUid].flat().map(String).sort(), ['alice', 'bob']);
    // Types only still tells which attributes the entry has.
    const types = await c.search(dir.base, { scope: 'sub', filter: '(cn=staff)', attributes: ['member'], returnAttributeValues: false });
    assert.ok('member' in types.searchEntries[0]!, 'typesOnly lists member');
  });

  it('checks that the base entry of a base search exists without reading its groups or members', async () => {
    const before = { ...reads };
    const user = await c.search(dir.users.alice!.dn, { scope: 'base', attributes: ['uid'] });
    assert.deepEqual(user.searchEntries.map((e) => e.uid), ['alice']);
    const group = await c.search(staff(), { scope: 'base', attributes: ['cn'] });
    assert.deepEqual(group.searchEntries.map((e) => e.cn), ['staff']);
    assert.deepEqual({ groupNames: reads.groupNames - before.groupNames, members: reads.members - before.members }, { groupNames: 0, members: 0 });
    const members = await c.search(staff(), { scope: 'base', attributes: ['member'] });
    assert.deepEqual([members.searchEntries[0]!.member].flat().map(String).sort(), [dir.users.alice!.dn, dir.users.bob!.dn].sort());
    const groupsOf = await c.search(dir.users.alice!.dn, { scope: 'base', attributes: ['memberOf'] });
    assert.deepEqual([groupsOf.searchEntries[0]!.memberOf].flat().map(String).sort(), [`cn=plain,${dir.usersBase}`, staff()]);
  });

  it('ldapsearch: a paged search of uid alone reads no group names; with memberOf, every entry has its groups', async function () {
    requireBinary(this, 'ldapsearch', 'ldap-utils');
    const before = reads.groupNames;
    const plain = await ldapsearch(dir, asUser(dir, 'binder'), ['-b', dir.base, '-E', 'pr=2/noprompt', '(objectClass=inetOrgPerson)', 'uid']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.ok(plain.entries.some((e) => e.attrs.uid?.includes('alice')), plain.stdout);
    assert.doesNotMatch(plain.stdout, /memberOf/i);
    assert.equal(reads.groupNames, before);
    const asked = await ldapsearch(dir, asUser(dir, 'binder'), ['-b', dir.base, '-E', 'pr=2/noprompt', '(objectClass=inetOrgPerson)', 'memberOf']);
    assert.equal(asked.code, 0, asked.stderr);
    assert.match(asked.stdout, new RegExp(`^memberOf: ${staff()}$`, 'mi'));
  });
});

describe('LDAP pages kept without group names are not given to a search that asks for them', function () {
  this.timeout(60_000);
  let run: RunningAppliance;
  let dir: Directory;

  before(async () => {
    run = await startAppliance();
    dir = await seedDirectory(run, STANDARD_USERS, STANDARD_GROUPS);
  });

  after(async () => run?.stop());

  it('shows memberOf right after the same search without it', async () => {
    const c = client(dir);
    try {
      await c.bind(dir.users.binder!.dn, dir.users.binder!.password);
      const find = async (attributes: string[]) => (await c.search(dir.base, { scope: 'sub', filter: '(uid=bob)', attributes })).searchEntries;
      assert.equal((await find(['uid']))[0]!.memberOf, undefined);
      assert.equal(String((await find(['memberOf']))[0]!.memberOf), `cn=staff,${dir.usersBase}`);
      assert.equal(String((await find(['memberOf', 'uid']))[0]!.memberOf), `cn=staff,${dir.usersBase}`);
    } finally {
      await c.unbind().catch(() => undefined);
    }
  });
});
