import assert from 'node:assert/strict';
import type { RadiusServer } from '../../../src/core/directory/types.js';
import { createClientTable } from '../../../src/radius/clients.js';
import { blockContains, parseAddress, parseBlock, unmapAddress } from '../../../src/util/ip-block.js';

const server = (id: string, networkSourceIp: string, created = 0, secretLength = 24): RadiusServer => ({
  id,
  name: id,
  networkSourceIp,
  mfa: 'DISABLED',
  userLockoutAction: 'remove',
  userPasswordExpirationAction: 'remove',
  requireMessageAuthenticator: true,
  sharedSecretLength: secretLength,
  createdAt: new Date(created),
  updatedAt: new Date(created),
});

describe('RADIUS client addresses', () => {
  const cases: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.200.3.4', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['192.0.2.7', '192.0.2.7', true],
    ['192.0.2.7', '192.0.2.8', false],
    ['192.0.2.0/24', '::ffff:192.0.2.200', true],
    ['2001:db8::/32', '2001:db8:1::5', true],
    ['2001:db8::/32', '2001:db9::5', false],
    ['::1', '::1', true],
    ['0.0.0.0/0', '203.0.113.1', true],
    ['0.0.0.0/0', '2001:db8::1', false],
    ['::/0', '2001:db8::1', true],
    ['10.1.2.3/16', '10.1.200.1', true],
    ['::ffff:10.0.0.0/104', '10.0.0.9', true],
  ];
  for (const [block, address, inside] of cases) {
    it(`${inside ? 'matches' : 'does not match'} ${address} against ${block}`, () => {
      const b = parseBlock(block);
      const a = parseAddress(address);
      assert.ok(b && a);
      assert.equal(blockContains(b, a), inside);
    });
  }

  it('refuses what is not an address or block', () => {
    for (const t of ['', 'host.example', '10.0.0.0/33', '10.0.0.0/8/8', '10.0.0.0/x', '2001:db8::/129']) assert.equal(parseBlock(t), null, t);
    assert.equal(unmapAddress('::ffff:127.0.0.1'), '127.0.0.1');
  });
});

