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
 * Each token is also bound to the browser session it was issued for (`userInfo`: the session's id
 * hash, `no-session` before any session; HMAC keyed with `formTokenKey`). A plain double submit trusts
 * whoever can set the secret cookie: a sibling subdomain or a network attacker on http can toss in
 * their own secret with a token for it (OWASP CSRF cheat sheet, "naive double submit"); bound, that
 * token is refused for the victim's session. A sign-in starts a new session, so forms issued before
 * it are not accepted after it. As a second layer, a browser that says the request comes from
 * another site (`Sec-Fetch-Site: cross-site` or `same-site`) is refused before the token is read.
 *
 * Needs @fastify/cookie and @fastify/formbody registered in the same context, and `req.webSession`
 * (registerSessions) when it answers (see `registerWebPlumbing`). In a handler,
 * `reply.generateCsrf()` gives the token to put in the form's `_csrf` field.
 *
 * @param cookieName name of the cookie holding the secret (per context: `gh_csrf`, `gh_admin_csrf`).
 * @param cookiePath where the cookie is sent (`/`, `/admin`).
 */
export async function registerCsrf(app: FastifyInstance, o: { cookieName: string; cookiePath: string; secure: boolean; formTokenKey: Buffer }): Promise<void> {
  // The library refuses an empty userInfo: a browser without a session is bound to a fixed word.
  const sessionOf = (req: FastifyRequest) => req.webSession?.session?.idHash ?? 'no-session';
  await app.register(csrfProtection, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: o.cookieName,
    cookieOpts: { path: o.cookiePath, httpOnly: true, sameSite: 'lax', secure: o.secure, signed: false },
    csrfOpts: { hmacKey: o.formTokenKey },
    getUserInfo: sessionOf,
    getToken: (req: FastifyRequest) => {
      const body = req.body as Record<string, unknown> | undefined;
      const fromBody = body && typeof body[CSRF_FIELD] === 'string' ? (body[CSRF_FIELD] as string) : undefined;
      const header = req.headers['x-csrf-token'];
      return fromBody ?? (typeof header === 'string' ? header : undefined);
    },
  });
  // Tokens are made for the session as it stands when the page is built (after a sign-in in the
  // same request, the new one), so handlers keep calling `reply.generateCsrf()` with no argument.
  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const generate = reply.generateCsrf;
    reply.generateCsrf = (opts) => generate.call(reply, { ...opts, userInfo: sessionOf(req) });
    done();
  });
  app.addHook('preHandler', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const unsafe = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    if (!unsafe || req.routeOptions.config.csrf === false) return done();
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') return done(Object.assign(new Error('cross-site form submission'), { code: 'FST_CSRF_INVALID_TOKEN', statusCode: 403 }));
    app.csrfProtection(req, reply, done);
  });
}
