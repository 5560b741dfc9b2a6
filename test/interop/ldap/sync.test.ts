import assert from 'node:assert/strict';
import { requireBinary } from '../../helpers/binaries.js';
import { startAppliance } from '../../helpers/appliance.js';
import { asUser, ldapsearch, ok, seedDirectory, STANDARD_GROUPS, STANDARD_USERS, type Directory } from '../../integration/ldap/support.js';

/** GeneralizedTime of a moment, to the second (as modifyTimestamp is written). */
const generalized = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
const nextSecond = () => new Promise((r) => setTimeout(r, 1100));

/**
 * Incremental sync as sssd (`(modifyTimestamp>=T)`), Keycloak and Nextcloud do it: a change to what
 * an entry shows must advance its modifyTimestamp, including membership (member, memberUid,
 * memberOf) and entries appearing through a new binding, as slapd's memberof overlay does.
 */
describe('LDAP incremental sync by modifyTimestamp with ldapsearch', function () {
  this.timeout(60_000);
  let dir: Directory;

  before(async function () {
    requireBinary(this, 'ldapsearch', 'ldap-utils');
    const run = await startAppliance();
    dir = await seedDirectory(run, STANDARD_USERS, STANDARD_GROUPS);
  });
  after(async () => dir?.run.stop());

  const changedSince = async (t: string) => {
    const r = await ldapsearch(dir, asUser(dir, 'binder'), ['-b', dir.usersBase, `(modifyTimestamp>=${t})`, '1.1']);
    assert.equal(r.code, 0, r.stderr);
    return r.entries.map((e) => e.dn.toLowerCase()).sort();
  };
  const api = (method: string, path: string, body: unknown) => ok(dir.run.api(method, path, body), method === 'PUT' ? 200 : 204, `${method} ${path}`);

  it('stamps the group and the member when a member is added or removed', async () => {
    await nextSecond();
    const t = generalized(Date.now());
    assert.deepEqual(await changedSince(t), []);
    // alice stays visible through her other groups.
    await api('POST', `/api/v2/usergroups/${dir.groups.staff!.id}/members`, { op: 'remove', type: 'user', id: dir.users.alice!.id });
    assert.deepEqual(await changedSince(t), [dir.groupDn('staff'), dir.userDn('alice')].map((x) => x.toLowerCase()).sort());
    await nextSecond();
    const t2 = generalized(Date.now());
    await api('POST', `/api/v2/usergroups/${dir.groups.plain!.id}/members`, { op: 'add', type: 'user', id: dir.users.bob!.id });
    assert.deepEqual(await changedSince(t2), [dir.groupDn('plain'), dir.userDn('bob')].map((x) => x.toLowerCase()).sort());
  });

  it('stamps a user who appears through a group bound to the LDAP server', async () => {
    await nextSecond();
    const t = generalized(Date.now());
    await api('POST', `/api/v2/usergroups/${dir.groups.staff!.id}/members`, { op: 'add', type: 'user', id: dir.users.carol!.id });
    assert.ok((await changedSince(t)).includes(dir.userDn('carol').toLowerCase()), 'carol, newly visible');
  });

  it('stamps a group and its members when the group is bound to the LDAP server', async () => {
    await nextSecond();
    const t = generalized(Date.now());
    await api('POST', `/api/v2/usergroups/${dir.groups.hidden!.id}/associations`, { op: 'add', type: 'ldap_server', id: dir.ldapServerId });
    const changed = await changedSince(t);
    for (const dn of [dir.groupDn('hidden'), dir.userDn('alice'), dir.userDn('dave')]) assert.ok(changed.includes(dn.toLowerCase()), `${dn} stamped`);
  });

  it("stamps a user's groups when the user is renamed or deleted (member and memberUid change)", async () => {
    await nextSecond();
    const t = generalized(Date.now());
    await api('PUT', `/api/systemusers/${dir.users.bob!.id}`, { username: 'robert' });
    assert.ok((await changedSince(t)).includes(dir.groupDn('staff').toLowerCase()), 'staff stamped on the rename');
    await nextSecond();
    const t2 = generalized(Date.now());
    const del = await dir.run.api('DELETE', `/api/systemusers/${dir.users.bob!.id}`);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.ok((await changedSince(t2)).includes(dir.groupDn('staff').toLowerCase()), 'staff stamped on the delete');
  });

  it('stamps the members when their group is renamed (memberOf changes)', async () => {
    await nextSecond();
    const t = generalized(Date.now());
    await api('PUT', `/api/v2/usergroups/${dir.groups.plain!.id}`, { name: 'plain-renamed' });
    const changed = await changedSince(t);
    assert.ok(changed.includes(dir.userDn('alice').toLowerCase()), 'alice (member) stamped');
  });
});
