import assert from 'node:assert/strict';
import fc from 'fast-check';
import { selectAttributes, toUserEntry, userAttributesWanted } from '../../../src/ldap/entries.js';
import { createTree } from '../../../src/ldap/tree.js';
import { makeUser } from '../../helpers/factories.js';

const tree = createTree('0123456789abcdef01234567', 'dc=gatehouse,dc=local');
const options = { homeDirectoryPrefix: '/home/', loginShell: '/bin/bash' };

/** Names a search may ask for: user attributes in any case, aliases and OIDs, operational ones, the special lists, junk. */
const NAMES = [
  'uid', 'UID', 'userid', '0.9.2342.19200300.100.1.1', 'cn', 'commonName', '2.5.4.3', 'sn', 'surname', 'givenName', 'gn',
  'displayName', 'mail', 'uidNumber', 'gidNumber', 'homeDirectory', 'loginShell', 'gecos', 'title', 'departmentNumber',
  'o', 'l', 'employeeNumber', 'description', 'shadowLastChange', 'memberOf', 'objectClass', 'objectclass',
  '*', '+', '1.1', 'entryUUID', 'createTimestamp', 'modifyTimestamp', 'entryDN', 'cn;lang-en', 'nosuchattribute', '',
];

describe('ldap/entries: user entries built for a search', () => {
  const user = makeUser({
    username: 'ada',
    firstname: 'Ada',
    lastname: 'Lovelace',
    displayname: '',
    email: 'ada@example.org',
    jobTitle: 'Analyst',
    department: 'R&D',
    company: 'Engines',
    location: 'London',
    employeeIdentifier: 'E1',
    description: 'first programmer',
    passwordChangedAt: new Date('2026-01-02T03:04:05Z'),
  });
  const entry = { user, groupNames: ['admins', 'Engineers, Inc.'] };

  it('select the same attributes, values and order as the full entry, for any requested list (property, fast-check)', () => {
    const full = toUserEntry(tree, entry, options);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...NAMES), { maxLength: 6 }), fc.boolean(), (requested, typesOnly) => {
        const partial = toUserEntry(tree, entry, options, userAttributesWanted(requested));
        assert.equal(partial.dn, full.dn);
        assert.deepEqual(selectAttributes(partial, requested, typesOnly), selectAttributes(full, requested, typesOnly));
      }),
      { numRuns: 2000 },
    );
  });

  it('build only the named user attributes (a uid listing builds uid alone)', () => {
    assert.deepEqual(toUserEntry(tree, entry, options, userAttributesWanted(['uid'])).attributes, [{ type: 'uid', values: ['ada'] }]);
    assert.deepEqual(
      toUserEntry(tree, entry, options, userAttributesWanted(['memberOf', 'gecos'])).attributes.map((a) => a.type),
      ['gecos', 'memberOf'],
    );
    assert.deepEqual(toUserEntry(tree, entry, options, userAttributesWanted(['1.1'])).attributes, []);
    assert.deepEqual(toUserEntry(tree, entry, options, userAttributesWanted(['+'])).attributes, []);
  });

  it('build every user attribute for no list, "*", or "*" with others', () => {
    const all = toUserEntry(tree, entry, options).attributes.length;
    assert.ok(all >= 19);
    for (const requested of [[], ['*'], ['uid', '*'], ['+', '*']]) {
      assert.equal(userAttributesWanted(requested), null);
      assert.equal(toUserEntry(tree, entry, options, userAttributesWanted(requested)).attributes.length, all);
    }
  });
});
