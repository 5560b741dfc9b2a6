import csrfProtection from '@fastify/csrf-protection';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` exempts a state-changing route from the CSRF check (only the SAML HTTP-POST endpoint, which SPs post to cross-site). */
    csrf?: boolean;
  }
}

/** The form field every state-changing form carries (see `csrfField`). */
export const CSRF_FIELD = '_csrf';

/**
 * CSRF protection for HTML forms with @fastify/csrf-protection (double submit: a secret in an
 * HttpOnly cookie, a token derived from it in each form). Every POST, PUT, PATCH and DELETE of
 * the context is checked, as a `preHandler` (at `onRequest` the form body is not parsed yet and
 * valid tokens would be refused: libraries.md), unless its route sets `config: { csrf: false }`.
 * A missing or wrong token answers 403 through the context's error handler.
 *
 * Needs @fastify/cookie and @fastify/formbody registered in the same context (see `registerWebPlumbing`).
 * In a handler, `reply.generateCsrf()` gives the token to put in the form's `_csrf` field.
 *
 * @param cookieName name of the cookie holding the secret (per context: `gh_csrf`, `gh_admin_csrf`).
 * @param cookiePath where the cookie is sent (`/`, `/admin`).
 */
export async function registerCsrf(app: FastifyInstance, o: { cookieName: string; cookiePath: string; secure: boolean }): Promise<void> {
  await app.register(csrfProtection, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: o.cookieName,
    cookieOpts: { path: o.cookiePath, httpOnly: true, sameSite: 'lax', secure: o.secure, signed: false },
    getToken: (req: FastifyRequest) => {
      const body = req.body as Record<string, unknown> | undefined;
      const fromBody = body && typeof body[CSRF_FIELD] === 'string' ? (body[CSRF_FIELD] as string) : undefined;
      const header = req.headers['x-csrf-token'];
      return fromBody ?? (typeof header === 'string' ? header : undefined);
    },
  });
  app.addHook('preHandler', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const unsafe = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    if (!unsafe || req.routeOptions.config.csrf === false) return done();
    app.csrfProtection(req, reply, done);
  });
}
