import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PasswordPolicy } from '../../core/directory/organization.js';
import { SMTP_SECURITY } from '../../core/mail/smtp-settings.js';
import { isDomainError } from '../../core/errors.js';
import { html, type SafeHtml } from '../plugins/html.js';
import { enrolmentBlock, qrFor } from './auth-routes.js';
import { actionForm, avatar, card, checkField, csrfField, facts, fmtDate, pageHeader, pill, selectField, textField, when } from './components.js';
import { actorOf, adminOf, ID, redirectWith, type ConsoleDeps } from './context.js';
import { checked, field } from '../form-fields.js';
import { FormBody, IdParams } from './schemas.js';
import { icon } from './icons.js';
import type { Render } from './index.js';


const errorNotice = (e?: string) => (e ? html`<div class="notice notice-error" role="alert">${icon('alert')}<span>${e}</span></div>` : '');

/** A number input paired with the checkbox that turns its rule on (JumpCloud's enable… flags). */
function ruleRow(o: { flag: keyof PasswordPolicy; value: keyof PasswordPolicy; policy: PasswordPolicy; label: string; unit: string; min: number; max: number; hint?: string }): SafeHtml {
  const on = o.policy[o.flag] === true;
  return html`<div class="rule-row">
  <input type="checkbox" id="p-${o.flag}" name="${o.flag}" value="on"${on ? html` checked` : ''}>
  <label for="p-${o.flag}">${o.label}</label>
  <span class="rule-value"><label class="visually-hidden" for="p-${o.value}">${o.label} (${o.unit})</label><input type="number" id="p-${o.value}" name="${o.value}" value="${String(o.policy[o.value])}" min="${o.min}" max="${o.max}" inputmode="numeric"> <span class="unit">${o.unit}</span></span>
  ${o.hint ? html`<p class="hint">${o.hint}</p>` : ''}
</div>`;
}

