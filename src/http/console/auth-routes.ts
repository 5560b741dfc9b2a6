import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { html, trustedHtml, type SafeHtml } from '../plugins/html.js';
import { csrfField } from './components.js';
import { actorOf, adminOf, dataOf, safeReturn, sendPage, sessionOf, type AdminSessionData, type ConsoleDeps } from './context.js';
import { field } from '../form-fields.js';
import { FormBody } from './schemas.js';
import { bare } from './layout.js';
import type { Admin } from '../../core/directory/types.js';
import { isDomainError } from '../../core/errors.js';

const WRONG = 'The email or password is not correct.';
const PUBLIC = { consolePublic: true } as const;

const errorBox = (message: string | undefined) => (message ? html`<div class="notice notice-error" role="alert">${message}</div>` : '');

function loginView(o: { csrf: string; email?: string; error?: string; info?: string; next?: string }): SafeHtml {
  return html`<div class="auth-card">
  <h1>Admin Console</h1>
  <p class="muted">Sign in with your administrator email and password.</p>
  ${errorBox(o.error)}${o.info ? html`<div class="notice notice-info" role="status">${o.info}</div>` : ''}
  <form method="post" action="/admin/login" novalidate>
    ${csrfField(o.csrf)}${o.next ? html`<input type="hidden" name="next" value="${o.next}">` : ''}
    <div class="field"><label for="email">Email</label><input id="email" name="email" type="email" value="${o.email ?? ''}" autocomplete="username" required autofocus${o.error ? html` aria-invalid="true"` : ''}></div>
    <div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
    <button type="submit" class="btn btn-primary btn-block">Sign in</button>
  </form>
  <p class="auth-foot"><a href="/">Go to the User Portal</a></p>
</div>`;
}

function totpView(o: { csrf: string; error?: string }): SafeHtml {
  return html`<div class="auth-card">
  <h1>Two-step verification</h1>
  <p class="muted">Enter the 6-digit code from your authenticator app.</p>
  ${errorBox(o.error)}
  <form method="post" action="/admin/login/totp" novalidate>
    ${csrfField(o.csrf)}
    <div class="field"><label for="otp">Authentication code</label><input id="otp" name="otp" class="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required autofocus${o.error ? html` aria-invalid="true"` : ''}></div>
    <button type="submit" class="btn btn-primary btn-block">Verify</button>
  </form>
  <p class="auth-foot"><a href="/admin/login">Start over</a></p>
</div>`;
}

/** The TOTP enrolment block (sign-in enrolment and My Account): QR code, the key to type, the confirming code. */
export function enrolmentBlock(o: { csrf: string; action: string; qrSvg: SafeHtml; secret: string; error?: string; button: string; askPassword?: boolean }): SafeHtml {
  const grouped = o.secret.replace(/(.{4})/g, '$1 ').trim();
  return html`<ol class="steps">
  <li><p>Scan this QR code with an authenticator app (FreeOTP, Aegis, Google Authenticator, 1Password…).</p><div class="qr" role="img" aria-label="QR code of the TOTP key">${o.qrSvg}</div></li>
  <li><p>Or type this key into the app (time-based, 6 digits, 30 seconds):</p><p class="secret" id="totp-secret" data-secret="${o.secret}">${grouped}</p></li>
  <li><form method="post" action="${o.action}" novalidate>
    ${csrfField(o.csrf)}
    ${errorBox(o.error)}
    <div class="field"><label for="enrol-otp">Code the app shows</label><input id="enrol-otp" name="otp" class="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required${o.error ? html` aria-invalid="true"` : ''}></div>
    ${o.askPassword ? html`<div class="field"><label for="enrol-password">Your password</label><input id="enrol-password" name="password" type="password" autocomplete="current-password" required><p class="hint">Replacing a key needs your password again.</p></div>` : ''}
    <button type="submit" class="btn btn-primary">${o.button}</button>
  </form></li>
</ol>`;
}

export const qrFor = async (uri: string) => trustedHtml(await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 }));

/**
 * Admin sign-in: email and password, then the TOTP code (or, when the organisation requires admin
 * MFA and this admin has none, enrolment in a session that can do nothing else). Every successful
 * step regenerates the session (`signIn`), so a token from before sign-in is worthless after it.
 */
