import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { applicationResource } from '../../core/auth/resources.js';
import type { Application, User } from '../../core/directory/types.js';
import type { LogoutOutcome, SignOnBinding, SignOnError, SignOnRequest } from '../../core/sso/sign-on.js';
import { isDomainError } from '../../core/errors.js';
import { ssoAuditFields, type PendingSignOn } from '../../core/sso/sso-service.js';
import { allowFormActionTo } from '../plugins/security-headers.js';
import { dataOf, sendPage, sessionOf, type UserSessionData, type UserWebDeps } from './context.js';
import { field } from '../form-fields.js';
import { autoPostPage, loginPage, messagePage, totpPage } from './views.js';

const WRONG_CREDENTIALS = 'The username or password is not correct.';

/** The audit trail's name for each error answer (the SAML second-level status it becomes). */
const ERROR_NAMES: Record<SignOnError, string> = {
  passive_impossible: 'NoPassive',
  name_id_format_unsupported: 'InvalidNameIDPolicy',
  authn_context_unsatisfied: 'NoAuthnContext',
  denied: 'RequestDenied',
};

/** The request accepts a multi-factor sign-in only (its requested authentication context). */
const mfaOnly = (r: SignOnRequest | null): boolean => r?.authnMethods != null && !r.authnMethods.includes('password');

/**
 * SAML single sign-on pages and endpoints under `/saml2/{appName}` (contract.md): metadata,
 * SP-initiated sign-on over HTTP-Redirect and HTTP-POST, IdP-initiated launch, the login and TOTP
 * steps. Protocol checks are the SAML adapter's (`SsoProtocol`); authentication is core's one
 * pipeline; this file decides which page to show. A refused request gets a page, never a redirect
 * to anywhere the request named.
 */
