import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Core } from '../../core/index.js';
import { isUnavailable } from '../../core/errors.js';
import { logUnavailable } from '../plugins/errors.js';
import { CSRF_FIELD } from '../plugins/csrf.js';
import { html, type SafeHtml } from '../plugins/html.js';
import { registerWebPlumbing } from '../plugins/web.js';

export interface AccountPagesDeps {
  core: Core;
  secure: boolean;
}

const page = (title: string, body: SafeHtml) =>
  html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Gatehouse</title>
<link rel="icon" href="/admin/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/admin/assets/console.css">
</head>
<body class="bare">
<main id="main" class="bare-main">
  <div class="bare-brand"><span class="brand-mark" aria-hidden="true">G</span><span>Gatehouse</span></div>
  <div class="auth-card">${body}</div>
</main>
<footer class="bare-foot">Gatehouse identity appliance</footer>
</body>
</html>
`.value;

const send = (reply: FastifyReply, body: string, status = 200) =>
  // The token is in the URL: no referrer may carry it elsewhere, and nothing may cache the page.
  reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').send(body);

const invalidLink = () =>
  page(
    'Link expired',
    html`<h1>This link cannot be used</h1><p>It has expired, was already used, or was replaced by a newer email. Ask your administrator to send a new one.</p><p><a class="btn btn-primary" href="/">Go to the User Portal</a></p>`,
  );

function form(o: { token: string; csrf: string; username: string; purpose: 'activation' | 'reset'; rules: string[]; error?: string }): string {
  return page(
    o.purpose === 'activation' ? 'Activate your account' : 'Reset your password',
    html`<h1>${o.purpose === 'activation' ? 'Activate your account' : 'Choose a new password'}</h1>
<p class="muted">For <strong>${o.username}</strong>.</p>
${o.error ? html`<div class="notice notice-error" role="alert">${o.error}</div>` : ''}
<form method="post" action="/account/set-password" novalidate>
  <input type="hidden" name="${CSRF_FIELD}" value="${o.csrf}"><input type="hidden" name="token" value="${o.token}">
  <input type="text" name="username" value="${o.username}" autocomplete="username" hidden>
  <div class="field"><label for="new">New password</label><input id="new" name="new" type="password" autocomplete="new-password" required autofocus aria-describedby="rules"${o.error ? html` aria-invalid="true"` : ''}>
    <ul class="hint" id="rules">${o.rules.map((r) => html`<li>${r}</li>`)}</ul></div>
  <div class="field"><label for="confirm">New password again</label><input id="confirm" name="confirm" type="password" autocomplete="new-password" required></div>
  <button type="submit" class="btn btn-primary btn-block">${o.purpose === 'activation' ? 'Activate account' : 'Set password'}</button>
</form>`,
  );
}

/**
 * The page an activation or reset email links to: `/account/set-password?token=…`. No session is
 * needed: the one-time token is the credential. The password must meet the organisation's policy;
 * the token is consumed atomically when the password is set. Same security headers and CSRF as the
 * other HTML areas (its own cookies, path `/account`).
 */
export async function registerAccountPages(app: FastifyInstance, d: AccountPagesDeps): Promise<void> {
  await registerWebPlumbing(app, {
    sessions: d.core.webSessions,
    formTokenKey: d.core.formTokenKey,
    kind: 'user',
    cookieName: 'gh_account',
    cookiePath: '/account',
    secure: d.secure,
    policy: { idleTimeoutSeconds: 900, absoluteTimeoutSeconds: 3600 },
  });
  const mail = d.core.console.mail;

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.code === 'FST_CSRF_MISSING_SECRET' || err.code === 'FST_CSRF_INVALID_TOKEN') {
      return send(reply, page('Form expired', html`<h1>Form expired</h1><p>Open the link from your email again.</p>`), 403);
    }
    if (isUnavailable(err)) {
      logUnavailable(req, err);
      return send(reply, page('Unavailable', html`<h1>Unavailable</h1><p>Gatehouse cannot reach its directory at the moment. Try again in a moment.</p>`), 503);
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'unhandled error on the set-password page');
    return send(reply, page('Something went wrong', html`<h1>Something went wrong</h1><p>Try again in a moment.</p>`), status);
  });

  const rules = async () => {
    const p = (await d.core.organization.get()).settings.passwordPolicy;
    return [
      ...(p.enableMinLength ? [`At least ${p.minLength} characters`] : []),
      ...(p.needsUppercase ? ['An uppercase letter'] : []),
      ...(p.needsLowercase ? ['A lowercase letter'] : []),
      ...(p.needsNumeric ? ['A digit'] : []),
      ...(p.needsSymbolic ? ['A symbol'] : []),
      ...(!p.allowUsernameSubstring ? ['Not containing your username'] : []),
      ...(p.enableMaxHistory && p.maxHistory > 0 ? [`Not one of your last ${p.maxHistory} passwords`] : []),
    ];
  };

  app.get(
    '/account/set-password',
    { schema: { querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 128 })) }) } },
    async (req, reply) => {
      const token = (req.query as { token?: string }).token ?? '';
      const link = await mail.checkLink(token);
      if (!link) return send(reply, invalidLink(), 410);
      return send(reply, form({ token, csrf: reply.generateCsrf(), username: link.user.username, purpose: link.purpose, rules: await rules() }));
    },
  );

  app.post(
    '/account/set-password',
    {
      schema: {
        body: Type.Object({
          [CSRF_FIELD]: Type.Optional(Type.String()),
          token: Type.String({ maxLength: 128 }),
          new: Type.String({ maxLength: 4096 }),
          confirm: Type.String({ maxLength: 4096 }),
          username: Type.Optional(Type.String({ maxLength: 320 })),
        }),
      },
    },
    async (req, reply) => {
      const b = req.body as { token: string; new: string; confirm: string };
      const link = await mail.checkLink(b.token);
      if (!link) return send(reply, invalidLink(), 410);
      const again = async (error: string, status = 400) =>
        send(reply, form({ token: b.token, csrf: reply.generateCsrf(), username: link.user.username, purpose: link.purpose, rules: await rules(), error }), status);
      if (b.new === '') return again('Enter a new password.');
      if (b.new !== b.confirm) return again('The two passwords are not the same.');
      const r = await mail.redeem(b.token, b.new, req.ip);
      if (r.status === 'invalid_link') return send(reply, invalidLink(), 410);
      if (r.status === 'rejected') return again(r.message);
      return send(
        reply,
        page(
          'Password set',
          html`<h1>${r.purpose === 'activation' ? 'Your account is active' : 'Your password is set'}</h1><div class="notice notice-ok" role="status">You can now sign in as <strong>${r.user.username}</strong> with your new password.</div><p><a class="btn btn-primary" href="/">Sign in to the User Portal</a></p>`,
        ),
      );
    },
  );
}
