import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import sqlite3 from 'sqlite3';
import { systemActor } from '../../../src/core/access/actor.js';
import { isDomainError } from '../../../src/core/errors.js';
import { startAppliance, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD, type RunningAppliance } from '../../helpers/appliance.js';
import { ConsoleClient, freshTotpCode, signedInConsole } from './support.js';

const OTHER_PASSWORD = 'Another-Admin-Pass-1';

/**
 * Administrators leave: another administrator removes them, which revokes their API keys and ends
 * their console sessions; any administrator revokes any administrator's key. Nobody removes
 * themselves, and the last administrator stays.
 */
describe('admin console (HTTP): removing administrators and revoking their API keys', function () {
  this.timeout(90_000);
  let gh: RunningAppliance;
  let admin: ConsoleClient;

  before(async () => {
    gh = await startAppliance();
    admin = await signedInConsole(gh);
  });
  after(async () => gh?.stop());

  const apiStatus = async (key: string) => (await fetch(`${gh.httpUrl}/api/systemusers`, { headers: { 'x-api-key': key } })).status;
  const directoryEvents = async (type: string) =>
    (await gh.api('POST', '/insights/directory/v1/events', { service: ['directory'], start_time: '2000-01-01T00:00:00Z', search_term: { and: [{ event_type: type }] } })).body as {
      success: boolean;
      initiated_by: { email?: string };
      resource: { id: string; email?: string; name?: string };
      owner?: { id: string; type: string; email?: string };
    }[];

  it("revokes another administrator's API key from the Administrators page", async () => {
    const other = await gh.appliance.core.admins.create({ email: 'keyholder@example.com', password: OTHER_PASSWORD }, systemActor);
    const { key, apiKey } = await gh.appliance.core.apiKeys.create('provisioning', other.id, systemActor);
    assert.equal(await apiStatus(key), 200);

    const page = await admin.get('/admin/admins');
    assert.match(page.text, new RegExp(`action="/admin/admins/${other.id}/api-keys/${apiKey.id}/delete"`));
    assert.match(page.text, /provisioning/);
    assert.doesNotMatch(page.text, new RegExp(key), 'the key itself is never shown again');

    const done = await admin.post(`/admin/admins/${other.id}/api-keys/${apiKey.id}/delete`);
    assert.equal(done.status, 200);
    assert.match(done.text, /API key provisioning revoked/);
    assert.equal(await apiStatus(key), 401);
    const ev = (await directoryEvents('api_key_delete')).find((e) => e.resource.id === apiKey.id);
    assert.ok(ev, 'api_key_delete recorded');
    assert.equal(ev.initiated_by.email, TEST_ADMIN_EMAIL);
    assert.deepEqual(ev.owner, { id: other.id, type: 'admin', email: 'keyholder@example.com' }, 'the trail names whose key it was');
    const created = (await directoryEvents('api_key_create')).find((e) => e.resource.id === apiKey.id);
    assert.deepEqual(created?.owner, { id: other.id, type: 'admin', email: 'keyholder@example.com' });

    // A key id under the wrong admin is refused, and nothing is revoked.
    const { key: second, apiKey: secondKey } = await gh.appliance.core.apiKeys.create('other', other.id, systemActor);
    const me = (await gh.appliance.core.admins.list()).find((a) => a.email === TEST_ADMIN_EMAIL)!;
    const wrong = await admin.post(`/admin/admins/${me.id}/api-keys/${secondKey.id}/delete`);
    assert.match(wrong.text, /No such API key/);
    assert.equal(await apiStatus(second), 200);
  });

  it('adds an administrator only with the adding admin\'s password, and opens the console to the new one only once the initial password is replaced', async () => {
    const count = async () => (await gh.appliance.core.admins.list()).length;
    const before = await count();
    const form = { email: 'newcomer@example.com', firstname: 'New', lastname: 'Comer', password: OTHER_PASSWORD };
    await admin.get('/admin/admins');
    const refused = await admin.post('/admin/admins', { ...form, current: 'not-my-password-at-all' });
    assert.match(refused.text, /Your password is not correct: no administrator was added/);
    assert.equal(await count(), before, 'no admin without the password');
    const unasked = await admin.post('/admin/admins', form);
    assert.match(unasked.text, /Your password is not correct/, 'nor without it');
    assert.equal(await count(), before);

    const added = await admin.post('/admin/admins', { ...form, current: TEST_ADMIN_PASSWORD });
    assert.match(added.text, /Administrator newcomer@example\.com added\. They choose their own password/);
    assert.match(added.text, /Has not replaced the initial password/);
    const created = (await directoryEvents('admin_create')).find((e) => e.resource.email === 'newcomer@example.com') as { password_change_required?: boolean } | undefined;
    assert.equal(created?.password_change_required, true);

    // The newcomer signs in: TOTP enrolment first (the organisation requires it), then only the
    // page that replaces the initial password.
    const c = new ConsoleClient(gh.httpUrl);
    await c.get('/admin/login');
    const enrol = await c.post('/admin/login', { email: 'newcomer@example.com', password: OTHER_PASSWORD });
    assert.equal(enrol.url, '/admin/login/enroll');
    const secret = /data-secret="([A-Z2-7]+)"/.exec(enrol.text)![1]!;
    const choose = await c.post('/admin/login/enroll', { otp: await freshTotpCode(secret) });
    assert.equal(choose.url, '/admin/login/password');
    assert.match(choose.text, /Choose your password/);
    for (const path of ['/admin/', '/admin/users', '/admin/account']) assert.equal((await c.get(path, false)).location, '/admin/login/password', `${path} waits for the new password`);
    const apiKey = await c.post('/admin/account/api-keys', { name: 'early' }, false);
    assert.equal(apiKey.location, '/admin/login/password', 'no API key before the password is replaced');
    await c.get('/admin/login/password');
    const same = await c.post('/admin/login/password', { new: OTHER_PASSWORD, confirm: OTHER_PASSWORD });
    assert.equal(same.status, 400);
    assert.match(same.text, /must differ from the initial one/);
    const mismatch = await c.post('/admin/login/password', { new: 'Chosen-By-Me-2026', confirm: 'Chosen-By-Me-2027' });
    assert.equal(mismatch.status, 400);
    const short = await c.post('/admin/login/password', { new: 'short', confirm: 'short' });
    assert.equal(short.status, 400);
    const done = await c.post('/admin/login/password', { new: 'Chosen-By-Me-2026', confirm: 'Chosen-By-Me-2026' });
    assert.equal(done.url, '/admin/');
    assert.equal(done.status, 200);
    assert.equal((await c.get('/admin/users')).status, 200, 'the console is open');
    assert.doesNotMatch((await admin.get('/admin/admins')).text, /Has not replaced the initial password/);

    // The initial password no longer signs in; the chosen one does, straight to the console.
    const again = new ConsoleClient(gh.httpUrl);
    await again.get('/admin/login');
    assert.equal((await again.post('/admin/login', { email: 'newcomer@example.com', password: OTHER_PASSWORD })).status, 401);
    await again.get('/admin/login');
    const totp = await again.post('/admin/login', { email: 'newcomer@example.com', password: 'Chosen-By-Me-2026' });
    assert.equal(totp.url, '/admin/login/totp');
    assert.equal((await again.post('/admin/login/totp', { otp: await freshTotpCode(secret) })).url, '/admin/');
    // Once replaced, the page is not there to skip the current password (My Account asks for it).
    assert.equal((await again.get('/admin/login/password', false)).location, '/admin/');
  });

  it('lets a newcomer whose password the operator reset meanwhile (CLI) through to the console instead of a dead end', async () => {
    await gh.appliance.core.admins.create({ email: 'late@example.com', password: OTHER_PASSWORD, requirePasswordChange: true }, systemActor);
    const c = new ConsoleClient(gh.httpUrl);
    await c.get('/admin/login');
    const enrol = await c.post('/admin/login', { email: 'late@example.com', password: OTHER_PASSWORD });
    const secret = /data-secret="([A-Z2-7]+)"/.exec(enrol.text)![1]!;
    assert.equal((await c.post('/admin/login/enroll', { otp: await freshTotpCode(secret) })).url, '/admin/login/password');
    await gh.appliance.core.admins.resetPassword('late@example.com', 'Operator-Chosen-2026', systemActor);
    const through = await c.post('/admin/login/password', { new: 'Whatever-Else-2026', confirm: 'Whatever-Else-2026' });
    assert.equal(through.url, '/admin/');
    assert.equal(through.status, 200);
    assert.equal((await c.get('/admin/users')).status, 200);
  });

  it('removes an administrator: their keys stop working, their sessions end, the audit trail says who did it', async () => {
    const leaver = await gh.appliance.core.admins.create({ email: 'leaver@example.com', password: OTHER_PASSWORD }, systemActor);
    const { key } = await gh.appliance.core.apiKeys.create('cron', leaver.id, systemActor);
    // The leaver signs in (the organisation requires TOTP: the session is at its enrolment step).
    const session = new ConsoleClient(gh.httpUrl);
    await session.get('/admin/login');
    assert.equal((await session.post('/admin/login', { email: leaver.email, password: OTHER_PASSWORD })).url, '/admin/login/enroll');
    assert.equal((await session.get('/admin/', false)).location, '/admin/login/enroll');
    assert.equal(await apiStatus(key), 200);

    const done = await admin.post(`/admin/admins/${leaver.id}/delete`);
    assert.equal(done.status, 200);
    assert.match(done.text, /Administrator leaver@example\.com removed/);
    assert.doesNotMatch(done.text, /leaver@example\.com<\/small>/);

    assert.equal(await apiStatus(key), 401);
    assert.equal((await session.get('/admin/', false)).location, '/admin/login', 'the session is gone');
    // (A form of the ended session is refused as expired: its token was bound to that session.)
    await session.get('/admin/login');
    const signIn = await session.post('/admin/login', { email: leaver.email, password: OTHER_PASSWORD });
    assert.equal(signIn.status, 401);
    assert.equal(await gh.appliance.core.admins.list().then((l) => l.some((a) => a.id === leaver.id)), false);

    const ev = (await directoryEvents('admin_delete')).find((e) => e.resource.id === leaver.id);
    assert.ok(ev, 'admin_delete recorded');
    assert.equal(ev.success, true);
    assert.equal(ev.resource.email, 'leaver@example.com');
    assert.equal(ev.initiated_by.email, TEST_ADMIN_EMAIL);
  });

  it('refuses to remove the signed-in administrator, an unknown one, and the last one', async () => {
    const me = (await gh.appliance.core.admins.list()).find((a) => a.email === TEST_ADMIN_EMAIL)!;
    const page = await admin.get('/admin/admins');
    assert.doesNotMatch(page.text, new RegExp(`action="/admin/admins/${me.id}/delete"`), 'no Remove button for oneself');
    const self = await admin.post(`/admin/admins/${me.id}/delete`);
    assert.match(self.text, /cannot remove your own administrator account/);
    assert.ok((await gh.appliance.core.admins.list()).some((a) => a.id === me.id));

    const unknown = await admin.post('/admin/admins/0123456789abcdef01234567/delete');
    assert.match(unknown.text, /not found|no such/i);
    assert.equal((await admin.post('/admin/admins/not-an-id/delete', {}, false)).status, 400);

    // Only the bootstrap admin and the key holder are left; remove the key holder, then the last.
    for (const a of await gh.appliance.core.admins.list()) if (a.id !== me.id) await gh.appliance.core.admins.remove(a.id, systemActor);
    await assert.rejects(gh.appliance.core.admins.remove(me.id, systemActor), (err: unknown) => isDomainError(err) && err.kind === 'conflict' && /last administrator/.test(err.message));
    assert.equal((await gh.appliance.core.admins.list()).length, 1);
  });

  /** Read-only admins come from backups (the console creates full administrators only). */
  const makeReadOnly = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const db = new sqlite3.Database(join(gh.dataDir, 'data', 'gatehouse.sqlite'));
      db.run("UPDATE admins SET role = 'read_only' WHERE id = ?", [id], (err) => db.close(() => (err ? reject(err) : resolve())));
    });

  it('lets a read-only administrator remove no one and revoke nothing, and keeps the last full administrator', async () => {
    const viewer = await gh.appliance.core.admins.create({ email: 'viewer@example.com', password: OTHER_PASSWORD }, systemActor);
    const target = await gh.appliance.core.admins.create({ email: 'target@example.com', password: OTHER_PASSWORD }, systemActor);
    const { key, apiKey } = await gh.appliance.core.apiKeys.create('target-key', target.id, systemActor);
    const { key: viewerKey } = await gh.appliance.core.apiKeys.create('viewer-key', viewer.id, systemActor);
    await makeReadOnly(viewer.id);
    // Their API key (made before, or brought by a backup) reads and searches, and changes nothing.
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${gh.httpUrl}${path}`, { method, headers: { 'x-api-key': viewerKey, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    assert.equal((await call('GET', '/api/systemusers')).status, 200);
    assert.equal((await call('POST', '/insights/directory/v1/events', { service: ['all'], start_time: '2000-01-01T00:00:00Z' })).status, 200);
    const write = await call('POST', '/api/systemusers', { username: 'sneaky', email: 'sneaky@example.com' });
    assert.equal(write.status, 403);
    assert.match(JSON.stringify(await write.json()), /read-only administrator/);
    const c = new ConsoleClient(gh.httpUrl);
    await c.signIn(viewer.email, OTHER_PASSWORD);
    const page = await c.get('/admin/admins');
    assert.match(page.text, /Read-only/);
    assert.doesNotMatch(page.text, /\/delete"/, 'no Remove or Revoke buttons for a read-only admin');
    for (const path of [`/admin/admins/${target.id}/delete`, `/admin/admins/${target.id}/api-keys/${apiKey.id}/delete`]) {
      const r = await c.post(path);
      assert.equal(r.status, 403, path);
      assert.match(r.text, /read-only: it can view the console but not change it/, path);
    }
    assert.ok((await gh.appliance.core.admins.list()).some((a) => a.id === target.id));
    assert.equal(await apiStatus(key), 200);
    // Nor anything else in the console (one check for every form); their own password still is theirs.
    const users = await c.post('/admin/users', { username: 'sneaky', email: 'sneaky@example.com' });
    assert.equal(users.status, 403);
    // Their own API key they may make (the Account page offers it), with their password, and it only reads.
    const refused = await c.post('/admin/account/api-keys', { name: 'mine' });
    assert.equal(refused.status, 401);
    assert.match(refused.text, /Your password is not correct: no API key was created/);
    const made = await c.post('/admin/account/api-keys', { name: 'mine', password: OTHER_PASSWORD });
    assert.equal(made.status, 201, made.text.slice(0, 200));
    const ownKey = /gh_[A-Za-z0-9_-]{40}/.exec(made.text)?.[0];
    assert.ok(ownKey, 'the new key is shown once');
    assert.equal((await fetch(`${gh.httpUrl}/api/systemusers`, { headers: { 'x-api-key': ownKey } })).status, 200);
    assert.equal((await fetch(`${gh.httpUrl}/api/systemusers`, { method: 'POST', headers: { 'x-api-key': ownKey, 'content-type': 'application/json' }, body: '{"username":"x","email":"x@example.com"}' })).status, 403);
    const own = await c.post('/admin/account/password', { current: OTHER_PASSWORD, new: 'Yet-Another-Pass-22', confirm: 'Yet-Another-Pass-22' });
    assert.equal(own.status, 200, own.text.slice(0, 200));
    assert.match(own.text, /Password changed/);
    // Core refuses it too, whoever calls.
    await assert.rejects(
      gh.appliance.core.admins.remove(target.id, { actor: { id: viewer.id, type: 'admin', email: viewer.email }, clientIp: '', authMethod: 'session' }),
      (err: unknown) => isDomainError(err) && err.kind === 'forbidden',
    );
    // With only read-only admins besides, the one full administrator cannot be removed.
    const me = (await gh.appliance.core.admins.list()).find((a) => a.email === TEST_ADMIN_EMAIL)!;
    await gh.appliance.core.admins.remove(target.id, systemActor);
    await assert.rejects(gh.appliance.core.admins.remove(me.id, systemActor), (err: unknown) => isDomainError(err) && /last administrator/.test(err.message));
    await gh.appliance.core.admins.remove(viewer.id, systemActor);
  });

  it('lets only one of two administrators removing each other at the same moment succeed', async () => {
    const a = await gh.appliance.core.admins.create({ email: 'mutual-a@example.com', password: OTHER_PASSWORD }, systemActor);
    const b = await gh.appliance.core.admins.create({ email: 'mutual-b@example.com', password: OTHER_PASSWORD }, systemActor);
    const as = (x: { id: string; email: string }) => ({ actor: { id: x.id, type: 'admin' as const, email: x.email }, clientIp: '', authMethod: 'session' as const });
    const results = await Promise.allSettled([gh.appliance.core.admins.remove(b.id, as(a)), gh.appliance.core.admins.remove(a.id, as(b))]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
    const left = (await gh.appliance.core.admins.list()).filter((x) => x.id === a.id || x.id === b.id);
    assert.equal(left.length, 1);
    await gh.appliance.core.admins.remove(left[0]!.id, systemActor);
  });

  it('filters Directory Insights by admin_delete', async () => {
    // A removal of its own, so that the list is not empty whatever ran before.
    const gone = await gh.appliance.core.admins.create({ email: 'insights-gone@example.com', password: OTHER_PASSWORD }, systemActor);
    await gh.appliance.core.admins.remove(gone.id, systemActor);
    const page = await admin.get('/admin/insights?range=24h&event_type=admin_delete');
    assert.match(page.text, /<option value="admin_delete" selected/);
    const types = [...page.text.matchAll(/<td><code>([a-z_]+)<\/code><\/td>/g)].map((m) => m[1]);
    assert.ok(types.length > 0, 'the removals of the tests above are listed');
    assert.deepEqual([...new Set(types)], ['admin_delete'], 'and nothing else');
  });

  it('needs the CSRF token to remove an administrator', async () => {
    const target = await gh.appliance.core.admins.create({ email: 'csrf-target@example.com', password: OTHER_PASSWORD }, systemActor);
    const saved = admin.csrf;
    admin.csrf = 'forged';
    try {
      const r = await admin.post(`/admin/admins/${target.id}/delete`, {}, false);
      assert.equal(r.status, 403);
    } finally {
      admin.csrf = saved;
    }
    assert.ok((await gh.appliance.core.admins.list()).some((a) => a.id === target.id));
  });
});
