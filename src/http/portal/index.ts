import type { FastifyError, FastifyInstance } from 'fastify';
import { isDomainError, isUnavailable } from '../../core/errors.js';
import { registerWebPlumbing } from '../plugins/web.js';
import { logUnavailable } from '../plugins/errors.js';
import { registerPortalAssets } from './assets.js';
import { sendPage, type UserWebDeps } from './context.js';
import { registerPortalRoutes } from './portal-routes.js';
import { registerSsoRoutes } from './sso-routes.js';
import { messagePage } from './views.js';

export type { UserWebDeps } from './context.js';

/**
 * The user-facing HTML of the appliance, in one encapsulated context: the portal at `/` and the
 * SAML pages under `/saml2`. Its errors are pages, not JSON (the REST API keeps its JSON funnel).
 */
export async function registerUserWeb(app: FastifyInstance, d: UserWebDeps & { sessionPolicy: { idleTimeoutSeconds: number; absoluteTimeoutSeconds: number } }): Promise<void> {
  await registerWebPlumbing(app, {
    sessions: d.core.webSessions,
    formTokenKey: d.core.formTokenKey,
    kind: 'user',
    cookieName: 'gh_session',
    cookiePath: '/',
    secure: d.secure,
    policy: d.sessionPolicy,
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.code === 'FST_CSRF_MISSING_SECRET' || err.code === 'FST_CSRF_INVALID_TOKEN') {
      return sendPage(reply, messagePage({ title: 'Form expired', message: 'This form has expired or was not sent from this site.', detail: 'Go back, reload the page and try again.', link: { href: '/', text: 'Start again' } }), 403);
    }
    if (isDomainError(err) && err.kind !== 'unavailable') {
      return sendPage(reply, messagePage({ title: 'Request refused', message: err.message }), err.kind === 'not_found' ? 404 : 400);
    }
    if (isUnavailable(err)) {
      logUnavailable(req, err);
      return sendPage(reply, messagePage({ title: 'Unavailable', message: 'Gatehouse cannot reach its directory at the moment. Try again in a moment.' }), 503);
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'unhandled error in the portal');
    return sendPage(
      reply,
      messagePage({ title: status >= 500 ? 'Something went wrong' : 'Request refused', message: status >= 500 ? 'Gatehouse could not complete this request. Try again in a moment.' : 'This request is not valid.' }),
      status,
    );
  });

  registerPortalAssets(app);
  registerPortalRoutes(app, d);
  registerSsoRoutes(app, d);
}
