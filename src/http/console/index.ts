import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../../core/errors.js';
import { logUnavailable } from '../plugins/errors.js';
import { html } from '../plugins/html.js';
import { registerWebPlumbing } from '../plugins/web.js';
import { registerConsoleAssets } from './assets.js';
import { registerAuthRoutes } from './auth-routes.js';
import { emptyState, flashBox, linkButton, pageHeader } from './components.js';
import { dataOf, sendPage, takeFlash, type ConsoleDeps } from './context.js';
import { registerDeviceRoutes } from './device-routes.js';
import { registerGroupRoutes } from './group-routes.js';
import { registerHomeRoutes } from './home-routes.js';
import { registerInfoRoutes } from './info-routes.js';
import { registerInsightsRoutes } from './insights-routes.js';
import { bare, shell, type ShellContext } from './layout.js';
import { NAV_COOKIE, parseNavState } from './nav.js';
import { registerResourceRoutes } from './resource-routes.js';
import { registerSettingsRoutes } from './settings-routes.js';
import { registerUserRoutes } from './user-routes.js';

export type { ConsoleDeps, ConsoleOptions } from './context.js';

/** Renders a signed-in page inside the console's frame. */
export type Render = (req: FastifyRequest, reply: FastifyReply, title: string, body: ReturnType<typeof html>, status?: number) => Promise<FastifyReply>;

/**
 * The admin console at `/admin`, in its own encapsulated context: its own session cookie
 * (`gh_admin_session`, path `/admin`, HttpOnly, SameSite=Lax), CSRF secret, CSP with
 * frame-ancestors 'none', HTML error pages, and a guard that lets only a signed-in admin through
 * (a session that must still enrol TOTP reaches the enrolment page only). Every change goes through
 * core services, which write the audit events.
 */
