import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as LdapClient } from 'ldapts';
import { after, before, describe, it } from 'mocha';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { Code } from '../../../src/radius/packet.js';
import { startAppliance, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD, type RunningAppliance } from '../../helpers/appliance.js';
import { requireBinary } from '../../helpers/binaries.js';
import { base32Decode, timeStep, totpAtStep } from '../../helpers/rfc6238.js';
import { buildAccessRequest, udpClient } from '../../integration/radius/support.js';

const PASSWORD = 'Sunny-Meadow-41';
const totp = (secret: string, offset = 0) => totpAtStep(base32Decode(secret), timeStep(Date.now() / 1000) + offset);

/**
 * The admin console in a real browser (Debian's chromium driven by playwright-core), used the way a
 * new admin would: sign in with TOTP, set the lockout policy, create users and a group, bind them to
 * LDAP, RADIUS and an SSO app, search and filter, run every bulk action and check its effect on the
 * protocols themselves (LDAP binds with ldapts, RADIUS Access-Requests over UDP, email over SMTP),
 * and read Directory Insights. Screenshots of each main page go to GATEHOUSE_CONSOLE_SCREENSHOTS for
 * people to look at; without it, to a temporary directory that is kept only when a test failed.
 */
describe('browser: admin console (chromium)', function () {
  this.timeout(240_000);
  let gh: RunningAppliance;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let smtp: SMTPServer;
  const inbox: string[] = [];
  const shots = process.env.GATEHOUSE_CONSOLE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'gatehouse-console-shots-'));
  const consoleErrors: string[] = [];
  let base = '';
  let orgId = '';
  let radiusSecret = '';
  const ids: Record<string, string> = {};

  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const dn = (u: string) => `uid=${u},ou=Users,o=${orgId},dc=gatehouse,dc=local`;
  const ldapBind = async (u: string, password: string): Promise<boolean> => {
    const client = new LdapClient({ url: `ldap://127.0.0.1:${gh.endpoints.ldap!.port}`, timeout: 5000, connectTimeout: 5000 });
    try {
      await client.bind(dn(u), password);
      return true;
    } catch {
      return false;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  };
  const radiusCode = async (u: string, password: string): Promise<number | null> => {
    const client = await udpClient(gh.radiusPort);
    try {
      const reply = await client.exchange(buildAccessRequest({ secret: radiusSecret, userName: u, password }), 3000);
      return reply ? reply[0]! : null;
    } finally {
      await client.close();
    }
  };
  const userId = async (u: string) => (await gh.api('GET', `/api/systemusers?filter=username:$eq:${u}`)).body.results[0]._id as string;
  const apiUser = async (u: string) => (await gh.api('GET', `/api/systemusers/${await userId(u)}`)).body;

  /** Selects rows of the users list by username and runs a "More actions" entry; returns the results page text. */
  const bulk = async (usernames: string[], action: string) => {
    await page.goto(`${base}/admin/users?q=&sort=username&size=100`);
    const more = page.locator('.more-actions > summary');
    assert.equal(await more.getAttribute('aria-disabled'), 'true', 'More actions is greyed out until a row is selected');
    for (const u of usernames) await page.getByLabel(`Select ${u}`, { exact: true }).check();
    assert.equal(await more.getAttribute('aria-disabled'), 'false');
    await more.click();
    await page.getByRole('menuitem', { name: action, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: action }).waitFor();
    return (await page.locator('main').innerText()).replace(/\s+/g, ' ');
  };

  before(async function () {
    requireBinary(this, 'chromium', 'chromium');
    mkdirSync(shots, { recursive: true });
    smtp = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, _session, cb) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          inbox.push(raw);
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    gh = await startAppliance({
      mail: { smtpHost: '127.0.0.1', smtpPort: (smtp.server.address() as AddressInfo).port, smtpSecurity: 'none', from: 'Gatehouse <gh@example.test>' },
    });
    base = `http://localhost:${gh.endpoints.http.port}`;
    orgId = gh.appliance.bootstrap.organization.id;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    // A page answered 401 (a wrong password on purpose) is logged by chromium; script errors and CSP violations are what count.
    page.on('console', (m) => m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 40[13]/.test(m.text()) && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('dialog', (d) => void d.accept());
    console.log(`      screenshots: ${shots}`);
  });
  after(async function () {
    await browser?.close();
    await gh?.stop();
    await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
    const failed = this.test?.parent?.tests.some((t) => t.state === 'failed') ?? true;
    if (!process.env.GATEHOUSE_CONSOLE_SCREENSHOTS && !failed) rmSync(shots, { recursive: true, force: true });
  });

  it('signs in with email and password, enrols TOTP on first sign-in, and lands on Home', async () => {
    await page.goto(`${base}/admin/`);
    await page.waitForURL(/\/admin\/login/);
    await shot('01-sign-in');
    await page.getByLabel('Email').fill(TEST_ADMIN_EMAIL);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The email or password is not correct.').waitFor();
    await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
    await shot('02-totp-enrolment');
    const secret = (await page.locator('#totp-secret').getAttribute('data-secret'))!;
    await page.getByLabel('Code the app shows').fill(totp(secret));
    await page.getByRole('button', { name: 'Verify and continue' }).click();
    await page.getByRole('heading', { name: /^Welcome/ }).waitFor();
    await shot('03-home');
    // Signing out and in again asks for the code (a fresh one: each code works once).
    await page.locator('.account-menu > summary').click();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You have signed out.').waitFor();
    await page.getByLabel('Email').fill(TEST_ADMIN_EMAIL);
    await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Authentication code').fill(totp(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: /^Welcome/ }).waitFor();
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'gh_admin_session')!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.path, '/admin');
    assert.equal(session.sameSite, 'Lax');
  });

  it('changes the lockout policy in Security Management', async () => {
    await page.getByRole('link', { name: 'Password & Lockout' }).click();
    await page.getByRole('heading', { name: 'Security Management' }).waitFor();
    await page.getByLabel('Lock after failed attempts (attempts)').fill('3');
    await page.getByLabel('User MFA enrolment period').fill('0');
    await page.getByRole('button', { name: 'Save security settings' }).click();
    await page.getByText('Security settings saved.').waitFor();
    await shot('04-security');
    const org = (await gh.api('GET', '/api/organizations')).body.results[0];
    assert.equal(org.settings.passwordPolicy.maxLoginAttempts, 3);
    assert.equal(org.settings.userMfaEnrollmentDays, 0);
  });

  it('creates users and a group with RADIUS reply attributes and members', async () => {
    for (const u of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      await page.goto(`${base}/admin/users/new`);
      await page.getByLabel('Username', { exact: true }).fill(u);
      await page.getByLabel('Email', { exact: true }).fill(`${u}@example.com`);
      await page.getByLabel('First name', { exact: true }).fill(u[0]!.toUpperCase() + u.slice(1));
      await page.getByLabel('Last name', { exact: true }).fill('Example');
      if (u !== 'erin') await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      if (u === 'erin') await page.getByLabel('Send an activation email').uncheck();
      await page.getByRole('button', { name: 'Create user' }).click();
      await page.getByText(`User ${u} created.`).waitFor();
      ids[u] = await userId(u);
    }
    await shot('05-user-detail');
    await page.goto(`${base}/admin/groups/new`);
    await page.getByLabel('Name', { exact: true }).fill('staff');
    await page.getByLabel('This group is a POSIX group').check();
    await page.getByLabel('Attribute 1', { exact: true }).fill('Tunnel-Private-Group-Id');
    await page.getByLabel('Value 1', { exact: true }).fill('100');
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.getByText('Group staff created.').waitFor();
    await page.getByLabel('Add users').fill('alice, bob carol dave, erin, nobody');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByText('Added alice, bob, carol, dave, erin. Not found: nobody.').waitFor();
    await shot('06-group-members');
    const group = (await gh.api('GET', '/api/v2/usergroups')).body.find((g: { name: string }) => g.name === 'staff');
    assert.deepEqual(group.attributes.radius.reply, [{ name: 'Tunnel-Private-Group-Id', value: '100' }]);
    assert.equal(group.attributes.posixGroups.length, 1);
    ids.staff = group.id;
  });

  it('binds the group to LDAP, to a new RADIUS server (secret shown once) and to a new SSO app', async () => {
    await page.getByRole('link', { name: 'LDAP', exact: true }).click();
    await page.getByLabel('Bind group').selectOption({ label: 'staff' });
    await page.locator('form:has(#bind-group-ldap_server)').getByRole('button', { name: 'Bind' }).click();
    await page.getByText('Bindings updated.').waitFor();
    await shot('07-ldap');
    assert.equal(await ldapBind('alice', PASSWORD), true, 'a group member binds over LDAP');
    assert.equal(await ldapBind('alice', 'wrong-password'), false);

    await page.goto(`${base}/admin/radius/new`);
    await page.getByLabel('Name', { exact: true }).fill('Office Wi-Fi');
    await page.getByLabel('Network source IP').fill('127.0.0.1');
    await page.getByLabel('MFA').selectOption('REQUIRED');
    await page.getByRole('button', { name: 'Create RADIUS server' }).click();
    await page.getByText('will not show it again').waitFor();
    radiusSecret = (await page.locator('#shared-secret').innerText()).trim();
    assert.match(radiusSecret, /^[A-Za-z0-9]{32}$/);
    await shot('08-radius-secret-once');
    await page.getByRole('link', { name: 'Done' }).click();
    assert.doesNotMatch(await page.content(), new RegExp(radiusSecret), 'the secret is never shown again');
    await page.getByLabel('Bind group').selectOption({ label: 'staff' });
    await page.locator('form:has(#bind-group-radius_server)').getByRole('button', { name: 'Bind' }).click();
    await page.getByText('Bindings updated.').waitFor();
    await shot('09-radius');
    assert.equal(await radiusCode('bob', PASSWORD), Code.AccessAccept);

    await page.goto(`${base}/admin/apps/new`);
    await page.getByLabel('Display label').fill('Team Wiki');
    await page.getByLabel('Name', { exact: true }).fill('wiki');
    await page.getByLabel('SP entity ID').fill('https://wiki.example.test/saml');
    await page.getByLabel('ACS URLs').fill('https://wiki.example.test/saml/acs');
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByText('Application Team Wiki created.').waitFor();
    await page.locator('#bind-group-application').selectOption({ label: 'staff' });
    await page.locator('form:has(#bind-group-application)').getByRole('button', { name: 'Bind' }).click();
    await page.getByText('Bindings updated.').waitFor();
    await shot('10-sso-app');
    assert.match(await page.locator('#idp').innerText(), /Download IdP metadata/);
    const apps = await gh.appliance.core.sso.appsForUser(ids.carol!);
    assert.deepEqual(apps.map((a) => a.name), ['wiki']);
  });

  it('searches and filters the users list', async () => {
    await page.goto(`${base}/admin/users`);
    await page.getByLabel('Search users by name, username or email').fill('CAROL');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL(/q=CAROL/);
    assert.deepEqual(await page.locator('td .who span:last-child').allInnerTexts(), ['carol']);
    await page.goto(`${base}/admin/users`);
    await page.locator('.filter-menu > summary').click();
    await page.getByRole('menuitemradio', { name: 'Password pending' }).click();
    await page.waitForURL(/view=password_pending/);
    assert.deepEqual(await page.locator('td .who span:last-child').allInnerTexts(), ['erin']);
    await shot('11-users-filtered');
    // Select all on the page, then clear it.
    await page.goto(`${base}/admin/users`);
    await page.getByLabel('Select all on this page').check();
    assert.match(await page.locator('[data-selection-count]').innerText(), /^\d+ users selected$/);
    await page.getByLabel('Select all on this page').uncheck();
    assert.equal(await page.locator('[data-selection-count]').innerText(), 'No users selected');
    await shot('12-users');
  });

  it('Force Password Change: the old password stops working over LDAP and RADIUS', async () => {
    assert.equal(await ldapBind('dave', PASSWORD), true);
    const text = await bulk(['dave'], 'Force Password Change');
    assert.match(text, /1 done/);
    assert.equal(await ldapBind('dave', PASSWORD), false);
    assert.equal(await radiusCode('dave', PASSWORD), Code.AccessReject);
    assert.equal((await apiUser('dave')).password_expired, true);
    await shot('13-bulk-results');
  });

  it('Unlock User Account: a user locked by wrong LDAP binds can bind again', async () => {
    for (let i = 0; i < 3; i++) assert.equal(await ldapBind('alice', `wrong-${i}`), false);
    assert.equal(await ldapBind('alice', PASSWORD), false, 'locked out: the right password fails too');
    await page.goto(`${base}/admin/users?view=locked_out`);
    assert.deepEqual(await page.locator('td .who span:last-child').allInnerTexts(), ['alice']);
    const text = await bulk(['alice', 'bob'], 'Unlock User Account');
    assert.match(text, /1 done/);
    assert.match(text, /not locked/);
    assert.equal(await ldapBind('alice', PASSWORD), true);
  });

  it('Require User MFA refuses RADIUS without TOTP (REQUIRED mode, no grace); Remove User MFA Requirement lets it through', async () => {
    assert.equal(await radiusCode('carol', PASSWORD), Code.AccessAccept);
    assert.match(await bulk(['carol'], 'Require User MFA'), /1 done/);
    assert.equal(await radiusCode('carol', PASSWORD), Code.AccessReject);
    assert.match(await bulk(['carol'], 'Remove User MFA Requirement'), /1 done/);
    assert.equal(await radiusCode('carol', PASSWORD), Code.AccessAccept);
  });

  it('Reset TOTP MFA: a RADIUS sign-in that asked for a code accepts the password alone again', async () => {
    const r = await gh.api('POST', `/api/systemusers/${ids.bob}/totp`, {});
    assert.equal(r.status, 201);
    assert.equal(await radiusCode('bob', PASSWORD), Code.AccessChallenge);
    assert.match(await bulk(['bob', 'carol'], 'Reset TOTP MFA'), /1 done.*1 skipped/);
    assert.equal(await radiusCode('bob', PASSWORD), Code.AccessAccept);
  });

  it('Resend Email: an activation email for the pending user, a reset for an active one, none for a staged one', async () => {
    await gh.api('PUT', `/api/systemusers/${ids.dave}`, { state: 'STAGED' });
    const n = inbox.length;
    const text = await bulk(['erin', 'carol', 'dave'], 'Resend Email');
    assert.match(text, /2 done/);
    assert.match(text, /staged users get no email/);
    const got = inbox.slice(n).join('\n');
    assert.match(got, /To: erin@example.com[\s\S]*Activate your Gatehouse account|Activate your Gatehouse account[\s\S]*To: erin@example.com/);
    assert.match(got, /Reset your Gatehouse password/);
    // Erin follows her link in the browser and activates the account under the policy.
    const erinMail = inbox.slice(n).find((m) => m.includes('erin@example.com'))!.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const link = /https?:\/\/[^\s"<>]+\/account\/set-password\?token=[A-Za-z0-9_-]{43}/.exec(erinMail)![0];
    const userPage = await context.newPage();
    await userPage.goto(link.replace(/^https?:\/\/[^/]+/, base));
    await userPage.getByLabel('New password', { exact: true }).fill('Bright-Meadow-22');
    await userPage.getByLabel('New password again').fill('Bright-Meadow-22');
    await userPage.getByRole('button', { name: 'Activate account' }).click();
    await userPage.getByRole('heading', { name: 'Your account is active' }).waitFor();
    await userPage.screenshot({ path: join(shots, '14-set-password-done.png') });
    await userPage.close();
    assert.equal(await ldapBind('erin', 'Bright-Meadow-22'), true);
  });

  it('runs the device bulk actions', async () => {
    const a = (await gh.api('POST', '/api/systems', { displayName: 'build-01', hostname: 'build-01.lan', os: 'Linux', active: true })).body._id;
    const b = (await gh.api('POST', '/api/systems', { displayName: 'mac-02', hostname: 'mac-02.lan', os: 'macOS' })).body._id;
    for (const [action, check] of [
      ['Enable MFA', (s: { allowMultiFactorAuthentication: boolean }) => s.allowMultiFactorAuthentication === true],
      ['Enable System Insights', (s: { systemInsights: { state: string } }) => s.systemInsights.state === 'enabled'],
      ['Disable MFA', (s: { allowMultiFactorAuthentication: boolean }) => s.allowMultiFactorAuthentication === false],
      ['Disable System Insights', (s: { systemInsights: { state: string } }) => s.systemInsights.state === 'disabled'],
    ] as const) {
      await page.goto(`${base}/admin/devices`);
      await page.getByLabel('Select build-01').check();
      await page.getByLabel('Select mac-02').check();
      await page.locator('.more-actions > summary').click();
      await page.getByRole('menuitem', { name: action }).click();
      await page.getByRole('heading', { level: 1, name: action }).waitFor();
      for (const id of [a, b]) assert.ok((check as (s: never) => boolean)((await gh.api('GET', `/api/systems/${id}`)).body as never), `${action} on ${id}`);
    }
    await page.goto(`${base}/admin/devices`);
    await shot('15-devices');
  });

  it('reads Directory Insights: failed LDAP binds with their reason, and the event detail', async () => {
    await page.getByRole('link', { name: 'Directory Insights' }).click();
    await page.getByLabel('LDAP').check();
    await page.getByLabel('Result').selectOption('failure');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/outcome=failure/);
    const table = await page.locator('table.events').innerText();
    assert.match(table, /ldap_bind/);
    assert.match(table, /invalid password/);
    assert.match(table, /account locked/);
    await shot('16-insights');
    await page.locator('table.events a').first().click();
    await page.getByRole('heading', { name: 'All fields' }).waitFor();
    assert.match(await page.locator('main').innerText(), /client_ip/);
    await shot('17-insights-event');
  });

  it('shows alerts, the checklist ticking itself, and remembers Collapse Menu', async () => {
    await page.goto(`${base}/admin/`);
    await page.locator('[data-tour="checklist"] > summary').click();
    const checklist = await page.locator('[data-tour="checklist"] .check-list').innerText();
    assert.match(checklist, /Add users\s*\(done\)/);
    assert.match(checklist, /Bind users or groups to LDAP\s*\(done\)/);
    assert.match(checklist, /Add a RADIUS server\s*\(done\)/);
    await shot('18-checklist');
    await page.keyboard.press('Escape');
    await page.goto(`${base}/admin/alerts`);
    await shot('19-alerts');
    await page.getByRole('button', { name: 'Collapse Menu' }).click();
    await page.reload();
    assert.equal(await page.evaluate(() => document.body.classList.contains('nav-collapsed')), true, 'collapsed after a reload');
    assert.equal(await page.getByRole('button', { name: 'Collapse Menu' }).getAttribute('aria-pressed'), 'true');
    await shot('20-collapsed-menu');
    await page.getByRole('button', { name: 'Collapse Menu' }).click();
    await page.getByRole('button', { name: 'User Management' }).click();
    await page.reload();
    assert.equal(await page.getByRole('button', { name: 'User Management' }).getAttribute('aria-expanded'), 'false', 'a closed section stays closed');
    await page.getByRole('button', { name: 'User Management' }).click();
  });

  it('takes the product tour and reaches the console by keyboard', async () => {
    await page.goto(`${base}/admin/`);
    await page.getByRole('button', { name: 'Take the tour' }).click();
    await page.getByRole('dialog').getByRole('heading', { name: 'Navigation' }).waitFor();
    await shot('21-tour');
    for (let i = 0; i < 6; i++) await page.getByRole('dialog').getByRole('button', { name: /Next|Finish/ }).click();
    assert.equal(await page.getByRole('dialog').isHidden(), true);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    await page.keyboard.press('/');
    await page.goto(`${base}/admin/users`);
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'list-search');
  });

  it('adds an administrator with the password given again; the newcomer replaces the initial password at first sign-in; an API key needs the password too', async () => {
    await page.goto(`${base}/admin/admins`);
    await page.getByLabel('Email').fill('ops@example.com');
    await page.getByLabel('First name').fill('Olga');
    await page.getByLabel('Initial password').fill('Initial-Pass-12345');
    await page.getByLabel('Your password').fill(TEST_ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Add administrator' }).click();
    await page.getByText('Administrator ops@example.com added.').waitFor();
    await page.getByText('Has not replaced the initial password').waitFor();
    await shot('31-admins');

    const newcomer = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const p2 = await newcomer.newPage();
    await p2.goto(`${base}/admin/login`);
    await p2.getByLabel('Email').fill('ops@example.com');
    await p2.getByLabel('Password').fill('Initial-Pass-12345');
    await p2.getByRole('button', { name: 'Sign in' }).click();
    await p2.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
    const secret = (await p2.locator('#totp-secret').getAttribute('data-secret'))!;
    await p2.getByLabel('Code the app shows').fill(totp(secret));
    await p2.getByRole('button', { name: 'Verify and continue' }).click();
    await p2.getByRole('heading', { name: 'Choose your password' }).waitFor();
    await p2.screenshot({ path: join(shots, '32-choose-password.png'), fullPage: true });
    await p2.getByLabel('New password', { exact: true }).fill('Olgas-Own-Pass-2026');
    await p2.getByLabel('Confirm new password').fill('Olgas-Own-Pass-2026');
    await p2.getByRole('button', { name: 'Set password and continue' }).click();
    await p2.getByRole('heading', { name: /^Welcome/ }).waitFor();
    await newcomer.close();

    await page.goto(`${base}/admin/account`);
    await page.getByLabel('New key name').fill('ci');
    await page.locator('#key-password').fill(TEST_ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Create API key' }).click();
    await page.getByText('Copy the new key now').waitFor();
    const key = (await page.locator('#new-api-key').innerText()).trim();
    assert.equal((await fetch(`${base}/api/systemusers`, { headers: { 'x-api-key': key } })).status, 200);
    await shot('33-api-key');
  });

  it('renders the remaining main pages without script errors or CSP violations, on a laptop screen too', async () => {
    for (const [name, path] of [
      ['22-groups', '/admin/groups'],
      ['23-group-bindings', `/admin/groups/${ids.staff}?tab=bindings`],
      ['24-settings', '/admin/settings'],
      ['25-account', '/admin/account'],
      ['26-apps', '/admin/apps'],
      ['27-whats-new', '/admin/whats-new'],
      ['28-integrations', '/admin/integrations'],
      ['29-user-security', `/admin/users/${ids.alice}?tab=security`],
    ] as const) {
      const res = await page.goto(base + path);
      assert.equal(res?.status(), 200, path);
      await shot(name);
    }
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.goto(`${base}/admin/users`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    assert.equal(overflow, false, 'no horizontal scrolling on a 1280-pixel laptop screen');
    await shot('30-users-laptop');
    assert.deepEqual(consoleErrors, [], 'console errors (CSP violations?)');
  });
});
