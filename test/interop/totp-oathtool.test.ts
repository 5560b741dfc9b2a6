import assert from 'node:assert/strict';
import { applicationResource } from '../../src/core/auth/resources.js';
import { requireBinary, run } from '../helpers/binaries.js';
import { startAppliance, type RunningAppliance } from '../helpers/appliance.js';

/** TOTP codes computed by oathtool (an independent RFC 6238 implementation) against Gatehouse's verifier. */
describe('TOTP interop with oathtool', function () {
  let gh: RunningAppliance;
  let userId: string;
  let secret: string;
  let resource: ReturnType<typeof applicationResource>;

  before(async function () {
    requireBinary(this, 'oathtool', 'oathtool');
    gh = await startAppliance();
    const user = await gh.api('POST', '/api/systemusers', { username: 'otto', email: 'otto@example.com', password: 'Sunny-Meadow-41' });
    assert.equal(user.status, 201);
    userId = user.body._id;
    const app = await gh.api('POST', '/api/applications', { name: 'wiki', config: { spEntityId: 'https://wiki.example.com', acsUrls: ['https://wiki.example.com/acs'] } });
    assert.equal(app.status, 201);
    assert.equal((await gh.api('POST', `/api/v2/users/${userId}/associations`, { op: 'add', type: 'application', id: app.body._id })).status, 204);
    resource = applicationResource(await gh.appliance.core.applications.get(app.body._id));
  });

  after(async () => gh?.stop());

  const login = (otp?: string) =>
    gh.appliance.core.auth.authenticate({ protocol: 'saml', login: 'otto', password: 'Sunny-Meadow-41', otp, clientIp: '127.0.0.1', resource });
  const oathtool = (offsetSeconds = 0) =>
    run('oathtool', ['--totp', '-b', ...(offsetSeconds ? ['--now', new Date(Date.now() + offsetSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')] : []), secret]);

  it('provisions a seed whose otpauth URI carries the same secret', async () => {
    const r = await gh.api('POST', `/api/systemusers/${userId}/totp`, {});
    assert.equal(r.status, 201);
    secret = r.body.secret;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(r.body.otpauth_uri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), secret);
  });

  it('asks for a code once the user is enrolled', async () => {
    assert.equal((await login()).status, 'mfa_required');
  });

  it('accepts the current oathtool code, once', async () => {
    const code = oathtool();
    assert.match(code, /^\d{6}$/);
    assert.equal((await login(code)).status, 'ok');
    const replay = await login(code);
    assert.equal(replay.status, 'mfa_invalid');
    assert.equal(replay.status === 'mfa_invalid' && replay.reason, 'TOTP code already used');
  });

  it('refuses a code from three steps ago', async () => {
    assert.equal((await login(oathtool(-90))).status, 'mfa_invalid');
  });

  it('accepts an admin-supplied seed and codes from it', async () => {
    const given = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const r = await gh.api('POST', `/api/systemusers/${userId}/totp`, { secret: given });
    assert.equal(r.status, 201);
    assert.equal(r.body.secret, given);
    secret = given;
    assert.equal((await login(oathtool())).status, 'ok');
  });
});
