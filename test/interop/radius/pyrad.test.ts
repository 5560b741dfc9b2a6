import assert from 'node:assert/strict';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { requireBinary } from '../../helpers/binaries.js';
import { Code, addMember, bind, createGroup, createRadiusServer, createUser, radiusEvents } from '../../integration/radius/support.js';
import { oathtool, pyrad, pythonWithPyrad } from './support.js';

const SECRET = 'interop-pyrad-secret-0123456';
const PASSWORD = 'Pyrad-Interop-Pass-34';

/** Python's pyrad (Debian python3-pyrad) as an independent RADIUS codec against the listener. */
describe('RADIUS interop: pyrad', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  let python: string;
  let seed: string;

  const send = (args: Record<string, unknown>) => pyrad(python, { port: gh.radiusPort, secret: SECRET, password: PASSWORD, ...args });

  before(async function () {
    requireBinary(this, 'oathtool', 'oathtool');
    const py = pythonWithPyrad();
    if (!py) {
      if (process.env.CI) throw new Error('pyrad is required in CI (apt-get install -y python3-pyrad)');
      console.warn('      skipped: pyrad not installed (apt-get install -y python3-pyrad)');
      this.skip();
    }
    python = py!;
    gh = await startAppliance();
    const serverId = await createRadiusServer(gh, { sharedSecret: SECRET, mfa: 'ENABLED' });
    const vlan = await createGroup(gh, 'vlan-42', [
      { name: 'Tunnel-Type', value: 'VLAN' },
      { name: 'Tunnel-Medium-Type', value: 'IEEE-802' },
      { name: 'Tunnel-Private-Group-Id', value: '42' },
      { name: 'Session-Timeout', value: '7200' },
    ]);
    await bind(gh, { type: 'user_group', id: vlan }, serverId);
    await addMember(gh, vlan, await createUser(gh, 'pat', PASSWORD));
    const quinn = await createUser(gh, 'quinn', PASSWORD);
    await bind(gh, { type: 'user', id: quinn }, serverId);
    seed = (await gh.api('POST', `/api/systemusers/${quinn}/totp`, {})).body.secret;
  });

  after(async () => gh?.stop());

  it('gets an Access-Accept with VLAN attributes, a valid Response Authenticator and a valid Message-Authenticator first', async () => {
    const r = await send({ user: 'pat' });
    assert.ok(r, 'no reply');
    assert.equal(r.code, Code.AccessAccept);
    assert.ok(r.response_authenticator_ok);
    assert.ok(r.message_authenticator_first, `attribute types ${r.types.join(',')}`);
    assert.ok(r.message_authenticator_ok);
    assert.deepEqual(r.attributes['Tunnel-Private-Group-Id'], ['42']);
    assert.deepEqual(r.attributes['Session-Timeout'], [7200]);
    assert.deepEqual(r.attributes['Tunnel-Type'], ['VLAN']);
    assert.deepEqual(r.attributes['Tunnel-Medium-Type'], ['IEEE-802']);
  });

  it('gets a signed Access-Reject for a wrong password', async () => {
    const r = await send({ user: 'pat', password: 'nope-nope' });
    assert.equal(r?.code, Code.AccessReject);
    assert.ok(r.response_authenticator_ok && r.message_authenticator_first && r.message_authenticator_ok);
    assert.deepEqual(r.types, [80]);
  });

  it('gets no answer without a Message-Authenticator, or with the wrong secret', async () => {
    assert.equal(await send({ user: 'pat', message_authenticator: false, timeout: 1 }), null);
    assert.equal(await send({ user: 'pat', secret: 'wrong-secret-000000000', timeout: 1 }), null);
  });

  it('completes an Access-Challenge with an oathtool code and refuses the replayed code', async () => {
    const first = await send({ user: 'quinn' });
    assert.equal(first?.code, Code.AccessChallenge);
    assert.ok(first.message_authenticator_first && first.message_authenticator_ok);
    const state = first.attributes['State']![0] as string;
    const code = await oathtool(seed);
    const second = await send({ user: 'quinn', password: code, state });
    assert.equal(second?.code, Code.AccessAccept);
    assert.ok(second.message_authenticator_first && second.message_authenticator_ok && second.response_authenticator_ok);
    const replay = await send({ user: 'quinn', password: `${PASSWORD};${code}` });
    assert.equal(replay?.code, Code.AccessReject);
    const [e] = await radiusEvents(gh);
    assert.equal(e!.error_message, 'TOTP code already used');
    assert.equal(e!.username, 'quinn');
  });
});
