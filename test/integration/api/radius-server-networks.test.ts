import assert from 'node:assert/strict';
import type { RadiusServer } from '../../../src/core/directory/types.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { assertError } from './support.js';

const SECRET = 'radius-networks-secret-0123456789';

/**
 * networkSourceIp is compared as the network the RADIUS client table matches (address family
 * normalised, host bits cleared, /32 or /128 the same as a bare address), and the API warns about
 * blocks that admit far more than one NAS and about host bits that are ignored.
 */
describe('RADIUS servers: networkSourceIp as a network', function () {
  let run: RunningAppliance;
  let single: string;
  let other: string;

  const create = (name: string, networkSourceIp: string) => run.api('POST', '/api/radiusservers', { name, networkSourceIp, sharedSecret: SECRET });

  before(async function () {
    run = await startAppliance();
    const a = await create('single', '127.0.0.1');
    assert.equal(a.status, 201, JSON.stringify(a.body));
    single = a.body._id;
    const b = await create('block', '127.0.1.0/24');
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const c = await create('other', '192.0.2.50');
    assert.equal(c.status, 201, JSON.stringify(c.body));
    other = c.body._id;
  });

  after(async function () {
    await run?.stop();
  });

  describe('uniqueness by network', function () {
    for (const ip of ['127.0.0.1/32', '::ffff:127.0.0.1', '::ffff:127.0.0.1/128', '127.0.1.5/24', '127.0.1.0/24']) {
      it(`refuses a second server for ${ip} with 409 naming networkSourceIp`, async function () {
        const res = await create(`dup-${ip}`, ip);
        assertError(res, 409, 'networkSourceIp');
      });
    }

    it('names the server that has the network', async function () {
      const res = await create('dup-named', '127.0.0.1/32');
      assert.match(res.body.message, /127\.0\.0\.1\/32 is the same network as 127\.0\.0\.1, already used by RADIUS server single/);
    });

    it('still accepts a narrower block inside another one (the longest prefix wins)', async function () {
      const res = await create('narrower', '127.0.1.0/25');
      assert.equal(res.status, 201, JSON.stringify(res.body));
    });

    it('refuses PUT onto another server’s network with 409 and changes nothing', async function () {
      for (const ip of ['127.0.0.1/32', '::ffff:127.0.0.1', '127.0.1.9/24']) {
        assertError(await run.api('PUT', `/api/radiusservers/${other}`, { networkSourceIp: ip }), 409, 'networkSourceIp');
      }
      assert.equal((await run.api('GET', `/api/radiusservers/${other}`)).body.networkSourceIp, '192.0.2.50');
    });

    it('accepts PUT of another spelling of the server’s own network', async function () {
      const res = await run.api('PUT', `/api/radiusservers/${single}`, { networkSourceIp: '127.0.0.1/32' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.networkSourceIp, '127.0.0.1/32');
    });

    it('has the store refuse a second row for the same network too (what guards concurrent creates)', async function () {
      const now = new Date();
      const row: RadiusServer = {
        id: 'abcdefabcdefabcdefabcdef',
        name: 'racer',
        // A spelling no other test creates, so that only the canonical block can clash.
        networkSourceIp: '::ffff:7f00:1',
        mfa: 'DISABLED',
        userLockoutAction: 'remove',
        userPasswordExpirationAction: 'remove',
        requireMessageAuthenticator: true,
        sharedSecretLength: SECRET.length,
        createdAt: now,
        updatedAt: now,
      };
      // Straight to the repository, past the service's check, as a concurrent transaction would be.
      await assert.rejects(run.appliance.store.transaction((tx) => tx.radiusServers.create(row, 'sealed')), (e: Error & { kind?: string }) => e.kind === 'conflict');
    });

    it('lets exactly one of concurrent creates for one network succeed', async function () {
      const spellings = ['10.9.9.9', '10.9.9.9/32', '::ffff:10.9.9.9', '::ffff:10.9.9.9/128'];
      const results = await Promise.all(spellings.map((ip, i) => create(`race-${i}`, ip)));
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409], JSON.stringify(results.map((r) => r.body)));
    });
  });

  describe('warnings', function () {
    const warningsOf = async (name: string, ip: string) => {
      const res = await create(name, ip);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const again = await run.api('GET', `/api/radiusservers/${res.body._id}`);
      assert.deepEqual(again.body.warnings, res.body.warnings, 'the warnings stay on GET');
      return res.body.warnings as string[];
    };

    it('warns that 0.0.0.0/0 admits every address', async function () {
      const w = await warningsOf('everyone-v4', '0.0.0.0/0');
      assert.ok(w.includes('networkSourceIp 0.0.0.0/0 admits every IPv4 address; the shared secret is then the only check'), JSON.stringify(w));
    });

    it('warns that ::/0 admits every address', async function () {
      const w = await warningsOf('everyone-v6', '::/0');
      assert.ok(w.includes('networkSourceIp ::/0 admits every IPv6 address; the shared secret is then the only check'), JSON.stringify(w));
    });

    it('warns about a block wider than /8 (IPv4) or /16 (IPv6), not about /8 or /16 themselves', async function () {
      const wide = async (name: string, ip: string) => (await warningsOf(name, ip)).some((x) => x.startsWith(`networkSourceIp ${ip} admits`));
      assert.ok(await wide('wide-v4', '64.0.0.0/7'));
      assert.ok(await wide('wide-v6', '2000::/15'));
      assert.ok(!(await wide('class-a', '11.0.0.0/8')));
      assert.ok(!(await wide('v6-16', '2001::/16')));
      assert.ok(!(await wide('subnet', '198.51.100.0/24')));
    });

    it('warns that host bits are ignored, and stores the value as typed', async function () {
      const res = await create('host-bits', '172.16.5.1/24');
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.networkSourceIp, '172.16.5.1/24');
      assert.ok(res.body.warnings.includes('networkSourceIp 172.16.5.1/24 has host bits set; it is matched as 172.16.5.0/24'), JSON.stringify(res.body.warnings));
      const v6 = await warningsOf('host-bits-v6', '2001:db8::1/64');
      assert.ok(v6.includes('networkSourceIp 2001:db8::1/64 has host bits set; it is matched as 2001:db8::/64'), JSON.stringify(v6));
    });

    it('does not warn about a plain address or a clean block', async function () {
      for (const [name, ip] of [['plain', '203.0.113.7'], ['clean', '203.0.113.128/25']] as const) {
        const w = await warningsOf(name, ip);
        assert.ok(!w.some((x) => x.startsWith('networkSourceIp')), JSON.stringify(w));
      }
    });
  });

  it('refuses an IPv4-mapped block with a prefix under 96, which the client table could not match', async function () {
    assertError(await create('mapped-short', '::ffff:10.0.0.0/64'), 400, 'networkSourceIp');
  });
});
