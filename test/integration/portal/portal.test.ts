import assert from 'node:assert/strict';
import { systemActor } from '../../../src/core/access/actor.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { Browser, events, redirectRequest, SP_ACS, SP_ENTITY, testSp, totpCodes, type Page } from '../saml/support.js';

const PASSWORD = 'Sunny-Meadow-41';

/** The user portal at `/`, driven like a browser: forms, CSRF tokens, cookies, redirects. */
describe('user portal', function () {
  this.timeout(60_000);
  let gh: RunningAppliance;
  const ids: Record<string, string> = {};

  const newUser = async (username: string) => {
    const r = await gh.api('POST', '/api/systemusers', { username, email: `${username}@example.com`, firstname: username, password: PASSWORD });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids[username] = r.body._id;
    return r.body._id as string;
  };
  const signIn = async (login: string, password = PASSWORD) => {
    const b = new Browser(gh.httpUrl);
    const page = await b.submit(await b.get('/'), { login, password }, '/login');
    return { b, page };
  };

  before(async () => {
    gh = await startAppliance();
    const app = await gh.api('POST', '/api/applications', { name: 'wiki', displayLabel: 'Team <Wiki>', config: { spEntityId: SP_ENTITY, acsUrls: [SP_ACS] } });
    ids.wiki = app.body._id;
    await gh.api('POST', '/api/applications', { name: 'hidden', config: { spEntityId: 'https://hidden.example', acsUrls: ['https://hidden.example/acs'] } });
    for (const u of ['una', 'vic', 'wes', 'xia', 'yan']) await newUser(u);
    for (const u of ['una', 'xia']) await gh.api('POST', `/api/v2/users/${ids[u]}/associations`, { op: 'add', type: 'application', id: ids.wiki });
  });
  after(async () => gh?.stop());

  it('serves the sign-in page with a CSP, frame-ancestors none, a CSRF token and local assets only', async () => {
    const res = await fetch(`${gh.httpUrl}/`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /form-action 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    const html = await res.text();
    assert.match(html, /<label for="login">Username or email<\/label>/);
    assert.match(html, /name="_csrf" value="[^"]+"/);
    assert.doesNotMatch(html, /<script>|https?:\/\/(?!localhost)[a-z]/i, 'inline script or an external URL');
    for (const asset of ['/assets/portal/portal.css', '/assets/portal/portal.js', '/assets/portal/autopost.js']) {
      assert.equal((await fetch(gh.httpUrl + asset)).status, 200, asset);
    }
    assert.equal((await fetch(`${gh.httpUrl}/assets/portal/..%2F..%2Fpackage.json`)).status, 404);
  });

  it('keeps JSON errors for the API', async () => {
    const r = await gh.api('GET', '/api/systemusers/ffffffffffffffffffffffff');
    assert.equal(r.status, 404);
    assert.equal(r.body.status, 'NOT_FOUND');
    assert.equal(r.headers.get('content-security-policy'), null);
  });

  it('refuses a sign-in without the CSRF token, with a page', async () => {
    const b = new Browser(gh.httpUrl);
    await b.get('/');
    const page = await b.request('POST', '/login', { login: 'una', password: PASSWORD });
    assert.equal(page.status, 403);
    assert.match(page.text, /form has expired/);
    assert.equal(b.cookies.has('gh_session'), false);
  });

  it('signs in with username or email, sets a HttpOnly SameSite=Lax cookie, and shows only the assigned apps, escaped', async () => {
    const b = new Browser(gh.httpUrl);
    const login = await b.get('/');
    const res = await b.request('POST', '/login', { ...login.form('/login').fields, login: 'UNA@example.com', password: PASSWORD });
    assert.equal(res.status, 303);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('gh_session='))!;
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Path=\//);
    assert.doesNotMatch(cookie, /Secure/i);
    const home = await b.get('/');
    assert.match(home.text, /Your apps/);
    assert.match(home.body, /Team &lt;Wiki&gt;/);
    assert.match(home.body, /href="\/saml2\/wiki\?launch=1"/);
    assert.doesNotMatch(home.body, /hidden\?launch/);
    const e = (await events(gh, 'user_login_attempt')).find((x) => x.initiated_by.username === 'una');
    assert.equal(e?.success, true);
  });

  it('answers a wrong password and an unknown user alike', async () => {
    const a = (await signIn('una', 'nope-nope-1')).page;
    const b = (await signIn('nobody', 'nope-nope-1')).page;
    assert.equal(a.status, 401);
    assert.equal(b.status, 401);
    assert.equal(a.text.replace(/value="[^"]*"/g, ''), b.text.replace(/value="[^"]*"/g, '').replace('nobody', 'una'));
  });

  it('signs out: the session token stops working', async () => {
    const { b } = await signIn('una');
    const token = b.cookies.get('gh_session')!;
    const home = await b.get('/');
    await b.submit(home, {}, '/logout');
    assert.equal(b.cookies.has('gh_session'), false);
    const replay = new Browser(gh.httpUrl);
    replay.cookies.set('gh_session', token);
    assert.match((await replay.get('/')).text, /Sign in/);
  });

  it("refuses a form token made for another browser's secret (cookie tossing) and a cross-site submission, and takes its own", async () => {
    const { b } = await signIn('una');
    // The attacker's own anonymous secret and token, tossed into the victim's browser.
    const attacker = new Browser(gh.httpUrl);
    const theirs = (await attacker.get('/')).form('/login').fields._csrf!;
    const victimSecret = b.cookies.get('gh_session_csrf')!;
    b.cookies.set('gh_session_csrf', attacker.cookies.get('gh_session_csrf')!);
    const tossed = await b.request('POST', '/logout', { _csrf: theirs });
    assert.equal(tossed.status, 403, 'a token bound to no session is refused for a signed-in session');
    b.cookies.set('gh_session_csrf', victimSecret);
    assert.match((await b.get('/')).text, /Your apps/, 'still signed in');

    const mine = (await b.get('/')).form('/logout').fields._csrf!;
    for (const site of ['cross-site', 'same-site']) {
      const r = await b.request('POST', '/logout', { _csrf: mine }, { 'sec-fetch-site': site });
      assert.equal(r.status, 403, site);
    }
    assert.match((await b.get('/')).text, /Your apps/);
    const own = await b.request('POST', '/logout', { _csrf: mine }, { 'sec-fetch-site': 'same-origin' });
    assert.equal(own.status, 303);
    assert.equal(b.cookies.has('gh_session'), false);
  });

  describe('TOTP enrolment and sign-in', () => {
    let secret = '';
    it('shows a QR code and the key, and enrols with a code computed from the key on the page', async () => {
      const { b } = await signIn('vic');
      const page = await b.get('/mfa');
      assert.match(page.body, /<svg[^>]*>/);
      secret = /data-secret="([A-Z2-7]+)"/.exec(page.body)![1]!;
      assert.match(page.text, new RegExp(secret.slice(0, 4)));
      const wrong = await b.submit(page, { otp: '123456' }, '/mfa');
      assert.equal(wrong.status, 400);
      assert.equal((await gh.api('GET', `/api/systemusers/${ids.vic}`)).body.totp_enabled, false);
      const done = await b.submit(wrong, { otp: totpCodes(secret)() }, '/mfa');
      assert.equal(done.status, 200);
      assert.equal((await gh.api('GET', `/api/systemusers/${ids.vic}`)).body.totp_enabled, true);
      const e = (await events(gh, 'user_totp_enrolled')).find((x) => x.resource.id === ids.vic);
      assert.equal(e?.initiated_by.username, 'vic');
    });

    it('then asks for a code at sign-in', async () => {
      const codes = totpCodes(secret);
      // The enrolment used this step; the sign-in needs a later one.
      codes();
      const { b, page } = await signIn('vic');
      assert.match(page.text, /Two-step verification/);
      assert.doesNotMatch(page.text, /Your apps/);
      // The session holding the TOTP step has no subject yet and lives a quarter of an hour, not 8.
      const pending = await gh.appliance.core.webSessions.resume('user', b.cookies.get('gh_session')!);
      assert.ok(pending && pending.subjectId === '', 'an anonymous session');
      assert.equal((pending.expiresAt.getTime() - pending.createdAt.getTime()) / 1000, 900);
      const home = await b.submit(page, { otp: codes() });
      assert.match(home.text, /Your apps/);
    });
  });

  describe('"Require User MFA"', () => {
    it('shows the enrolment deadline during the grace period', async () => {
      await gh.appliance.core.users.requireMfa(ids.wes!, systemActor);
      const { page } = await signIn('wes');
      assert.match(page.text, /requires two-step verification\. Set it up before/);
      assert.match(page.text, /Your apps/);
    });

    it('forces enrolment after it, and gives no assertion before', async () => {
      await gh.appliance.core.users.requireMfa(ids.xia!, systemActor);
      await gh.appliance.core.users.update(ids.xia!, { mfaExclusion: true, mfaExclusionUntil: new Date(Date.now() - 60_000).toISOString() }, systemActor);
      const { b, page } = await signIn('xia');
      assert.match(page.text, /Set up two-step verification/);
      assert.match(page.text, /requires two-step verification/);
      assert.match((await b.get('/')).text, /Set up two-step verification/);
      assert.match((await b.get('/password')).text, /Set up two-step verification/);
      const launch = await b.get('/saml2/wiki?launch=1');
      assert.equal(launch.forms().some((f) => f.action.startsWith('https:')), false, 'an assertion before enrolment');
      const sp = await testSp(gh, 'wiki');
      const sso = await b.submit(await b.get(redirectRequest(sp).path), { login: 'xia', password: PASSWORD });
      assert.equal(sso.status, 403);
      assert.match(sso.text, /Set up two-step verification first/);
      const enrol = await b.get('/mfa');
      const secret = /data-secret="([A-Z2-7]+)"/.exec(enrol.body)![1]!;
      const home = await b.submit(enrol, { otp: totpCodes(secret)() }, '/mfa');
      assert.match(home.text, /Your apps/);
    });
  });

  describe('password change', () => {
    const change = async (b: Browser, current: string, next: string, confirm = next): Promise<Page> =>
      b.submit(await b.get('/password'), { current, new: next, confirm }, '/password');

    it('checks the current password, the confirmation and the policy', async () => {
      const { b } = await signIn('yan');
      assert.match((await change(b, 'wrong-one-1', 'Brand-New-Pass-7')).text, /current password is not correct/);
      assert.match((await change(b, PASSWORD, 'Brand-New-Pass-7', 'other')).text, /not the same/);
      await gh.api('PUT', `/api/organizations/${(await gh.api('GET', '/api/organizations')).body.results[0]._id}`, { settings: { passwordPolicy: { enableMinLength: true, minLength: 20 } } });
      try {
        const short = await change(b, PASSWORD, 'Short-Pass-7');
        assert.equal(short.status, 400);
        assert.match(short.text, /at least 20 characters/);
        assert.match(short.text, /At least 20 characters/);
      } finally {
        await gh.api('PUT', `/api/organizations/${(await gh.api('GET', '/api/organizations')).body.results[0]._id}`, { settings: { passwordPolicy: { enableMinLength: false } } });
      }
    });

    it('changes it, signs out the other sessions, and the new password works', async () => {
      const other = (await signIn('yan')).b;
      const { b } = await signIn('yan');
      const done = await change(b, PASSWORD, 'Brand-New-Pass-7');
      assert.match(done.text, /has been changed/);
      assert.doesNotMatch(done.body, /Brand-New-Pass-7|Sunny-Meadow-41/, 'a password in the page');
      assert.match((await other.get('/')).text, /Sign in/);
      assert.match((await b.get('/')).text, /Your apps/);
      assert.match((await signIn('yan', 'Brand-New-Pass-7')).page.text, /Your apps/);
      const e = (await events(gh, 'user_password_change')).find((x) => x.resource.id === ids.yan);
      assert.equal(e?.initiated_by.username, 'yan');
    });

    it('signs out every session of the user when an admin resets the password (ASVS 3.3.3)', async () => {
      const { b } = await signIn('wes');
      assert.match((await b.get('/')).text, /Your apps/);
      const unchanged = await gh.api('PUT', `/api/systemusers/${ids.wes}`, { firstname: 'Wesley' });
      assert.equal(unchanged.status, 200);
      assert.match((await b.get('/')).text, /Your apps/, 'a profile change keeps the sessions');
      const reset = await gh.api('PUT', `/api/systemusers/${ids.wes}`, { password: 'Reset-By-Admin-2026x' });
      assert.equal(reset.status, 200, JSON.stringify(reset.body));
      assert.match((await b.get('/')).text, /Sign in/, 'the session outlived the reset');
      assert.match((await signIn('wes', 'Reset-By-Admin-2026x')).page.text, /Your apps/);
    });
  });

  it('sets Secure cookies and upgrade-insecure-requests when the public URL is https', async () => {
    const tls = await startAppliance({ publicUrl: 'https://gatehouse.example.test' });
    try {
      const res = await fetch(`${tls.httpUrl}/`);
      assert.match(res.headers.get('content-security-policy') ?? '', /upgrade-insecure-requests/);
      assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=/);
      assert.ok(res.headers.getSetCookie().every((c) => /;\s*Secure/i.test(c)));
    } finally {
      await tls.stop();
    }
  });
});
