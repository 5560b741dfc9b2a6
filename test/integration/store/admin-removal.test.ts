import assert from 'node:assert/strict';
import { createAdminService } from '../../../src/core/access/admins.js';
import { createApiKeyService } from '../../../src/core/access/api-keys.js';
import type { ActorContext } from '../../../src/core/access/actor.js';
import { createAuditRecorder } from '../../../src/core/audit/recorder.js';
import type { PasswordHasher } from '../../../src/core/auth/password-hasher.js';
import { isDomainError } from '../../../src/core/errors.js';
import { createFakeClock } from '../../helpers/fake-clock.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';

/** No argon2 here: what is tested is who may remove whom, not the password. */
const hasher = { hash: async (p: string) => `plain:${p}`, verify: async (h: string, p: string) => h === `plain:${p}` } as unknown as PasswordHasher;
const silentLog = { debug() {}, info() {}, warn() {}, error() {} };
const as = (a: { id: string; email: string }): ActorContext => ({ actor: { id: a.id, type: 'admin', email: a.email }, clientIp: '', authMethod: 'session' });
const PASSWORD = 'Another-Admin-Pass-1';

/**
 * Removing administrators on each store: checks that read admins and then change them must not
 * interleave. On PostgreSQL (READ COMMITTED) two crossed removals used to both commit and leave no
 * administrator at all; a key could be created for an admin removed at the same moment.
 */
for (const target of storeTargets()) {
  describe(`Removing administrators, concurrently (${target})`, function () {
    this.timeout(60_000);
    const ctx = useTestStore(target);
    const services = () => {
      const clock = createFakeClock(Date.now());
      const audit = createAuditRecorder({ repo: ctx.store.repos.audit, clock, log: silentLog, organizationId: () => 'org', flushIntervalMs: 10, batchSize: 100, maxQueue: 10_000 });
      return {
        admins: createAdminService({ store: ctx.store, hasher, clock, audit }),
        apiKeys: createApiKeyService({ store: ctx.store, clock, audit }),
      };
    };

    it('lets exactly one of two administrators removing each other succeed, every time', async () => {
      const { admins } = services();
      const system: ActorContext = { actor: { type: 'system' }, clientIp: '', authMethod: 'system' };
      for (let round = 0; round < 5; round++) {
        const a = await admins.create({ email: `a${round}@example.com`, password: PASSWORD }, system);
        const b = await admins.create({ email: `b${round}@example.com`, password: PASSWORD }, system);
        const results = await Promise.allSettled([admins.remove(b.id, as(a)), admins.remove(a.id, as(b))]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
        const left = (await admins.list()).filter((x) => x.id === a.id || x.id === b.id);
        assert.equal(left.length, 1, `round ${round}: one of the two stays`);
        // With no other administrator, the survivor is the last one and stays; else it is removed.
        if (round > 0) await admins.remove(left[0]!.id, system);
      }
      assert.equal((await admins.list()).length, 1, 'never no administrator');
    });

    it('creates no API key for an administrator removed at the same moment', async () => {
      const { admins, apiKeys } = services();
      const system: ActorContext = { actor: { type: 'system' }, clientIp: '', authMethod: 'system' };
      const keeper = await admins.create({ email: 'keeper@example.com', password: PASSWORD }, system);
      for (let round = 0; round < 5; round++) {
        const leaver = await admins.create({ email: `leaver${round}@example.com`, password: PASSWORD }, system);
        await Promise.allSettled([admins.remove(leaver.id, as(keeper)), apiKeys.create('late', leaver.id, as(leaver))]);
        const orphans = (await apiKeys.list()).filter((k) => k.adminId === leaver.id);
        assert.deepEqual(orphans, [], `round ${round}: no key outlives its administrator`);
      }
      await assert.rejects(apiKeys.create('gone', 'ffffffffffffffffffffffff', system), (err: unknown) => isDomainError(err) && err.kind === 'not_found');
    });
  });
}
