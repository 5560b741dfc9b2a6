import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ldapServerResource, radiusServerResource } from '../../src/core/auth/resources.js';
import { startAppliance, type RunningAppliance } from '../helpers/appliance.js';
import { cli } from '../helpers/cli.js';
import { base32Decode, timeStep, totpAtStep } from '../helpers/rfc6238.js';

/** `gatehouse export` then `gatehouse import` into an empty data dir, through the real CLI. */
const PASSWORD = 'Backup-Tested-77';
const TOTP_SEED = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('export and import through the CLI', function () {
  this.timeout(120_000);
  let dir: string;
  let source: RunningAppliance;
  const snapshot: Record<string, unknown> = {};
  let userId = '';
  let radiusId = '';

  /** Everything an admin would compare after a restore, read through the API. */
  async function readDirectory(gh: RunningAppliance) {
    const users = (await gh.api('GET', '/api/systemusers?limit=100&sort=username')).body.results;
    const groups = (await gh.api('GET', '/api/v2/usergroups?limit=100')).body;
    const members: Record<string, unknown> = {};
    const associations: Record<string, unknown> = {};
    for (const g of groups as { id: string }[]) {
      members[g.id] = (await gh.api('GET', `/api/v2/usergroups/${g.id}/members`)).body;
      associations[g.id] = (await gh.api('GET', `/api/v2/usergroups/${g.id}/associations`)).body;
    }
    for (const u of users as { _id: string }[]) associations[u._id] = (await gh.api('GET', `/api/v2/users/${u._id}/associations`)).body;
    return {
      organizations: (await gh.api('GET', '/api/organizations')).body,
      users,
      groups,
      members,
      associations,
      ldap: (await gh.api('GET', '/api/v2/ldapservers')).body,
      radius: (await gh.api('GET', '/api/radiusservers')).body,
      applications: (await gh.api('GET', '/api/applications')).body,
      systems: (await gh.api('GET', '/api/systems')).body,
      systemGroups: (await gh.api('GET', '/api/v2/systemgroups')).body,
    };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-backup-'));
    source = await startAppliance({ publicUrl: 'https://gatehouse.example.com' }, { dataDir: join(dir, 'source') });
    const org = (await source.api('GET', '/api/organizations')).body.results[0];
    assert.equal((await source.api('PUT', `/api/organizations/${org._id}`, { settings: { passwordPolicy: { minLength: 10, maxLoginAttempts: 4 } } })).status, 200);
    const u = await source.api('POST', '/api/systemusers', { username: 'restored', email: 'restored@example.com', firstname: 'Re', password: PASSWORD, ldap_binding_user: true });
    assert.equal(u.status, 201);
    userId = u.body._id;
    await source.api('POST', '/api/systemusers', { username: 'pending', email: 'pending@example.com' });
    assert.equal((await source.api('POST', `/api/systemusers/${userId}/totp`, { secret: TOTP_SEED })).status, 201);
    const g = await source.api('POST', '/api/v2/usergroups', { name: 'net', attributes: { posixGroups: [{ name: 'net' }], radius: { reply: [{ name: 'Tunnel-Private-Group-Id', value: '42' }] } } });
    await source.api('POST', `/api/v2/usergroups/${g.body.id}/members`, { op: 'add', type: 'user', id: userId });
    const ldap = (await source.api('GET', '/api/v2/ldapservers')).body[0];
    await source.api('POST', `/api/v2/usergroups/${g.body.id}/associations`, { op: 'add', type: 'ldap_server', id: ldap.id });
    const radius = await source.api('POST', '/api/radiusservers', { name: 'wifi', networkSourceIp: '10.1.0.0/16', sharedSecret: 'a-radius-secret-of-32-characters' });
    radiusId = radius.body._id;
    await source.api('POST', `/api/v2/radiusservers/${radiusId}/associations`, { op: 'add', type: 'user_group', id: g.body.id });
    await source.api('POST', '/api/applications', { name: 'crm', config: { spEntityId: 'https://crm.example.com', acsUrls: ['https://crm.example.com/acs'] } });
    const s = await source.api('POST', '/api/systems', { displayName: 'build-01', hostname: 'build-01.example.com', os: 'Debian' });
    const sg = await source.api('POST', '/api/v2/systemgroups', { name: 'servers' });
    await source.api('POST', `/api/v2/systemgroups/${sg.body.id}/members`, { op: 'add', type: 'system', id: s.body._id });
    Object.assign(snapshot, await readDirectory(source));
    await source.stop();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('restores the same directory from a passphrase export, with working passwords, TOTP and shared secrets', async () => {
    const file = join(dir, 'backup.json');
    const pass = join(dir, 'passphrase');
    writeFileSync(pass, 'a long export passphrase\n');
    const exp = await cli(join(dir, 'source', 'data'), ['export', '--out', file, '--passphrase-file', pass]);
    assert.equal(exp.code, 0, exp.stderr);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(TOTP_SEED) && !text.includes('a-radius-secret-of-32-characters'), 'a secret is in clear in the export');
    assert.ok(text.includes('$argon2id$'), 'password hashes are exported');

    const target = join(dir, 'target');
    const imp = await cli(join(target, 'data'), ['import', file, '--passphrase-file', pass]);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /imported 2 users, 1 user groups/);

    const gh = await startAppliance({ publicUrl: 'https://gatehouse.example.com' }, { dataDir: target });
    try {
      assert.deepEqual(await readDirectory(gh), snapshot);
      const core = gh.appliance.core;
      const ldap = ldapServerResource((await core.ldapServers.list())[0]!);
      const ok = await core.auth.authenticate({ protocol: 'ldap', login: 'restored', password: PASSWORD, clientIp: '127.0.0.1', resource: ldap });
      assert.equal(ok.status, 'ok');
      const radius = radiusServerResource(await core.radiusServers.get(radiusId));
      const code = totpAtStep(base32Decode(TOTP_SEED), timeStep(Date.now() / 1000));
      const withCode = await core.auth.authenticate({ protocol: 'radius', login: 'restored', password: PASSWORD, otp: code, clientIp: '127.0.0.1', resource: { ...radius, mfa: 'if_enrolled' } });
      assert.equal(withCode.status, 'ok');
      assert.equal(await core.radiusServers.sharedSecret(radiusId), 'a-radius-secret-of-32-characters');
    } finally {
      await gh.stop();
    }
  });

  it('refuses to import into a store that already holds an organisation', async () => {
    const file = join(dir, 'backup.json');
    const again = await cli(join(dir, 'target', 'data'), ['import', file], { GATEHOUSE_EXPORT_PASSPHRASE: 'a long export passphrase' });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds an organisation/);
  });

  it('refuses a wrong passphrase without writing anything', async () => {
    const fresh = join(dir, 'wrong-pass', 'data');
    const r = await cli(fresh, ['import', join(dir, 'backup.json')], { GATEHOUSE_EXPORT_PASSPHRASE: 'not the right passphrase' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /passphrase does not open/);
    const retry = await cli(fresh, ['import', join(dir, 'backup.json')], { GATEHOUSE_EXPORT_PASSPHRASE: 'a long export passphrase' });
    assert.equal(retry.code, 0, retry.stderr);
  });

  it('imports an export sealed with the instance key only when given that key', async () => {
    const file = join(dir, 'sealed.json');
    const exp = await cli(join(dir, 'source', 'data'), ['export', '--out', file]);
    assert.equal(exp.code, 0, exp.stderr);
    assert.match(exp.stderr, /sealed with this instance's secret key/);
    const target = join(dir, 'keyed', 'data');
    const refused = await cli(target, ['import', file]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--secret-key-file/);
    const ok = await cli(target, ['import', file, '--secret-key-file', join(dir, 'source', 'data', 'secret.key')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(readFileSync(join(target, 'secret.key')), readFileSync(join(dir, 'source', 'data', 'secret.key')));
  });
});
