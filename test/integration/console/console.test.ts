import assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import { startAppliance, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD, type RunningAppliance } from '../../helpers/appliance.js';
import { createFakeClock } from '../../helpers/fake-clock.js';
import { buildAccessRequest, createRadiusServer, udpClient } from '../radius/support.js';
import { ConsoleClient, freshTotpCode, rowIds, signedInConsole } from './support.js';

const PASSWORD = 'Sunny-Meadow-41';

/** The admin console over HTTP: session and CSRF plumbing, guards, bulk actions, Insights escaping. */
describe('admin console (HTTP)', function () {
  this.timeout(90_000);
  let gh: RunningAppliance;
  /** Signed in once: each sign-in spends a TOTP step, and a code is accepted only once. */
  let admin: ConsoleClient;
  const ids: Record<string, string> = {};

  before(async () => {
    gh = await startAppliance();
    for (const u of ['amy', 'ben', 'cat']) {
      const r = await gh.api('POST', '/api/systemusers', { username: u, email: `${u}@example.com`, firstname: u, password: PASSWORD });
      ids[u] = r.body._id;
    }
    admin = await signedInConsole(gh);
  });
  after(async () => gh?.stop());

  it('serves the sign-in page with a strict CSP, frame-ancestors none and local assets only', async () => {
    const res = await fetch(`${gh.httpUrl}/admin/login`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const html = await res.text();
    assert.match(html, /<label for="email">Email<\/label>/);
    assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]|style="|https?:\/\/(?!localhost|127\.0\.0\.1)[a-z]/i);
    for (const a of ['console.css', 'console.js', 'favicon.svg']) assert.equal((await fetch(`${gh.httpUrl}/admin/assets/${a}`)).status, 200, a);
    assert.equal((await fetch(`${gh.httpUrl}/admin/assets/..%2F..%2Fpackage.json`)).status, 404);
  });

  it('sends a signed-out browser to the sign-in page, keeping where it was going', async () => {
    const res = await fetch(`${gh.httpUrl}/admin/users?view=locked_out`, { redirect: 'manual' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/admin/login?next=%2Fadmin%2Fusers%3Fview%3Dlocked_out');
    const post = await fetch(`${gh.httpUrl}/admin/users/bulk`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=unlock' });
    assert.ok(post.status === 303 || post.status === 403, `an anonymous POST is refused (${post.status})`);
  });

  it('sets an HttpOnly SameSite session cookie on /admin and regenerates it at every sign-in step', async () => {
    const c = new ConsoleClient(gh.httpUrl);
    await c.get('/admin/login');
    const res = await fetch(`${gh.httpUrl}/admin/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `gh_admin_session_csrf=${c.cookie('gh_admin_session_csrf')}` },
      body: new URLSearchParams({ _csrf: c.csrf, email: TEST_ADMIN_EMAIL, password: TEST_ADMIN_PASSWORD }).toString(),
    });
    assert.equal(res.status, 303);
    const cookie = res.headers.getSetCookie().find((x) => x.startsWith('gh_admin_session='))!;
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Path=\/admin/);
    // A token issued before sign-in (fixation) is worthless after it: each step starts a new session.
    const fixation = new ConsoleClient(gh.httpUrl);
    fixation.totpSecret = admin.totpSecret;
    await fixation.get('/admin/login');
    await fixation.post('/admin/login', { email: TEST_ADMIN_EMAIL, password: TEST_ADMIN_PASSWORD });
    const beforeTotp = fixation.cookie('gh_admin_session')!;
    assert.ok(beforeTotp, 'the TOTP step has an (anonymous) session');
    const wrong = await fixation.post('/admin/login/totp', { otp: '000000' });
    assert.equal(wrong.status, 401);
    const home = await fixation.post('/admin/login/totp', { otp: await freshTotpCode(admin.totpSecret) });
    assert.equal(home.url, '/admin/');
    const after = fixation.cookie('gh_admin_session')!;
    assert.notEqual(after, beforeTotp);
    const old = await fetch(`${gh.httpUrl}/admin/`, { redirect: 'manual', headers: { cookie: `gh_admin_session=${beforeTotp}` } });
    assert.equal(old.status, 303, 'the pre-sign-in token does not open the console');
    const fresh = await fetch(`${gh.httpUrl}/admin/`, { redirect: 'manual', headers: { cookie: `gh_admin_session=${after}` } });
    assert.equal(fresh.status, 200);
  });

  it('refuses a state change without the CSRF token, with the session cookie alone', async () => {
    const c = admin;
    const r = await c.post('/admin/users/bulk', { _csrf: 'forged', action: 'force_password_change', ids: [ids.amy!] });
    assert.equal(r.status, 403);
    assert.match(r.text, /Form expired/);
    assert.equal((await gh.api('GET', `/api/systemusers/${ids.amy}`)).body.password_expired, false);
  });

  it('refuses a field over its length or sent twice with 400, and keeps the stored value', async () => {
    await admin.get(`/admin/users/${ids.ben}`);
    for (const body of [{ firstname: 'x'.repeat(5000) }, { firstname: ['Ben', 'Benjamin'] }]) {
      const r = await admin.post(`/admin/users/${ids.ben}`, body);
      assert.equal(r.status, 400, r.text.slice(0, 200));
      assert.match(r.text, /firstname/);
      assert.equal((await gh.api('GET', `/api/systemusers/${ids.ben}`)).body.firstname, 'ben', 'nothing was blanked');
    }
  });

  it('replaces the TOTP key only with the password given again (ASVS V3.7.1), and the old key then stops working', async () => {
    const c = await signedInConsole(gh);
    const oldKey = c.totpSecret;
    const page = await c.get('/admin/account?totp=new');
    assert.match(page.text, /Replacing a key needs your password again/);
    const secret = /data-secret="([A-Z2-7]+)"/.exec(page.text)![1]!;
    const noPassword = await c.post('/admin/account/totp', { otp: await freshTotpCode(secret) });
    assert.equal(noPassword.status, 400);
    const wrong = await c.post('/admin/account/totp', { otp: await freshTotpCode(secret), password: 'not-the-password' });
    assert.equal(wrong.status, 400);
    // Each failed try counts toward the lockout: clear them so the suite's later sign-ins stay free.
    await gh.appliance.store.repos.authState.clearFailures((await gh.appliance.core.admins.list()).find((a) => a.email === TEST_ADMIN_EMAIL)!.id);
    const page2 = await c.get('/admin/account?totp=new');
    const secret2 = /data-secret="([A-Z2-7]+)"/.exec(page2.text)![1]!;
    const ok = await c.post('/admin/account/totp', { otp: await freshTotpCode(secret2), password: TEST_ADMIN_PASSWORD });
    assert.match(ok.text, /TOTP is set up/);
    assert.notEqual(secret2, oldKey);
    c.replacedKey(secret2);
  });

  it('runs a bulk action from the list and reports per-item results', async () => {
    const c = admin;
    const list = await c.get('/admin/users?q=a&sort=username');
    const onPage = rowIds(list.text);
    assert.ok(onPage.includes(ids.amy!) && onPage.includes(ids.cat!));
    assert.match(list.text, /More actions/);
    const r = await c.post('/admin/users/bulk', { action: 'force_password_change', ids: [ids.amy!, ids.cat!], back: '/admin/users?q=a' });
    assert.equal(r.status, 200);
    assert.match(r.text, /<h1>Force Password Change<\/h1>/);
    assert.match(r.text, /2 done/);
    assert.equal((await gh.api('GET', `/api/systemusers/${ids.amy}`)).body.password_expired, true);
    assert.equal((await gh.api('GET', `/api/systemusers/${ids.ben}`)).body.password_expired, false);
    const again = await c.post('/admin/users/bulk', { action: 'force_password_change', ids: [ids.amy!], back: '//evil.example/' });
    assert.match(again.text, /already expired/);
    assert.match(again.text, /href="\/admin\/users"/, 'a foreign back link is replaced');
    const none = await c.post('/admin/users/bulk', { action: 'unlock', back: '/admin/users' });
    assert.match(none.text, /Select at least one user first/);
  });

  it('filters the users list by view and search, with the total counted in the store', async () => {
    const c = admin;
    await gh.api('PUT', `/api/systemusers/${ids.ben}`, { state: 'SUSPENDED' });
    const suspended = await c.get('/admin/users?view=suspended');
    assert.deepEqual(rowIds(suspended.text), [ids.ben]);
    assert.match(suspended.text, /1 user ·/);
    const search = await c.get('/admin/users?q=CAT%40EXAMPLE');
    assert.deepEqual(rowIds(search.text), [ids.cat]);
    const unknownView = await c.get('/admin/users?view=nonsense');
    assert.equal(unknownView.status, 200);
  });

  it('records admin_login_attempt events and locks the admin after repeated wrong passwords', async () => {
    await gh.api('PUT', `/api/organizations/${gh.appliance.bootstrap.organization.id}`, { settings: { passwordPolicy: { maxLoginAttempts: 3 } } });
    // Earlier tests' failures (a wrong code) must not count here.
    await gh.appliance.store.repos.authState.clearFailures((await gh.appliance.core.admins.list())[0]!.id);
    try {
      const c = new ConsoleClient(gh.httpUrl);
      await c.get('/admin/login');
      for (let i = 0; i < 3; i++) assert.equal((await c.post('/admin/login', { email: TEST_ADMIN_EMAIL, password: `wrong-${i}` })).status, 401);
      const locked = await c.post('/admin/login', { email: TEST_ADMIN_EMAIL, password: TEST_ADMIN_PASSWORD });
      assert.equal(locked.status, 401);
      assert.match(locked.text, /The email or password is not correct/);
      const ev = await gh.api('POST', '/insights/directory/v1/events', { service: ['directory'], start_time: '2000-01-01T00:00:00Z', search_term: { and: [{ event_type: 'admin_login_attempt' }] } });
      const failures = ev.body.filter((e: { success: boolean }) => !e.success).map((e: { error_message: string }) => e.error_message);
      assert.deepEqual(failures.slice(0, 4), ['account locked', 'invalid password', 'invalid password', 'invalid password']);
    } finally {
      await gh.api('PUT', `/api/organizations/${gh.appliance.bootstrap.organization.id}`, { settings: { passwordPolicy: { maxLoginAttempts: 10 } } });
      await gh.appliance.store.repos.authState.unlock((await gh.appliance.core.admins.list())[0]!.id);
    }
  });

  it('shows a RADIUS User-Name of <script> in Directory Insights as text, in the list, the detail and the CSV', async () => {
    const secret = 'a-long-shared-secret-for-tests';
    await createRadiusServer(gh, { sharedSecret: secret });
    const client = await udpClient(gh.radiusPort);
    const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    try {
      const reply = await client.exchange(buildAccessRequest({ secret, userName: hostile, password: 'whatever' }));
      assert.ok(reply, 'the RADIUS listener answered');
    } finally {
      await client.close();
    }
    const c = admin;
    const list = await c.get('/admin/insights?range=1h&service=radius');
    assert.equal(list.status, 200);
    assert.doesNotMatch(list.text, /<script>alert|<img src=x/);
    assert.match(list.text, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;&lt;img src=x onerror=alert\(1\)&gt;/);
    const id = /href="\/admin\/insights\/([0-9a-f]{24})"/.exec(list.text)![1]!;
    const detail = await c.get(`/admin/insights/${id}`);
    assert.doesNotMatch(detail.text, /<script>alert|<img src=x/);
    assert.match(detail.text, /radius_auth_attempt/);
    const csv = await c.get('/admin/insights/export.csv?range=1h&service=radius');
    assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
    assert.match(csv.headers.get('content-disposition') ?? '', /attachment/);
    assert.match(csv.text, /<script>alert\(""x""\)<\/script>/, 'CSV keeps the text (quoted), never as a formula');
    const json = await c.get('/admin/insights/export.json?range=1h&service=radius');
    assert.equal(JSON.parse(json.text)[0].username, hostile);
  });

  it('filters Insights by event type, outcome and text together', async () => {
    const c = admin;
    const r = await c.get('/admin/insights?range=24h&event_type=admin_login_attempt&outcome=failure&q=wrong');
    assert.equal(r.status, 200);
    assert.match(r.text, /No events match|admin_login_attempt/);
    const failures = await c.get('/admin/insights?range=24h&event_type=admin_login_attempt&outcome=failure');
    assert.match(failures.text, /invalid password/);
    assert.doesNotMatch(failures.text, /<td><span class="pill pill-ok">Success/);
  });

  it('keeps a session that must enrol TOTP away from every other page', async () => {
    const other = await gh.appliance.core.admins.create({ email: 'second@example.com', password: 'Another-Admin-Pass-1' }, { actor: { type: 'system' }, clientIp: '', authMethod: 'system' });
    const c = new ConsoleClient(gh.httpUrl);
    await c.get('/admin/login');
    const page = await c.post('/admin/login', { email: other.email, password: 'Another-Admin-Pass-1' });
    assert.equal(page.url, '/admin/login/enroll');
    for (const p of ['/admin/', '/admin/users', '/admin/settings']) {
      const r = await c.get(p, false);
      assert.equal(r.status, 303, p);
      assert.equal(r.location, '/admin/login/enroll');
    }
  });
});

describe('admin console (HTTP): idle timeout', function () {
  this.timeout(60_000);
  it('ends an admin session after the idle time', async () => {
    const clock = createFakeClock(Date.now());
    const gh = await startAppliance({ console: { sessionIdleMinutes: 15 } }, { clock });
    try {
      const c = new ConsoleClient(gh.httpUrl, () => clock.ms());
      await c.signIn();
      clock.advanceSeconds(14 * 60);
      assert.equal((await c.get('/admin/', false)).status, 200);
      clock.advanceSeconds(14 * 60);
      assert.equal((await c.get('/admin/', false)).status, 200, 'activity keeps it alive');
      clock.advanceSeconds(16 * 60);
      const r = await c.get('/admin/', false);
      assert.equal(r.status, 303);
      assert.equal(r.location, '/admin/login');
    } finally {
      await gh.stop();
    }
  });
});
