import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createAuditRecorder } from '../../../src/core/audit/recorder.js';
import { createSecretBox } from '../../../src/core/auth/secret-box.js';
import { createOrganizationCache } from '../../../src/core/directory/organization-cache.js';
import type { Application } from '../../../src/core/directory/types.js';
import { createMemorySsoRepositories } from '../../../src/core/sso/memory-repositories.js';
import { createSsoService, generateSigningCredentials, signingKeyContext } from '../../../src/core/sso/sso-service.js';
import { createFakeClock } from '../../helpers/fake-clock.js';
import { createMemoryStore } from '../../helpers/memory-store.js';

/**
 * An app's first signing key, generated on first use: when another instance stores its own first
 * key while this one is generating, this one signs and publishes the stored key, not its own.
 */
describe('SSO signing keys generated on first use (core)', () => {
  it('serves the key another instance stored first, not the one it generated', async () => {
    const clock = createFakeClock();
    const store = createMemoryStore({ clock });
    const sso = createMemorySsoRepositories();
    const secretBox = createSecretBox(randomBytes(32));
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    const audit = createAuditRecorder({ repo: store.repos.audit, clock, log, organizationId: () => 'org', flushIntervalMs: 60_000, batchSize: 1000, maxQueue: 1000 });
    const service = createSsoService({ store, sso, secretBox, clock, audit, organization: createOrganizationCache(store.repos.organizations, 0) });
    const app = { id: '0123456789abcdef01234567', name: 'raced' } as Application;

    const theirs = await generateSigningCredentials('raced');
    const set = sso.applicationCredentials.setSigningKeyIfAbsent.bind(sso.applicationCredentials);
    sso.applicationCredentials.setSigningKeyIfAbsent = async (appId, key) => {
      // The other instance's key lands first.
      await set(appId, { sealedSigningKey: secretBox.seal(theirs.keyPem, signingKeyContext(appId)), signingCertificate: theirs.certPem, updatedAt: clock.now() });
      return set(appId, key);
    };
    const [cert, creds] = await Promise.all([service.signingCertificate(app), service.signingCredentials(app)]);
    assert.equal(cert, theirs.certPem, 'the metadata certificate is the stored one');
    assert.equal(creds.certPem, theirs.certPem);
    assert.equal(creds.keyPem, theirs.keyPem, 'and assertions are signed with its key');
    await audit.close();
  });
});
