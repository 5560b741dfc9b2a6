import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import type { WebSessionPolicy, WebSessionService } from '../../core/sso/web-sessions.js';
import { registerCsrf } from './csrf.js';
import { registerSecurityHeaders } from './security-headers.js';
import { registerSessions } from './session.js';

export interface WebPlumbingOptions {
  sessions: WebSessionService;
  kind: 'user' | 'admin';
  /** Session cookie name; the CSRF secret cookie is `<name>_csrf`. */
  cookieName: string;
  cookiePath: string;
  /** The public URL is https: Secure cookies, HSTS, upgrade-insecure-requests. */
  secure: boolean;
  policy: WebSessionPolicy;
  /** Binds form (CSRF) tokens to their session (core's `formTokenKey`). */
  formTokenKey: Buffer;
}

/**
 * Everything an HTML area needs, registered into one encapsulated Fastify context: cookies,
 * url-encoded forms, security headers (CSP, frame-ancestors 'none'), CSRF on every state-changing
 * route, and store-backed sessions (`req.webSession`). The portal and SAML pages use it with
 * `kind: 'user'`; the admin console registers it in its own context with `kind: 'admin'` and its
 * own cookie names and path, so the two never share a cookie, a session or a CSRF secret.
 */
export async function registerWebPlumbing(app: FastifyInstance, o: WebPlumbingOptions): Promise<void> {
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 1_048_576 });
  await registerSecurityHeaders(app, { secure: o.secure });
  await registerCsrf(app, { cookieName: `${o.cookieName}_csrf`, cookiePath: o.cookiePath, secure: o.secure, formTokenKey: o.formTokenKey });
  registerSessions(app, { sessions: o.sessions, kind: o.kind, cookieName: o.cookieName, cookiePath: o.cookiePath, secure: o.secure, policy: o.policy });
}
