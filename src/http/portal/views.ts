import type { SignOnForm } from '../../core/sso/sign-on.js';
import { CSRF_FIELD } from '../plugins/csrf.js';
import { html, type SafeHtml } from '../plugins/html.js';

/**
 * The pages of the user portal and of SAML sign-in, server-rendered with `html` (escaping by
 * default). Styles and scripts come from /assets/portal (admin-ui/portal/assets), never inline,
 * so the CSP can forbid inline script.
 */

export interface LayoutOptions {
  title: string;
  /** The signed-in user's display name, for the header; absent on sign-in pages. */
  user?: string;
  csrf?: string;
  narrow?: boolean;
  /** Scripts to load besides portal.js (e.g. autopost.js). */
  scripts?: string[];
}

export function layout(o: LayoutOptions, body: SafeHtml): string {
  const nav = o.user
    ? html`<nav aria-label="Account">
        <a href="/">Apps</a><a href="/password">Password</a><a href="/mfa">Two-step verification</a>
        <span class="who">${o.user}</span>
        <form method="post" action="/logout">${csrfField(o.csrf ?? '')}<button type="submit" class="link">Sign out</button></form>
      </nav>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${o.title} · Gatehouse</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/portal/portal.css">
<script src="/assets/portal/portal.js" defer></script>
${(o.scripts ?? []).map((s) => html`<script src="/assets/portal/${s}" defer></script>`)}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/">Gatehouse</a>${nav}</header>
<main id="main" class="${o.narrow ? 'narrow' : ''}">
${body}
</main>
<footer>Gatehouse identity appliance</footer>
</body>
</html>
`.value;
}

export const csrfField = (token: string) => html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;

const alert = (kind: 'error' | 'info' | 'ok', message: string | undefined) =>
  message ? html`<div class="alert ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${message}</div>` : '';

export interface LoginView {
  csrf: string;
  action: string;
  /** Shown above the form: "Sign in to continue to Wiki". */
  appLabel?: string;
  error?: string;
  info?: string;
  login?: string;
  /** Hidden fields carried through (the sealed pending sign-on). */
  hidden?: Record<string, string>;
}

export function loginPage(v: LoginView): string {
  const hidden = Object.entries(v.hidden ?? {}).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return layout(
    { title: 'Sign in', narrow: true },
    html`<h1>Sign in</h1>
${v.appLabel ? html`<p>to continue to <strong>${v.appLabel}</strong></p>` : ''}
${alert('error', v.error)}${alert('info', v.info)}
<form class="card" method="post" action="${v.action}" novalidate>
  ${csrfField(v.csrf)}${hidden}
  <div class="field">
    <label for="login">Username or email</label>
    <input type="text" id="login" name="login" value="${v.login ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required ${v.error ? html`aria-invalid="true" aria-describedby="login-error"` : ''} autofocus>
  </div>
  <div class="field">
    <label for="password">Password</label>
    <input type="password" id="password" name="password" autocomplete="current-password" required>
  </div>
  <button type="submit">Sign in</button>
</form>`,
  );
}

export interface TotpView {
  csrf: string;
  action: string;
  appLabel?: string;
  error?: string;
  hidden?: Record<string, string>;
}

export function totpPage(v: TotpView): string {
  const hidden = Object.entries(v.hidden ?? {}).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return layout(
    { title: 'Two-step verification', narrow: true },
    html`<h1>Two-step verification</h1>
${v.appLabel ? html`<p>to continue to <strong>${v.appLabel}</strong></p>` : ''}
${alert('error', v.error)}
<form class="card" method="post" action="${v.action}" novalidate>
  ${csrfField(v.csrf)}${hidden}
  <div class="field">
    <label for="otp">Code from your authenticator app</label>
    <input type="text" id="otp" name="otp" class="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required autofocus ${v.error ? html`aria-invalid="true"` : ''}>
    <p class="hint">Enter the 6-digit code your app shows now.</p>
  </div>
  <button type="submit">Verify</button>
</form>
<p><a href="/">Start over</a></p>`,
  );
}

/** A page that explains a refusal; never a redirect. */
export function messagePage(o: { title: string; message: string; detail?: string; user?: string; csrf?: string; link?: { href: string; text: string } }): string {
  return layout(
    { title: o.title, narrow: true, ...(o.user ? { user: o.user, csrf: o.csrf } : {}) },
    html`<h1>${o.title}</h1>
<div class="card">
  <p>${o.message}</p>
  ${o.detail ? html`<p class="muted">${o.detail}</p>` : ''}
  ${o.link ? html`<p><a class="button" href="${o.link.href}">${o.link.text}</a></p>` : ''}
</div>`,
  );
}

/**
 * The auto-submitting form that delivers a SAML response (SAML bindings §3.5.4): every value,
 * the action URL included, is escaped; the form submits itself through autopost.js, or by hand.
 */
