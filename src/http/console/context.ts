import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActorContext } from '../../core/access/actor.js';
import type { Admin } from '../../core/directory/types.js';
import type { Core } from '../../core/index.js';
import type { ServiceProviderMetadata } from '../../core/sso/sign-on.js';
import type { WebSessionPolicy } from '../../core/sso/web-sessions.js';
import type { SessionHandle } from '../plugins/session.js';

/** Where the protocol endpoints listen, for the connection details the console shows. */
export interface EndpointInfo {
  ldapSuffix: string;
  ldapPort?: number;
  ldapsPort?: number;
  radiusPort?: number;
}

/** What `buildHttpApp` gives the console. */
export interface ConsoleOptions {
  sessionPolicy: WebSessionPolicy;
  /** Rows per list page by default. */
  pageSize: number;
  /** Read lazily: ports taken with 0 are known only after start. */
  endpoints: () => EndpointInfo;
}

export interface ConsoleDeps extends ConsoleOptions {
  core: Core;
  publicUrl: () => string;
  secure: boolean;
  version: string;
  /** The SAML adapter's SP metadata reader (import on the app page); absent: import is not offered. */
  spMetadata?: (xml: string) => Promise<ServiceProviderMetadata>;
}

/** What an admin's browser session holds. Never a password, a code or a key. */
export interface AdminSessionData {
  /** A TOTP code was verified at sign-in. */
  mfa?: boolean;
  /** ISO time of the sign-in. */
  authTime?: string;
  /**
   * Restricted session: `enroll`, the organisation requires admin MFA and this admin must enrol
   * first; `password`, this admin must replace the initial password another admin chose.
   */
  stage?: 'enroll' | 'password';
  /** The TOTP step of a sign-in in progress (anonymous session). */
  pendingMfa?: { challenge: string; next?: string };
  /** A message for the next page (post/redirect/get). */
  flash?: { kind: 'ok' | 'error' | 'info'; text: string };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A console route reachable without a signed-in admin (sign-in pages, assets). */
    consolePublic?: boolean;
    /** A route a session that must still enrol TOTP may use. */
    consoleEnrolment?: boolean;
    /** A route a session that must still replace its initial password may use. */
    consolePasswordChange?: boolean;
  }
  interface FastifyRequest {
    /** The signed-in admin of a console request (set by the console's guard). */
    admin: Admin | null;
  }
}

export const sessionOf = (req: FastifyRequest): SessionHandle => {
  if (!req.webSession) throw new Error('sessions are not registered in this context');
  return req.webSession;
};

export const dataOf = (req: FastifyRequest): AdminSessionData => sessionOf(req).data as AdminSessionData;

export function adminOf(req: FastifyRequest): Admin {
  if (!req.admin) throw new Error('no signed-in admin on this route');
  return req.admin;
}

/** The admin's changes are recorded as made by that admin, through a session. */
export const actorOf = (req: FastifyRequest): ActorContext => {
  const a = adminOf(req);
  return { actor: { id: a.id, type: 'admin', email: a.email }, clientIp: req.ip, authMethod: 'session' };
};

/** Sends a rendered page (HTML, never cached). */
export function sendPage(reply: FastifyReply, page: string, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
}


/** Stores a message for the next page and redirects there (post/redirect/get). */
export async function redirectWith(req: FastifyRequest, reply: FastifyReply, to: string, flash?: AdminSessionData['flash']) {
  if (flash) await sessionOf(req).save({ ...dataOf(req), flash } as Record<string, unknown>);
  return reply.redirect(to, 303);
}

/** Takes (and clears) the message stored for this page. */
export async function takeFlash(req: FastifyRequest): Promise<AdminSessionData['flash']> {
  const data = dataOf(req);
  if (!data.flash) return undefined;
  const { flash, ...rest } = data;
  await sessionOf(req).save(rest as Record<string, unknown>);
  return flash;
}

/** A same-console path to return to, or the fallback (never an absolute or foreign URL). */
export function safeReturn(value: string, fallback: string, prefix = '/admin'): string {
  return /^\/admin(\/[A-Za-z0-9/_\-?=&%.,+]*)?$/.test(value) && value.startsWith(prefix) && !value.includes('//') ? value : fallback;
}

export const ID = '^[0-9a-f]{24}$';
