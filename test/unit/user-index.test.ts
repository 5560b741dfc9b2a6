import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createUserIndex, pack, unpack, type IndexedUser } from '../../src/core/directory/user-index.js';
import type { VersionWatch } from '../../src/core/directory/version-watch.js';
import type { User } from '../../src/core/directory/types.js';

const date = fc.date({ min: new Date(0), max: new Date(4_102_444_800_000), noInvalidDate: true });
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const user: fc.Arbitrary<User> = fc.record({
  id: fc.stringMatching(/^[0-9a-f]{24}$/),
  username: text,
  email: text,
  firstname: text,
  lastname: text,
  displayname: text,
  state: fc.constantFrom<User['state']>('ACTIVATED', 'SUSPENDED', 'STAGED'),
  hasPassword: fc.boolean(),
  passwordChangedAt: fc.option(date),
  passwordExpiredFlag: fc.boolean(),
  totpEnrolled: fc.boolean(),
  enableUserPortalMultifactor: fc.boolean(),
  mfaExclusion: fc.boolean(),
  mfaExclusionUntil: fc.option(date),
  ldapBindingUser: fc.boolean(),
  unixUid: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  unixGuid: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  jobTitle: text,
  department: text,
  company: text,
  location: text,
  employeeIdentifier: text,
  // Any string a field may hold, lone surrogates included (JSON.stringify escapes them).
  description: fc.string({ unit: 'binary', maxLength: 40 }),
  attributes: fc.array(fc.record({ name: text, value: text }, { noNullPrototype: true }), { maxLength: 3 }),
  lockedAt: fc.option(date),
  createdAt: date,
  updatedAt: date,
}, { noNullPrototype: true });
const entry: fc.Arbitrary<IndexedUser> = fc.record({ user, groupNames: fc.array(text, { maxLength: 4 }) }, { noNullPrototype: true });

/** A watch that always vouches for generation 1. */
const steadyWatch: VersionWatch = { generation: () => 1, vouches: (g) => g === 1, confirmedAgo: (g) => (g === 1 ? 0 : null), close() {} };

describe('core/directory/user-index', () => {
  it('unpacks what it packs: every field of any user, with its group names', () => {
    fc.assert(
      fc.property(entry, (e) => {
        assert.deepEqual(unpack(pack(e)), e);
      }),
      { numRuns: 2_000 },
    );
  });

  it('finds users by folded or exact username from records kept as UTF-8, across chunk boundaries', async () => {
    // Enough users, some with long multi-byte fields, that the records span several 4 MiB chunks.
    const users: IndexedUser[] = [];
    for (let i = 0; i < 12_000; i++) {
      const u = fc.sample(user, { numRuns: 1, seed: i })[0]!;
      users.push({ user: { ...u, username: `user${String(i).padStart(5, '0')}`, description: i % 7 === 0 ? 'ü€😀'.repeat(100) : u.description }, groupNames: [`g${i % 13}`] });
    }
    users.push({ user: { ...users[0]!.user, id: 'ffffffffffffffffffffffff', username: 'ärger' }, groupNames: ['Ünïcode'] });
    users.sort((a, b) => (a.user.username < b.user.username ? -1 : 1));
    const pages: string[] = [];
    const index = createUserIndex(
      () => async (after, limit) => {
        pages.push(after);
        return users.filter((u) => u.user.username > after).slice(0, limit);
      },
      () => 0,
      steadyWatch,
    );
    assert.equal(index.lookup('s1', 'user00001', false), undefined, 'not built yet');
    assert.equal(await index.build('s1'), true);
    assert.equal(index.size, users.length);
    assert.ok(pages.length > 10, 'read in pages');
    for (const u of users) assert.deepEqual(index.lookup('s1', u.user.username, false)?.entry, u);
    assert.deepEqual(index.lookup('s1', 'USER00042', false)?.entry?.user.username, 'user00042');
    assert.equal(index.lookup('s1', 'USER00042', true)?.entry, null, 'case-exact');
    assert.deepEqual(index.lookup('s1', 'ÄRGER', false)?.entry?.groupNames, ['Ünïcode']);
    assert.equal(index.lookup('s1', 'user\u000000042', false)?.entry, null);
    assert.equal(index.lookup('s1', 'nobody', false)?.entry, null);
    assert.equal(index.lookup('other server', 'user00042', false), undefined, 'built for another server');
  });

  it('keeps no index when a commit lands while it is read, or when the site is too big', async () => {
    let epoch = 0;
    const racing = createUserIndex(
      () => async () => {
        epoch++;
        return [];
      },
      () => epoch,
      steadyWatch,
    );
    assert.equal(await racing.build('s'), false);
    assert.equal(racing.size, 0);

    const many: IndexedUser[] = fc.sample(entry, { numRuns: 1, seed: 1 }).map((e) => e);
    let served = 0;
    const big = createUserIndex(
      () => async (_after, limit) => {
        served += limit;
        return Array.from({ length: limit }, (_, i) => ({ ...many[0]!, user: { ...many[0]!.user, username: `u${String(served - limit + i).padStart(7, '0')}` } }));
      },
      () => 0,
      steadyWatch,
    );
    assert.equal(await big.build('s'), false);
    assert.ok(served > 200_000 && served <= 201_000, `stopped after the limit (${served})`);
    assert.equal(big.size, 0);
  });

  it('keeps no index when a stored username is not folded: pages follow folded names and would skip users', async () => {
    const names = ['alice', 'Bob', 'carol'];
    const index = createUserIndex(
      () => async (after) => names.filter((n) => n > after).map((username) => ({ ...fc.sample(entry, { numRuns: 1, seed: 3 })[0]!, user: { ...fc.sample(user, { numRuns: 1, seed: 4 })[0]!, username } })),
      () => 0,
      steadyWatch,
    );
    assert.equal(await index.build('s'), false);
    assert.equal(index.lookup('s', 'carol', false), undefined, 'the store answers');
  });

  it('waits for the version to be confirmed again after a quiet spell instead of reading everything again', async () => {
    let confirmed = true;
    let reads = 0;
    let t = 1e12;
    const watch: VersionWatch = { generation: () => 1, vouches: (g) => g === 1 && confirmed, confirmedAgo: (g) => (g === 1 ? 0 : null), close() {} };
    const index = createUserIndex(
      () => async () => {
        reads++;
        return [{ ...fc.sample(entry, { numRuns: 1, seed: 5 })[0]!, user: { ...fc.sample(user, { numRuns: 1, seed: 6 })[0]!, username: 'ann' } }];
      },
      () => 0,
      watch,
      () => t,
    );
    assert.equal(await index.build('s'), true);
    assert.equal(reads, 1);
    // Past the rebuild budget's wait.
    t += 3_600_000;
    confirmed = false;
    assert.equal(index.lookup('s', 'ann', false), undefined, 'not vouched for: the store answers');
    index.refresh('s');
    assert.equal(reads, 1, 'no rebuild while the same version is being confirmed');
    confirmed = true;
    assert.equal(index.lookup('s', 'ann', false)?.entry?.user.username, 'ann');
  });
});