export function autoPostPage(form: SignOnForm, appLabel: string, purpose: 'sign-in' | 'sign-out' = 'sign-in'): string {
  const title = purpose === 'sign-in' ? `Signing in to ${appLabel}` : `Signing out of ${appLabel}`;
  return layout(
    { title, narrow: true, scripts: ['autopost.js'] },
    html`<h1>${title}…</h1>
<form id="saml-post" method="post" action="${form.action}">
  ${form.fields.map((f) => html`<input type="hidden" name="${f.name}" value="${f.value}">`)}
  <noscript><p>Script is off in this browser: press the button to continue.</p></noscript>
  <button type="submit">Continue</button>
</form>`,
  );
}

export interface HomeView {
  user: string;
  csrf: string;
  apps: { name: string; label: string }[];
  notice?: { kind: 'info' | 'ok' | 'error'; text: string; link?: { href: string; text: string } };
}

export function homePage(v: HomeView): string {
  const tiles =
    v.apps.length === 0
      ? html`<p class="muted">No applications are assigned to you yet.</p>`
      : html`<ul class="tiles">${v.apps.map(
          (a) =>
            html`<li><a href="/saml2/${encodeURIComponent(a.name)}?launch=1"><span class="initial" aria-hidden="true">${(a.label.trim()[0] ?? '?').toUpperCase()}</span><span class="label">${a.label}</span></a></li>`,
        )}</ul>`;
  return layout(
    { title: 'Your apps', user: v.user, csrf: v.csrf },
    html`${v.notice ? html`<div class="alert ${v.notice.kind}" role="status">${v.notice.text}${v.notice.link ? html` <a href="${v.notice.link.href}">${v.notice.link.text}</a>` : ''}</div>` : ''}
<h1>Your apps</h1>
${tiles}`,
  );
}

export interface PasswordView {
  user: string;
  csrf: string;
  error?: string;
  done?: boolean;
  forced?: boolean;
  rules: string[];
}

export function passwordPage(v: PasswordView): string {
  return layout(
    { title: 'Change password', user: v.user, csrf: v.csrf, narrow: true },
    html`<h1>Change password</h1>
${v.forced ? alert('info', 'Your password has expired. Choose a new one to continue.') : ''}
${alert('error', v.error)}${v.done ? alert('ok', 'Your password has been changed. Other sessions have been signed out.') : ''}
<form class="card" method="post" action="/password" novalidate>
  ${csrfField(v.csrf)}
  <div class="field">
    <label for="current">Current password</label>
    <input type="password" id="current" name="current" autocomplete="current-password" required>
  </div>
  <div class="field">
    <label for="new">New password</label>
    <input type="password" id="new" name="new" autocomplete="new-password" required aria-describedby="rules" ${v.error ? html`aria-invalid="true"` : ''}>
    <ul class="hint" id="rules">${v.rules.map((r) => html`<li>${r}</li>`)}</ul>
  </div>
  <div class="field">
    <label for="confirm">New password again</label>
    <input type="password" id="confirm" name="confirm" autocomplete="new-password" required>
  </div>
  <button type="submit">Change password</button>
</form>`,
  );
}

export interface MfaView {
  user: string;
  csrf: string;
  enrolled: boolean;
  forced?: boolean;
  deadline?: string;
  error?: string;
  /** A new enrolment: the QR code (SVG markup from the qrcode library) and the key to type. */
  enrolment?: { qrSvg: SafeHtml; secret: string; uri: string };
}

export function mfaPage(v: MfaView): string {
  if (v.enrolled && !v.enrolment) {
    return layout(
      { title: 'Two-step verification', user: v.user, csrf: v.csrf, narrow: true },
      html`<h1>Two-step verification</h1>${alert('ok', 'Two-step verification is on: sign-ins ask for a code from your authenticator app.')}
<p class="muted">Lost your device? Ask an administrator to reset it.</p>`,
    );
  }
  const grouped = v.enrolment ? v.enrolment.secret.replace(/(.{4})/g, '$1 ').trim() : '';
  return layout(
    { title: 'Set up two-step verification', user: v.user, csrf: v.csrf },
    html`<h1>Set up two-step verification</h1>
${v.forced ? alert('info', 'Your organisation requires two-step verification. Set it up to continue.') : ''}
${v.deadline ? alert('info', `Set it up before ${v.deadline}; after that you will have to set it up at sign-in.`) : ''}
${alert('error', v.error)}
<div class="card">
<ol class="steps">
  ${
    v.enrolment
      ? html`<li><p>Scan this QR code with an authenticator app (FreeOTP, Aegis, Google Authenticator, 1Password…).</p>
    <div class="qr" role="img" aria-label="QR code of the setup key">${v.enrolment.qrSvg}</div></li>
  <li><p>Or type this key into the app (time-based, 6 digits, 30 seconds):</p>
    <p class="secret" id="totp-secret" data-secret="${v.enrolment.secret}">${grouped}</p></li>`
      : html`<li><p>Use the key you added to your authenticator app. <a href="/mfa?restart=1">Start over with a new key</a></p></li>`
  }
  <li><form method="post" action="/mfa" novalidate>
    ${csrfField(v.csrf)}
    <div class="field">
      <label for="otp">Enter the 6-digit code the app shows</label>
      <input type="text" id="otp" name="otp" class="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required ${v.error ? html`aria-invalid="true"` : ''}>
    </div>
    <button type="submit">Turn on two-step verification</button>
  </form></li>
</ol>
</div>`,
  );
}
