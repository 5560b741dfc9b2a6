import assert from 'node:assert/strict';
import type { DirectoryDeps } from '../../src/core/directory/deps.js';
import { createRadiusServerService } from '../../src/core/directory/radius-servers.js';
import { DomainError } from '../../src/core/errors.js';
import type { ActorContext } from '../../src/core/access/actor.js';

/**
 * A concurrent create that got past the service's check is stopped by the store's unique index on
 * the canonical block (`network_source_block`); the API must still name the field the client sent.
 */
describe('RADIUS server service: unique-index conflicts on the network', () => {
  for (const column of ['network_source_block', 'network_source_ip']) {
    it(`reports a ${column} conflict from the store as networkSourceIp`, async () => {
      const store = {
        transaction: async () => {
          throw new DomainError('conflict', 'directory.conflict', `${column} is already in use`, column);
        },
      };
      const deps = { store, clock: { now: () => new Date(0) }, secretBox: { seal: (s: string) => s } } as unknown as DirectoryDeps;
      const service = createRadiusServerService(deps);
      const ctx = {} as ActorContext;
      for (const call of [() => service.create({ name: 'x', networkSourceIp: '127.0.0.1/32', sharedSecret: 'a-long-enough-secret-0123' }, ctx), () => service.update('id', { networkSourceIp: '127.0.0.1/32' }, ctx)]) {
        await assert.rejects(call(), (e: DomainError) => e.kind === 'conflict' && e.field === 'networkSourceIp' && /127\.0\.0\.1\/32/.test(e.message));
      }
    });
  }
});
