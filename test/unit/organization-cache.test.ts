import assert from 'node:assert/strict';
import { createOrganizationCache } from '../../src/core/directory/organization-cache.js';
import type { Organization } from '../../src/core/directory/organization.js';
import type { OrganizationRepository } from '../../src/core/ports.js';
import type { VersionWatch } from '../../src/core/directory/version-watch.js';

describe('OrganizationCache', () => {
  /** A repository that counts reads and answers with the current name. */
  const repo = () => {
    const st = { reads: 0, name: 'Acme' };
    const r = { get: async () => (st.reads++, { id: 'o1', displayName: st.name } as unknown as Organization) } as unknown as OrganizationRepository;
    return { st, r };
  };

  it('keeps the organisation for its time', async () => {
    const { st, r } = repo();
    const c = createOrganizationCache(r, 60_000);
    await c.get();
    await c.get();
    assert.equal(st.reads, 1);
  });

  it('drops it as soon as the version watch has seen the directory change, so that answers kept on the new generation are not built from the old policy', async () => {
    const { st, r } = repo();
    let generation = 1;
    const watch: VersionWatch = { generation: () => generation, vouches: (g) => g === generation, confirmedAgo: () => 0, close: () => undefined };
    const c = createOrganizationCache(r, 60_000, watch);
    assert.equal((await c.get()).displayName, 'Acme');
    st.name = 'Acme Europe'; // changed through another instance
    assert.equal((await c.get()).displayName, 'Acme', 'within its time, and the watch has seen nothing');
    generation = 2;
    assert.equal((await c.get()).displayName, 'Acme Europe');
    assert.equal(st.reads, 2);
  });
});