export function registerAuthRoutes(app: FastifyInstance, d: ConsoleDeps): void {
  const auth = d.core.console.adminAuth;

  const startSession = async (req: FastifyRequest, adminId: string, data: AdminSessionData) =>
    sessionOf(req).signIn(adminId, { authTime: new Date().toISOString(), ...data } as Record<string, unknown>);

  /**
   * The sign-in is complete: the console opens, or, for an admin still holding the initial password
   * another admin chose, only the page that replaces it.
   */
  const finishSignIn = async (req: FastifyRequest, reply: FastifyReply, admin: Admin, mfa: boolean, next: string) => {
    if (admin.passwordChangeRequired) {
      await startSession(req, admin.id, { mfa, stage: 'password' });
      return reply.redirect('/admin/login/password', 303);
    }
    await startSession(req, admin.id, { mfa });
    return reply.redirect(next, 303);
  };

  const showLogin = (reply: FastifyReply, o: { email?: string; error?: string; info?: string; next?: string } = {}, status = 200) =>
    sendPage(reply, bare('Sign in', loginView({ csrf: reply.generateCsrf(), ...o }), { subtitle: 'Admin Console' }), status);

  app.get(
    '/login',
    { config: PUBLIC, schema: { querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 512 })), signedout: Type.Optional(Type.String({ maxLength: 4 })) }) } },
    async (req, reply) => {
      if (req.admin && dataOf(req).stage !== 'enroll') return reply.redirect('/admin/', 303);
      const q = req.query as { next?: string; signedout?: string };
      return showLogin(reply, { ...(q.next ? { next: safeReturn(q.next, '/admin/') } : {}), ...(q.signedout ? { info: 'You have signed out.' } : {}) });
    },
  );

  app.post('/login', { config: PUBLIC, schema: { body: FormBody } }, async (req, reply) => {
    const email = field(req.body, 'email', 320);
    const next = safeReturn(field(req.body, 'next', 512), '/admin/');
    const outcome = await auth.signIn({ email, password: field(req.body, 'password'), clientIp: req.ip });
    switch (outcome.status) {
      case 'ok':
        return finishSignIn(req, reply, outcome.admin, outcome.mfa, next);
      case 'mfa_required':
        await sessionOf(req).save({ pendingMfa: { challenge: outcome.challenge, next } });
        return reply.redirect('/admin/login/totp', 303);
      case 'enrollment_required':
        await startSession(req, outcome.admin.id, { mfa: false, stage: 'enroll' });
        return reply.redirect('/admin/login/enroll', 303);
      default:
        return showLogin(reply, { email, error: WRONG, next }, 401);
    }
  });

  app.get('/login/totp', { config: PUBLIC }, async (req, reply) => {
    if (!dataOf(req).pendingMfa) return reply.redirect('/admin/login', 303);
    return sendPage(reply, bare('Two-step verification', totpView({ csrf: reply.generateCsrf() }), { subtitle: 'Admin Console' }));
  });

  app.post('/login/totp', { config: PUBLIC, schema: { body: FormBody } }, async (req, reply) => {
    const pending = dataOf(req).pendingMfa;
    if (!pending) return reply.redirect('/admin/login', 303);
    const outcome = await auth.completeTotp({ challenge: pending.challenge, code: field(req.body, 'otp', 16).replace(/\s+/g, ''), clientIp: req.ip });
    if (outcome.status === 'ok') return finishSignIn(req, reply, outcome.admin, true, safeReturn(pending.next ?? '', '/admin/'));
    if (outcome.status === 'mfa_invalid') {
      await sessionOf(req).save({ pendingMfa: { ...pending, challenge: outcome.challenge } });
      const error = outcome.reason === 'TOTP code already used' ? 'That code was already used. Wait for the next one.' : 'That code is not correct.';
      return sendPage(reply, bare('Two-step verification', totpView({ csrf: reply.generateCsrf(), error }), { subtitle: 'Admin Console' }), 401);
    }
    await sessionOf(req).signOut();
    return showLogin(reply, { error: outcome.status === 'invalid' ? 'This sign-in expired. Sign in again.' : WRONG }, 401);
  });

  const enrolPage = async (req: FastifyRequest, reply: FastifyReply, error?: string) => {
    const admin = adminOf(req);
    const { secret, uri } = await auth.beginTotpEnrolment(admin.id);
    const body = html`<div class="auth-card auth-wide">
  <h1>Set up two-step verification</h1>
  <p class="muted">Your organisation requires administrators to use an authenticator app. Set it up to continue to the console.</p>
  ${enrolmentBlock({ csrf: reply.generateCsrf(), action: '/admin/login/enroll', qrSvg: await qrFor(uri), secret, ...(error ? { error } : {}), button: 'Verify and continue' })}
  <form method="post" action="/admin/logout" class="auth-foot">${csrfField(reply.generateCsrf())}<button type="submit" class="linklike">Sign out</button></form>
</div>`;
    return sendPage(reply, bare('Set up two-step verification', body, { subtitle: 'Admin Console' }), error ? 400 : 200);
  };

  app.get('/login/enroll', { config: { consoleEnrolment: true } }, async (req, reply) => {
    if (dataOf(req).stage !== 'enroll') return reply.redirect('/admin/', 303);
    return enrolPage(req, reply);
  });

  app.post('/login/enroll', { config: { consoleEnrolment: true }, schema: { body: FormBody } }, async (req, reply) => {
    if (dataOf(req).stage !== 'enroll') return reply.redirect('/admin/', 303);
    const admin = adminOf(req);
    const code = field(req.body, 'otp', 16).replace(/\s+/g, '');
    const ok = /^\d{6}$/.test(code) && (await auth.confirmTotpEnrolment(admin.id, code, actorOf(req), req.ip));
    if (!ok) return enrolPage(req, reply, 'That code is not correct. Check the time on your device and try the next code.');
    return finishSignIn(req, reply, admin, true, '/admin/');
  });

  const passwordPage = (reply: FastifyReply, error?: string) =>
    sendPage(
      reply,
      bare(
        'Choose your password',
        html`<div class="auth-card">
  <h1>Choose your password</h1>
  <p class="muted">You signed in with an initial password that another administrator set. Replace it with one only you know to continue to the console.</p>
  ${errorBox(error)}
  <form method="post" action="/admin/login/password" novalidate>
    ${csrfField(reply.generateCsrf())}
    <div class="field"><label for="new">New password</label><input id="new" name="new" type="password" autocomplete="new-password" minlength="12" required autofocus${error ? html` aria-invalid="true"` : ''}><p class="hint">At least 12 characters, not the initial one.</p></div>
    <div class="field"><label for="confirm">Confirm new password</label><input id="confirm" name="confirm" type="password" autocomplete="new-password" required></div>
    <button type="submit" class="btn btn-primary btn-block">Set password and continue</button>
  </form>
  <form method="post" action="/admin/logout" class="auth-foot">${csrfField(reply.generateCsrf())}<button type="submit" class="linklike">Sign out</button></form>
</div>`,
        { subtitle: 'Admin Console' },
      ),
      error ? 400 : 200,
    );

  /** A new, unrestricted session (the restricted one ends), and the console. */
  const openConsole = async (req: FastifyRequest, reply: FastifyReply) => {
    await startSession(req, adminOf(req).id, { mfa: dataOf(req).mfa === true });
    return reply.redirect('/admin/', 303);
  };

  app.get('/login/password', { config: { consolePasswordChange: true } }, async (req, reply) => {
    if (dataOf(req).stage !== 'password') return reply.redirect('/admin/', 303);
    // Replaced meanwhile another way (the operator's CLI reset): nothing left to do here.
    if (!adminOf(req).passwordChangeRequired) return openConsole(req, reply);
    return passwordPage(reply);
  });

  app.post('/login/password', { config: { consolePasswordChange: true }, schema: { body: FormBody } }, async (req, reply) => {
    if (dataOf(req).stage !== 'password') return reply.redirect('/admin/', 303);
    const admin = adminOf(req);
    if (!admin.passwordChangeRequired) return openConsole(req, reply);
    const next = field(req.body, 'new');
    if (next !== field(req.body, 'confirm')) return passwordPage(reply, 'The two passwords are not the same.');
    try {
      await auth.replaceInitialPassword(admin.id, next, actorOf(req));
    } catch (err) {
      if (!isDomainError(err) || err.kind !== 'invalid') throw err;
      return passwordPage(reply, `The new ${err.message}.`);
    }
    // Any other session holding the initial password's sign-in ends too.
    await req.webSession?.endOtherSessions();
    return openConsole(req, reply);
  });

  app.post('/logout', { config: { consolePublic: true, consoleEnrolment: true, consolePasswordChange: true }, schema: { body: FormBody } }, async (req, reply) => {
    await sessionOf(req).signOut();
    return reply.redirect('/admin/login?signedout=1', 303);
  });
}
