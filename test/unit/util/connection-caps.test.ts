import assert from 'node:assert/strict';
import { ConnectionCaps } from '../../../src/util/connection-caps.js';

describe('listener connection caps (util/connection-caps)', () => {
  const admitted = (a: ReturnType<ConnectionCaps['admit']>) => {
    assert.equal(a.over, null);
    return a as Extract<typeof a, { over: null }>;
  };

  it('refuses over the per-address cap, counting an IPv6 /64 as one address, and admits again after a release', () => {
    const caps = new ConnectionCaps({ maxConnections: 10, maxConnectionsPerIp: 2 });
    const first = admitted(caps.admit('2001:db8:1:2::a'));
    admitted(caps.admit('2001:db8:1:2:ffff::b'));
    assert.deepEqual(caps.admit('2001:db8:1:2::c'), { over: 'per_ip', key: '2001:db8:1:2::/64' });
    admitted(caps.admit('192.0.2.1'));
    first.release();
    first.release();
    assert.equal(caps.open, 2, 'a second release counts nothing');
    admitted(caps.admit('2001:db8:1:2::c'));
  });

  it('refuses over the total cap whatever the address, and takes 0 per address as no limit', () => {
    const caps = new ConnectionCaps({ maxConnections: 3, maxConnectionsPerIp: 0 });
    for (let i = 0; i < 3; i++) admitted(caps.admit('192.0.2.1'));
    assert.equal(caps.admit('198.51.100.7').over, 'total');
    assert.equal(caps.open, 3);
  });
});
