import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import { userPortalResource } from '../../core/auth/resources.js';
import type { User } from '../../core/directory/types.js';
import { isDomainError } from '../../core/errors.js';
import { trustedHtml } from '../plugins/html.js';
import { dataOf, displayName, selfActor, sendPage, sessionOf, type UserSessionData, type UserWebDeps } from './context.js';
import { field } from '../form-fields.js';
import { homePage, loginPage, mfaPage, passwordPage, totpPage } from './views.js';

const WRONG_CREDENTIALS = 'The username or password is not correct.';

/**
 * The user portal at `/`: sign-in (the same pipeline as every protocol, TOTP when the user's
 * policy asks for it), the tiles of the user's SAML apps, password change under the policy, TOTP
 * enrolment, and the enrolment grace period of "Require User MFA" (forced enrolment after it).
 */
export function registerPortalRoutes(app: FastifyInstance, d: UserWebDeps): void {
  const { core } = d;

  /** The signed-in user, or null after signing out a session whose user is gone. */
  const currentUser = async (req: FastifyRequest): Promise<User | null> => {
    const s = sessionOf(req);
    if (!s.subjectId) return null;
    try {
      const u = await core.users.get(s.subjectId);
      if (u.state === 'ACTIVATED') return u;
    } catch (err) {
      if (!isDomainError(err)) throw err;
    }
    await s.signOut();
    return null;
  };

  const showLogin = (reply: FastifyReply, extra: { error?: string; login?: string; info?: string } = {}, status = 200) =>
    sendPage(reply, loginPage({ csrf: reply.generateCsrf(), action: '/login', ...extra }), status);

  /** Starts the signed-in session (a new token), restricted when the user must enrol or change an expired password. */
  const signIn = async (req: FastifyRequest, user: User, mfa: boolean, stage?: 'enroll') => {
    const status = await core.users.status(user);
    const data: UserSessionData = {
      mfa,
      authTime: new Date().toISOString(),
      sessionIndex: randomBytes(16).toString('hex'),
      ...(stage ? { stage } : status.passwordExpired ? { stage: 'password' as const } : {}),
    };
    await sessionOf(req).signIn(user.id, data as Record<string, unknown>);
  };

  app.get('/', async (req, reply) => {
    const user = await currentUser(req);
    if (!user) return showLogin(reply);
    const data = dataOf(req);
    if (data.stage === 'enroll') return reply.redirect('/mfa', 303);
    if (data.stage === 'password') return reply.redirect('/password', 303);
    const apps = (await core.sso.appsForUser(user.id)).map((a) => ({ name: a.name, label: a.displayLabel }));
    const status = await core.users.status(user);
    const notice =
      !user.totpEnrolled && user.enableUserPortalMultifactor && status.mfaInGracePeriod && user.mfaExclusionUntil
        ? {
            kind: 'info' as const,
            text: `Your organisation requires two-step verification. Set it up before ${user.mfaExclusionUntil.toUTCString()}.`,
            link: { href: '/mfa', text: 'Set it up now' },
          }
        : undefined;
    return sendPage(reply, homePage({ user: displayName(user), csrf: reply.generateCsrf(), apps, ...(notice ? { notice } : {}) }));
  });

  app.get('/login', async (_req, reply) => reply.redirect('/', 303));

  app.post('/login', async (req, reply) => {
    const login = field(req.body, 'login', 256);
    const outcome = await core.auth.authenticate({
      protocol: 'portal',
      login,
      password: field(req.body, 'password', 4096),
      clientIp: req.ip,
      resource: userPortalResource,
      issueChallenge: { ttlSeconds: d.loginTimeoutSeconds },
    });
    switch (outcome.status) {
      case 'ok':
        await signIn(req, outcome.user, outcome.mfa);
        return reply.redirect('/', 303);
      case 'mfa_required':
        if (!outcome.challenge) throw new Error('authenticate() opened no challenge');
        await sessionOf(req).save({ pendingMfa: { challenge: outcome.challenge.id, userId: outcome.user.id, purpose: 'portal' } });
        return reply.redirect('/login/totp', 303);
      case 'mfa_enrollment_required':
        // The password is proven and the grace period is over: a session that can only enrol.
        if (!outcome.user) return showLogin(reply, { error: WRONG_CREDENTIALS, login }, 401);
        await signIn(req, outcome.user, false, 'enroll');
        return reply.redirect('/mfa', 303);
      default:
        return showLogin(reply, { error: WRONG_CREDENTIALS, login }, 401);
    }
  });

  const showTotp = (reply: FastifyReply, error?: string) =>
    sendPage(reply, totpPage({ csrf: reply.generateCsrf(), action: '/login/totp', ...(error ? { error } : {}) }), error ? 401 : 200);

  app.get('/login/totp', async (req, reply) => {
    const p = dataOf(req).pendingMfa;
    if (!p || p.purpose !== 'portal') return reply.redirect('/', 303);
    return showTotp(reply);
  });

  app.post('/login/totp', async (req, reply) => {
    const s = sessionOf(req);
    const data = dataOf(req);
    const p = data.pendingMfa;
    if (!p || p.purpose !== 'portal') return reply.redirect('/', 303);
    const outcome = await core.auth.completeMfa({
      protocol: 'portal',
      challenge: p.challenge,
      otp: field(req.body, 'otp', 16).replace(/\s+/g, ''),
      clientIp: req.ip,
      resource: userPortalResource,
    });
    if (outcome.status === 'ok') {
      await signIn(req, outcome.user, true);
      return reply.redirect('/', 303);
    }
    if (outcome.status === 'mfa_invalid') {
      const challenge = await core.sso.openChallenge(p.userId, 'portal', userPortalResource, d.loginTimeoutSeconds);
      await s.save({ ...data, pendingMfa: { ...p, challenge } });
      return showTotp(reply, outcome.reason === 'TOTP code already used' ? 'That code was already used. Wait for the next one.' : 'That code is not correct.');
    }
    await s.signOut();
    return showLogin(reply, { error: outcome.status === 'invalid' ? 'This sign-in expired. Sign in again.' : WRONG_CREDENTIALS }, 401);
  });

  app.post('/logout', async (req, reply) => {
    await sessionOf(req).signOut();
    return reply.redirect('/', 303);
  });

  // ---- password ----
  const policyRules = async (): Promise<string[]> => {
    const p = (await core.organization.get()).settings.passwordPolicy;
    return [
      ...(p.enableMinLength ? [`At least ${p.minLength} characters`] : []),
      ...(p.needsUppercase ? ['An uppercase letter'] : []),
      ...(p.needsLowercase ? ['A lowercase letter'] : []),
      ...(p.needsNumeric ? ['A digit'] : []),
      ...(p.needsSymbolic ? ['A symbol'] : []),
      ...(!p.allowUsernameSubstring ? ['Not containing your username'] : []),
      ...(p.enableMaxHistory && p.maxHistory > 0 ? [`Not one of your last ${p.maxHistory} passwords`] : []),
    ];
  };

  app.get('/password', async (req, reply) => {
    const user = await currentUser(req);
    if (!user) return reply.redirect('/', 303);
    if (dataOf(req).stage === 'enroll') return reply.redirect('/mfa', 303);
    return sendPage(reply, passwordPage({ user: displayName(user), csrf: reply.generateCsrf(), rules: await policyRules(), forced: dataOf(req).stage === 'password' }));
  });

  app.post('/password', async (req, reply) => {
    const user = await currentUser(req);
    if (!user) return reply.redirect('/', 303);
    const data = dataOf(req);
    if (data.stage === 'enroll') return reply.redirect('/mfa', 303);
    const page = async (extra: { error?: string; done?: boolean }, status = 200) =>
      sendPage(reply, passwordPage({ user: displayName(user), csrf: reply.generateCsrf(), rules: await policyRules(), forced: dataOf(req).stage === 'password', ...extra }), status);
    const current = field(req.body, 'current', 4096);
    const next = field(req.body, 'new', 4096);
    if (next !== field(req.body, 'confirm', 4096)) return page({ error: 'The two new passwords are not the same.' }, 400);
    if (next === '') return page({ error: 'Enter a new password.' }, 400);
    // The current password is checked by the pipeline (lockout counts a wrong one). A user asked for
    // a code has proven the password: the code was proven at sign-in.
    const check = await core.auth.authenticate({ protocol: 'portal', login: user.username, password: current, clientIp: req.ip, resource: userPortalResource });
    if (!(check.status === 'ok' || check.status === 'mfa_required') || check.user.id !== user.id) {
      return page({ error: 'The current password is not correct.' }, 401);
    }
    try {
      await core.users.setPassword(user.id, next, selfActor(user, req));
    } catch (err) {
      if (isDomainError(err) && err.kind === 'invalid') return page({ error: `The new ${err.message}.` }, 400);
      throw err;
    }
    const { stage: _, ...rest } = data;
    await sessionOf(req).save(rest as Record<string, unknown>);
    await sessionOf(req).endOtherSessions();
    return page({ done: true });
  });

  // ---- TOTP enrolment ----
  const mfaDeadline = (u: User) => (u.enableUserPortalMultifactor && u.mfaExclusion && u.mfaExclusionUntil ? u.mfaExclusionUntil.toUTCString() : undefined);

  app.get('/mfa', async (req, reply) => {
    const user = await currentUser(req);
    if (!user) return reply.redirect('/', 303);
    const forced = dataOf(req).stage === 'enroll';
    if (user.totpEnrolled) return sendPage(reply, mfaPage({ user: displayName(user), csrf: reply.generateCsrf(), enrolled: true }));
    const { secret, uri } = await core.users.beginTotpEnrolment(user.id);
    const qrSvg = trustedHtml(await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 }));
    const deadline = forced ? undefined : mfaDeadline(user);
    return sendPage(
      reply,
      mfaPage({ user: displayName(user), csrf: reply.generateCsrf(), enrolled: false, forced, ...(deadline ? { deadline } : {}), enrolment: { qrSvg, secret, uri } }),
    );
  });

  app.post('/mfa', async (req, reply) => {
    const user = await currentUser(req);
    if (!user) return reply.redirect('/', 303);
    const data = dataOf(req);
    if (user.totpEnrolled) return reply.redirect('/mfa', 303);
    const code = field(req.body, 'otp', 16).replace(/\s+/g, '');
    const ok = /^\d{6}$/.test(code) && (await core.users.confirmTotpEnrolment(user.id, code, selfActor(user, req)));
    if (!ok) {
      return sendPage(
        reply,
        mfaPage({ user: displayName(user), csrf: reply.generateCsrf(), enrolled: false, forced: data.stage === 'enroll', error: 'That code is not correct. Check the time on your device and try the next code.' }),
        400,
      );
    }
    // The code just proved the new factor: this session has done MFA.
    const { stage, ...rest } = data;
    await sessionOf(req).save({ ...rest, mfa: true, ...(stage === 'password' ? { stage } : {}) } as Record<string, unknown>);
    return reply.redirect('/', 303);
  });
}