/** Security Management, Settings (organisation, SMTP), My Account and Administrators. */
export function registerSettingsRoutes(app: FastifyInstance, d: ConsoleDeps, render: Render): void {
  const { core } = d;

  // ---------------------------------------------------------------- Security Management
  const showSecurity = async (req: FastifyRequest, reply: FastifyReply, error?: string, status = 200) => {
    const org = await core.organization.get();
    const p = org.settings.passwordPolicy;
    const csrf = reply.generateCsrf();
    const box = (k: keyof PasswordPolicy, label: string) => checkField({ label, name: k, checked: p[k] === true });
    const body = html`${pageHeader({ title: 'Security Management', subtitle: 'One policy for every protocol: LDAP, RADIUS, SAML, the User Portal and the console.' })}
${errorNotice(error)}
<form method="post" action="/admin/security" novalidate>${csrfField(csrf)}
<div class="two-col">
  ${card({
    title: 'Password policy',
    id: 'password-policy',
    body: html`${ruleRow({ flag: 'enableMinLength', value: 'minLength', policy: p, label: 'Minimum length', unit: 'characters', min: 1, max: 128 })}
      ${box('needsUppercase', 'Require an uppercase letter')}${box('needsLowercase', 'Require a lowercase letter')}${box('needsNumeric', 'Require a digit')}${box('needsSymbolic', 'Require a symbol')}
      ${box('allowUsernameSubstring', 'Allow the username inside the password')}
      ${ruleRow({ flag: 'enableMaxHistory', value: 'maxHistory', policy: p, label: 'Remember previous passwords', unit: 'passwords', min: 0, max: 24 })}
      ${ruleRow({ flag: 'enablePasswordExpirationInDays', value: 'passwordExpirationInDays', policy: p, label: 'Passwords expire after', unit: 'days', min: 1, max: 3650, hint: 'Expired passwords are refused where the resource says so (LDAP, RADIUS), and must be changed in the User Portal.' })}`,
  })}
  ${card({
    title: 'Account lockout',
    id: 'lockout',
    body: html`${ruleRow({ flag: 'enableMaxLoginAttempts', value: 'maxLoginAttempts', policy: p, label: 'Lock after failed attempts', unit: 'attempts', min: 1, max: 1000, hint: 'Counted across every protocol and login spelling; a locked account fails like a wrong password.' })}
      ${ruleRow({ flag: 'enableLockoutTimeInSeconds', value: 'lockoutTimeInSeconds', policy: p, label: 'Unlock automatically after', unit: 'seconds', min: 0, max: 31_536_000, hint: 'Off or 0: locked until an admin unlocks the account.' })}
      ${ruleRow({ flag: 'enableResetLockoutCounter', value: 'resetLockoutCounterMinutes', policy: p, label: 'Forget failed attempts after', unit: 'minutes', min: 0, max: 525_600 })}`,
  })}
  ${card({
    title: 'MFA',
    id: 'mfa',
    body: html`${checkField({ label: 'Require TOTP for administrators (console sign-in)', name: 'requireAdminMfa', checked: org.settings.requireAdminMfa, hint: 'Admins without TOTP set it up at their next sign-in.' })}
      <div class="form-grid">${textField({ label: 'User MFA enrolment period', name: 'userMfaEnrollmentDays', type: 'number', value: org.settings.userMfaEnrollmentDays, min: 0, max: 365, hint: 'Days a user has to enrol TOTP after “Require User MFA”.' })}</div>`,
  })}
</div>
<div class="form-actions sticky-actions"><button type="submit" class="btn btn-primary">Save security settings</button></div>
</form>`;
    return render(req, reply, 'Security Management', body, status);
  };

  app.get('/security', async (req, reply) => showSecurity(req, reply));

  app.post('/security', { schema: { body: FormBody } }, async (req, reply) => {
    const org = await core.organization.get();
    const num = (k: string) => {
      const v = field(req.body, k, 12).trim();
      return /^\d+$/.test(v) ? Number(v) : v === '' ? undefined : v;
    };
    const bools = ['enableMinLength', 'needsUppercase', 'needsLowercase', 'needsNumeric', 'needsSymbolic', 'allowUsernameSubstring', 'enableMaxHistory', 'enablePasswordExpirationInDays', 'enableMaxLoginAttempts', 'enableLockoutTimeInSeconds', 'enableResetLockoutCounter'];
    const nums = ['minLength', 'maxHistory', 'passwordExpirationInDays', 'maxLoginAttempts', 'lockoutTimeInSeconds', 'resetLockoutCounterMinutes'];
    const passwordPolicy: Record<string, unknown> = {};
    for (const b of bools) passwordPolicy[b] = checked(req.body, b);
    for (const n of nums) {
      const v = num(n);
      if (v !== undefined) passwordPolicy[n] = v;
    }
    const days = num('userMfaEnrollmentDays');
    try {
      await core.organization.update(org.id, { settings: { passwordPolicy, requireAdminMfa: checked(req.body, 'requireAdminMfa'), ...(days !== undefined ? { userMfaEnrollmentDays: days } : {}) } }, actorOf(req));
    } catch (err) {
      if (!isDomainError(err) || err.kind !== 'invalid') throw err;
      return showSecurity(req, reply, err.message, 400);
    }
    return redirectWith(req, reply, '/admin/security', { kind: 'ok', text: 'Security settings saved. They apply to the next sign-in on every protocol.' });
  });

  // ---------------------------------------------------------------- Settings
  const showSettings = async (req: FastifyRequest, reply: FastifyReply, smtpErrors: Record<string, string> = {}, error?: string, status = 200) => {
    const org = await core.organization.get();
    const smtp = await core.console.mail.smtpSettings();
    const csrf = reply.generateCsrf();
    const admin = adminOf(req);
    const body = html`${pageHeader({ title: 'Settings', subtitle: 'Your organisation and the appliance.' })}
${errorNotice(error)}
<div class="two-col">
  ${card({
    title: 'Organization',
    id: 'organization',
    body: html`${facts([
      ['Organization ID', html`<code id="org-id">${org.id}</code> <button type="button" class="btn btn-small btn-secondary" data-copy="org-id">${icon('copy')}<span>Copy</span></button>`],
      ['Created', when(org.createdAt)],
      ['Version', d.version],
    ])}
      <form method="post" action="/admin/settings/organization" class="stack" novalidate>${csrfField(csrf)}${textField({ label: 'Organization name', name: 'displayName', value: org.displayName, required: true })}
        <div class="form-actions"><button class="btn btn-primary" type="submit">Save</button></div></form>`,
  })}
  ${card({
    title: 'Email (SMTP)',
    id: 'smtp',
    description: html`Activation and password reset emails go through this relay. ${smtp.source === 'config' ? html`Values from the configuration file; saving stores them here.` : ''}`,
    body: html`<form method="post" action="/admin/settings/smtp" class="stack" novalidate>${csrfField(csrf)}
      <div class="form-grid">
        ${textField({ label: 'SMTP host', name: 'host', value: smtp.host, placeholder: 'smtp.example.com', hint: 'Empty: email is off.', error: smtpErrors['smtp.host'] })}
        ${textField({ label: 'Port', name: 'port', type: 'number', value: smtp.port, min: 1, max: 65535, error: smtpErrors['smtp.port'] })}
        ${selectField({ label: 'Security', name: 'security', value: smtp.security, options: SMTP_SECURITY.map((s) => ({ value: s, label: s === 'starttls' ? 'STARTTLS (port 587)' : s === 'tls' ? 'TLS (port 465)' : 'None (local relay only)' })) })}
        ${textField({ label: 'Username', name: 'username', value: smtp.username, autocomplete: 'off', error: smtpErrors['smtp.username'] })}
        ${textField({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password', placeholder: smtp.hasPassword ? '•••••••• (unchanged)' : '', hint: smtp.hasPassword ? 'Stored encrypted. Leave empty to keep it.' : 'Stored encrypted.', error: smtpErrors['smtp.password'] })}
        ${textField({ label: 'From', name: 'from', value: smtp.from, required: true, error: smtpErrors['smtp.from'] })}
      </div>
      ${smtp.hasPassword ? checkField({ label: 'Remove the stored password', name: 'clearPassword', checked: false }) : ''}
      <div class="form-actions"><button class="btn btn-primary" type="submit">Save email settings</button></div></form>
      <form method="post" action="/admin/settings/smtp/test" class="add-row">${csrfField(csrf)}<label for="test-to">Send a test email to</label><input id="test-to" name="to" type="email" value="${admin.email}"><button class="btn btn-secondary" type="submit"${smtp.host ? '' : html` disabled`}>${icon('mail')}<span>Send test</span></button></form>`,
  })}
</div>`;
    return render(req, reply, 'Settings', body, status);
  };

  app.get('/settings', async (req, reply) => showSettings(req, reply));

  app.post('/settings/organization', { schema: { body: FormBody } }, async (req, reply) => {
    const org = await core.organization.get();
    try {
      await core.organization.update(org.id, { displayName: field(req.body, 'displayName', 256) }, actorOf(req));
    } catch (err) {
      if (!isDomainError(err) || err.kind !== 'invalid') throw err;
      return showSettings(req, reply, {}, err.message, 400);
    }
    return redirectWith(req, reply, '/admin/settings', { kind: 'ok', text: 'Organization saved.' });
  });

  app.post('/settings/smtp', { schema: { body: FormBody } }, async (req, reply) => {
    try {
      await core.console.mail.updateSmtpSettings(
        {
          host: field(req.body, 'host', 256).trim(),
          port: field(req.body, 'port', 8).trim(),
          security: field(req.body, 'security', 16),
          username: field(req.body, 'username', 256),
          password: field(req.body, 'password', 1024),
          clearPassword: checked(req.body, 'clearPassword'),
          from: field(req.body, 'from', 512),
        },
        actorOf(req),
      );
    } catch (err) {
      if (!isDomainError(err) || err.kind !== 'invalid') throw err;
      return showSettings(req, reply, err.field ? { [err.field]: err.message } : {}, err.message, 400);
    }
    return redirectWith(req, reply, '/admin/settings#smtp', { kind: 'ok', text: 'Email settings saved.' });
  });

  app.post('/settings/smtp/test', { schema: { body: FormBody } }, async (req, reply) => {
    const to = field(req.body, 'to', 320);
    try {
      await core.console.mail.sendTest(to);
    } catch (err) {
      if (!isDomainError(err)) throw err;
      return redirectWith(req, reply, '/admin/settings#smtp', { kind: 'error', text: `Test email not sent: ${err.message}` });
    }
    return redirectWith(req, reply, '/admin/settings#smtp', { kind: 'ok', text: `Test email sent to ${to}.` });
  });

  // ---------------------------------------------------------------- My Account
  const showAccount = async (req: FastifyRequest, reply: FastifyReply, o: { passwordError?: string; totpError?: string; enrol?: boolean; newKey?: string; keyError?: string } = {}, status = 200) => {
    const admin = await core.console.adminAuth.get(adminOf(req).id);
    const org = await core.organization.get();
    const csrf = reply.generateCsrf();
    const keys = (await core.apiKeys.list()).filter((k) => k.adminId === admin.id);
    const name = [admin.firstname, admin.lastname].filter(Boolean).join(' ') || admin.email;
    let totpBody: SafeHtml;
    if (o.enrol) {
      const { secret, uri } = await core.console.adminAuth.beginTotpEnrolment(admin.id);
      totpBody = enrolmentBlock({ csrf, action: '/admin/account/totp', qrSvg: await qrFor(uri), secret, ...(o.totpError ? { error: o.totpError } : {}), button: admin.totpEnrolled ? 'Replace my key' : 'Turn on TOTP', askPassword: admin.totpEnrolled });
    } else {
      totpBody = html`${facts([['Status', admin.totpEnrolled ? pill('Enabled', 'ok') : pill('Not set up', 'warn')], ['Required by the organisation', org.settings.requireAdminMfa ? 'Yes' : 'No']])}
        <div class="button-row"><a class="btn btn-primary" href="/admin/account?totp=new#totp">${admin.totpEnrolled ? 'Replace my key' : 'Set up TOTP'}</a>
        </div>
        ${admin.totpEnrolled && !org.settings.requireAdminMfa ? removeTotpForm(csrf, o.totpError) : ''}`;
    }
    const body = html`${pageHeader({ title: 'My Account', lead: avatar(name, 'lg'), subtitle: html`${admin.email} · ${admin.role === 'administrator' ? 'Administrator' : 'Read-only'}` })}
<div class="two-col">
  ${card({
    title: 'Change password',
    id: 'password',
    body: html`<form method="post" action="/admin/account/password" class="stack" novalidate>${csrfField(csrf)}
      ${errorNotice(o.passwordError)}
      ${textField({ label: 'Current password', name: 'current', type: 'password', autocomplete: 'current-password', required: true })}
      ${textField({ label: 'New password', name: 'new', type: 'password', autocomplete: 'new-password', required: true, hint: 'At least 12 characters. Your other console sessions are signed out.' })}
      ${textField({ label: 'New password again', name: 'confirm', type: 'password', autocomplete: 'new-password', required: true })}
      <div class="form-actions"><button class="btn btn-primary" type="submit">Change password</button></div></form>`,
  })}
  ${card({ title: 'Admin TOTP', id: 'totp', body: totpBody })}
</div>
${card({
  title: 'API keys',
  id: 'api-keys',
  description: html`Keys for the REST API (<code>x-api-key</code> header), acting as you. A key is shown once.`,
  body: html`${o.keyError ? html`<div class="notice notice-error" role="alert">${o.keyError}</div>` : ''}${o.newKey
    ? html`<div class="notice notice-info" role="status">${icon('info')}<span>Copy the new key now: it will not be shown again.</span></div><div class="secret-row"><code class="secret" id="new-api-key">${o.newKey}</code><button type="button" class="btn btn-secondary" data-copy="new-api-key">${icon('copy')}<span>Copy</span></button></div>`
    : ''}
    ${keys.length === 0
      ? html`<p class="muted">You have no API keys.</p>`
      : html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">Your API keys</caption><thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${keys.map(
          (k) => html`<tr><td>${k.name}</td><td><code>${k.prefix}…</code></td><td>${fmtDate(k.createdAt)}</td><td>${k.lastUsedAt ? fmtDate(k.lastUsedAt) : html`<span class="muted">Never</span>`}</td>
            <td class="actions">${actionForm({ action: `/admin/account/api-keys/${k.id}/delete`, csrf, label: 'Revoke', confirm: `Revoke API key ${k.name}? Scripts using it stop working.` })}</td></tr>`,
        )}</tbody></table></div>`}
    <form method="post" action="/admin/account/api-keys" class="add-row">${csrfField(csrf)}<label for="key-name">New key name</label><input id="key-name" name="name" placeholder="e.g. provisioning script" required><label for="key-password">Your password</label><input id="key-password" name="password" type="password" autocomplete="current-password" required><button class="btn btn-primary" type="submit">Create API key</button></form>
    <p class="hint">A key works without your session and until it is revoked, so creating one needs your password again.</p>`,
})}
${card({ title: 'User Portal', body: html`<p>See what your users see. <a href="/" target="_blank" rel="noopener">Launch User Portal ${icon('external', 'inline')}</a></p>` })}`;
    return render(req, reply, 'My Account', body, status);
  };

  app.get('/account', { schema: { querystring: Type.Object({ totp: Type.Optional(Type.String({ maxLength: 8 })) }) } }, async (req, reply) =>
    showAccount(req, reply, { enrol: (req.query as { totp?: string }).totp === 'new' }),
  );

  app.post('/account/password', { schema: { body: FormBody } }, async (req, reply) => {
    const next = field(req.body, 'new');
    if (next !== field(req.body, 'confirm')) return showAccount(req, reply, { passwordError: 'The two new passwords are not the same.' }, 400);
    try {
      const r = await core.console.adminAuth.changePassword(adminOf(req).id, field(req.body, 'current'), next, actorOf(req));
      if (r === 'wrong_password') return showAccount(req, reply, { passwordError: 'The current password is not correct.' }, 401);
    } catch (err) {
      if (!isDomainError(err) || err.kind !== 'invalid') throw err;
      return showAccount(req, reply, { passwordError: `The new ${err.message}.` }, 400);
    }
    await req.webSession?.endOtherSessions();
    return redirectWith(req, reply, '/admin/account', { kind: 'ok', text: 'Password changed. Your other console sessions were signed out.' });
  });

  app.post('/account/totp', { schema: { body: FormBody } }, async (req, reply) => {
    const code = field(req.body, 'otp', 16).replace(/\s+/g, '');
    const password = field(req.body, 'password', 1024);
    const ok = /^\d{6}$/.test(code) && (await core.console.adminAuth.confirmTotpEnrolment(adminOf(req).id, code, actorOf(req), undefined, password));
    if (!ok) return showAccount(req, reply, { enrol: true, totpError: 'That code or password is not correct. Scan the new QR code and try again.' }, 400);
    return redirectWith(req, reply, '/admin/account#totp', { kind: 'ok', text: 'TOTP is set up: sign-ins ask for a code from your app.' });
  });

  app.post('/account/totp/remove', { schema: { body: FormBody } }, async (req, reply) => {
    try {
      await core.console.adminAuth.removeTotp(adminOf(req).id, actorOf(req), field(req.body, 'password', 1024));
    } catch (err) {
      if (!isDomainError(err) || err.field !== 'password') throw err;
      return showAccount(req, reply, { totpError: 'That password is not correct: TOTP stays on.' }, 400);
    }
    return redirectWith(req, reply, '/admin/account#totp', { kind: 'ok', text: 'TOTP turned off.' });
  });

  app.post('/account/api-keys', { schema: { body: FormBody } }, async (req, reply) => {
    const admin = adminOf(req);
    // A key outlives the session that made it: a held session alone must not mint lasting access
    // (ASVS 4.0.3 V3.7.1), as for adding an administrator.
    if (!(await core.console.adminAuth.confirmPassword(admin.id, field(req.body, 'password', 1024), req.ip))) {
      return showAccount(req, reply, { keyError: 'Your password is not correct: no API key was created.' }, 401);
    }
    const { key } = await core.apiKeys.create(field(req.body, 'name', 128).trim() || 'API key', admin.id, actorOf(req));
    return showAccount(req, reply, { newKey: key }, 201);
  });

  app.post('/account/api-keys/:id/delete', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const mine = (await core.apiKeys.list()).find((k) => k.id === id && k.adminId === adminOf(req).id);
    if (!mine) return redirectWith(req, reply, '/admin/account#api-keys', { kind: 'error', text: 'No such key of yours.' });
    await core.apiKeys.remove(id, actorOf(req));
    return redirectWith(req, reply, '/admin/account#api-keys', { kind: 'ok', text: `API key ${mine.name} revoked.` });
  });

  /** Turning TOTP off asks for the password again (as replacing the key does). */
  function removeTotpForm(csrf: string, error?: string): SafeHtml {
    return html`<form method="post" action="/admin/account/totp/remove" class="stack" data-confirm="Sign in with a password alone from now on?" novalidate>${csrfField(csrf)}
      ${error ? html`<p class="field-error" role="alert">${error}</p>` : ''}
      <div class="field"><label for="remove-totp-password">Your password</label><input id="remove-totp-password" name="password" type="password" autocomplete="current-password" required></div>
      <button type="submit" class="btn btn-danger">Turn off TOTP</button></form>`;
  }

  // ---------------------------------------------------------------- Administrators
  // Every administrator's API keys are listed here and can be revoked by any administrator (a key
  // of someone who left, or one that leaked, must not wait for its owner); removing an
  // administrator revokes their keys and ends their sessions (core admins.remove).
  app.get('/admins', async (req, reply) => {
    const [admins, keys] = await Promise.all([core.admins.list(), core.apiKeys.list()]);
    const me = adminOf(req).id;
    const canManage = adminOf(req).role === 'administrator';
    const fullAdmins = admins.filter((a) => a.role === 'administrator').length;
    const csrf = reply.generateCsrf();
    const body = html`${pageHeader({ title: 'Administrators', subtitle: `${admins.length} administrator${admins.length === 1 ? '' : 's'}` })}
<div>
  <div class="card list-card"><div class="table-wrap"><table class="data-table"><caption class="visually-hidden">Administrators</caption>
    <thead><tr><th scope="col">Administrator</th><th scope="col">Role</th><th scope="col">TOTP</th><th scope="col">API keys</th><th scope="col">Added</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${admins.map((a) => {
      const n = [a.firstname, a.lastname].filter(Boolean).join(' ') || a.email;
      const own = keys.filter((k) => k.adminId === a.id);
      const keyList = own.length === 0
        ? html`<span class="muted">None</span>`
        : html`<ul class="plain-list">${own.map((k) => html`<li><code>${k.prefix}…</code> ${k.name} <small class="muted">${k.lastUsedAt ? `used ${fmtDate(k.lastUsedAt, false)}` : 'never used'}</small>
            ${canManage ? actionForm({ action: `/admin/admins/${a.id}/api-keys/${k.id}/delete`, csrf, label: 'Revoke', confirm: `Revoke API key ${k.name} of ${a.email}? Scripts using it stop working.` }) : ''}</li>`)}</ul>`;
      const remove = a.id === me
        ? html`<small class="muted">You</small>`
        : canManage && (a.role !== 'administrator' || fullAdmins > 1)
          ? actionForm({ action: `/admin/admins/${a.id}/delete`, csrf, label: 'Remove', kind: 'danger', confirm: `Remove administrator ${a.email}? Their API keys are revoked and their console sessions end.` })
          : '';
      return html`<tr><td><span class="who">${avatar(n)}<span>${n}${n !== a.email ? html`<small class="muted block">${a.email}</small>` : ''}${a.passwordChangeRequired ? html`<small class="block">${pill('Has not replaced the initial password', 'warn')}</small>` : ''}</span></span></td><td>${a.role === 'administrator' ? 'Administrator' : 'Read-only'}</td><td>${a.totpEnrolled ? pill('Enabled', 'ok') : pill('Not set up', 'warn')}</td><td>${keyList}</td><td>${fmtDate(a.createdAt, false)}</td><td class="actions">${remove}</td></tr>`;
    })}</tbody></table></div></div>
  ${card({
    title: 'Add administrator',
    body: html`<form method="post" action="/admin/admins" novalidate>${csrfField(csrf)}<div class="form-grid">
      ${textField({ label: 'Email', name: 'email', type: 'email', required: true, autocomplete: 'off' })}
      ${textField({ label: 'First name', name: 'firstname' })}${textField({ label: 'Last name', name: 'lastname' })}
      ${textField({ label: 'Initial password', name: 'password', type: 'password', required: true, autocomplete: 'new-password', hint: 'At least 12 characters. Share it safely; they must replace it when they first sign in.' })}
      ${textField({ label: 'Your password', name: 'current', type: 'password', required: true, autocomplete: 'current-password', hint: 'Adding an administrator needs your own password again.' })}</div>
      <div class="form-actions"><button class="btn btn-primary" type="submit">Add administrator</button></div></form>`,
  })}
</div>`;
    return render(req, reply, 'Administrators', body);
  });

  app.post('/admins', { schema: { body: FormBody } }, async (req, reply) => {
    // A held session alone does not grant console access to someone new (ASVS 4.0.3 V3.7.1).
    if (!(await core.console.adminAuth.confirmPassword(adminOf(req).id, field(req.body, 'current'), req.ip))) {
      return redirectWith(req, reply, '/admin/admins', { kind: 'error', text: 'Your password is not correct: no administrator was added.' });
    }
    try {
      const a = await core.admins.create(
        {
          email: field(req.body, 'email', 320),
          password: field(req.body, 'password'),
          firstname: field(req.body, 'firstname', 128),
          lastname: field(req.body, 'lastname', 128),
          requirePasswordChange: true,
        },
        actorOf(req),
      );
      return redirectWith(req, reply, '/admin/admins', { kind: 'ok', text: `Administrator ${a.email} added. They choose their own password when they first sign in.` });
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      return redirectWith(req, reply, '/admin/admins', { kind: 'error', text: err.message });
    }
  });

  app.post('/admins/:id/delete', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    try {
      const a = await core.admins.remove(id, actorOf(req));
      return redirectWith(req, reply, '/admin/admins', { kind: 'ok', text: `Administrator ${a.email} removed; their API keys were revoked and their sessions ended.` });
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'not_found' && err.kind !== 'conflict' && err.kind !== 'forbidden')) throw err;
      return redirectWith(req, reply, '/admin/admins', { kind: 'error', text: err.message });
    }
  });

  app.post('/admins/:id/api-keys/:keyId/delete', { schema: { params: AdminKeyParams, body: FormBody } }, async (req, reply) => {
    const { id, keyId } = req.params as { id: string; keyId: string };
    const key = (await core.apiKeys.list()).find((k) => k.id === keyId && k.adminId === id);
    if (!key) return redirectWith(req, reply, '/admin/admins', { kind: 'error', text: 'No such API key.' });
    await core.apiKeys.remove(keyId, actorOf(req));
    return redirectWith(req, reply, '/admin/admins', { kind: 'ok', text: `API key ${key.name} revoked.` });
  });
}

const AdminKeyParams = Type.Object({ id: Type.String({ pattern: ID }), keyId: Type.String({ pattern: ID }) });
