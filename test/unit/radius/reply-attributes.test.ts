import assert from 'node:assert/strict';
import { createRadiusReplyService, mergeReplyAttributes } from '../../../src/core/radius/reply-attributes.js';
import { newId } from '../../../src/util/ids.js';
import { makeCredentials, makeGroup, makeUser } from '../../helpers/factories.js';
import { createMemoryStore } from '../../helpers/memory-store.js';

const g = (id: string, created: number, reply: [string, string][]) => ({ id, createdAt: new Date(created), radiusReply: reply.map(([name, value]) => ({ name, value })) });

describe('RADIUS reply attributes: conflicts between groups (newest group wins)', () => {
  it('takes each attribute from the newest group that sets it and keeps the rest', () => {
    const out = mergeReplyAttributes([
      g('000000010000000000000001', 1000, [['Tunnel-Private-Group-Id', '100'], ['Filter-Id', 'old-acl'], ['Session-Timeout', '60']]),
      g('000000020000000000000002', 2000, [['Tunnel-Private-Group-Id', '200'], ['filter-id', 'new-acl']]),
    ]);
    assert.deepEqual(out, [
      { name: 'Tunnel-Private-Group-Id', value: '200' },
      { name: 'filter-id', value: 'new-acl' },
      { name: 'Session-Timeout', value: '60' },
    ]);
  });

  it('keeps every value of a repeated attribute from the winning group only', () => {
    const out = mergeReplyAttributes([
      g('b', 2000, [['Cisco-AVPair', 'x=1'], ['Cisco-AVPair', 'x=2']]),
      g('a', 1000, [['Cisco-AVPair', 'y=1']]),
    ]);
    assert.deepEqual(out.map((a) => a.value), ['x=1', 'x=2']);
  });

  it('breaks a tie on creation time by the larger id, and a tag does not make another attribute', () => {
    const out = mergeReplyAttributes([
      g('aaaa', 1000, [['Tunnel-Type:1', 'VLAN'], ['Reply-Message', 'from a']]),
      g('bbbb', 1000, [['Tunnel-Type:2', 'VLAN'], ['Reply-Message', 'from b']]),
    ]);
    assert.deepEqual(out.map((a) => `${a.name}=${a.value}`), ['Tunnel-Type:2=VLAN', 'Reply-Message=from b']);
  });

  it('sends one VLAN when an older group sets it untagged and a newer one tagged (RFC 2868 §3.1)', () => {
    const out = mergeReplyAttributes([
      g('old', 1000, [['Tunnel-Type', 'VLAN'], ['Tunnel-Medium-Type', 'IEEE-802'], ['Tunnel-Private-Group-Id', '100']]),
      g('new', 2000, [['Tunnel-Type:1', 'VLAN'], ['Tunnel-Medium-Type:1', 'IEEE-802'], ['Tunnel-Private-Group-Id:1', '300']]),
    ]);
    assert.deepEqual(out.map((a) => `${a.name}=${a.value}`), ['Tunnel-Type:1=VLAN', 'Tunnel-Medium-Type:1=IEEE-802', 'Tunnel-Private-Group-Id:1=300']);
  });

  it('keeps several tagged tunnels of the winning group', () => {
    const out = mergeReplyAttributes([
      g('new', 2000, [['Tunnel-Private-Group-Id:1', '300'], ['Tunnel-Private-Group-Id:2', '301']]),
      g('old', 1000, [['Tunnel-Private-Group-Id', '100']]),
    ]);
    assert.deepEqual(out.map((a) => `${a.name}=${a.value}`), ['Tunnel-Private-Group-Id:1=300', 'Tunnel-Private-Group-Id:2=301']);
  });

  it('returns nothing for no groups', () => {
    assert.deepEqual(mergeReplyAttributes([]), []);
  });
});

describe('RADIUS reply attributes: the service over the store', () => {
  const server = newId();
  const setup = async () => {
    const store = createMemoryStore();
    const user = makeUser();
    const group = makeGroup();
    await store.transaction(async (tx) => {
      await tx.users.create(user, makeCredentials());
      await tx.userGroups.create(group);
      await tx.userGroups.addMember(group.id, user.id);
      await tx.associations.add({ fromType: 'user_group', fromId: group.id, toType: 'radius_server', toId: server, createdAt: new Date() });
    });
    let perUserReads = 0;
    const read = store.repos.userGroups.groupsOfUserBoundTo.bind(store.repos.userGroups);
    store.repos.userGroups.groupsOfUserBoundTo = (...args) => {
      perUserReads++;
      return read(...args);
    };
    // A long revalidation window: only commits (the epoch) may make it read again.
    const service = createRadiusReplyService({ store, revalidateMs: 60_000 });
    return { store, user, group, service, reads: () => perUserReads };
  };

  it('answers without a per-user read while no group bound to the server has reply attributes', async () => {
    const { user, service, reads } = await setup();
    assert.deepEqual(await service.replyAttributesFor(user.id, server), []);
    assert.deepEqual(await service.replyAttributesFor(makeUser().id, server), []);
    assert.equal(reads(), 0);
  });

  it('applies reply attributes given to a bound group at the next request', async () => {
    const { store, user, group, service, reads } = await setup();
    assert.deepEqual(await service.replyAttributesFor(user.id, server), []);
    await store.transaction((tx) => tx.userGroups.update(group.id, { radiusReply: [{ name: 'Filter-Id', value: 'staff' }] }));
    assert.deepEqual(await service.replyAttributesFor(user.id, server), [{ name: 'Filter-Id', value: 'staff' }]);
    assert.equal(reads(), 1);
  });
});
