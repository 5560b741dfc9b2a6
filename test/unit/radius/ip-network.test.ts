import assert from 'node:assert/strict';
import type { RadiusServer } from '../../../src/core/directory/types.js';
import { createClientTable } from '../../../src/radius/clients.js';
import { formatBlock, hasHostBits, networkKey, parseBlock } from '../../../src/util/ip-block.js';
import { makeRadiusServer } from '../../helpers/factories.js';

describe('networkSourceIp as a network (util/ip-block)', () => {
  const same: [string, string][] = [
    ['127.0.0.1', '127.0.0.1/32'],
    ['127.0.0.1', '::ffff:127.0.0.1'],
    ['127.0.0.1', '::FFFF:127.0.0.1/128'],
    ['127.0.0.1', '::ffff:7f00:1'],
    ['10.0.0.0/8', '::ffff:a00:0/104'],
    ['127.0.1.5/24', '127.0.1.0/24'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
    ['2001:db8::1', '2001:0db8:0:0:0:0:0:1/128'],
    ['2001:db8::1/32', '2001:db8::/32'],
  ];
  for (const [a, b] of same) {
    it(`gives ${a} and ${b} one key`, () => {
      assert.ok(networkKey(a));
      assert.equal(networkKey(a), networkKey(b));
    });
  }

  it('tells different networks apart', () => {
    for (const [a, b] of [['127.0.0.1', '127.0.0.2'], ['10.0.0.0/8', '10.0.0.0/9'], ['0.0.0.0/0', '::/0'], ['::1', '127.0.0.1']]) {
      assert.notEqual(networkKey(a!), networkKey(b!), `${a} ${b}`);
    }
    assert.equal(networkKey('bogus'), null);
  });

  it('writes the canonical form (RFC 5952 for IPv6)', () => {
    const cases: [string, string][] = [
      ['127.0.0.1', '127.0.0.1/32'],
      ['0.0.0.0/0', '0.0.0.0/0'],
      ['::/0', '::/0'],
      ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'],
      ['2001:db8:0:1:0:0:0:0/64', '2001:db8:0:1::/64'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8/128'],
    ];
    for (const [text, want] of cases) assert.equal(formatBlock(parseBlock(text)!), want, text);
  });

  it('sees host bits only where the prefix leaves some set', () => {
    for (const t of ['127.0.0.1/24', '2001:db8::1/64', '::ffff:10.0.0.1/104']) assert.ok(hasHostBits(t), t);
    for (const t of ['127.0.0.1', '127.0.0.0/24', '2001:db8::/64', '0.0.0.0/0', 'bogus']) assert.ok(!hasHostBits(t), t);
  });
});

describe('RADIUS client table: two servers for one network', () => {
  const server = (id: string, networkSourceIp: string, created: number): RadiusServer =>
    makeRadiusServer({ id, name: id, networkSourceIp, createdAt: new Date(created), updatedAt: new Date(created) });

  it('keeps the older server and says the other is ignored (rows stored before the check)', async () => {
    const warnings: string[] = [];
    const log = { debug() {}, info() {}, error() {}, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') };
    const servers = [server('newer', '::ffff:127.0.0.1', 2), server('older', '127.0.0.1', 1), server('blk-new', '10.1.2.3/8', 4), server('blk-old', '10.0.0.0/8', 3)];
    const source = { list: async () => servers, sharedSecret: async (id: string) => `secret-of-${id}-0123456789`, onChange: () => () => {} };
    const table = createClientTable(source, log, 3600);
    await table.refresh();
    assert.equal(table.lookup('127.0.0.1')?.server.id, 'older');
    assert.equal(table.lookup('10.9.9.9')?.server.id, 'blk-old');
    assert.equal(table.size, 2);
    assert.equal(warnings.filter((w) => /names the same network as older \(127\.0\.0\.1\).*newer is ignored/.test(w)).length, 1, JSON.stringify(warnings));
    assert.equal(warnings.filter((w) => /blk-new is ignored/.test(w)).length, 1, JSON.stringify(warnings));
    await table.refresh();
    assert.equal(warnings.filter((w) => /is ignored/.test(w)).length, 2, 'told once per change');
  });
});