export async function registerConsole(app: FastifyInstance, d: ConsoleDeps): Promise<void> {
  await registerWebPlumbing(app, {
    sessions: d.core.webSessions,
    formTokenKey: d.core.formTokenKey,
    kind: 'admin',
    cookieName: 'gh_admin_session',
    cookiePath: '/admin',
    secure: d.secure,
    policy: d.sessionPolicy,
  });
  app.decorateRequest('admin', null);
  /** What a read-only administrator may still post: their own password, TOTP and keys (sign-out is public). */
  // A read-only admin's own credentials stay theirs; their API keys are read-only too (api-auth).
  const READ_ONLY_ALLOWED = new Set(['/admin/account/password', '/admin/account/totp', '/admin/account/totp/remove', '/admin/account/api-keys', '/admin/account/api-keys/:id/delete', '/admin/login/enroll', '/admin/login/password']);

  // The frame's alerts and checklist are computed per page from the store (a handful of indexed
  // queries), so they are never stale after a change made here, through the API or another instance.
  const frame = async (adminId: string) => {
    const [alerts, checklist] = await Promise.all([d.core.console.alerts.list(), d.core.console.checklist.items(adminId)]);
    return { alerts, checklist };
  };

  const render: Render = async (req, reply, title, body, status = 200) => {
    const admin = req.admin;
    if (!admin) throw new Error('render() needs a signed-in admin');
    const org = await d.core.organization.get();
    const f = await frame(admin.id);
    const flash = await takeFlash(req);
    const ctx: ShellContext = {
      admin,
      csrf: reply.generateCsrf(),
      path: req.url.split('?')[0] ?? '',
      nav: parseNavState(req.cookies[NAV_COOKIE]),
      alerts: f.alerts,
      checklist: f.checklist,
      orgName: org.displayName,
    };
    return sendPage(reply, shell(ctx, title, html`${flashBox(flash)}${body}`), status);
  };

  const errorPage = async (req: FastifyRequest, reply: FastifyReply, status: number, title: string, message: string) => {
    // A restricted session (TOTP enrolment or the initial password still to replace) never gets the console's frame.
    if (req.admin && !dataOf(req).stage) {
      return render(req, reply, title, html`${pageHeader({ title })}${emptyState({ title, text: message, icon: 'alert', action: linkButton('/admin/', 'Back to Home', 'secondary') })}`, status);
    }
    return sendPage(reply, bare(title, html`<div class="auth-card"><h1>${title}</h1><p>${message}</p><p><a class="btn btn-primary" href="/admin/login">Sign in</a></p></div>`), status);
  };

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    if (err.code === 'FST_CSRF_MISSING_SECRET' || err.code === 'FST_CSRF_INVALID_TOKEN') {
      return errorPage(req, reply, 403, 'Form expired', 'This form has expired or was not sent from this console. Go back, reload the page and try again.');
    }
    if (isDomainError(err) && err.kind !== 'unavailable') {
      const status = err.kind === 'not_found' ? 404 : err.kind === 'conflict' ? 409 : err.kind === 'forbidden' ? 403 : 400;
      return errorPage(req, reply, status, err.kind === 'not_found' ? 'Not found' : 'Request refused', err.message);
    }
    if (isDomainError(err)) {
      logUnavailable(req, err);
      return errorPage(req, reply, 503, 'Unavailable', err.message);
    }
    if (err.validation) return errorPage(req, reply, 400, 'Request refused', 'Some of the values sent are not valid.');
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'unhandled error in the console');
    return errorPage(req, reply, status, status >= 500 ? 'Something went wrong' : 'Request refused', status >= 500 ? 'Gatehouse could not complete this request. Try again in a moment.' : 'This request is not valid.');
  });
  app.setNotFoundHandler(async (req, reply) => {
    await loadAdmin(req);
    return errorPage(req, reply, 404, 'Page not found', 'There is no console page at this address.');
  });

  /** Sets `req.admin` from the session; signs out a session whose admin is gone. */
  const loadAdmin = async (req: FastifyRequest) => {
    const s = req.webSession;
    if (!s?.subjectId) return;
    const admin = await d.core.admins.list().then((all) => all.find((a) => a.id === s.subjectId) ?? null);
    if (!admin) {
      await s.signOut();
      return;
    }
    req.admin = admin;
  };

  app.addHook('preHandler', async (req, reply) => {
    const config = req.routeOptions.config;
    await loadAdmin(req);
    if (config.consolePublic) return;
    if (!req.admin) {
      if (req.method === 'GET') {
        const next = req.url.startsWith('/admin') && req.url !== '/admin/' && req.url !== '/admin' ? `?next=${encodeURIComponent(req.url)}` : '';
        return reply.redirect(`/admin/login${next}`, 303);
      }
      return reply.redirect('/admin/login', 303);
    }
    const stage = dataOf(req).stage;
    if (stage === 'enroll' && !config.consoleEnrolment) return reply.redirect('/admin/login/enroll', 303);
    if (stage === 'password' && !config.consolePasswordChange) return reply.redirect('/admin/login/password', 303);
    // JumpCloud's Read Only role (only a backup brings one here): the console is for looking, and
    // an admin's own sign-in settings stay their own. Checked for every state change at once, so
    // that no page's form can be forgotten.
    if (req.admin.role !== 'administrator' && req.method !== 'GET' && req.method !== 'HEAD' && !READ_ONLY_ALLOWED.has(req.routeOptions.url ?? '')) {
      return errorPage(req, reply, 403, 'Read-only access', 'Your administrator account is read-only: it can view the console but not change it.');
    }
  });

  registerConsoleAssets(app);
  registerAuthRoutes(app, d);
  registerHomeRoutes(app, d, render);
  registerUserRoutes(app, d, render);
  registerGroupRoutes(app, d, render);
  registerDeviceRoutes(app, d, render);
  registerResourceRoutes(app, d, render);
  registerSettingsRoutes(app, d, render);
  registerInsightsRoutes(app, d, render);
  registerInfoRoutes(app, d, render);
}
