import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAppliance, type RunningAppliance } from '../helpers/appliance.js';
import { requireBinary } from '../helpers/binaries.js';
import { redirectRequest, testSp, type TestSp } from '../integration/saml/support.js';
import { base32Decode, timeStep, totpAtStep } from '../helpers/rfc6238.js';

const PASSWORD = 'Sunny-Meadow-41';

/**
 * The portal and SAML sign-in in a real browser: Debian's chromium driven by playwright-core (no
 * browser download). An in-process HTTP server on loopback plays the SP's ACS endpoint, so the
 * auto-submitting form really posts across origins under the page's CSP.
 */
describe('browser: portal and SAML sign-in (chromium)', function () {
  this.timeout(120_000);
  let gh: RunningAppliance;
  let browser: Browser;
  let acs: Server;
  let acsUrl = '';
  let sp: TestSp;
  let base = '';
  const received: Record<string, string>[] = [];

  before(async function () {
    requireBinary(this, 'chromium', 'chromium');
    acs = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(Object.fromEntries(new URLSearchParams(body)));
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>SP</title><h1>SP received the response</h1>');
      });
    });
    await new Promise<void>((r) => acs.listen(0, '127.0.0.1', r));
    acsUrl = `http://127.0.0.1:${(acs.address() as AddressInfo).port}/acs`;
    gh = await startAppliance();
    base = `http://localhost:${gh.endpoints.http.port}`;
    const app = await gh.api('POST', '/api/applications', { name: 'notes', displayLabel: 'Notes', config: { spEntityId: 'https://notes.example.test', acsUrls: [acsUrl] } });
    for (const u of ['pat', 'quinn']) {
      const r = await gh.api('POST', '/api/systemusers', { username: u, email: `${u}@example.com`, firstname: u, password: PASSWORD });
      await gh.api('POST', `/api/v2/users/${r.body._id}/associations`, { op: 'add', type: 'application', id: app.body._id });
    }
    sp = await testSp(gh, 'notes', { entityId: 'https://notes.example.test', acs: [acsUrl] });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
    acs?.close();
  });

  const signIn = async (page: Page, login: string) => {
    await page.goto(`${base}/`);
    await page.getByLabel('Username or email').fill(login);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  it('signs in to the portal and shows the app tiles', async () => {
    const page = await (await browser.newContext()).newPage();
    const violations: string[] = [];
    page.on('console', (m) => m.type() === 'error' && violations.push(m.text()));
    await signIn(page, 'pat');
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    assert.ok(await page.getByRole('link', { name: /Notes/ }).isVisible());
    assert.deepEqual(violations, [], 'console errors (CSP violations?)');
  });

  it('enrols TOTP by reading the key from the page, then signs in with a computed code', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, 'quinn');
    await page.getByRole('link', { name: 'Two-step verification' }).click();
    await page.getByRole('img', { name: /QR code/ }).waitFor();
    const secret = (await page.locator('#totp-secret').getAttribute('data-secret'))!;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    // Each code is computed when it is typed, from the current 30-second step (a code computed
    // earlier, from the step before, went stale when a step boundary passed while the page loaded:
    // a CI run failed that way), and the second one from a later step than the first (each code
    // works once).
    const key = base32Decode(secret);
    let used = -1;
    const codes = () => {
      used = Math.max(timeStep(Date.now() / 1000), used + 1);
      return totpAtStep(key, used);
    };
    await page.getByLabel('Enter the 6-digit code the app shows').fill(codes());
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, 'quinn');
    await page.getByLabel('Code from your authenticator app').fill(codes());
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Your apps' }).waitFor();
    await context.close();
  });

  it('completes an SP-initiated login: login page, auto-posted response at the ACS', async () => {
    const page = await (await browser.newContext()).newPage();
    const req = redirectRequest(sp, 'browser-state');
    await page.goto(base + req.path);
    await page.getByText('to continue to Notes').waitFor();
    await page.getByLabel('Username or email').fill('pat');
    await page.getByLabel('Password').fill(PASSWORD);
    const before = received.length;
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'SP received the response' }).waitFor();
    const got = received[before]!;
    assert.equal(got.RelayState, 'browser-state');
    const parsed = await sp.sp.parseLoginResponse(sp.idp, 'post', { body: got });
    assert.equal(parsed.extract.response!.inResponseTo, req.id);
    assert.equal(parsed.extract.nameID, 'pat@example.com');
  });
});