describe('RADIUS client table', () => {
  const warnings: string[] = [];
  const log = { debug() {}, info() {}, error() {}, warn: (_o: object, msg?: string) => void warnings.push(msg ?? '') };

  function source(servers: RadiusServer[]) {
    let listener: (() => void) | null = null;
    let failing = false;
    return {
      servers,
      fail: (v: boolean) => (failing = v),
      change: () => listener?.(),
      list: async () => {
        if (failing) throw new Error('store down');
        return [...servers];
      },
      sharedSecret: async (id: string) => (id === 'short' ? 'short' : `secret-of-${id}-0123456789`),
      onChange: (l: () => void) => {
        listener = l;
        return () => (listener = null);
      },
    };
  }

  it('picks the most specific block, an exact address first, the older server on a tie', async () => {
    const s = source([server('wide', '10.0.0.0/8', 1), server('narrow', '10.1.0.0/16', 2), server('host', '10.1.2.3', 3), server('twin', '10.0.0.0/8', 4)]);
    const t = createClientTable(s, log, 3600);
    await t.start();
    assert.equal(t.lookup('10.1.2.3')?.server.id, 'host');
    assert.equal(t.lookup('10.1.9.9')?.server.id, 'narrow');
    assert.equal(t.lookup('10.9.9.9')?.server.id, 'wide');
    assert.equal(t.lookup('::ffff:10.9.9.9')?.server.id, 'wide');
    assert.equal(t.lookup('192.0.2.1'), null);
    assert.equal(t.lookup('not an address'), null);
    assert.equal(t.lookup('10.1.2.3')?.secret.toString(), 'secret-of-host-0123456789');
    t.stop();
  });

  it('reloads when a server changes, and keeps the old table when the store fails', async () => {
    const s = source([server('a', '192.0.2.1')]);
    const t = createClientTable(s, log, 3600);
    await t.start();
    s.servers.push(server('b', '192.0.2.2'));
    s.change();
    await t.refresh();
    assert.equal(t.lookup('192.0.2.2')?.server.id, 'b');
    s.fail(true);
    s.servers.length = 0;
    await t.refresh();
    assert.equal(t.lookup('192.0.2.1')?.server.id, 'a', 'a failed reload dropped the table');
    t.stop();
  });

  it('answers a source it knew, or did not know, anew after each reload, and stays right past its memory of 4,096 addresses', async () => {
    const s = source([server('a', '192.0.2.1'), server('net', '10.0.0.0/8', 1)]);
    const t = createClientTable(s, log, 3600);
    await t.start();
    assert.equal(t.lookup('192.0.2.2'), null);
    assert.equal(t.lookup('192.0.2.1')?.secret.toString(), 'secret-of-a-0123456789');
    s.servers.push(server('b', '192.0.2.2', 2));
    s.servers[0] = { ...server('a', '192.0.2.1'), updatedAt: new Date(5000) };
    const read = s.sharedSecret;
    s.sharedSecret = async (id: string) => (id === 'a' ? 'a-brand-new-secret-0123' : read(id));
    await t.refresh();
    assert.equal(t.lookup('192.0.2.2')?.server.id, 'b', 'an unknown source stays unknown after a reload');
    assert.equal(t.lookup('192.0.2.1')?.secret.toString(), 'a-brand-new-secret-0123', 'the old secret was kept');
    // A flood from many sources (spoofed, say): every answer still right, before and after.
    for (let i = 0; i < 10_000; i++) {
      const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      assert.equal(t.lookup(address)?.server.id, 'net', address);
      assert.equal(t.lookup(`203.0.${(i >> 8) & 255}.${i & 255}`), null);
    }
    assert.equal(t.lookup('192.0.2.2')?.server.id, 'b');
    s.servers.splice(2, 1);
    await t.refresh();
    assert.equal(t.lookup('192.0.2.2'), null, 'a removed server is forgotten');
    t.stop();
  });

  it('reads a secret again only when its server changed, and warns once per server version however often it reloads', async () => {
    warnings.length = 0;
    const s = source([server('a', '192.0.2.1'), server('bad', 'not-an-address'), server('short', '192.0.2.3', 0, 5)]);
    const reads: string[] = [];
    const read = s.sharedSecret;
    s.sharedSecret = async (id: string) => {
      reads.push(id);
      return read(id);
    };
    const t = createClientTable(s, log, 3600);
    await t.start();
    for (let i = 0; i < 5; i++) await t.refresh();
    assert.deepEqual(reads.sort(), ['a', 'short'], 'one read per server over six loads');
    assert.equal(warnings.filter((w) => /unusable networkSourceIp/.test(w)).length, 1);
    assert.equal(warnings.filter((w) => /shorter than 16/.test(w)).length, 1);
    // A new secret moves the server's updatedAt: read again, and used.
    s.servers[0] = { ...server('a', '192.0.2.1'), updatedAt: new Date(5000) };
    s.sharedSecret = async (id: string) => (reads.push(id), id === 'a' ? 'a-brand-new-secret-0123' : read(id));
    await t.refresh();
    assert.equal(t.lookup('192.0.2.1')?.secret.toString(), 'a-brand-new-secret-0123');
    assert.equal(reads.filter((id) => id === 'a').length, 2);
    t.stop();
  });

  it('warns about a shared secret shorter than 16 characters (BlastRADIUS)', async () => {
    warnings.length = 0;
    const t = createClientTable(source([server('short', '192.0.2.3', 0, 5)]), log, 3600);
    await t.start();
    assert.ok(warnings.some((w) => /shorter than 16/.test(w)), warnings.join('\n'));
    t.stop();
  });
});
