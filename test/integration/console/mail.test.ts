import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'mocha';
import { SMTPServer } from 'smtp-server';
import { userPortalResource } from '../../../src/core/auth/resources.js';
import { startAppliance, type RunningAppliance } from '../../helpers/appliance.js';
import { ConsoleClient, signedInConsole } from './support.js';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** Decodes the quoted-printable soft breaks and escapes nodemailer uses for long text lines. */
const unQuote = (s: string) => s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

/** The set-password link of a received message (its text part). */
function linkOf(m: Received): string {
  const url = /https?:\/\/[^\s"<>]+\/account\/set-password\?token=[A-Za-z0-9_-]{43}/.exec(unQuote(m.raw));
  assert.ok(url, 'the message carries a set-password link');
  return url[0];
}

/**
 * Activation and reset emails end to end: SMTP settings saved in the console (password sealed),
 * a real SMTP server (smtp-server) on loopback with AUTH, "Resend Email" from the users list, and
 * the links followed to set passwords under the policy.
 */
describe('admin console: email through SMTP', function () {
  this.timeout(90_000);
  let gh: RunningAppliance;
  let smtp: SMTPServer;
  let smtpPort = 0;
  let console_: ConsoleClient;
  const inbox: Received[] = [];
  const ids: Record<string, string> = {};

  before(async () => {
    smtp = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authOptional: false,
      logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === 'mailer' && auth.password === 'relay-secret-9') return cb(null, { user: 'mailer' });
        return cb(new Error('Invalid username or password'));
      },
      onData(stream, session, cb) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
        stream.on('end', () => {
          inbox.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw });
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
    smtpPort = (smtp.server.address() as AddressInfo).port;
    gh = await startAppliance();
    const mk = async (username: string, extra: Record<string, unknown>) => {
      const r = await gh.api('POST', '/api/systemusers', { username, email: `${username}@example.com`, firstname: username, ...extra });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids[username] = r.body._id;
    };
    await mk('pending', {});
    await mk('active', { password: 'Sunny-Meadow-41' });
    await mk('staged', { state: 'STAGED' });
    console_ = await signedInConsole(gh);
  });
  after(async () => {
    await gh?.stop();
    await new Promise<void>((r) => smtp?.close(() => r()));
  });

  const canSignIn = async (login: string, password: string) =>
    (await gh.appliance.core.auth.authenticate({ protocol: 'portal', login, password, clientIp: '127.0.0.1', resource: userPortalResource })).status === 'ok';

  it('reports emails as not configured until an SMTP server is set', async () => {
    const r = await console_.post('/admin/users/bulk', { action: 'resend_email', ids: [ids.pending!], back: '/admin/users' });
    assert.match(r.text, /1 failed/);
    assert.match(r.text, /email is not configured/);
    const alerts = await console_.get('/admin/alerts');
    assert.match(alerts.text, /Email is not configured/);
  });

  it('saves the SMTP settings in Settings, never showing the password again, and sends a test email', async () => {
    const bad = await console_.post('/admin/settings/smtp', { host: '127.0.0.1', port: 'abc', security: 'none', username: 'mailer', password: 'relay-secret-9', from: 'Gatehouse <gh@example.test>' });
    assert.equal(bad.status, 400);
    const saved = await console_.post('/admin/settings/smtp', { host: '127.0.0.1', port: String(smtpPort), security: 'none', username: 'mailer', password: 'relay-secret-9', from: 'Gatehouse <gh@example.test>' });
    assert.equal(saved.status, 200);
    assert.match(saved.text, /Email settings saved/);
    assert.doesNotMatch(saved.text, /relay-secret-9/);
    assert.match(saved.text, /Stored encrypted. Leave empty to keep it./);
    const stored = JSON.stringify(await gh.appliance.store.repos.audit.query({ services: 'all', startTime: new Date(0), endTime: new Date(Date.now() + 60_000), limit: 1000, skip: 0 }));
    assert.doesNotMatch(stored, /relay-secret-9/, 'the audit trail never holds the SMTP password');
    const test = await console_.post('/admin/settings/smtp/test', { to: 'ops@example.com' });
    assert.match(test.text, /Test email sent to ops@example.com/);
    assert.deepEqual(inbox.at(-1)!.to, ['ops@example.com']);
    assert.equal(inbox.at(-1)!.from, 'gh@example.test');
  });

  it('keeps the stored SMTP password when the form leaves it empty (the relay still accepts AUTH)', async () => {
    await console_.post('/admin/settings/smtp', { host: '127.0.0.1', port: String(smtpPort), security: 'none', username: 'mailer', password: '', from: 'Gatehouse <gh@example.test>' });
    const n = inbox.length;
    const test = await console_.post('/admin/settings/smtp/test', { to: 'ops@example.com' });
    assert.match(test.text, /Test email sent/);
    assert.equal(inbox.length, n + 1);
  });

  it('Resend Email: activation to the pending user, a reset to the active user, nothing to the staged user', async () => {
    const n = inbox.length;
    const r = await console_.post('/admin/users/bulk', { action: 'resend_email', ids: [ids.pending!, ids.active!, ids.staged!], back: '/admin/users' });
    assert.match(r.text, /2 done/);
    assert.match(r.text, /1 skipped/);
    assert.match(r.text, /staged users get no email/);
    const got = inbox.slice(n);
    assert.deepEqual(got.map((m) => m.to[0]).sort(), ['active@example.com', 'pending@example.com']);
    assert.match(unQuote(got.find((m) => m.to[0] === 'pending@example.com')!.raw), /Subject: Activate your Gatehouse account/);
    assert.match(unQuote(got.find((m) => m.to[0] === 'active@example.com')!.raw), /Subject: Reset your Gatehouse password/);
  });

  it('follows the activation link: the password must meet the policy, then the link is used up', async () => {
    const m = inbox.filter((x) => x.to[0] === 'pending@example.com').at(-1)!;
    const link = new URL(linkOf(m));
    const browser = new ConsoleClient(gh.httpUrl);
    const form = await browser.get(link.pathname + link.search);
    assert.equal(form.status, 200);
    assert.match(form.text, /Activate your account/);
    assert.match(form.text, /For <strong>pending<\/strong>/);
    assert.equal(form.headers.get('referrer-policy'), 'no-referrer');
    const token = link.searchParams.get('token')!;
    const weak = await browser.post('/account/set-password', { token, new: 'short', confirm: 'short' });
    assert.equal(weak.status, 400);
    assert.match(weak.text, /at least 8 characters/);
    const mismatch = await browser.post('/account/set-password', { token, new: 'Brand-New-Pass-77', confirm: 'Brand-New-Pass-78' });
    assert.match(mismatch.text, /not the same/);
    assert.equal(await canSignIn('pending', 'Brand-New-Pass-77'), false);
    const done = await browser.post('/account/set-password', { token, new: 'Brand-New-Pass-77', confirm: 'Brand-New-Pass-77' });
    assert.equal(done.status, 200);
    assert.match(done.text, /Your account is active/);
    assert.equal(await canSignIn('pending', 'Brand-New-Pass-77'), true);
    assert.equal((await gh.api('GET', `/api/systemusers/${ids.pending}`)).body.activated, true);
    assert.equal((await browser.get(link.pathname + link.search)).status, 410, 'a link works once');
    const replay = await browser.post('/account/set-password', { token, new: 'Other-New-Pass-88', confirm: 'Other-New-Pass-88' });
    assert.equal(replay.status, 410);
  });

  it('follows the reset link: the new password replaces the old one', async () => {
    const m = inbox.filter((x) => x.to[0] === 'active@example.com').at(-1)!;
    const link = new URL(linkOf(m));
    const browser = new ConsoleClient(gh.httpUrl);
    await browser.get(link.pathname + link.search);
    const done = await browser.post('/account/set-password', { token: link.searchParams.get('token')!, new: 'Fresh-Reset-Pass-5', confirm: 'Fresh-Reset-Pass-5' });
    assert.match(done.text, /Your password is set/);
    assert.equal(await canSignIn('active', 'Sunny-Meadow-41'), false);
    assert.equal(await canSignIn('active', 'Fresh-Reset-Pass-5'), true);
  });

  it('voids an outstanding link when the password or the email changes afterwards (OWASP forgot-password)', async () => {
    const freshLink = async () => {
      const n = inbox.length;
      await console_.post('/admin/users/bulk', { action: 'resend_email', ids: [ids.active!], back: '/admin/users' });
      return new URL(linkOf(inbox.slice(n).find((m) => m.to[0] === 'active@example.com')!));
    };
    const usable = async (link: URL) => (await new ConsoleClient(gh.httpUrl).get(link.pathname + link.search)).status === 200;

    const beforeReset = await freshLink();
    assert.equal(await usable(beforeReset), true);
    assert.equal((await gh.api('PUT', `/api/systemusers/${ids.active}`, { password: 'Admin-Set-Pass-77' })).status, 200);
    assert.equal(await usable(beforeReset), false, 'an admin set the password: the link is void');

    const beforeOwnChange = await freshLink();
    await gh.appliance.core.users.setPassword(ids.active!, 'Own-Change-Pass-78', { actor: { id: ids.active!, type: 'user', username: 'active' }, clientIp: '127.0.0.1', authMethod: 'session' });
    assert.equal(await usable(beforeOwnChange), false, 'the user changed the password: the link is void');

    const beforeEmail = await freshLink();
    assert.equal((await gh.api('PUT', `/api/systemusers/${ids.active}`, { email: 'active.new@example.com' })).status, 200);
    const browser = new ConsoleClient(gh.httpUrl);
    const page = await browser.get(beforeEmail.pathname + beforeEmail.search);
    assert.equal(page.status, 410, 'a link sent to the old address is void');
    const redeem = await browser.post('/account/set-password', { token: beforeEmail.searchParams.get('token')!, new: 'Old-Address-Pass-79', confirm: 'Old-Address-Pass-79' });
    assert.doesNotMatch(redeem.text, /Your password is set/);
    assert.equal(await canSignIn('active', 'Old-Address-Pass-79'), false);
    await gh.api('PUT', `/api/systemusers/${ids.active}`, { email: 'active@example.com' });
  });

  it('refuses a made-up or malformed token without revealing anything', async () => {
    const browser = new ConsoleClient(gh.httpUrl);
    for (const t of ['x', 'A'.repeat(43), '<script>']) {
      const r = await browser.get(`/account/set-password?token=${encodeURIComponent(t)}`);
      assert.equal(r.status, 410);
      assert.match(r.text, /This link cannot be used/);
      assert.doesNotMatch(r.text, /<script>/);
    }
  });

  it('sends an activation email from the Add user form when no password is given', async () => {
    const n = inbox.length;
    const page = await console_.get('/admin/users/new');
    assert.match(page.text, /Send an activation email/);
    const r = await console_.post('/admin/users', { username: 'newbie', email: 'newbie@example.com', firstname: 'New', state: 'ACTIVATED', sendActivation: 'on' });
    assert.equal(r.status, 200);
    assert.match(r.text, /An activation email was sent to newbie@example.com/);
    assert.equal(inbox.length, n + 1);
    assert.deepEqual(inbox.at(-1)!.to, ['newbie@example.com']);
  });
});
