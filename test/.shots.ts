import { chromium } from 'playwright-core';
import { startAppliance, TEST_ADMIN_EMAIL, TEST_ADMIN_PASSWORD } from './helpers/appliance.js';
import { base32Decode, timeStep, totpAtStep } from './helpers/rfc6238.js';

const gh = await startAppliance({});
const api = gh.api;
const app = await api('POST', '/api/applications', { name: 'wiki', displayLabel: 'Team Wiki', config: { spEntityId: 'https://wiki.example.test', acsUrls: ['https://wiki.example.test/acs'] } });
const grp = await api('POST', '/api/v2/usergroups', { name: 'engineering', description: 'Engineers', attributes: { posixGroups: [{ name: 'eng' }], radius: { reply: [{ name: 'Tunnel-Private-Group-Id', value: '100' }] } } });
for (let i = 0; i < 40; i++) {
  const u = await api('POST', '/api/systemusers', { username: `user${i}`, email: `user${i}@example.com`, firstname: ['Ada', 'Bob', 'Cy', 'Di'][i % 4], lastname: `Lovelace${i}`, ...(i % 5 === 0 ? {} : { password: 'Correct-Horse-9' }), ...(i === 7 ? { state: 'STAGED' } : {}), ...(i === 9 ? { state: 'SUSPENDED' } : {}) });
  if (i < 10) await api('POST', `/api/v2/usergroups/${grp.body.id}/members`, { op: 'add', type: 'user', id: u.body._id });
}
await api('POST', '/api/radiusservers', { name: 'Office Wi-Fi', networkSourceIp: '10.0.0.0/24', sharedSecret: 'short', mfa: 'ENABLED' });
await api('POST', '/api/systems', { displayName: 'build-01', hostname: 'build-01.lan', os: 'Linux', active: true });
await api('POST', '/api/systems', { displayName: 'mac-ada', hostname: 'mac-ada.lan', os: 'macOS', active: false });
gh.appliance.core.audit.record({ event_type: 'radius_auth_attempt', service: 'radius', success: false, client_ip: '10.0.0.5', initiated_by: { type: 'user', username: '<script>alert(1)</script>' }, username: '<script>alert(1)</script>', error_message: 'user not found' });

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await ctx.newPage();
const errors: string[] = [];
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
page.on('pageerror', (e) => errors.push(String(e)));
const base = gh.httpUrl;
await page.goto(base + '/admin/login');
await page.screenshot({ path: '/tmp/gh-shots/01-login.png' });
await page.getByLabel('Email').fill(TEST_ADMIN_EMAIL);
await page.getByLabel('Password').fill(TEST_ADMIN_PASSWORD);
await page.getByRole('button', { name: 'Sign in' }).click();
await page.waitForURL(/enroll/);
await page.screenshot({ path: '/tmp/gh-shots/02-enroll.png', fullPage: true });
const secret = (await page.locator('#totp-secret').getAttribute('data-secret'))!;
const code = totpAtStep(base32Decode(secret), timeStep(Date.now() / 1000));
await page.getByLabel('Code the app shows').fill(code);
await page.getByRole('button', { name: 'Verify and continue' }).click();
await page.waitForURL(base + '/admin/');
const shots: [string, string][] = [
  ['03-home', '/admin/'],
  ['04-users', '/admin/users'],
  ['05-user', '/admin/users?q=user1'],
  ['06-groups', '/admin/groups'],
  ['07-group', `/admin/groups/${grp.body.id}`],
  ['08-ldap', '/admin/ldap'],
  ['09-radius', '/admin/radius'],
  ['10-apps', `/admin/apps/${app.body._id}`],
  ['11-devices', '/admin/devices'],
  ['12-security', '/admin/security'],
  ['13-insights', '/admin/insights'],
  ['14-settings', '/admin/settings'],
  ['15-account', '/admin/account'],
  ['16-newuser', '/admin/users/new'],
];
for (const [name, path] of shots) {
  await page.goto(base + path);
  await page.screenshot({ path: `/tmp/gh-shots/${name}.png`, fullPage: name !== '03-home' });
}
await page.goto(base + '/admin/users');
await page.locator('input[data-row-check]').nth(1).check();
await page.locator('.more-actions summary').click();
await page.screenshot({ path: '/tmp/gh-shots/17-bulkmenu.png' });
await page.goto(base + '/admin/');
await page.locator('[data-tour="alerts"] summary').click();
await page.screenshot({ path: '/tmp/gh-shots/18-alerts.png' });
await page.locator('[data-collapse-menu]').click();
await page.goto(base + '/admin/users');
await page.screenshot({ path: '/tmp/gh-shots/19-collapsed.png' });
const u1 = await api('GET', '/api/systemusers?search=user1&limit=1');
await page.goto(base + `/admin/users/${u1.body.results[0]._id}`);
await page.screenshot({ path: '/tmp/gh-shots/20-userdetail.png', fullPage: true });
console.log('errors', errors);
await browser.close();
await gh.stop();
