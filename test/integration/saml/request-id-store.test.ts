import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { SignOnRequestRecord, SignOnRequestRepository } from '../../../src/core/ports.js';
import { createMemorySsoRepositories } from '../../../src/core/sso/memory-repositories.js';
import { openStore, type OpenStoreResult } from '../../../src/store/index.js';
import { MIGRATION_NAMES } from '../../../src/store/migrate.js';
import { T0 } from '../../helpers/factories.js';
import { storeTargets, useTestStore } from '../../helpers/test-store.js';

const MIN = 60_000;
const record = (over: Partial<SignOnRequestRecord> = {}): SignOnRequestRecord => ({
  idHash: randomBytes(32).toString('hex'),
  appId: 'a'.repeat(24),
  receivedAt: T0,
  expiresAt: new Date(T0.getTime() + 10 * MIN),
  ...over,
});

/**
 * The replay guard's store (SAML request IDs seen per SP): the same contract for the in-memory
 * repository of unit tests and for the store's, on SQLite and on PostgreSQL (when
 * GATEHOUSE_TEST_DATABASE_URL is set), where several instances share it.
 */
function contract(repo: () => SignOnRequestRepository) {
  it('takes a request ID once while it is remembered', async () => {
    const r = record();
    assert.equal(await repo().remember(r, T0), true);
    assert.equal(await repo().remember({ ...r, receivedAt: new Date(T0.getTime() + MIN) }, new Date(T0.getTime() + MIN)), false);
    assert.equal(await repo().remember(r, new Date(r.expiresAt.getTime() - 1)), false);
  });

  it('takes it again once the record has expired (a purge not yet run changes nothing)', async () => {
    const r = record();
    assert.equal(await repo().remember(r, T0), true);
    const later = r.expiresAt;
    assert.equal(await repo().remember({ ...r, receivedAt: later, expiresAt: new Date(later.getTime() + 10 * MIN) }, later), true);
    // and the renewed record is a fresh one: unanswered, remembered again
    assert.equal(await repo().markAnswered(r.idHash, later), true);
    assert.equal(await repo().remember(r, later), false);
  });

  it('marks a request answered once, and says so', async () => {
    const r = record();
    await repo().remember(r, T0);
    assert.equal(await repo().isAnswered(r.idHash, T0), false);
    assert.equal(await repo().markAnswered(r.idHash, T0), true);
    assert.equal(await repo().isAnswered(r.idHash, T0), true);
    assert.equal(await repo().markAnswered(r.idHash, T0), false);
    assert.equal(await repo().isAnswered(randomBytes(32).toString('hex'), T0), false);
  });

  it('does not mark an unknown or expired request answered', async () => {
    assert.equal(await repo().markAnswered(randomBytes(32).toString('hex'), T0), false);
    const r = record();
    await repo().remember(r, T0);
    assert.equal(await repo().markAnswered(r.idHash, r.expiresAt), false);
  });

  it('lets exactly one of 20 concurrent receipts take a request, and one of 20 answers', async () => {
    const r = record();
    const taken = await Promise.all(Array.from({ length: 20 }, () => repo().remember(r, T0)));
    assert.equal(taken.filter(Boolean).length, 1);
    const answered = await Promise.all(Array.from({ length: 20 }, () => repo().markAnswered(r.idHash, T0)));
    assert.equal(answered.filter(Boolean).length, 1);
  });

  it('purges expired records only, so the table cannot grow without bound', async () => {
    const old = record({ expiresAt: new Date(T0.getTime() - 1) });
    const live = record();
    await repo().remember(old, new Date(T0.getTime() - 2 * MIN));
    await repo().remember(live, T0);
    assert.equal(await repo().purgeExpired(T0), 1);
    assert.equal(await repo().purgeExpired(T0), 0);
    assert.equal(await repo().remember(live, T0), false, 'the live record survived the purge');
  });
}

describe('SignOnRequestRepository (memory)', () => {
  let repo: SignOnRequestRepository;
  beforeEach(() => {
    repo = createMemorySsoRepositories().signOnRequests;
  });
  contract(() => repo);
});

for (const target of storeTargets()) {
  describe(`SignOnRequestRepository (${target})`, function () {
    const ctx = useTestStore(target);
    // The store as the appliance opens it (driver, SQLite writer lock): a second open of the test
    // store's database, the way a second instance would.
    let opened: OpenStoreResult | null = null;
    beforeEach(async function () {
      const c = ctx.current;
      opened = await openStore(target === 'postgres' ? { databaseUrl: c.location, dataDir: tmpdir() } : { databaseUrl: '', dataDir: c.location });
    });
    afterEach(async function () {
      await opened?.store.close();
      opened = null;
    });

    it('is created by migration 0009-sso-request-ids', () => {
      assert.ok(MIGRATION_NAMES.includes('0009-sso-request-ids'));
      assert.ok(ctx.current.migrated.includes('0009-sso-request-ids'));
    });

    contract(() => opened!.sso.signOnRequests);
  });
}
