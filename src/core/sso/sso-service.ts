import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import type { AuditRecorder } from '../audit/recorder.js';
import type { AuthProtocol, AuthResource } from '../auth/authenticate.js';
import { lockStatus } from '../auth/lockout.js';
import { decideMfa } from '../auth/mfa-policy.js';
import { isPasswordExpired } from '../auth/password-policy.js';
import { applicationResource } from '../auth/resources.js';
import type { OrganizationCache } from '../directory/organization-cache.js';
import { lockoutPolicyOf } from '../directory/organization.js';
import type { Application, User } from '../directory/types.js';
import type { Clock, SecretBox, SsoRepositories, Store } from '../ports.js';
import type { LogoutOutcome, LogoutRequest, SignOnRequest } from './sign-on.js';
import { createSelfSignedCertificate } from '../../util/certificates.js';

/**
 * A sign-on waiting for the user: the checked request (null for IdP-initiated sign-on) of one app.
 * It travels sealed (AES-GCM, see `sealPending`) in the continue URL and the login forms, so that
 * an HTTP-POST request (whose cross-site POST carries no SameSite=Lax cookie) can be resumed on a
 * GET that does, and nothing in it can be altered by the browser.
 */
export interface PendingSignOn {
  appId: string;
  request: import('./sign-on.js').SignOnRequest | null;
  relayState: string | null;
  idpInitiated: boolean;
  /** Epoch ms after which the pending sign-on is void. */
  expiresAt: number;
}

const PENDING_CONTEXT = 'sso-pending-sign-on';

/** The IdP signing key pair of one application. */
export interface SigningCredentials {
  keyPem: string;
  certPem: string;
}

/** How an application's SP signs its requests. */
export interface ServiceProviderSettings {
  /** PEM of the SP's signing certificate; '' when none is registered. */
  spCertificate: string;
  /** AuthnRequests without a valid signature are refused. */
  requireSignedRequests: boolean;
}

/** Why a signed-in browser session may not get an assertion for an app. */
export type SessionAccess =
  | { status: 'ok'; user: User }
  | { status: 'mfa_required'; user: User }
  | {
      status: 'invalid' | 'disabled' | 'locked' | 'expired' | 'not_authorized' | 'mfa_enrollment_required' | 'authn_context_unmet';
      reason: string;
      user?: User;
    };

/**
 * The replay guard's key of a request: SHA-256 of the SP's entity ID and the request ID, so that the
 * same ID from two SPs are two requests and the stored key has a fixed length.
 */
export const signOnRequestKey = (r: Pick<SignOnRequest, 'spEntityId' | 'requestId'>): string =>
  createHash('sha256').update(r.spEntityId, 'utf8').update('\u0000').update(r.requestId, 'utf8').digest('hex');

/**
 * The `application` block of an `sso_auth` event and `idp_initiated`, in JumpCloud's shape (see
 * shared/reference/jumpcloud-di-events.json), for the audit fields of `authenticate()`.
 */
export function ssoAuditFields(app: Application, ssoUrl: string, idpInitiated: boolean): Record<string, unknown> {
  return {
    application: { id: app.id, name: app.name, display_label: app.displayLabel, sso_type: 'saml', sso_url: ssoUrl },
    idp_initiated: idpInitiated,
  };
}

/** The secret box context of an application's signing key: a sealed key copied to another row does not open. */
export const signingKeyContext = (appId: string) => `saml-key:${appId}`;

/** A self-signed RSA-2048 certificate for an application's assertions (10 years; SAML metadata pins it). */
export function generateSigningCredentials(appName: string): Promise<SigningCredentials> {
  return createSelfSignedCertificate({ commonName: `Gatehouse SAML ${appName}`, days: 3650 });
}

/** Checks an admin-supplied key pair: PEM, RSA ≥ 2048 bits, and the certificate matches the key. */
export function checkSigningCredentials(keyPem: string, certPem: string): string | null {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey({ key: keyPem, format: 'pem' }))) return 'the certificate does not match the private key';
    const details = cert.publicKey.asymmetricKeyDetails;
    if (cert.publicKey.asymmetricKeyType !== 'rsa' || (details?.modulusLength ?? 0) < 2048) return 'the key must be RSA with at least 2048 bits (RSA-SHA256 signatures)';
    return null;
  } catch {
    return 'privateKey and certificate must be PEM (PKCS#8 or PKCS#1 key, X.509 certificate)';
  }
}

export interface SsoServiceDeps {
  store: Store;
  sso: SsoRepositories;
  secretBox: SecretBox;
  clock: Clock;
  audit: AuditRecorder;
  organization: OrganizationCache;
}

