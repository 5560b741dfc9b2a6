import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenStoreResult } from '../../../src/store/index.js';
import { emptyPostgresDatabase, storeTargets } from '../../helpers/test-store.js';

/**
 * An app's first signing key, generated on first use by whichever instance serves the app first:
 * when two do at once, one key is kept and both use it (a key that was replaced after an SP loaded
 * the metadata would break that SP's sign-ons). Keys set on purpose (regenerate, upload) replace.
 */
for (const target of storeTargets()) {
  describe(`application signing keys in the store (${target})`, function () {
    this.timeout(30_000);
    let opened: OpenStoreResult;
    let cleanup: () => Promise<void>;

    before(async () => {
      const dir = await mkdtemp(join(tmpdir(), 'gatehouse-appkeys-'));
      if (target === 'postgres') {
        const db = await emptyPostgresDatabase();
        opened = await openStore({ databaseUrl: db.url, dataDir: dir });
        cleanup = async () => {
          await db.drop();
          await rm(dir, { recursive: true, force: true });
        };
      } else {
        opened = await openStore({ databaseUrl: '', dataDir: dir });
        cleanup = () => rm(dir, { recursive: true, force: true });
      }
    });
    after(async () => {
      await opened?.store.close();
      await cleanup?.();
    });

    const key = (n: string) => ({ sealedSigningKey: `sealed-${n}`, signingCertificate: `cert-${n}`, updatedAt: new Date() });

    it('keeps the first key stored when two are set at once, and takes one where the row has SP settings but no key', async () => {
      const creds = opened.sso.applicationCredentials;
      await Promise.all(['a', 'b', 'c', 'd'].map((n) => creds.setSigningKeyIfAbsent('0123456789abcdef01234567', key(n))));
      const first = await creds.get('0123456789abcdef01234567');
      assert.ok(first?.sealedSigningKey);
      assert.equal(first.signingCertificate, first.sealedSigningKey.replace('sealed', 'cert'), 'key and certificate of the same pair');
      await creds.setSigningKeyIfAbsent('0123456789abcdef01234567', key('late'));
      assert.equal((await creds.get('0123456789abcdef01234567'))?.sealedSigningKey, first.sealedSigningKey, 'a stored key stays');

      await creds.upsert('0123456789abcdef01234568', { spCertificate: 'sp-cert', requireSignedRequests: true, updatedAt: new Date() });
      await creds.setSigningKeyIfAbsent('0123456789abcdef01234568', key('x'));
      const second = await creds.get('0123456789abcdef01234568');
      assert.equal(second?.sealedSigningKey, 'sealed-x');
      assert.equal(second?.spCertificate, 'sp-cert', 'the SP settings stay');
      assert.equal(second?.requireSignedRequests, true);

      await creds.upsert('0123456789abcdef01234568', { ...key('regenerated') });
      assert.equal((await creds.get('0123456789abcdef01234568'))?.sealedSigningKey, 'sealed-regenerated', 'a key set on purpose replaces');
    });
  });
}
