import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { requireBinary } from '../../helpers/binaries.js';
import {
  asUser,
  berChildren,
  berInt,
  berString,
  equalityFilter,
  lastLdapEventId,
  ldapEvents,
  ldapMessage,
  ldapsearch,
  ok,
  RawConnection,
  seedDirectory,
  simpleBindRequest,
  STANDARD_GROUPS,
  STANDARD_USERS,
  tlv,
  type Directory,
  type RawResponse,
} from './support.js';

/**
 * Prepared uid and group lookups (src/ldap/operations/prepared-search.ts): once a shape has been
 * searched, requests of that shape are answered from the user index (and the groups met lately)
 * without being decoded. Each answer must
 * be byte for byte the one the general search gives. The general path is reached with the same
 * request plus a non-critical control of no meaning (RFC 4511 §4.1.11: ignored), which no shape
 * admits; both go over raw sockets, and ldapsearch checks the same with `-E <oid>`.
 */
describe('LDAP prepared uid and group lookups', function () {
  this.timeout(120_000);
  let run: RunningAppliance;
  let dir: Directory;
  const raws: RawConnection[] = [];
  /** Searches the directory view ran as the general path runs them, and prepared answers from the index. */
  let general = 0;
  let prepared = 0;
  /** Makes the index lookup throw, as a bug would. */
  let breakIndex = false;

  const IGNORED_CONTROL = tlv(0xa0, tlv(0x30, berString('1.3.6.1.4.1.99999.7')));
  const AND = (...items: Buffer[]) => tlv(0xa0, ...items);
  const OR = (...items: Buffer[]) => tlv(0xa1, ...items);

  /** SearchRequest with every field chosen (RFC 4511 §4.5.1). */
  const search = (o: { base: string; scope: number; filter: Buffer; attrs?: string[]; typesOnly?: boolean; sizeLimit?: number }) =>
    tlv(0x63, berString(o.base), berInt(o.scope, 0x0a), berInt(0, 0x0a), berInt(o.sizeLimit ?? 0), berInt(0), tlv(0x01, Buffer.from([o.typesOnly ? 0xff : 0])), o.filter, tlv(0x30, ...(o.attrs ?? []).map((a) => berString(a))));

  let nextId = 10;
  /** Sends one request and returns its responses, each as op tag and content (message IDs differ). */
  async function ask(c: RawConnection, op: Buffer, controls?: Buffer): Promise<string[]> {
    const id = nextId++;
    c.write(ldapMessage(id, op, controls));
    const rs = await c.waitFor((all) => all.some((r) => r.messageId === id && (r.op === 0x65 || r.op === 0x78)));
    const mine = rs.filter((r: RawResponse) => r.messageId === id);
    assert.ok(mine.some((r) => r.op === 0x65), `search ${id} was answered (${c.received.toString('hex')})`);
    return mine.map((r) => `${r.op.toString(16)}:${r.body.toString('hex')}`);
  }

  async function boundAs(username: string): Promise<RawConnection> {
    const c = new RawConnection(run.endpoints.ldap!.port);
    raws.push(c);
    await c.connected;
    const u = dir.users[username]!;
    c.write(ldapMessage(1, simpleBindRequest(u.dn, u.password)));
    const rs = await c.waitFor((all) => all.some((r) => r.messageId === 1));
    assert.equal(rs.find((r) => r.messageId === 1)?.code, 0, `${username} binds`);
    // After a quiet spell the version watch confirms the directory again before the user index
    // answers (user-index.ts): the plan's requests would find it not ready yet.
    assert.equal(await run.appliance.core.ldapDirectory.userIndexReady(), true);
    return c;
  }

  /** The answer of the prepared path and of the general path to the request for each value; asserts which path ran. */
  async function compare(c: RawConnection, make: (uid: string) => Buffer, uids: string[], expectPrepared = true): Promise<Map<string, string[]>> {
    // The first request of a shape runs the general search, which judges and prepares the shape.
    await ask(c, make('nobody-at-all'));
    const out = new Map<string, string[]>();
    for (const uid of uids) {
      // The general search first: it also reads again what the plan takes only while kept (the
      // server record and the policy, kept for 2 s; the index, which answers while the version
      // watch vouches for it), so that the plan's request finds them. Should the watch drop them in
      // between (a version it sees), the pair is asked once more.
      let slow: string[] = [];
      let fast: string[] = [];
      for (let attempt = 0; attempt < 2; attempt++) {
        const g0 = general;
        slow = await ask(c, make(uid), IGNORED_CONTROL);
        if (expectPrepared) assert.ok(general > g0, `${uid}: the request with a control ran the general search`);
        const g1 = general;
        const p0 = prepared;
        fast = await ask(c, make(uid));
        if (!expectPrepared) {
          assert.equal(prepared, p0, `${uid}: not prepared`);
          break;
        }
        if (prepared === p0 + 1 || attempt === 1) {
          assert.equal(general, g1, `${uid}: no general search ran`);
          assert.equal(prepared, p0 + 1, `${uid}: answered by the plan`);
          break;
        }
        await run.appliance.core.ldapDirectory.userIndexReady();
      }
      assert.deepEqual(fast, slow, `${uid}: the same answer both ways`);
      out.set(uid, fast);
    }
    return out;
  }

  /** The `n` ldap_search events recorded after `since`, without their id and time. */
  async function searchEvents(since: string, n: number): Promise<Record<string, unknown>[]> {
    const evs = (await ldapEvents(run, since, (e) => e.filter((x) => x.event_type === 'ldap_search').length >= n)).filter((e) => e.event_type === 'ldap_search');
    assert.equal(evs.length, n);
    return evs.map((e) => {
      const { id: _id, timestamp: _t, ...rest } = e as Record<string, unknown>;
      return rest;
    });
  }

  /**
   * ldapsearch as the binder, for each uid: the LDIF of the prepared answer and of the general
   * search (with `-E` and a control it ignores) must be the same, with the entries counted.
   */
  async function ldifBothWays(filter: (uid: string) => string, attrs: string[], entries: Record<string, number>): Promise<void> {
    const run1 = async (uid: string, general: boolean) => {
      const r = await ldapsearch(dir, asUser(dir, 'binder'), [...(general ? ['-E', '1.3.6.1.4.1.99999.7'] : []), '-b', dir.base, filter(uid), ...attrs]);
      assert.equal(r.code, 0, r.stderr);
      return r;
    };
    await run1('warm-up', false);
    for (const [uid, count] of Object.entries(entries)) {
      const slow = await run1(uid, true);
      // Each ldapsearch takes tens of ms: the index may wait for the watch's confirmation.
      await run.appliance.core.ldapDirectory.userIndexReady();
      let p0 = prepared;
      let fast = await run1(uid, false);
      if (prepared === p0) {
        // Something the plan takes only while kept was not at hand (the index waiting for a
        // confirmation, the member lists the general search read): once more, after both.
        await run1(uid, true);
        await run.appliance.core.ldapDirectory.userIndexReady();
        p0 = prepared;
        fast = await run1(uid, false);
      }
      assert.equal(prepared, p0 + 1, `${uid}: answered by the plan`);
      assert.equal(fast.stdout, slow.stdout, uid);
      assert.equal(fast.entries.length, count, uid);
    }
  }

  before(async function () {
    run = await startAppliance();
    // Group names whose folded order (the store's) differs from their order as written: `Ops-Team`
    // sorts before `alpha` by code unit, after it folded.
    const seedGroups = [...STANDARD_GROUPS, { name: 'Ops-Team', gidNumber: 8010, members: ['bob', 'sam', 'mixedcase'] }, { name: 'alpha', members: ['mixedcase', 'bob'] }];
    dir = await seedDirectory(run, [...STANDARD_USERS, { username: 'mixedcase', password: 'Mixed-Case-77x', firstname: 'Mixed', lastname: 'Case', uidNumber: 7040, bound: true }], seedGroups);
    const view = run.appliance.core.ldapDirectory;
    const users = view.users.bind(view);
    view.users = (...args) => {
      general++;
      return users(...args);
    };
    const groups = view.groups.bind(view);
    view.groups = (...args) => {
      general++;
      return groups(...args);
    };
    const now = view.indexedUsersNow.bind(view);
    view.indexedUsersNow = (...args) => {
      if (breakIndex) throw new Error('index lookup failed');
      const r = now(...args);
      if (r) prepared++;
      return r;
    };
    const groupsNow = view.indexedGroupsNow.bind(view);
    view.indexedGroupsNow = (...args) => {
      if (breakIndex) throw new Error('index lookup failed');
      const r = groupsNow(...args);
      if (r) prepared++;
      return r;
    };
    assert.equal(await view.userIndexReady(), true, 'the user index is built');
  });

  afterEach(() => {
    for (const c of raws.splice(0)) c.destroy();
  });

  after(async () => run?.stop());

  const people = ['alice', 'ALICE', 'bob', 'dave', 'carol', 'sam', 'stella', 'binder', 'nobody', 'mixedcase', 'MixedCase'];

  it('answers sssd’s and nslcd’s lookups as the general search does, for visible, hidden and missing users', async () => {
    const c = await boundAs('binder');
    const sssd = await compare(c, (uid) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('objectClass', 'posixAccount'), equalityFilter('uid', uid)), attrs: ['objectClass', 'uid', 'userPassword', 'uidNumber', 'gidNumber', 'gecos', 'homeDirectory', 'loginShell', 'memberOf'] }), people);
    // Alice (bound through a group), Bob and Dave are shown, in any case of the uid; Carol (not bound),
    // Sam (suspended), Stella (staged) and a name nobody has are not.
    for (const uid of ['alice', 'ALICE', 'bob', 'dave', 'binder', 'mixedcase', 'MixedCase']) assert.equal(sssd.get(uid)!.filter((r) => r.startsWith('64:')).length, 1, `${uid} found`);
    for (const uid of ['carol', 'sam', 'stella', 'nobody']) assert.deepEqual(sssd.get(uid)!.map((r) => r.slice(0, 3)), ['65:'], `${uid} not found`);
    assert.deepEqual(sssd.get('alice'), sssd.get('ALICE'), 'uid is caseIgnoreMatch');

    await compare(c, (uid) => search({ base: dir.usersBase, scope: 1, filter: AND(equalityFilter('uid', uid), equalityFilter('objectclass', 'inetOrgPerson')), attrs: [] }), people);
    await compare(c, (uid) => search({ base: dir.base, scope: 2, filter: equalityFilter('UID', uid), attrs: ['*', '+'] }), people);
    await compare(c, (uid) => search({ base: dir.base, scope: 3, filter: equalityFilter('uid', uid), attrs: ['1.1'] }), ['alice', 'nobody']);
    await compare(c, (uid) => search({ base: dir.usersBase, scope: 2, filter: equalityFilter('uid', uid), attrs: ['cn', 'mail', 'memberOf'], typesOnly: true }), ['alice', 'bob', 'nobody']);
    await compare(c, (uid) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('objectClass', 'top'), equalityFilter('uid', uid), equalityFilter('objectClass', 'shadowAccount')), attrs: ['uid'], sizeLimit: 1 }), ['alice', 'nobody']);
    // An item every user matches, however it is written, leaves the uid alone to decide: the
    // translation says so, and the shape is prepared.
    await compare(c, (uid) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('uid', uid), OR(equalityFilter('uid', 'bob'), equalityFilter('objectClass', 'top'))), attrs: ['cn'] }), ['alice', 'bob', 'nobody']);
  });

  it('shows an ordinary user only its own entry, as the general search does', async () => {
    const c = await boundAs('dave');
    const answers = await compare(c, (uid) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('objectClass', 'posixAccount'), equalityFilter('uid', uid)), attrs: ['uid', 'cn'] }), ['dave', 'DAVE', 'alice', 'binder']);
    assert.equal(answers.get('dave')!.length, 2, 'dave sees his entry');
    assert.deepEqual(answers.get('alice')!.map((r) => r.slice(0, 3)), ['65:'], 'and nobody else');
  });

  it('does not prepare shapes whose answer is not the uid’s user alone', async () => {
    const c = await boundAs('binder');
    // Groups, the base entry itself, a one-level search of the organisation (its users lie below
    // ou=Users), a filter that no user matches or that others could: the general search answers.
    const shapes: ((uid: string) => Buffer)[] = [
      (uid) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('objectClass', 'groupOfNames'), equalityFilter('uid', uid)), attrs: ['cn'] }),
      (uid) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('cn', 'Alice Öztürk'), equalityFilter('uid', uid)), attrs: ['cn'] }),
      (uid) => search({ base: dir.usersBase, scope: 0, filter: equalityFilter('uid', uid), attrs: ['cn'] }),
      (uid) => search({ base: dir.base, scope: 1, filter: equalityFilter('uid', uid), attrs: ['cn'] }),
      (uid) => search({ base: dir.userDn('alice'), scope: 2, filter: equalityFilter('uid', uid), attrs: ['cn'] }),
      (uid) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('uid', uid), OR(equalityFilter('uid', 'bob'), equalityFilter('cn', 'Bob Builder'))), attrs: ['cn'] }),
    ];
    for (const make of shapes) await compare(c, make, ['alice', 'bob'], false);
    // Values the shape does not take (spaces, filter specials, not ASCII) go the general way too.
    const plain = (uid: string) => search({ base: dir.base, scope: 2, filter: equalityFilter('uid', uid), attrs: ['uid'] });
    await ask(c, plain('prepare-me'));
    for (const uid of [' alice', 'alice ', 'al*ce', 'Öztürk', 'a(b)']) {
      const p0 = prepared;
      const fast = await ask(c, plain(uid));
      assert.equal(prepared, p0, `${JSON.stringify(uid)} is not answered by the plan`);
      assert.deepEqual(fast, await ask(c, plain(uid), IGNORED_CONTROL));
    }
  });

  it('records the ldap_search event the general search records', async () => {
    const c = await boundAs('binder');
    const make = (uid: string) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('objectClass', 'inetOrgPerson'), equalityFilter('uid', uid)), attrs: ['uid', 'mail'] });
    await ask(c, make('warm-up'));
    const since = await lastLdapEventId(run);
    await ask(c, make('bob'));
    await ask(c, make('bob'), IGNORED_CONTROL);
    await ask(c, make('nobody'));
    await ask(c, make('nobody'), IGNORED_CONTROL);
    const evs = await searchEvents(since, 4);
    assert.deepEqual(evs[0], evs[1]);
    assert.deepEqual(evs[2], evs[3]);
    assert.equal(evs[0]!.filter, '(&(objectClass=inetOrgPerson)(uid=bob))');
    assert.equal(evs[0]!.number_of_results, 1);
    assert.equal(evs[2]!.number_of_results, 0);
  });

  it('sees a change made through the REST API at once, and a searcher who lost access', async () => {
    const c = await boundAs('binder');
    const make = (uid: string) => search({ base: dir.base, scope: 2, filter: equalityFilter('uid', uid), attrs: ['uid', 'mail'] });
    await ask(c, make('warm-up'));
    const before = await ask(c, make('bob'));
    assert.equal(before.length, 2);
    await ok(run.api('PUT', `/api/systemusers/${dir.users.bob!.id}`, { email: 'bob.new@example.org' }), 200, 'change bob');
    const after = await ask(c, make('bob'));
    assert.ok(Buffer.from(after[0]!.slice(3), 'hex').includes(Buffer.from('bob.new@example.org')), 'the new mail is shown');
    await ok(run.api('PUT', `/api/systemusers/${dir.users.binder!.id}`, { state: 'SUSPENDED' }), 200, 'suspend the searcher');
    const refused = await ask(c, make('bob'));
    // The connection is anonymous from its next operation on: insufficientAccessRights (50).
    assert.equal(refused.length, 1);
    assert.ok(refused[0]!.startsWith('65:0a0132'), `refused: ${refused[0]}`);
    await ok(run.api('PUT', `/api/systemusers/${dir.users.binder!.id}`, { state: 'ACTIVATED' }), 200, 'reactivate the searcher');
  });

  it('answers the general way when the prepared answer fails before sending', async () => {
    const c = await boundAs('binder');
    const make = (uid: string) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('objectClass', 'posixAccount'), equalityFilter('uid', uid)), attrs: ['uid'] });
    await ask(c, make('warm-up'));
    const expected = await ask(c, make('bob'), IGNORED_CONTROL);
    breakIndex = true;
    try {
      const g0 = general;
      assert.deepEqual(await ask(c, make('bob')), expected);
      assert.ok(general > g0, 'the general search answered');
    } finally {
      breakIndex = false;
    }
    assert.deepEqual(await ask(c, make('bob')), expected, 'and the connection goes on');
  });

  it('gives ldapsearch the same LDIF prepared as the general search gives with a control it ignores', async function () {
    requireBinary(this, 'ldapsearch', 'ldap-utils');
    const filter = (uid: string) => `(&(objectClass=posixAccount)(uid=${uid}))`;
    const attrs = ['uid', 'uidNumber', 'gidNumber', 'homeDirectory', 'loginShell', 'gecos', 'memberOf'];
    await ldifBothWays(filter, attrs, { alice: 1, bob: 1, carol: 0, nobody: 0 });
  });

  describe('group lookups', () => {
    const memberDn = (uid: string) => `uid=${uid},${dir.usersBase}`;
    /** The DNs of an answer's entries, in order. */
    const dns = (answer: string[]) =>
      answer
        .filter((r) => r.startsWith('64:'))
        .map((r) => {
          const body = Buffer.from(r.slice(3), 'hex');
          const [first] = berChildren(body);
          return first!.value.toString('utf8');
        });
    const byMember = (uid: string) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('objectClass', 'groupOfNames'), equalityFilter('member', memberDn(uid))), attrs: ['cn'] });
    const byMemberUid = (uid: string) =>
      search({ base: dir.base, scope: 2, filter: AND(equalityFilter('objectClass', 'posixGroup'), equalityFilter('memberUid', uid)), attrs: ['cn', 'userPassword', 'memberUid', 'gidNumber', 'member'] });

    it('answers hosts’ lookups by member DN and by memberUid as the general search does, in the store’s order', async () => {
      const c = await boundAs('binder');
      const members = await compare(c, byMember, people);
      const groupDns = (...names: string[]) => names.map((n) => dir.groupDn(n));
      assert.deepEqual(dns(members.get('alice')!), groupDns('plain', 'staff'));
      assert.deepEqual(members.get('ALICE'), members.get('alice'), 'a DN’s uid is caseIgnoreMatch');
      // Folded order: alpha, Ops-Team, staff.
      assert.deepEqual(dns(members.get('bob')!), groupDns('alpha', 'Ops-Team', 'staff'));
      // Dave's one group is not bound to the LDAP server; Sam (suspended) is hidden, so are his groups' answers.
      for (const uid of ['dave', 'carol', 'sam', 'stella', 'nobody', 'binder']) assert.deepEqual(dns(members.get(uid)!), [], uid);

      const posix = await compare(c, byMemberUid, people);
      assert.deepEqual(dns(posix.get('alice')!), groupDns('staff'), 'plain is not a POSIX group');
      assert.deepEqual(dns(posix.get('bob')!), groupDns('Ops-Team', 'staff'));
      // memberUid is caseExactIA5Match: usernames are stored lower-case.
      for (const uid of ['ALICE', 'MixedCase', 'sam']) assert.deepEqual(dns(posix.get(uid)!), [], uid);
      assert.deepEqual(dns(posix.get('mixedcase')!), groupDns('Ops-Team'));
      const ops = Buffer.from(posix.get('mixedcase')![0]!.slice(3), 'hex');
      assert.ok(ops.includes(Buffer.from('mixedcase')) && ops.includes(Buffer.from('bob')), 'its visible members are listed');
      assert.ok(!ops.includes(Buffer.from('sam')), 'the suspended member is not');

      await compare(c, (uid) => search({ base: dir.usersBase, scope: 1, filter: AND(equalityFilter('uniqueMember', memberDn(uid)), equalityFilter('objectClass', 'top')), attrs: ['*', '+'] }), ['alice', 'bob', 'nobody']);
      await compare(c, (uid) => search({ base: dir.base, scope: 2, filter: equalityFilter('MEMBER', memberDn(uid)), attrs: [], typesOnly: true }), ['alice', 'bob', 'nobody']);
      await compare(c, (uid) => search({ base: dir.base, scope: 3, filter: equalityFilter('memberUid', uid), attrs: ['1.1'], sizeLimit: 5 }), ['alice', 'bob', 'nobody']);
    });

    it('shows an ordinary user no groups, as the general search does', async () => {
      const c = await boundAs('dave');
      const answers = await compare(c, byMember, ['alice', 'bob', 'dave']);
      for (const a of answers.values()) assert.deepEqual(dns(a), []);
    });

    it('does not prepare group shapes whose answer is not the member’s groups alone, nor values that name no user', async () => {
      const c = await boundAs('binder');
      const shapes: ((uid: string) => Buffer)[] = [
        (uid) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('member', memberDn(uid)), equalityFilter('cn', 'staff')), attrs: ['cn'] }),
        (uid) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('objectClass', 'posixAccount'), equalityFilter('member', memberDn(uid))), attrs: ['cn'] }),
        (uid) => search({ base: dir.groupDn('staff'), scope: 0, filter: equalityFilter('member', memberDn(uid)), attrs: ['cn'] }),
        (uid) => search({ base: dir.base, scope: 1, filter: equalityFilter('member', memberDn(uid)), attrs: ['cn'] }),
        (uid) => search({ base: dir.base, scope: 2, filter: AND(equalityFilter('memberUid', uid), OR(equalityFilter('cn', 'staff'), equalityFilter('cn', 'alpha'))), attrs: ['cn'] }),
      ];
      for (const make of shapes) await compare(c, make, ['alice', 'bob'], false);
      // A DN that names no user: judged each time, answered the general way.
      const member = (dn: string) => search({ base: dir.base, scope: 2, filter: equalityFilter('member', dn), attrs: ['cn'] });
      await ask(c, member(memberDn('prepare-me')));
      for (const dn of [dir.groupDn('staff'), `uid=alice,${dir.base}`, 'uid=alice,dc=elsewhere', `uid=alice+cn=x,${dir.usersBase}`, dir.usersBase]) {
        const p0 = prepared;
        const fast = await ask(c, member(dn));
        assert.equal(prepared, p0, `${dn} is not answered by the plan`);
        assert.deepEqual(fast, await ask(c, member(dn), IGNORED_CONTROL), dn);
      }
      // More groups than the size limit: the general search answers sizeLimitExceeded.
      const limited = (uid: string) => search({ base: dir.base, scope: 2, filter: equalityFilter('member', memberDn(uid)), attrs: ['cn'], sizeLimit: 1 });
      await compare(c, limited, ['dave']);
      for (const uid of ['alice', 'bob']) {
        const g0 = general;
        const fast = await ask(c, limited(uid));
        assert.ok(general > g0, `${uid}: over the limit, the general search answered`);
        assert.deepEqual(fast, await ask(c, limited(uid), IGNORED_CONTROL));
        assert.ok(fast.at(-1)!.startsWith('65:0a0104'), `sizeLimitExceeded: ${fast.at(-1)}`);
      }
    });

    it('records the ldap_search event the general search records', async () => {
      const c = await boundAs('binder');
      await ask(c, byMember('warm-up'));
      await ask(c, byMember('bob'), IGNORED_CONTROL);
      const since = await lastLdapEventId(run);
      const g0 = general;
      await ask(c, byMember('bob'));
      assert.equal(general, g0, 'answered by the plan');
      await ask(c, byMember('bob'), IGNORED_CONTROL);
      const evs = await searchEvents(since, 2);
      assert.deepEqual(evs[0], evs[1]);
      assert.equal(evs[0]!.filter, `(&(objectClass=groupOfNames)(member=${memberDn('bob')}))`);
      assert.equal(evs[0]!.number_of_results, 3);
    });

    it('sees membership changes made through the REST API at once', async () => {
      const c = await boundAs('binder');
      await ask(c, byMember('warm-up'));
      await ask(c, byMember('bob'), IGNORED_CONTROL);
      assert.equal(dns(await ask(c, byMember('bob'))).length, 3);
      const staff = dir.groups.staff!.id;
      await ok(run.api('POST', `/api/v2/usergroups/${staff}/members`, { op: 'remove', type: 'user', id: dir.users.bob!.id }), 204, 'remove bob from staff');
      try {
        assert.deepEqual(dns(await ask(c, byMember('bob'))), [dir.groupDn('alpha'), dir.groupDn('Ops-Team')]);
        await ok(run.api('POST', `/api/v2/usergroups/${staff}/associations`, { op: 'remove', type: 'ldap_server', id: dir.ldapServerId }), 204, 'unbind staff');
        assert.deepEqual(dns(await ask(c, byMember('alice'))), [dir.groupDn('plain')]);
        await ok(run.api('POST', `/api/v2/usergroups/${staff}/associations`, { op: 'add', type: 'ldap_server', id: dir.ldapServerId }), 204, 'bind staff again');
      } finally {
        await ok(run.api('POST', `/api/v2/usergroups/${staff}/members`, { op: 'add', type: 'user', id: dir.users.bob!.id }), 204, 'add bob to staff again');
      }
      assert.deepEqual(dns(await ask(c, byMember('bob'))).length, 3);
    });

    it('gives ldapsearch the same LDIF prepared as the general search gives with a control it ignores', async function () {
      requireBinary(this, 'ldapsearch', 'ldap-utils');
      const filter = (uid: string) => `(&(objectClass=posixGroup)(memberUid=${uid}))`;
      const attrs = ['cn', 'gidNumber', 'memberUid'];
      await ldifBothWays(filter, attrs, { alice: 1, bob: 2, nobody: 0 });
    });
  });
});
