import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { requireBinary } from '../../helpers/binaries.js';
import { asUser, exec, ldapEnv, ldapsearch, ok, seedDirectory, type Directory } from './support.js';

/**
 * The user index (src/core/directory/user-index.ts) driven by OpenLDAP's clients: a bind account's
 * bind warms it, the lookups of a login (`posixAccount` by uid, `posixGroup` by memberUid) are then
 * answered without reading users from the store, and a change made through the REST API is seen by
 * the very next lookup.
 */
describe('LDAP user index, with ldapwhoami and ldapsearch', function () {
  this.timeout(60_000);
  let run: RunningAppliance;
  let dir: Directory;
  /** Reads of user pages (the store path the index replaces). */
  let pageReads = 0;

  before(async function () {
    requireBinary(this, 'ldapsearch', 'ldap-utils');
    requireBinary(this, 'ldapwhoami', 'ldap-utils');
    run = await startAppliance();
    dir = await seedDirectory(run);
    const users = run.appliance.store.repos.users;
    const read = users.queryWithGroupNames.bind(users);
    users.queryWithGroupNames = (...args: Parameters<typeof read>) => {
      pageReads++;
      return read(...args);
    };
  });

  after(async () => run?.stop());

  const lookup = async (filter: string, attrs: string[]) => {
    const r = await ldapsearch(dir, asUser(dir, 'binder'), ['-b', dir.base, filter, ...attrs]);
    assert.equal(r.code, 0, r.stderr);
    return r.entries;
  };

  it('answers a login’s lookups from memory after a bind account binds, and sees a suspension at once', async () => {
    const who = await exec('ldapwhoami', asUser(dir, 'binder'), { env: ldapEnv(dir) });
    assert.equal(who.code, 0, who.stderr);
    assert.equal(await run.appliance.core.ldapDirectory.userIndexReady(), true, 'the bind warmed the index');
    const before = pageReads;

    const users = await lookup('(&(objectClass=posixAccount)(uid=ALICE))', ['uid', 'memberOf']);
    assert.deepEqual(users.map((e) => e.dn), [dir.userDn('alice')]);
    assert.deepEqual(users[0]!.attrs.uid, ['alice']);
    // Her groups bound to the LDAP server (staff, plain), not the unbound one.
    assert.deepEqual([...(users[0]!.attrs.memberOf ?? [])].sort(), [dir.groupDn('plain'), dir.groupDn('staff')].sort());
    const groups = await lookup('(&(objectClass=posixGroup)(memberUid=alice))', ['cn']);
    assert.deepEqual(groups.map((e) => e.dn), [dir.groupDn('staff')], 'her POSIX groups bound to the server');
    assert.deepEqual(await lookup('(&(objectClass=posixAccount)(uid=sam))', ['uid']), [], 'a suspended user is not shown');
    assert.equal(pageReads, before, 'no user page was read from the store');

    await ok(run.api('PUT', `/api/systemusers/${dir.users.alice!.id}`, { state: 'SUSPENDED' }), 200, 'suspend alice');
    assert.deepEqual(await lookup('(&(objectClass=posixAccount)(uid=alice))', ['uid']), [], 'the suspension is seen at once');
    assert.deepEqual(await lookup('(&(objectClass=posixGroup)(memberUid=alice))', ['cn']), [], 'and she names no group');
  });
});
