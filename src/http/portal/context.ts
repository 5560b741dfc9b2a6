import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActorContext } from '../../core/access/actor.js';
import type { User } from '../../core/directory/types.js';
import type { Core } from '../../core/index.js';
import type { SsoProtocol } from '../../core/sso/sign-on.js';
import type { SessionHandle } from '../plugins/session.js';

/** What the portal and SAML pages are given by `buildHttpApp`. */
export interface UserWebDeps {
  core: Core;
  saml: SsoProtocol;
  publicUrl: () => string;
  /** The public URL is https (Secure cookies, CSP upgrade). */
  secure: boolean;
  /** How long a sign-in in progress (pending SAML request, TOTP step) stays valid. */
  loginTimeoutSeconds: number;
}

/** What a user's browser session holds. Never a password, a code or a TOTP seed. */
export interface UserSessionData {
  /** A TOTP code was verified in this session. */
  mfa?: boolean;
  /** ISO time of the sign-in (AuthnStatement AuthnInstant). */
  authTime?: string;
  /** Random per session; the assertions' SessionIndex (never the session token). */
  sessionIndex?: string;
  /** Restricted session: the user must enrol TOTP, or change an expired password, before anything else. */
  stage?: 'enroll' | 'password';
  /** A TOTP step in progress: the challenge opened by `authenticate()` for this browser. */
  pendingMfa?: { challenge: string; userId: string; purpose: 'portal' | 'saml'; appId?: string };
}

export const sessionOf = (req: FastifyRequest): SessionHandle => {
  if (!req.webSession) throw new Error('sessions are not registered in this context');
  return req.webSession;
};

export const dataOf = (req: FastifyRequest): UserSessionData => sessionOf(req).data as UserSessionData;

/** A signed-in user's own changes are recorded as made by that user. */
export const selfActor = (user: User, req: FastifyRequest): ActorContext => ({
  actor: { id: user.id, type: 'user', username: user.username },
  clientIp: req.ip,
  authMethod: 'session',
});

export const displayName = (u: User) => u.displayname || [u.firstname, u.lastname].filter(Boolean).join(' ') || u.username;

/** Sends a rendered page (HTML, never cached). */
export function sendPage(reply: FastifyReply, page: string, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
}


