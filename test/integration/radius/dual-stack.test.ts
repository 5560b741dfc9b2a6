import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { Code, bind, buildAccessRequest, checkReply, createRadiusServer, createUser, radiusEvents, udpClient } from './support.js';

const PASSWORD = 'Two-Stacks-One-Port-8';

async function ipv6Loopback(): Promise<boolean> {
  const s = dgram.createSocket('udp6');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '::1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    s.close();
  }
}

describe('RADIUS on a wildcard bind address serves IPv4 and IPv6 clients', function () {
  let gh: RunningAppliance;

  before(async function () {
    if (!(await ipv6Loopback())) {
      console.warn('      skipped: no IPv6 loopback on this machine');
      this.skip();
    }
    gh = await startAppliance({ bindAddress: '::' });
    const v4 = await createRadiusServer(gh, { sharedSecret: 'ipv4-nas-secret-0123456789', networkSourceIp: '127.0.0.0/8' });
    const v6 = await createRadiusServer(gh, { sharedSecret: 'ipv6-nas-secret-0123456789', networkSourceIp: '::1' });
    const id = await createUser(gh, 'uma', PASSWORD);
    await bind(gh, { type: 'user', id }, v4);
    await bind(gh, { type: 'user', id }, v6);
  });

  after(async () => gh?.stop());

  for (const [family, host, secret] of [
    ['IPv4', '127.0.0.1', 'ipv4-nas-secret-0123456789'],
    ['IPv6', '::1', 'ipv6-nas-secret-0123456789'],
  ] as const) {
    it(`answers an ${family} client with the secret of the server matching its address`, async () => {
      const c = await udpClient(gh.radiusPort, host);
      try {
        const req = buildAccessRequest({ secret, userName: 'uma', password: PASSWORD });
        const raw = await c.exchange(req);
        assert.ok(raw, 'no reply');
        assert.equal(checkReply(req, raw, secret).code, Code.AccessAccept);
        assert.equal((await radiusEvents(gh))[0]!.client_ip, host, 'IPv4-mapped addresses are reported as IPv4');
      } finally {
        await c.close();
      }
    });
  }
});
