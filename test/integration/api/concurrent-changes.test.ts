import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { emptyPostgresDatabase, storeTargets } from '../../helpers/test-store.js';

/**
 * Removing a user or a group while another request adds an association or a membership to it
 * (on PostgreSQL, where transactions run side by side, in one instance or several): every request
 * gets a clear answer (204, or 404 for the object already gone), never a 500, and no association
 * is left pointing at an object that no longer exists.
 */
for (const target of storeTargets()) {
  describe(`concurrent directory changes (${target})`, function () {
    this.timeout(120_000);
    let gh: RunningAppliance;
    let dir: string;
    let dropDatabase: (() => Promise<void>) | undefined;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gatehouse-crossing-'));
      let overrides: Record<string, unknown> = {};
      if (target === 'postgres') {
        const db = await emptyPostgresDatabase();
        dropDatabase = db.drop;
        overrides = { databaseUrl: db.url };
      }
      gh = await startAppliance(overrides, { dataDir: dir });
    });
    after(async () => {
      await gh?.stop();
      await dropDatabase?.();
      await rm(dir, { recursive: true, force: true });
    });

    it('removals crossing additions of associations and memberships: 204 or 404, never 500, and no association or membership of a removed object left', async () => {
      const ldapServer = (await gh.api('GET', '/api/v2/ldapservers')).body[0].id as string;
      const statuses = new Map<number, number>();
      const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
      const removedUsers: string[] = [];
      const removedGroups: string[] = [];
      const keptGroup = (await gh.api('POST', '/api/v2/usergroups', { name: 'kept' })).body.id as string;
      for (let round = 0; round < 15; round++) {
        const user = (await gh.api('POST', '/api/systemusers', { username: `crossing${round}`, email: `crossing${round}@example.com` })).body._id as string;
        const group = (await gh.api('POST', '/api/v2/usergroups', { name: `crossing-${round}` })).body.id as string;
        const rs = await Promise.all([
          gh.api('POST', `/api/v2/users/${user}/associations`, { op: 'add', type: 'ldap_server', id: ldapServer }),
          gh.api('POST', `/api/v2/usergroups/${keptGroup}/members`, { op: 'add', type: 'user', id: user }),
          gh.api('POST', `/api/v2/usergroups/${group}/associations`, { op: 'add', type: 'ldap_server', id: ldapServer }),
          gh.api('POST', `/api/v2/usergroups/${group}/members`, { op: 'add', type: 'user', id: user }),
          gh.api('DELETE', `/api/systemusers/${user}`),
          gh.api('DELETE', `/api/v2/usergroups/${group}`),
        ]);
        for (const r of rs) count(r.status);
        removedUsers.push(user);
        removedGroups.push(group);
      }
      for (const s of statuses.keys()) assert.ok([200, 204, 404].includes(s), `status ${s} (all: ${JSON.stringify([...statuses])})`);
      const edges = (await gh.api('GET', `/api/v2/ldapservers/${ldapServer}/associations`)).body as { to: { id: string } }[];
      const ids = new Set(edges.map((e) => e.to.id));
      for (const id of [...removedUsers, ...removedGroups]) assert.ok(!ids.has(id), `no association of removed ${id}`);
      const members = (await gh.api('GET', `/api/v2/usergroups/${keptGroup}/members`)).body as { to: { id: string } }[];
      for (const m of members) assert.ok(!removedUsers.includes(m.to.id), 'no membership of a removed user');
    });

    it('gives a POSIX group name to one of several groups asking for it at once (409 for the others)', async () => {
      const rs = await Promise.all(
        Array.from({ length: 30 }, (_, i) => gh.api('POST', '/api/v2/usergroups', { name: `race-${i}`, attributes: { posixGroups: [{ id: 70_000 + i, name: 'raced' }] } })),
      );
      assert.deepEqual(rs.map((r) => r.status).sort(), [201, ...Array(29).fill(409)], `statuses ${rs.map((r) => r.status).join(' ')}`);
      const crossed = await Promise.all([
        gh.api('POST', '/api/v2/usergroups', { name: 'cross-a', attributes: { posixGroups: [{ id: 71_001, name: 'cross-b' }] } }),
        gh.api('POST', '/api/v2/usergroups', { name: 'cross-b', attributes: { posixGroups: [{ id: 71_002, name: 'cross-a' }] } }),
      ]);
      assert.deepEqual(crossed.map((r) => r.status).sort(), [201, 409], 'each takes the other one\'s name: one of them only');
    });
  });
}
