import assert from 'node:assert/strict';
import type { GroupFilter } from '../../src/core/directory/filter.js';
import { memberNamedAtTop } from '../../src/core/directory/ldap-directory.js';

const alice: GroupFilter = { op: 'eq', attr: 'memberName', value: 'alice' };
const bob: GroupFilter = { op: 'eq', attr: 'memberName', value: 'bob', exact: true };
const posix: GroupFilter = { op: 'present', attr: 'posixGid' };

describe('memberNamedAtTop: the member term a group search may hand to the groups query', () => {
  it('takes the filter itself, or the first memberName equality of its top-level AND, and leaves the rest', () => {
    assert.deepEqual(memberNamedAtTop(alice), { member: alice, rest: undefined });
    assert.deepEqual(memberNamedAtTop({ op: 'and', filters: [posix, alice] }), { member: alice, rest: { op: 'and', filters: [posix] } });
    assert.deepEqual(memberNamedAtTop({ op: 'and', filters: [alice] }), { member: alice, rest: undefined });
    // Two members: one goes to the query, the other stays in the filter (both must hold).
    assert.deepEqual(memberNamedAtTop({ op: 'and', filters: [bob, posix, alice] }), { member: bob, rest: { op: 'and', filters: [posix, alice] } });
  });

  it('finds it in nested ANDs, as (&(objectClass=posixGroup)(memberUid=x)) translates', () => {
    assert.deepEqual(memberNamedAtTop({ op: 'and', filters: [posix, { op: 'and', filters: [posix, bob] }] }), {
      member: bob,
      rest: { op: 'and', filters: [posix, { op: 'and', filters: [posix] }] },
    });
    assert.deepEqual(memberNamedAtTop({ op: 'and', filters: [posix, { op: 'and', filters: [alice] }] }), { member: alice, rest: { op: 'and', filters: [posix] } });
    assert.equal(memberNamedAtTop({ op: 'and', filters: [posix, { op: 'and', filters: [posix, { op: 'or', filters: [alice, bob] }] }] }), null);
  });

  it('leaves alone a member term that the filter does not require as a whole', () => {
    for (const f of [
      { op: 'or', filters: [alice, posix] },
      { op: 'not', filter: alice },
      { op: 'and', filters: [posix, { op: 'or', filters: [alice, bob] }] },
      { op: 'and', filters: [posix, { op: 'not', filter: alice }] },
      { op: 'present', attr: 'memberName' },
      { op: 'substr', attr: 'memberName', any: ['li'] },
      { op: 'eq', attr: 'name', value: 'alice' },
    ] satisfies GroupFilter[]) {
      assert.equal(memberNamedAtTop(f), null, JSON.stringify(f));
    }
  });
});
