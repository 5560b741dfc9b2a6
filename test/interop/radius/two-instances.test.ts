import assert from 'node:assert/strict';
import type { RunningAppliance } from '../../helpers/appliance.js';
import { requireBinary } from '../../helpers/binaries.js';
import { addMember, bind, createGroup, createRadiusServer, createUser } from '../../integration/radius/support.js';
import { radclient } from './support.js';
import { sharedStore, type SharedStore } from '../../helpers/shared-store.js';

const SECRET = 'two-instances-secret-0123456789';
const PASSWORD = 'Two-Instances-Pass-42';
const REVALIDATE_SECONDS = 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two instances on one store, as behind a load balancer: the NAS asks B, the admin changes things
 * through A. B keeps its reads while the directory version is unchanged (no re-read of the user or
 * its reply attributes every auth.revalidateSeconds), and sees A's changes within that bound.
 */
describe('RADIUS interop: radclient against a second instance while the directory changes through the first', function () {
  this.timeout(60_000);
  let a: RunningAppliance;
  let b: RunningAppliance;
  let userReads = 0;
  let instances: SharedStore | undefined;
  let groupId = '';
  const ids = new Map<string, string>();

  const ask = async (user: string) => {
    const r = await radclient(b.radiusPort, SECRET, [`User-Name = "${user}"`, `User-Password = "${PASSWORD}"`, 'Message-Authenticator = 0x00']);
    return r.stdout + r.stderr;
  };

  before(async function () {
    requireBinary(this, 'radclient', 'freeradius-utils');
    instances = await sharedStore(this, { auth: { revalidateSeconds: REVALIDATE_SECONDS } });
    a = await instances.start();
    const server = await createRadiusServer(a, { sharedSecret: SECRET });
    const group = await createGroup(a, 'vlan-210', [
      { name: 'Tunnel-Type', value: 'VLAN' },
      { name: 'Tunnel-Medium-Type', value: 'IEEE-802' },
      { name: 'Tunnel-Private-Group-Id', value: '210' },
    ]);
    await bind(a, { type: 'user_group', id: group }, server);
    groupId = group;
    for (const name of ['ann', 'bea']) {
      ids.set(name, await createUser(a, name, PASSWORD));
      await addMember(a, group, ids.get(name)!);
    }
    b = await instances.start();
    const users = b.appliance.store.repos.users;
    const findForAuth = users.findForAuth.bind(users);
    users.findForAuth = (...args) => {
      userReads++;
      return findForAuth(...args);
    };
  });

  after(async () => instances?.stop());

  it('answers from its kept reads while nothing changes, with no re-read of the user each revalidateSeconds', async () => {
    assert.match(await ask('ann'), /Access-Accept[\s\S]*Tunnel-Private-Group-Id(:0)? = "210"/);
    // The first read may predate the instance's first look at the version: it is re-read once.
    await sleep(REVALIDATE_SECONDS * 1000 + 200);
    assert.match(await ask('ann'), /Access-Accept/);
    const afterFirst = userReads;
    for (let i = 0; i < 6; i++) {
      await sleep(500);
      assert.match(await ask('ann'), /Access-Accept/);
    }
    assert.equal(userReads, afterFirst, `the user was read again ${userReads - afterFirst} times in 3 s with revalidateSeconds=${REVALIDATE_SECONDS}`);
  });

  it('refuses a user suspended through the other instance within revalidateSeconds', async () => {
    assert.match(await ask('bea'), /Access-Accept/);
    const r = await a.api('PUT', `/api/systemusers/${ids.get('bea')}`, { suspended: true });
    assert.equal(r.status, 200);
    await sleep(REVALIDATE_SECONDS * 1000 + 300);
    assert.match(await ask('bea'), /Access-Reject/);
  });

  it('sends the reply attributes changed through the other instance within revalidateSeconds', async () => {
    const r = await a.api('PUT', `/api/v2/usergroups/${groupId}`, {
      name: 'vlan-210',
      attributes: {
        radius: {
          reply: [
            { name: 'Tunnel-Type', value: 'VLAN' },
            { name: 'Tunnel-Medium-Type', value: 'IEEE-802' },
            { name: 'Tunnel-Private-Group-Id', value: '220' },
          ],
        },
      },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await sleep(REVALIDATE_SECONDS * 1000 + 300);
    assert.match(await ask('ann'), /Access-Accept[\s\S]*Tunnel-Private-Group-Id(:0)? = "220"/);
  });
});
