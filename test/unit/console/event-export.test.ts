import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { eventsToCsv, flattenEvent } from '../../../src/core/console/event-search.js';
import { deviceListFilter, userViewFilter, USER_VIEWS } from '../../../src/core/console/list-views.js';
import { DEFAULT_ORG_SETTINGS, type Organization } from '../../../src/core/directory/organization.js';
import { makeAuditEvent } from '../../helpers/factories.js';

describe('console: Directory Insights export', () => {
  it('neutralises spreadsheet formulas and quotes CSV fields (RFC 4180)', () => {
    const csv = eventsToCsv([
      makeAuditEvent({ event_type: 'radius_auth_attempt', username: '=HYPERLINK("http://evil")', error_message: 'a, "quoted"\nline' }),
      makeAuditEvent({ event_type: 'ldap_bind', username: '+cmd', error_message: '-1+2' }),
      makeAuditEvent({ event_type: 'ldap_bind', username: '@SUM(A1)', error_message: 'plain' }),
    ]);
    const lines = csv.split('\r\n');
    assert.equal(lines[0]!.split(',')[0], 'timestamp');
    assert.match(csv, /"'=HYPERLINK\(""http:\/\/evil""\)"/);
    assert.match(csv, /"a, ""quoted""\nline"/);
    assert.match(csv, /,'\+cmd,/);
    assert.match(csv, /,'-1\+2,/);
    assert.match(csv, /,'@SUM\(A1\),/);
    assert.doesNotMatch(csv, /,=|,\+c|,@S/);
  });

  it('flattens nested fields into dotted paths for the event detail', () => {
    const rows = new Map(flattenEvent({ a: 1, b: { c: 'x', d: { e: null } }, f: [1, 2] }));
    assert.deepEqual([...rows.entries()], [
      ['a', '1'],
      ['b.c', 'x'],
      ['b.d.e', ''],
      ['f', '[1,2]'],
    ]);
  });
});

describe('console: list views', () => {
  const org: Organization = { id: 'o'.repeat(24), displayName: 'Org', settings: DEFAULT_ORG_SETTINGS, createdAt: new Date(0) };
  it('turns every users view into a store filter (no view loads all rows to filter them)', () => {
    for (const v of USER_VIEWS) {
      const f = userViewFilter(v, org, new Date());
      if (v === 'all') assert.equal(f, undefined);
      else assert.ok(f, v);
    }
    assert.deepEqual(userViewFilter('password_expiring', org, new Date()), { op: 'false' }, 'no expiry policy: nobody expires soon');
    assert.deepEqual(deviceListFilter({ view: 'inactive', search: '' }), { op: 'eq', attr: 'active', value: false });
  });
});
