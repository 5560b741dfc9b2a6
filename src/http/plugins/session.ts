import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSession, WebSessionPolicy, WebSessionService } from '../../core/sso/web-sessions.js';

/**
 * The browser session of a request, for the portal, the SAML pages and the admin console.
 *
 * - `session`: the live session (null when none), read once per request from the store.
 * - `subjectId`: the signed-in user or admin, or null (no session, or a sign-in in progress).
 * - `data`: the session's data (a copy; change it through `save`).
 * - `signIn(subjectId, data)`: **regenerates** the session (the old token stops working, a new
 *   cookie is set) and binds it to the subject. Call it at every successful sign-in.
 * - `save(data)`: stores data for this browser; starts an anonymous session (no subject) when
 *   there is none, e.g. a TOTP step in progress.
 * - `signOut()`: ends the session and clears the cookie.
 */
export interface SessionHandle {
  readonly session: WebSession | null;
  readonly subjectId: string | null;
  readonly data: Record<string, unknown>;
  signIn(subjectId: string, data: Record<string, unknown>): Promise<void>;
  save(data: Record<string, unknown>): Promise<void>;
  signOut(): Promise<void>;
  /** Ends every other session of the signed-in subject (after a password change). */
  endOtherSessions(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `registerSessions` in the contexts that have browser sessions; null elsewhere. */
    webSession: SessionHandle | null;
  }
}

/**
 * The lifetime of an anonymous session (a sign-in's TOTP step): a quarter of an hour, past the TOTP
 * challenge's own (`sso.loginTimeoutSeconds`, 10 minutes by default). It is not counted against a
 * user's session limit (it has no subject yet), so each sign-in that stops at the code left a row
 * for the whole session lifetime (8 hours): a black-box probe with one TOTP user's password could
 * have made ~1,600 a second.
 */
export const ANONYMOUS_SESSION_SECONDS = 900;

export interface SessionOptions {
  sessions: WebSessionService;
  /** `user` for the portal and SAML, `admin` for the console: the two never share a session. */
  kind: 'user' | 'admin';
  /** Cookie name (`gh_session`, `gh_admin_session`). */
  cookieName: string;
  /** Cookie path (`/` for users, `/admin` for the console). */
  cookiePath: string;
  /** Adds the Secure flag (the public URL is https). */
  secure: boolean;
  policy: WebSessionPolicy;
}

/**
 * Browser sessions held in the store (table `web_sessions`; the cookie carries a random token, the
 * store only its SHA-256), so that every instance sees them and a database copy cannot be replayed.
 * The cookie is HttpOnly, SameSite=Lax (a SAML HTTP-Redirect arriving from an SP is a top-level GET
 * and carries it; cross-site POSTs do not), Secure when the public URL is https, and has no
 * Max-Age: it ends with the browser, and the store ends it after `policy` idle or absolute time.
 *
 * Registers an `onRequest` hook on `app` (an encapsulated context) that sets `req.webSession`.
 * Needs @fastify/cookie in the same context. Usage, in the console (issue 6):
 *
 * ```ts
 * await registerWebPlumbing(consoleCtx, { kind: 'admin', cookieName: 'gh_admin_session', cookiePath: '/admin', … });
 * consoleCtx.post('/admin/login', async (req, reply) => { …; await req.webSession!.signIn(admin.id, { mfa: true }); });
 * consoleCtx.addHook('preHandler', async (req, reply) => { if (!req.webSession?.subjectId) return reply.redirect('/admin/login'); });
 * ```
 */
export function registerSessions(app: FastifyInstance, o: SessionOptions): void {
  const cookie = { path: o.cookiePath, httpOnly: true, sameSite: 'lax' as const, secure: o.secure };

  app.decorateRequest('webSession', null);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const token = req.cookies?.[o.cookieName];
    let current = token ? await o.sessions.resume(o.kind, token) : null;
    let currentToken = current ? token : undefined;
    const setToken = (t: string) => {
      currentToken = t;
      reply.setCookie(o.cookieName, t, cookie);
    };
    req.webSession = {
      get session() {
        return current;
      },
      get subjectId() {
        return current && current.subjectId !== '' ? current.subjectId : null;
      },
      get data() {
        return current ? structuredClone(current.data) : {};
      },
      async signIn(subjectId, data) {
        const started = await o.sessions.start(o.kind, subjectId, data, o.policy, currentToken ?? token);
        current = started.session;
        setToken(started.token);
      },
      async save(data) {
        if (current) {
          await o.sessions.save(current, data);
          return;
        }
        // A browser without a session (a TOTP step of a sign-in): an anonymous session, no subject,
        // that lives only as long as a sign-in step may take (see ANONYMOUS_SESSION_SECONDS).
        const brief = Math.min(o.policy.absoluteTimeoutSeconds, ANONYMOUS_SESSION_SECONDS);
        const started = await o.sessions.start(o.kind, '', data, { idleTimeoutSeconds: Math.min(o.policy.idleTimeoutSeconds, brief), absoluteTimeoutSeconds: brief }, token);
        current = started.session;
        setToken(started.token);
      },
      async signOut() {
        if (currentToken) await o.sessions.end(currentToken);
        current = null;
        currentToken = undefined;
        reply.clearCookie(o.cookieName, cookie);
      },
      async endOtherSessions() {
        if (current && current.subjectId) await o.sessions.endAllFor(o.kind, current.subjectId, currentToken);
      },
    };
    // A cookie that names no live session is removed, so the browser stops sending it.
    if (token && !current) reply.clearCookie(o.cookieName, cookie);
  });
}