export function registerSsoRoutes(app: FastifyInstance, d: UserWebDeps): void {
  const { core, saml } = d;
  const ssoUrl = (a: Application) => `${d.publicUrl()}/saml2/${encodeURIComponent(a.name)}`;
  const audit = (a: Application, p: PendingSignOn) => ssoAuditFields(a, ssoUrl(a), p.idpInitiated);
  const seal = (p: Omit<PendingSignOn, 'expiresAt'>, notAfter?: number) => core.sso.sealPending(p, d.loginTimeoutSeconds, notAfter);

  const loadApp = async (req: FastifyRequest, reply: FastifyReply): Promise<Application | null> => {
    const name = field(req.params, 'app', 64);
    const a = await core.sso.applicationByName(name);
    if (!a) {
      await sendPage(reply, messagePage({ title: 'Unknown application', message: 'There is no application at this address. Check the link you followed.' }), 404);
      return null;
    }
    return a;
  };

  const refusal = (reply: FastifyReply, message: string, status = 400) =>
    sendPage(
      reply,
      messagePage({
        title: 'Sign-in request refused',
        message: 'The application sent a sign-in request that Gatehouse does not accept, so you were not signed in and nothing was sent anywhere.',
        detail: `Reason: ${message}. Tell your administrator which application you were opening.`,
      }),
      status,
    );

  const notAssigned = (reply: FastifyReply, a: Application) =>
    sendPage(
      reply,
      messagePage({
        title: 'Not assigned',
        message: `Your account is not assigned to ${a.displayLabel}.`,
        detail: 'Ask your administrator to give you access to this application.',
        link: { href: '/', text: 'Go to your apps' },
      }),
      403,
    );

  const showLogin = (reply: FastifyReply, a: Application, token: string, extra: { error?: string; login?: string; info?: string } = {}, status = 200) =>
    sendPage(
      reply,
      loginPage({ csrf: reply.generateCsrf(), action: `/saml2/${encodeURIComponent(a.name)}/login`, appLabel: a.displayLabel, hidden: { r: token }, ...extra }),
      status,
    );

  const showTotp = (reply: FastifyReply, a: Application, token: string, error?: string) =>
    sendPage(reply, totpPage({ csrf: reply.generateCsrf(), action: `/saml2/${encodeURIComponent(a.name)}/totp`, appLabel: a.displayLabel, hidden: { r: token }, ...(error ? { error } : {}) }), error ? 401 : 200);

  /**
   * A request that was already taken (same ID from the same SP) or already answered: refused with
   * a page, never answered again, and recorded.
   */
  const replayed = async (req: FastifyRequest, reply: FastifyReply, a: Application, p: PendingSignOn, reason: string) => {
    req.log.warn({ app: a.name }, 'SAML request replayed');
    await core.sso.recordRefusal({ app: a, userId: sessionOf(req).subjectId || null, clientIp: req.ip, audit: audit(a, p), reason: `replayed SAML request: ${reason}` });
    return refusal(reply, 'this sign-in request was already used. Open the application again to start over');
  };

  /**
   * The answer to a checked request that cannot be honoured: a signed error response (no
   * assertion) posted to its ACS URL with its RelayState (SAML core §3.4.1). Recorded with the real
   * reason, naming `o.user` or the session's user, unless core already recorded this refusal
   * (`o.audited`).
   */
  const sendError = async (
    req: FastifyRequest,
    reply: FastifyReply,
    a: Application,
    p: PendingSignOn,
    request: SignOnRequest,
    error: SignOnError,
    reason: string,
    o: { audited?: boolean; user?: User } = {},
  ) => {
    if (!(await core.sso.markAnswered(request))) return replayed(req, reply, a, p, 'the request was already answered');
    if (!o.audited) {
      const userId = o.user?.id ?? (sessionOf(req).subjectId || null);
      await core.sso.recordRefusal({ app: a, userId, clientIp: req.ip, audit: audit(a, p), reason: `${ERROR_NAMES[error]}: ${reason}` });
    }
    req.log.info({ app: a.name, status: ERROR_NAMES[error] }, 'SAML request answered with an error status');
    const form = await saml.buildErrorResponse(a, request, error);
    allowFormActionTo(reply, form.action, d.secure);
    return sendPage(reply, autoPostPage(form, a.displayLabel));
  };

  /** The assertion for a signed-in user, as the auto-submitting form. */
  const sendAssertion = async (req: FastifyRequest, reply: FastifyReply, a: Application, user: User, p: PendingSignOn) => {
    const data = dataOf(req);
    const r = p.request;
    if (r) {
      // The last gate: what the sign-in actually was must satisfy the requested context.
      if (r.authnMethods && !r.authnMethods.includes(data.mfa === true ? 'mfa' : 'password')) {
        return sendError(req, reply, a, p, r, 'authn_context_unsatisfied', 'the application asked for multi-factor authentication; this sign-in used a password only');
      }
      // Core §3.4.1: a request that names its Subject gets an assertion about that subject or an error.
      if (!saml.subjectMatches(a, r, user)) return sendError(req, reply, a, p, r, 'denied', 'the request names another subject than the signed-in user', { user });
      if (!(await core.sso.markAnswered(r))) return replayed(req, reply, a, p, 'the request was already answered');
    }
    const form = await saml.buildResponse(
      a,
      {
        user,
        groupNames: await core.sso.groupNamesFor(user.id, a.id),
        sessionIndex: data.sessionIndex ?? randomBytes(16).toString('hex'),
        authnInstant: data.authTime ? new Date(data.authTime) : new Date(),
        mfa: data.mfa === true,
      },
      p.request,
      p.request ? p.request.relayState : p.relayState,
    );
    allowFormActionTo(reply, form.action, d.secure);
    return sendPage(reply, autoPostPage(form, a.displayLabel));
  };

  /** Signs the browser in (a new session token: regenerated at every sign-in) and answers the SP. */
  const signInAndAnswer = async (req: FastifyRequest, reply: FastifyReply, a: Application, user: User, mfa: boolean, p: PendingSignOn) => {
    // The session (and the AuthnStatement: instant and class) describe this sign-in, not an earlier
    // one: a ForceAuthn re-sign-in with a password only is not multi-factor (SAML core §3.4.1).
    const data: UserSessionData = {
      mfa,
      authTime: new Date().toISOString(),
      sessionIndex: randomBytes(16).toString('hex'),
    };
    await sessionOf(req).signIn(user.id, data as Record<string, unknown>);
    return sendAssertion(req, reply, a, user, p);
  };

  /**
   * Where a checked request (or a launch) goes: the SSO session if it may be used, else the login
   * page. A passive request (IsPassive, SAML core §3.4.1) never gets a page: whatever would need
   * the user is answered to the SP with NoPassive (RequestDenied for a user not assigned).
   */
  const continueSignOn = async (req: FastifyRequest, reply: FastifyReply, a: Application, p: PendingSignOn) => {
    const s = sessionOf(req);
    const data = dataOf(req);
    const r = p.request;
    const passive = r?.isPassive === true;
    // A pending sign-on opened from a token keeps that token's end; a new one (expiresAt 0) gets its own.
    const token = seal({ appId: p.appId, request: r, relayState: p.relayState, idpInitiated: p.idpInitiated }, p.expiresAt > 0 ? p.expiresAt : undefined);
    if (r && passive && r.forceAuthn) {
      // Core §3.4.1: with both set, the IdP must not authenticate afresh unless IsPassive allows it; it cannot.
      return sendError(req, reply, a, p, r, 'passive_impossible', 'the request set ForceAuthn and IsPassive, and a fresh sign-in needs the user');
    }
    if (s.subjectId && !data.stage && !r?.forceAuthn) {
      const access = await core.sso.authorizeSession({
        userId: s.subjectId,
        sessionMfa: data.mfa === true,
        app: a,
        clientIp: req.ip,
        audit: audit(a, p),
        requireMfa: mfaOnly(r),
        passive,
      });
      // Every refusal below was recorded by authorizeSession(), with its reason.
      switch (access.status) {
        case 'ok':
          return sendAssertion(req, reply, a, access.user, p);
        case 'mfa_required': {
          if (r && passive) return sendError(req, reply, a, p, r, 'passive_impossible', 'MFA required', { audited: true });
          // The session never proved a second factor (or the SP asks for one): ask for it now (MFA is never skipped).
          const challenge = await core.sso.openChallenge(access.user.id, 'saml', applicationResource(a), d.loginTimeoutSeconds);
          await s.save({ ...data, pendingMfa: { challenge, userId: access.user.id, purpose: 'saml', appId: a.id } });
          return showTotp(reply, a, token);
        }
        case 'not_authorized':
          if (r && passive) return sendError(req, reply, a, p, r, 'denied', access.reason, { audited: true });
          return notAssigned(reply, a);
        case 'mfa_enrollment_required':
          if (r && passive) return sendError(req, reply, a, p, r, 'passive_impossible', access.reason, { audited: true });
          return enrolFirst(reply, a);
        case 'authn_context_unmet':
          if (r) return sendError(req, reply, a, p, r, 'authn_context_unsatisfied', access.reason, { audited: true });
          return notAssigned(reply, a); // unreachable: only a request asks for a context
        default:
          // The account changed since sign-in (suspended, locked, password expired): sign in again.
          await s.signOut();
          if (r && passive) return sendError(req, reply, a, p, r, 'passive_impossible', access.reason, { audited: true });
          return showLogin(reply, a, token, { info: 'Please sign in again.' });
      }
    }
    if (r && passive) return sendError(req, reply, a, p, r, 'passive_impossible', 'the request was passive and the browser has no signed-in session');
    return showLogin(reply, a, token);
  };

  const enrolFirst = (reply: FastifyReply, a: Application) =>
    sendPage(
      reply,
      messagePage({
        title: 'Set up two-step verification first',
        message: `Your organisation requires two-step verification before you can use ${a.displayLabel}.`,
        detail: 'Sign in to the portal to set it up, then open the application again.',
        link: { href: '/', text: 'Go to the portal' },
      }),
      403,
    );

  // ---- metadata ----
  app.get('/saml2/:app/metadata', async (req, reply) => {
    const a = await loadApp(req, reply);
    if (!a) return reply;
    return reply.type('application/samlmetadata+xml; charset=utf-8').header('cache-control', 'public, max-age=300').send(await saml.metadata(a));
  });

  const receive = async (req: FastifyRequest, reply: FastifyReply, binding: SignOnBinding) => {
    const a = await loadApp(req, reply);
    if (!a) return reply;
    const source = binding === 'redirect' ? req.query : req.body;
    if (binding === 'redirect' && field(req.query, 'launch', 8) && !field(req.query, 'SAMLRequest', 1)) {
      // IdP-initiated sign-on (a portal tile): the response goes to the app's first registered ACS URL.
      return continueSignOn(req, reply, a, { appId: a.id, request: null, relayState: null, idpInitiated: true, expiresAt: 0 });
    }
    const fields: Record<string, string | undefined> = {};
    for (const n of ['SAMLRequest', 'RelayState', 'SigAlg', 'Signature']) {
      const v = source && typeof source === 'object' ? (source as Record<string, unknown>)[n] : undefined;
      if (Array.isArray(v)) return refusal(reply, `the request repeats ${n}`);
      if (typeof v === 'string') fields[n] = v;
    }
    if (!fields.SAMLRequest) return refusal(reply, 'there is no SAML request in it');
    const rawQuery = binding === 'redirect' ? (req.raw.url ?? '').split('?')[1] ?? '' : undefined;
    const parsed = await saml.parseRequest(a, { binding, fields, ...(rawQuery !== undefined ? { rawQuery } : {}) });
    if (parsed.status === 'refused') {
      req.log.warn({ app: a.name, reason: parsed.reason, binding }, 'SAML request refused');
      // A request refused as stale is in Directory Insights too: it is what a registered SP with a
      // skewed clock gets, and where an admin looks when an SP "just fails". Other refusals (forged,
      // malformed or hostile input, an unregistered ACS) stay out of the trail: they are no sign-in
      // attempt, and anyone could fill the trail with them.
      if (parsed.reason === 'stale') {
        await core.sso.recordRefusal({
          app: a,
          userId: sessionOf(req).subjectId || null,
          clientIp: req.ip,
          audit: ssoAuditFields(a, ssoUrl(a), false),
          reason: `refused SAML request (${parsed.reason}): ${parsed.message}`,
        });
      }
      return refusal(reply, parsed.message, parsed.reason === 'busy' ? 503 : 400);
    }
    const pending: PendingSignOn = { appId: a.id, request: parsed.request, relayState: parsed.request.relayState, idpInitiated: false, expiresAt: 0 };
    // The replay guard (in the store, shared by every instance): a request ID is taken once.
    if (!(await core.sso.admitRequest(parsed.request, d.loginTimeoutSeconds))) {
      return replayed(req, reply, a, pending, 'its ID was already received from this service provider');
    }
    if (parsed.status === 'unanswerable') return sendError(req, reply, a, pending, parsed.request, parsed.error, parsed.message);
    // Continue on a GET of our own, for both bindings: a cross-site POST carries no SameSite=Lax
    // cookie, and the URL that carries the request itself must not be the page the user reloads or
    // goes back to (the replay guard has taken its ID; the continue link works until it is answered).
    return reply.redirect(`/saml2/${encodeURIComponent(a.name)}/continue?r=${encodeURIComponent(seal(pending))}`, 303);
  };

  // ---- single logout (SP-initiated, SAML profiles §4.4; HTTP-Redirect in) ----
  const logoutRefusal = (reply: FastifyReply, message: string, status = 400) =>
    sendPage(
      reply,
      messagePage({
        title: 'Sign-out request refused',
        message: 'The application sent a sign-out request that Gatehouse does not accept, so nothing was changed and nothing was sent anywhere.',
        detail: `Reason: ${message}. To sign out of Gatehouse, use Sign out in your apps portal.`,
        link: { href: '/', text: 'Go to your apps' },
      }),
      status,
    );

  app.get('/saml2/:app/slo', async (req, reply) => {
    const a = await loadApp(req, reply);
    if (!a) return reply;
    const fields: Record<string, string | undefined> = {};
    for (const n of ['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature']) {
      const v = (req.query as Record<string, unknown> | undefined)?.[n];
      if (Array.isArray(v)) return logoutRefusal(reply, `the request repeats ${n}`);
      if (typeof v === 'string') fields[n] = v;
    }
    // Gatehouse sends no LogoutRequests (it does not propagate a logout), so no LogoutResponse is due.
    if (!fields.SAMLRequest) return logoutRefusal(reply, fields.SAMLResponse ? 'Gatehouse expects no logout response' : 'there is no SAML request in it');
    const { SAMLResponse: _unused, ...message } = fields;
    const rawQuery = (req.raw.url ?? '').split('?')[1] ?? '';
    const parsed = await saml.parseLogoutRequest(a, { binding: 'redirect', fields: message, rawQuery });
    if (parsed.status === 'refused') {
      req.log.warn({ app: a.name, reason: parsed.reason }, 'SAML logout request refused');
      return logoutRefusal(reply, parsed.message, parsed.reason === 'busy' ? 503 : 400);
    }
    const r = parsed.request;
    if (!(await core.sso.admitLogoutRequest(r))) return logoutRefusal(reply, 'this sign-out request was already used');
    // The session this browser holds ends if the request names it; a session of someone else is
    // kept and the SP told so (core §3.7.3.2 UnknownPrincipal); no session: already signed out.
    const s = sessionOf(req);
    const user = s.subjectId
      ? await core.users.get(s.subjectId).catch((err: unknown) => {
          if (isDomainError(err)) return null;
          throw err;
        })
      : null;
    const outcome: LogoutOutcome = !user || saml.namesSession(a, r, user, dataOf(req).sessionIndex ?? null) ? 'success' : 'unknown_principal';
    if (s.subjectId && outcome === 'success') await s.signOut();
    core.sso.recordLogout({ app: a, user, clientIp: req.ip, audit: ssoAuditFields(a, ssoUrl(a), false), outcome, nameId: r.nameId });
    const answer = await saml.buildLogoutResponse(a, r, outcome);
    if (answer.kind === 'redirect') return reply.redirect(answer.url, 303);
    allowFormActionTo(reply, answer.form.action, d.secure);
    return sendPage(reply, autoPostPage(answer.form, a.displayLabel, 'sign-out'));
  });

  app.get('/saml2/:app', (req, reply) => receive(req, reply, 'redirect'));
  app.post('/saml2/:app', { config: { csrf: false } }, (req, reply) => receive(req, reply, 'post'));

  const openPending = async (req: FastifyRequest, reply: FastifyReply, source: unknown): Promise<{ a: Application; p: PendingSignOn; token: string } | null> => {
    const a = await loadApp(req, reply);
    if (!a) return null;
    const token = field(source, 'r', 8192);
    const p = core.sso.openPending(token);
    if (p && p.appId === a.id && p.request && (await core.sso.wasAnswered(p.request))) {
      // A continue link or login form of a request that already got its answer: no second one.
      await replayed(req, reply, a, p, 'the request was already answered');
      return null;
    }
    if (!p || p.appId !== a.id) {
      await sendPage(
        reply,
        messagePage({ title: 'Sign-in expired', message: 'This sign-in took too long or its link is not valid.', detail: 'Open the application again to start over.', link: { href: '/', text: 'Go to your apps' } }),
        400,
      );
      return null;
    }
    return { a, p, token };
  };

  app.get('/saml2/:app/continue', async (req, reply) => {
    const o = await openPending(req, reply, req.query);
    if (!o) return reply;
    return continueSignOn(req, reply, o.a, o.p);
  });

  // ---- the login step ----
  app.post('/saml2/:app/login', async (req, reply) => {
    const o = await openPending(req, reply, req.body);
    if (!o) return reply;
    const { a, p, token } = o;
    const login = field(req.body, 'login', 256);
    // A request that accepts a multi-factor sign-in only asks every user for a code ('always').
    const requireMfa = mfaOnly(p.request);
    const outcome = await core.auth.authenticate({
      protocol: 'saml',
      login,
      password: field(req.body, 'password', 4096),
      clientIp: req.ip,
      resource: requireMfa ? { ...applicationResource(a), mfa: 'always' } : applicationResource(a),
      issueChallenge: { ttlSeconds: d.loginTimeoutSeconds },
      audit: audit(a, p),
    });
    switch (outcome.status) {
      case 'ok':
        return signInAndAnswer(req, reply, a, outcome.user, outcome.mfa, p);
      case 'mfa_required': {
        if (!outcome.challenge) throw new Error('authenticate() opened no challenge');
        const s = sessionOf(req);
        await s.save({ ...dataOf(req), pendingMfa: { challenge: outcome.challenge.id, userId: outcome.user.id, purpose: 'saml', appId: a.id } });
        return showTotp(reply, a, token);
      }
      case 'not_authorized':
        return notAssigned(reply, a);
      case 'mfa_enrollment_required':
        if (p.request && requireMfa) {
          // Not the app's policy but the SP's request: the SP learns it cannot have MFA for this user.
          return sendError(req, reply, a, p, p.request, 'authn_context_unsatisfied', 'the application asked for multi-factor authentication and the user has no TOTP enrolled', { user: outcome.user, audited: true });
        }
        return enrolFirst(reply, a);
      case 'expired':
        return sendPage(
          reply,
          messagePage({ title: 'Password expired', message: 'Your password has expired.', detail: 'Sign in to the portal to choose a new one, then open the application again.', link: { href: '/', text: 'Go to the portal' } }),
          403,
        );
      default:
        // invalid, locked, disabled: one answer, so that the page tells nothing about the account.
        return showLogin(reply, a, token, { error: WRONG_CREDENTIALS, login }, 401);
    }
  });

  // ---- the TOTP step ----
  app.post('/saml2/:app/totp', async (req, reply) => {
    const o = await openPending(req, reply, req.body);
    if (!o) return reply;
    const { a, p, token } = o;
    const s = sessionOf(req);
    const data = dataOf(req);
    const pending = data.pendingMfa;
    if (!pending || pending.purpose !== 'saml' || pending.appId !== a.id) return showLogin(reply, a, token, { info: 'Please sign in again.' });
    const { pendingMfa: _, ...rest } = data;
    const outcome = await core.auth.completeMfa({
      protocol: 'saml',
      challenge: pending.challenge,
      otp: field(req.body, 'otp', 16).replace(/\s+/g, ''),
      clientIp: req.ip,
      resource: applicationResource(a),
      audit: audit(a, p),
    });
    if (outcome.status === 'ok') {
      await s.save(rest as Record<string, unknown>);
      return signInAndAnswer(req, reply, a, outcome.user, true, p);
    }
    if (outcome.status === 'mfa_invalid') {
      // The challenge is spent; a fresh one for the same proven password. Every wrong code counts
      // towards the lockout, so this allows no more guesses than signing in again would.
      const challenge = await core.sso.openChallenge(pending.userId, 'saml', applicationResource(a), d.loginTimeoutSeconds);
      await s.save({ ...rest, pendingMfa: { ...pending, challenge } });
      return showTotp(reply, a, token, outcome.reason === 'TOTP code already used' ? 'That code was already used. Wait for the next one.' : 'That code is not correct.');
    }
    await s.save(rest as Record<string, unknown>);
    if (outcome.status === 'not_authorized') return notAssigned(reply, a);
    return showLogin(reply, a, token, { error: outcome.status === 'invalid' ? 'This sign-in expired. Sign in again.' : WRONG_CREDENTIALS }, 401);
  });

}
