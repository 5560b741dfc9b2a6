import { createHash, randomBytes } from 'node:crypto';
import type { Clock, WebSessionRecord, WebSessionRepository } from '../ports.js';

/** How long a browser session lives. */
export interface WebSessionPolicy {
  /** Ended after this long without a request. */
  idleTimeoutSeconds: number;
  /** Ended this long after sign-in, whatever the activity. */
  absoluteTimeoutSeconds: number;
}

/** A live browser session; the token that names it is known only to the browser's cookie. */
export type WebSession = WebSessionRecord;

export interface WebSessionService {
  /**
   * Starts a session and returns its token (32 random bytes, base64url) for the cookie. Passing the
   * token of the session it replaces ends that one: this is how a session is regenerated at sign-in
   * (OWASP session fixation), and how a login in progress becomes a signed-in session.
   */
  start(
    kind: 'user' | 'admin',
    subjectId: string,
    data: Record<string, unknown>,
    policy: WebSessionPolicy,
    replacing?: string,
  ): Promise<{ token: string; session: WebSession }>;
  /** The session a cookie token names, if it is of this kind and neither idle nor past its end. */
  resume(kind: 'user' | 'admin', token: string): Promise<WebSession | null>;
  /** Replaces the session's data. */
  save(session: WebSession, data: Record<string, unknown>): Promise<void>;
  /** Ends the session a token names (sign-out). */
  end(token: string): Promise<void>;
  /** Ends every session of a subject, except the one named by `exceptToken` (after a password change). */
  endAllFor(kind: 'user' | 'admin', subjectId: string, exceptToken?: string): Promise<number>;
  /** Deletes sessions past their end; run periodically. */
  purgeExpired(): Promise<number>;
}

/** The store key of a token: SHA-256, so that the store never holds a usable session token. */
export function sessionIdHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** Activity is written at most this often per session, so that page loads do not each cost a write. */
const TOUCH_INTERVAL_MS = 30_000;
/**
 * Live sessions one user or admin may hold; a sign-in beyond it ends the oldest. Each sign-in made
 * a session that stayed until its idle timeout: a black-box probe signing in again and again (the
 * credential cache skips argon2id) made ~1,600 sessions a second, up to millions of rows.
 */
export const MAX_SESSIONS_PER_SUBJECT = 50;

/** Browser sessions held in the store (shared by every instance), as core sees them. */
export function createWebSessionService(d: { repo: WebSessionRepository; clock: Clock }): WebSessionService {
  const live = (s: WebSessionRecord, now: Date) =>
    s.expiresAt.getTime() > now.getTime() && now.getTime() - s.lastSeenAt.getTime() < s.idleTimeoutSeconds * 1000;

  return {
    async start(kind, subjectId, data, policy, replacing) {
      if (replacing && TOKEN.test(replacing)) await d.repo.delete(sessionIdHash(replacing));
      const now = d.clock.now();
      const token = randomBytes(32).toString('base64url');
      const session: WebSession = {
        idHash: sessionIdHash(token),
        kind,
        subjectId,
        data,
        createdAt: now,
        lastSeenAt: now,
        expiresAt: new Date(now.getTime() + policy.absoluteTimeoutSeconds * 1000),
        idleTimeoutSeconds: policy.idleTimeoutSeconds,
      };
      await d.repo.create(session);
      if (subjectId) await d.repo.trimForSubject(kind, subjectId, MAX_SESSIONS_PER_SUBJECT);
      return { token, session };
    },
    async resume(kind, token) {
      if (!TOKEN.test(token)) return null;
      const s = await d.repo.get(sessionIdHash(token));
      const now = d.clock.now();
      if (!s || s.kind !== kind) return null;
      if (!live(s, now)) {
        await d.repo.delete(s.idHash);
        return null;
      }
      if (now.getTime() - s.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
        await d.repo.update(s.idHash, { lastSeenAt: now });
        s.lastSeenAt = now;
      }
      return s;
    },
    async save(session, data) {
      const now = d.clock.now();
      await d.repo.update(session.idHash, { data, lastSeenAt: now });
      session.data = data;
      session.lastSeenAt = now;
    },
    async end(token) {
      if (TOKEN.test(token)) await d.repo.delete(sessionIdHash(token));
    },
    endAllFor(kind, subjectId, exceptToken) {
      return d.repo.deleteForSubject(kind, subjectId, exceptToken && TOKEN.test(exceptToken) ? sessionIdHash(exceptToken) : undefined);
    },
    purgeExpired() {
      return d.repo.purgeExpired(d.clock.now());
    },
  };
}