/**
 * Single sign-on, as core sees it: which apps a user may launch, whether a signed-in browser session
 * may get an assertion for an app (the checks of `authenticate()` that follow a proven password),
 * a TOTP challenge for a session that still owes its second factor, and the signing keys.
 */
export function createSsoService(d: SsoServiceDeps) {
  const repos = d.store.repos;
  /** An `sso_auth` (or `sso_logout`) event for `app`, naming the browser's user when known; `fields` say how it went. */
  const recordSsoEvent = (
    eventType: 'sso_auth' | 'sso_logout',
    input: { app: Application; clientIp: string; audit: Record<string, unknown> },
    user: User | null | undefined,
    fields: { success: boolean; error_message?: string; [extra: string]: unknown },
    budgeted = false,
  ) =>
    (budgeted ? d.audit.recordUnauthenticated : d.audit.record)({
      ...input.audit,
      event_type: eventType,
      service: 'sso',
      client_ip: input.clientIp,
      initiated_by: { ...(user ? { id: user.id } : {}), type: 'user', username: user?.username ?? '' },
      username: user?.username ?? '',
      resource: { id: input.app.id, type: 'application', name: input.app.name },
      ...fields,
    });
  const creds = d.sso.applicationCredentials;
  const generating = new Map<string, Promise<SigningCredentials>>();

  const generateFor = (app: Application): Promise<SigningCredentials> => {
    let p = generating.get(app.id);
    if (!p) {
      p = (async () => {
        const pair = await generateSigningCredentials(app.name);
        // Another instance may be generating the same app's first key: one is kept, and this
        // returns that one (the stored key), so that metadata and signatures agree everywhere.
        await creds.setSigningKeyIfAbsent(app.id, {
          sealedSigningKey: d.secretBox.seal(pair.keyPem, signingKeyContext(app.id)),
          signingCertificate: pair.certPem,
          updatedAt: d.clock.now(),
        });
        const row = await creds.get(app.id);
        if (!row?.sealedSigningKey || !row.signingCertificate) throw new Error(`the signing key of application ${app.id} was not stored`);
        return { keyPem: d.secretBox.open(row.sealedSigningKey, signingKeyContext(app.id)), certPem: row.signingCertificate };
      })().finally(() => generating.delete(app.id));
      generating.set(app.id, p);
    }
    return p;
  };

  const service = {
    /** The application published at `/saml2/{name}`, or null. */
    async applicationByName(name: string): Promise<Application | null> {
      if (!/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(name)) return null;
      return repos.applications.getByName(name.toLowerCase());
    },

    async application(id: string): Promise<Application | null> {
      return repos.applications.get(id);
    },

    /**
     * The app's signing key and certificate. Apps created before keys existed (or restored from a
     * backup without them) get a key on first use.
     */
    async signingCredentials(app: Application): Promise<SigningCredentials> {
      const row = await creds.get(app.id);
      if (row?.sealedSigningKey && row.signingCertificate) {
        return { keyPem: d.secretBox.open(row.sealedSigningKey, signingKeyContext(app.id)), certPem: row.signingCertificate };
      }
      return generateFor(app);
    },

    /** The app's signing certificate (public). */
    async signingCertificate(app: Application): Promise<string> {
      const row = await creds.get(app.id);
      return row?.signingCertificate ?? (await generateFor(app)).certPem;
    },

    async serviceProviderSettings(appId: string): Promise<ServiceProviderSettings> {
      const row = await creds.get(appId);
      return { spCertificate: row?.spCertificate ?? '', requireSignedRequests: row?.requireSignedRequests ?? false };
    },

    /** The apps a user may launch: bound to the user directly or through one of its groups, by label. */
    async appsForUser(userId: string): Promise<Application[]> {
      const ids = new Set<string>();
      const from = [{ type: 'user' as const, id: userId }, ...(await repos.userGroups.groupIdsOf(userId)).map((id) => ({ type: 'user_group' as const, id }))];
      for (const f of from) {
        for (const a of await repos.associations.listFrom(f.type, f.id)) if (a.toType === 'application') ids.add(a.toId);
      }
      const apps = (await Promise.all([...ids].map((id) => repos.applications.get(id)))).filter((a): a is Application => a !== null);
      return apps.sort((a, b) => a.displayLabel.localeCompare(b.displayLabel) || a.name.localeCompare(b.name));
    },

    /** Names of the user's groups that are bound to the app (the assertion's group attribute). */
    async groupNamesFor(userId: string, appId: string): Promise<string[]> {
      const bound = new Set((await repos.associations.listTo('application', appId)).filter((a) => a.fromType === 'user_group').map((a) => a.fromId));
      const mine = (await repos.userGroups.groupIdsOf(userId)).filter((g) => bound.has(g));
      return (await repos.userGroups.getMany(mine)).map((g) => g.name).sort();
    },

    /**
     * May this signed-in session get an assertion for `app` now? The same checks `authenticate()`
     * makes after a proven password (state, lock, password age, access, MFA), against the current
     * directory; records exactly one `sso_auth` event (success or the reason).
     */
    async authorizeSession(input: {
      userId: string;
      /** A TOTP code was verified during this session. */
      sessionMfa: boolean;
      app: Application;
      clientIp: string;
      audit: Record<string, unknown>;
      /**
       * The request accepts a multi-factor sign-in only (its requested authentication context): a
       * session without a verified code is asked for one when the user has TOTP (step-up), and is
       * refused as `authn_context_unmet` when not.
       */
      requireMfa?: boolean;
      /** The request forbids any interaction (a refusal then says so in the audit trail). */
      passive?: boolean;
    }): Promise<SessionAccess> {
      const resource = applicationResource(input.app);
      const user = await repos.users.get(input.userId);
      const decide = async (): Promise<SessionAccess> => {
        if (!user) return { status: 'invalid', reason: 'user not found' };
        const now = d.clock.now();
        const org = await d.organization.get();
        if (user.state !== 'ACTIVATED') return { status: 'disabled', reason: `user is ${user.state.toLowerCase()}`, user };
        const state = await repos.authState.get(user.id);
        if (lockStatus(state, lockoutPolicyOf(org.settings.passwordPolicy), now) === 'locked') return { status: 'locked', reason: 'account locked', user };
        if (resource.expiredPasswords === 'deny' && isPasswordExpired(user, org.settings.passwordPolicy, now)) return { status: 'expired', reason: 'password expired', user };
        if (!(await repos.associations.userHasAccess(user.id, 'application', input.app.id))) {
          return { status: 'not_authorized', reason: `user is not bound to application ${input.app.name}`, user };
        }
        const mfa = decideMfa(user, resource.mfa, now);
        if (mfa === 'enroll') return { status: 'mfa_enrollment_required', reason: 'MFA enrolment required', user };
        if (mfa === 'ask' && !input.sessionMfa) return { status: 'mfa_required', user };
        if (input.requireMfa && !input.sessionMfa) {
          return user.totpEnrolled
            ? { status: 'mfa_required', user }
            : { status: 'authn_context_unmet', reason: 'the application asked for multi-factor authentication and the user has no TOTP enrolled', user };
        }
        return { status: 'ok', user };
      };
      const outcome = await decide();
      const mfaDone = outcome.status === 'ok' && input.sessionMfa;
      const why = outcome.status === 'ok' ? '' : outcome.status === 'mfa_required' ? 'MFA required' : outcome.reason;
      recordSsoEvent('sso_auth', input, user, {
        success: outcome.status === 'ok',
        mfa: mfaDone,
        ...(outcome.status === 'ok' ? {} : { error_message: input.passive ? `${why} (passive request: no interaction allowed)` : why }),
        auth_method: 'session',
      });
      return outcome;
    },

    /**
     * Records an `sso_auth` failure for a sign-on refused or answered with an error outside
     * `authenticate()` and `authorizeSession()`: a replayed request, a passive request without a
     * usable session, a NameID format or authentication context the app cannot give. `reason` is
     * the real one, for the administrator; the user of the browser session is named when known.
     */
    async recordRefusal(input: { app: Application; userId: string | null; clientIp: string; audit: Record<string, unknown>; reason: string; mfa?: boolean }): Promise<void> {
      const user = input.userId ? await repos.users.get(input.userId) : null;
      // A refusal to a browser with no signed-in user (a replayed or stale request, its continue
      // link opened again) costs the sender nothing: recorded within the budget per address of
      // requests that prove nothing. Replaying one answered link wrote ~1,700 rows/s.
      recordSsoEvent('sso_auth', input, user, { success: false, mfa: input.mfa ?? false, error_message: input.reason, ...(user ? { auth_method: 'session' } : {}) }, !user);
    },

    /**
     * The replay guard, first half: takes a checked request the first time its SP sends its ID and
     * refuses it (false) every other time while the ID is remembered, on every instance (the IDs
     * live in the store). The ID is kept past the request's own validity (`request.validUntil`, after
     * which the adapter refuses the request as stale anyway) and past the time the sign-in it starts
     * may take (`answerWindowSeconds`), so that the second half still finds it.
     */
    async admitRequest(request: SignOnRequest, answerWindowSeconds: number): Promise<boolean> {
      const now = d.clock.now();
      const validUntil = Date.parse(request.validUntil);
      const expiresAt = new Date(Math.max(Number.isFinite(validUntil) ? validUntil : 0, now.getTime() + answerWindowSeconds * 1000) + 60_000);
      return d.sso.signOnRequests.remember({ idHash: signOnRequestKey(request), appId: request.appId, receivedAt: now, expiresAt }, now);
    },

    /**
     * The replay guard, second half: true once per admitted request, when its response (assertion
     * or error) is about to leave; false for any later answer to the same request (a reloaded
     * continue link, a resubmitted form, a second tab).
     */
    markAnswered(request: SignOnRequest): Promise<boolean> {
      return d.sso.signOnRequests.markAnswered(signOnRequestKey(request), d.clock.now());
    },

    /**
     * The replay guard for SP-initiated logout requests: true the first time the SP sends a request
     * ID (the same store as sign-on requests, so an ID is taken once across instances and kinds).
     */
    async admitLogoutRequest(request: LogoutRequest): Promise<boolean> {
      const now = d.clock.now();
      const validUntil = Date.parse(request.validUntil);
      const expiresAt = new Date(Math.max(Number.isFinite(validUntil) ? validUntil : 0, now.getTime()) + 60_000);
      const idHash = signOnRequestKey({ spEntityId: request.spEntityId, requestId: request.requestId });
      return d.sso.signOnRequests.remember({ idHash, appId: request.appId, receivedAt: now, expiresAt }, now);
    },

    /**
     * Records an `sso_logout` event: an SP-initiated logout that ended the browser's session (or
     * found none), or one that named someone else (`unknown_principal`: nothing was ended).
     */
    recordLogout(input: { app: Application; user: User | null; clientIp: string; audit: Record<string, unknown>; outcome: LogoutOutcome; nameId: string }): void {
      const { user } = input;
      const ended = input.outcome === 'success';
      recordSsoEvent('sso_logout', input, user, {
        success: ended,
        session_ended: user !== null && ended,
        name_id: input.nameId.slice(0, 256),
        ...(ended ? {} : { error_message: "the logout request names another user than the browser session's; the session was kept" }),
      });
    },

    /** Whether the request was already answered (a pending sign-on of it is void). */
    wasAnswered(request: SignOnRequest): Promise<boolean> {
      return d.sso.signOnRequests.isAnswered(signOnRequestKey(request), d.clock.now());
    },

    /** Deletes remembered request IDs past their expiry; run periodically. */
    purgeExpiredRequests(): Promise<number> {
      return d.sso.signOnRequests.purgeExpired(d.clock.now());
    },

    /** Seals a pending sign-on for the browser to carry (valid `ttlSeconds`). */
    sealPending(p: Omit<PendingSignOn, 'expiresAt'>, ttlSeconds: number, notAfter = Infinity): string {
      // A sign-on passed on (the continue link, the login form) keeps the end it was given when the
      // request arrived: re-sealing must not extend it, or a login could outlive the request's
      // entry in the replay guard and be refused as a replay of itself.
      const value: PendingSignOn = { ...p, expiresAt: Math.min(d.clock.now().getTime() + ttlSeconds * 1000, notAfter) };
      return d.secretBox.seal(JSON.stringify(value), PENDING_CONTEXT);
    },

    /** Opens a sealed pending sign-on; null when altered, of another kind, or expired. */
    openPending(token: unknown): PendingSignOn | null {
      if (typeof token !== 'string' || token.length === 0 || token.length > 8192) return null;
      try {
        const p = JSON.parse(d.secretBox.open(token, PENDING_CONTEXT)) as PendingSignOn;
        // A request sealed by an older version lacks what the replay guard needs: that sign-in starts over.
        const complete = p.request === null || (typeof p.request?.spEntityId === 'string' && typeof p.request.validUntil === 'string');
        return complete && typeof p.appId === 'string' && typeof p.expiresAt === 'number' && p.expiresAt > d.clock.now().getTime() ? p : null;
      } catch {
        return null;
      }
    },

    /**
     * A TOTP challenge for a user whose password was already proven in this browser session (an
     * SSO session that owes its second factor, or a second try after a wrong code), to be answered
     * through `completeMfa()`, which checks the code, the replay guard and the lockout.
     */
    async openChallenge(userId: string, protocol: AuthProtocol, resource: AuthResource, ttlSeconds: number): Promise<string> {
      const now = d.clock.now();
      const id = randomBytes(16).toString('hex');
      await repos.challenges.create({
        id,
        subjectId: userId,
        protocol,
        resourceType: resource.type,
        resourceId: resource.id,
        createdAt: now,
        expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
      });
      return id;
    },
  };
  return service;
}

export type SsoService = ReturnType<typeof createSsoService>;
