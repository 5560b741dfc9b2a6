import assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import { lockoutPolicyOf } from '../../../src/core/directory/organization.js';
import type { User } from '../../../src/core/directory/types.js';
import { newId } from '../../../src/util/ids.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { rowIds, signedInConsole, type ConsoleClient } from './support.js';

const N = 12_000;
const DAY = 86_400_000;
/** Generous for a loaded CI machine; a page that loads every row takes far longer at this size. */
const PAGE_BUDGET_MS = 1500;

/** What user i is, by i % 12 (see the seeding below). */
const kind = (i: number) =>
  (['pending', 'staged', 'suspended', 'locked', 'forced', 'totp', 'expiring', 'aged', 'active', 'active', 'active', 'active'] as const)[i % 12]!;
const count = (k: ReturnType<typeof kind>) => Array.from({ length: N }, (_, i) => kind(i)).filter((x) => x === k).length;

/**
 * The users list at scale: thousands of users written straight through the store (as bench/seed.ts
 * does), then every "filter by" view, search, sort and paging through the console, each page within
 * a time budget and with totals that match what was seeded.
 */
describe('admin console: users list at scale', function () {
  this.timeout(300_000);
  let gh: RunningAppliance;
  let c: ConsoleClient;

  before(async () => {
    gh = await startAppliance();
    const org = gh.appliance.bootstrap.organization;
    await gh.api('PUT', `/api/organizations/${org.id}`, { settings: { passwordPolicy: { passwordExpirationInDays: 90, maxLoginAttempts: 1 } } });
    const policy = lockoutPolicyOf((await gh.appliance.core.organization.get()).settings.passwordPolicy);
    const hash = (await gh.appliance.store.repos.users.getCredentials(
      (await gh.api('POST', '/api/systemusers', { username: 'template', email: 'template@example.com', password: 'Sunny-Meadow-41' })).body._id,
    ))!.passwordHash!;
    await gh.api('DELETE', `/api/systemusers/${(await gh.api('GET', '/api/systemusers?filter=username:$eq:template')).body.results[0]._id}`);
    const now = Date.now();
    for (let start = 0; start < N; start += 2000) {
      await gh.appliance.store.transaction(async (tx) => {
        for (let i = start; i < Math.min(N, start + 2000); i++) {
          const k = kind(i);
          const at = new Date(now - (N - i) * 1000);
          const changed = k === 'expiring' ? new Date(now - 80 * DAY) : k === 'aged' ? new Date(now - 100 * DAY) : at;
          const u: User = {
            id: newId(at.getTime()),
            username: `user${String(i).padStart(5, '0')}`,
            email: `user${String(i).padStart(5, '0')}@scale.example`,
            firstname: 'Scale',
            lastname: `Person ${i}`,
            displayname: '',
            state: k === 'staged' ? 'STAGED' : k === 'suspended' ? 'SUSPENDED' : 'ACTIVATED',
            hasPassword: k !== 'pending',
            passwordChangedAt: k === 'pending' ? null : changed,
            passwordExpiredFlag: k === 'forced',
            totpEnrolled: k === 'totp',
            enableUserPortalMultifactor: false,
            mfaExclusion: false,
            mfaExclusionUntil: null,
            ldapBindingUser: false,
            unixUid: 200_000 + i,
            unixGuid: 200_000 + i,
            jobTitle: '',
            department: '',
            company: '',
            location: '',
            employeeIdentifier: '',
            description: '',
            attributes: [],
            lockedAt: null,
            createdAt: at,
            updatedAt: at,
          };
          await tx.users.create(u, { passwordHash: k === 'pending' ? null : hash, passwordHistory: [], totpSecret: null, totpPendingSecret: null });
          await tx.authState.ensure(u.id);
          if (k === 'locked') await tx.authState.recordFailure(u.id, new Date(), policy);
        }
      });
    }
    c = await signedInConsole(gh);
  });
  after(async () => gh?.stop());

  const timed = async (path: string) => {
    const t0 = performance.now();
    const page = await c.get(path);
    const ms = performance.now() - t0;
    assert.equal(page.status, 200, path);
    assert.ok(ms < PAGE_BUDGET_MS, `${path} took ${ms.toFixed(0)} ms`);
    return page;
  };
  const total = (html: string) => Number(/<span id="users-count">([\d,]+) user/.exec(html)![1]!.replace(/,/g, ''));

  it('counts every view in the store, matching what was seeded', async () => {
    const expected: Record<string, number> = {
      all: N,
      password_pending: count('pending'),
      staged: count('staged'),
      suspended: count('suspended'),
      locked_out: count('locked'),
      password_expired: count('forced') + count('aged'),
      password_expiring: count('expiring'),
      mfa_not_enrolled: N - count('staged') - count('suspended') - count('totp'),
      active: N - count('pending') - count('staged') - count('suspended'),
    };
    for (const [view, n] of Object.entries(expected)) {
      const page = await timed(`/admin/users?view=${view}&size=25`);
      assert.equal(total(page.text), n, view);
      assert.equal(rowIds(page.text).length, Math.min(25, n), `${view}: one page of rows`);
    }
  });

  it('pages to the last page and sorts in the store', async () => {
    const last = await timed(`/admin/users?sort=username&size=100&page=${N / 100}`);
    const names = [...last.text.matchAll(/<span>(user\d{5})<\/span>/g)].map((m) => m[1]);
    assert.equal(names.length, 100);
    assert.equal(names.at(-1), `user${String(N - 1).padStart(5, '0')}`);
    const desc = await timed('/admin/users?sort=-email&size=25');
    assert.equal(/<span>(user\d{5})<\/span>/.exec(desc.text)![1], `user${String(N - 1).padStart(5, '0')}`);
    const beyond = await timed('/admin/users?sort=username&size=100&page=999999');
    assert.equal(rowIds(beyond.text).length, 100, 'a page past the end shows the last page');
  });

  it('searches case-insensitively within a view', async () => {
    const one = await timed('/admin/users?q=USER01234&size=25');
    assert.equal(total(one.text), 1);
    const within = await timed('/admin/users?q=person%2011&view=staged&size=25');
    const expected = Array.from({ length: N }, (_, i) => i).filter((i) => kind(i) === 'staged' && `Person ${i}`.includes('Person 11')).length;
    assert.equal(total(within.text), expected);
  });

  it('shows the Home page aggregates within the budget, with the same numbers', async () => {
    const home = await timed('/admin/');
    const n = (label: string) => Number(new RegExp(`<span class="stat-n">([\\d,]+)</span><span class="stat-label">${label}</span>`).exec(home.text)![1]!.replace(/,/g, ''));
    assert.equal(n('Locked out'), count('locked'));
    assert.equal(n('Password pending'), count('pending'));
    assert.equal(n('Password expiring in 14 days'), count('expiring'));
  });

  it('runs a bulk action on a whole page and reports every row', async () => {
    const page = await timed('/admin/users?view=locked_out&size=50');
    const ids = rowIds(page.text);
    assert.equal(ids.length, 50);
    const r = await c.post('/admin/users/bulk', { action: 'unlock', ids, back: '/admin/users?view=locked_out&size=50' });
    assert.match(r.text, /50 done/);
    const after = await timed('/admin/users?view=locked_out&size=50');
    assert.equal(total(after.text), count('locked') - 50);
  });
});
