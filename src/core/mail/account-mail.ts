import { createHash, randomBytes } from 'node:crypto';
import { auditContext, type ActorContext } from '../access/actor.js';
import type { AuditRecorder } from '../audit/recorder.js';
import type { PasswordHasher } from '../auth/password-hasher.js';
import { checkPasswordHistory, checkPasswordRules } from '../auth/password-policy.js';
import type { OrganizationCache } from '../directory/organization-cache.js';
import type { User } from '../directory/types.js';
import type { UserService } from '../directory/users.js';
import { DomainError, invalid, isDomainError } from '../errors.js';
import type { Clock, ConsoleRepositories, Logger, PasswordTokenRecord, SecretBox, Store } from '../ports.js';
import type { WebSessionService } from '../sso/web-sessions.js';
import {
  parseSmtpFields,
  SMTP_PASSWORD_CONTEXT,
  type SmtpSettings,
  type SmtpSettingsFields,
  type SmtpSettingsView,
  type StoredSmtpSettings,
} from './smtp-settings.js';
import type { MailMessage, MailTransport } from './smtp-transport.js';

export interface AccountMailDeps {
  store: Store;
  repos: ConsoleRepositories;
  secretBox: SecretBox;
  clock: Clock;
  log: Logger;
  audit: AuditRecorder;
  organization: OrganizationCache;
  hasher: PasswordHasher;
  users: UserService;
  webSessions?: WebSessionService;
  transport: MailTransport;
  /** External base URL of the HTTP endpoint, for the links (read per message: port 0 is known late). */
  publicUrl: () => string;
  /** SMTP settings from the configuration file, used until an admin saves others in Settings. */
  defaults: SmtpSettings;
  /** How long a link stays valid. */
  linkHours: { activation: number; reset: number };
}

/** Where a password-set link leads (served by the HTTP adapter, no session needed). */
export const SET_PASSWORD_PATH = '/account/set-password';

/** What "Resend Email" did for one user. */
export type ResendOutcome =
  | { status: 'sent'; purpose: 'activation' | 'reset' }
  | { status: 'skipped'; reason: string };

export type RedeemOutcome =
  | { status: 'ok'; user: User; purpose: 'activation' | 'reset' }
  | { status: 'invalid_link' }
  | { status: 'rejected'; message: string };

const SETTINGS_KEY = 'smtp';

export const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The user's name as a greeting. */
const greetingName = (u: User) => u.firstname || u.displayname || u.username;

/**
 * Activation and reset emails, and the one-time links in them. "Resend Email" semantics
 * (JumpCloud's): a user whose password is still pending gets an activation email, an active user
 * a password reset email, a staged or suspended user nothing. A link is 32 random bytes; the store
 * keeps only its SHA-256; a new link replaces the user's older ones; redeeming one sets the password
 * under the organisation's policy and consumes it atomically.
 */
export function createAccountMailService(d: AccountMailDeps) {
  const loadStored = async (): Promise<StoredSmtpSettings | null> => {
    const raw = await d.repos.settings.get(SETTINGS_KEY);
    return raw ? (raw as unknown as StoredSmtpSettings) : null;
  };

  /** The settings in force, with the password opened (for the transport only). */
  const effective = async (): Promise<SmtpSettings & { source: 'settings' | 'config' }> => {
    const s = await loadStored();
    if (!s) return { ...d.defaults, source: 'config' };
    let password = '';
    if (s.sealedPassword) {
      try {
        password = d.secretBox.open(s.sealedPassword, SMTP_PASSWORD_CONTEXT);
      } catch {
        d.log.error({}, 'the stored SMTP password cannot be opened with this instance\'s secret key');
      }
    }
    return { host: s.host, port: s.port, security: s.security, username: s.username, password, from: s.from, source: 'settings' };
  };

  const deliver = async (message: MailMessage) => {
    const s = await effective();
    if (!s.host) throw new DomainError('unavailable', 'mail.not_configured', 'email is not configured: set an SMTP server in Settings');
    try {
      await d.transport.send(s, message);
    } catch (err) {
      d.log.warn({ err: String(err), to: message.to }, 'email could not be sent');
      const why = err instanceof Error ? err.message.replace(/\s+/g, ' ').slice(0, 200) : 'unknown error';
      throw new DomainError('unavailable', 'mail.send_failed', `the SMTP server did not accept the message (${why})`);
    }
  };

  const issueLink = async (user: User, purpose: 'activation' | 'reset'): Promise<string> => {
    const token = randomBytes(32).toString('base64url');
    const now = d.clock.now();
    const hours = purpose === 'activation' ? d.linkHours.activation : d.linkHours.reset;
    await d.repos.passwordTokens.deleteForUser(user.id);
    await d.repos.passwordTokens.create({ idHash: tokenHash(token), userId: user.id, purpose, createdAt: now, expiresAt: new Date(now.getTime() + hours * 3_600_000) });
    return `${d.publicUrl().replace(/\/+$/, '')}${SET_PASSWORD_PATH}?token=${token}`;
  };

  const compose = async (user: User, purpose: 'activation' | 'reset', link: string): Promise<MailMessage> => {
    const org = await d.organization.get();
    const hours = purpose === 'activation' ? d.linkHours.activation : d.linkHours.reset;
    const validity = hours % 24 === 0 ? `${hours / 24} day${hours === 24 ? '' : 's'}` : `${hours} hours`;
    const name = greetingName(user);
    const intro =
      purpose === 'activation'
        ? `Your ${org.displayName} account "${user.username}" is ready. Choose a password to activate it.`
        : `A password reset was requested for your ${org.displayName} account "${user.username}". Choose a new password.`;
    const action = purpose === 'activation' ? 'Activate your account' : 'Reset your password';
    const subject = purpose === 'activation' ? `Activate your ${org.displayName} account` : `Reset your ${org.displayName} password`;
    const ignore = purpose === 'reset' ? 'If you did not expect this email, ignore it: your password stays as it is.' : 'If you did not expect this email, ignore it.';
    return {
      to: user.email,
      subject,
      text: `Hello ${name},\n\n${intro}\n\n${action}: ${link}\n\nThe link works once and expires in ${validity}.\n${ignore}\n`,
      html: `<!doctype html><html><body style="font-family:system-ui,sans-serif;color:#1b2430">
<p>Hello ${esc(name)},</p><p>${esc(intro)}</p>
<p><a href="${esc(link)}" style="display:inline-block;background:#0b5cad;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">${esc(action)}</a></p>
<p style="color:#4a5565">The link works once and expires in ${esc(validity)}. ${esc(ignore)}</p>
<p style="color:#4a5565;font-size:12px">Or copy this address into your browser: ${esc(link)}</p></body></html>`,
    };
  };

  const send = async (user: User, purpose: 'activation' | 'reset') => {
    const link = await issueLink(user, purpose);
    try {
      await deliver(await compose(user, purpose, link));
    } catch (err) {
      // A link that was never delivered must not stay usable.
      await d.repos.passwordTokens.deleteForUser(user.id);
      throw err;
    }
  };

  /** The token's record if the link is usable now. */
  const lookup = async (token: unknown): Promise<{ record: PasswordTokenRecord; user: User } | null> => {
    if (typeof token !== 'string' || !TOKEN.test(token)) return null;
    const record = await d.repos.passwordTokens.find(tokenHash(token), d.clock.now());
    if (!record) return null;
    try {
      const user = await d.users.get(record.userId);
      // A password set since the link was issued voids it (the change also deletes links; this
      // holds if that delete was lost).
      if (user.passwordChangedAt && user.passwordChangedAt.getTime() > record.createdAt.getTime()) return null;
      return user.state === 'ACTIVATED' ? { record, user } : null;
    } catch (err) {
      if (isDomainError(err)) return null;
      throw err;
    }
  };

  return {
    /** The SMTP settings in force, for the Settings page (never the password). */
    async smtpSettings(): Promise<SmtpSettingsView> {
      const { password, ...rest } = await effective();
      return { ...rest, hasPassword: password !== '' };
    },

    /** Is email configured (a host set)? */
    async enabled(): Promise<boolean> {
      return (await effective()).host !== '';
    },

    /** Saves the SMTP settings (password sealed; an empty password keeps the stored one). */
    async updateSmtpSettings(f: SmtpSettingsFields, ctx: ActorContext): Promise<SmtpSettingsView> {
      const parsed = parseSmtpFields(f);
      const before = await effective();
      let sealedPassword = '';
      const given = typeof f.password === 'string' ? f.password : '';
      if (given.length > 512) throw invalid('smtp.password', 'must be at most 512 characters');
      const clear = f.clearPassword === true || f.clearPassword === 'on' || f.clearPassword === 'true';
      const password = clear ? '' : given || before.password;
      if (password) sealedPassword = d.secretBox.seal(password, SMTP_PASSWORD_CONTEXT);
      const stored: StoredSmtpSettings = { ...parsed, sealedPassword };
      await d.repos.settings.put(SETTINGS_KEY, stored as unknown as Record<string, unknown>, d.clock.now());
      const org = await d.organization.get();
      const changes = (['host', 'port', 'security', 'username', 'from'] as const)
        .filter((k) => before[k] !== parsed[k])
        .map((k) => ({ field: `smtp.${k}`, from: before[k], to: parsed[k] }));
      if (password !== before.password) changes.push({ field: 'smtp.password', from: '[redacted]', to: '[redacted]' });
      if (changes.length > 0) {
        await d.store.transaction((tx) =>
          d.audit.recordIn(tx, {
            event_type: 'organization_update',
            service: 'directory',
            success: true,
            ...auditContext(ctx),
            resource: { id: org.id, type: 'organization', name: org.displayName },
            changes,
          }),
        );
      }
      const { password: _p, ...view } = { ...parsed, password, source: 'settings' as const };
      return { ...view, hasPassword: password !== '' };
    },

    /** Sends a test message to check the relay. */
    async sendTest(to: unknown): Promise<void> {
      const address = typeof to === 'string' ? to.trim() : '';
      if (!/^[^\s@<>]+@[^\s@<>]+$/.test(address)) throw invalid('to', 'must be an email address');
      const org = await d.organization.get();
      await deliver({
        to: address,
        subject: `Gatehouse test email (${org.displayName})`,
        text: 'This is a test email from the Gatehouse admin console. Email delivery works.\n',
        html: '<!doctype html><html><body style="font-family:system-ui,sans-serif"><p>This is a test email from the Gatehouse admin console. Email delivery works.</p></body></html>',
      });
    },

    /** An activation email with a link to choose a first password. */
    sendActivation: (user: User) => send(user, 'activation'),
    /** A password reset email with a link to choose a new password. */
    sendReset: (user: User) => send(user, 'reset'),

    /** "Resend Email" for one user, with JumpCloud's semantics (see above). */
    async resendEmail(userId: string): Promise<ResendOutcome> {
      const user = await d.users.get(userId);
      if (user.state === 'STAGED') return { status: 'skipped', reason: 'staged users get no email until they are activated' };
      if (user.state === 'SUSPENDED') return { status: 'skipped', reason: 'suspended users get no email' };
      const purpose = user.hasPassword ? 'reset' : 'activation';
      await send(user, purpose);
      return { status: 'sent', purpose };
    },

    /** Whom a link is for, if it is still usable (the set-password page shows the username). */
    async checkLink(token: unknown): Promise<{ user: User; purpose: 'activation' | 'reset' } | null> {
      const found = await lookup(token);
      return found ? { user: found.user, purpose: found.record.purpose } : null;
    },

    /**
     * Sets the password through a link: checked against the policy first (so a rejected password
     * leaves the link usable), then the link is consumed atomically (two tabs cannot both use it),
     * then the password is set and the user's other sessions end.
     */
    async redeem(token: unknown, password: string, clientIp: string): Promise<RedeemOutcome> {
      const found = await lookup(token);
      if (!found) return { status: 'invalid_link' };
      const { user } = found;
      const org = await d.organization.get();
      const creds = await d.store.repos.users.getCredentials(user.id);
      const history = [...(creds?.passwordHash ? [creds.passwordHash] : []), ...(creds?.passwordHistory ?? [])];
      const violations = [
        ...checkPasswordRules(password, org.settings.passwordPolicy, user.username),
        ...(await checkPasswordHistory(password, org.settings.passwordPolicy, history, d.hasher)),
      ];
      if (violations.length > 0) return { status: 'rejected', message: `The password ${violations.map((x) => x.message).join('; ')}.` };
      const consumed = await d.repos.passwordTokens.consume(found.record.idHash, d.clock.now());
      if (!consumed) return { status: 'invalid_link' };
      const ctx: ActorContext = { actor: { id: user.id, type: 'user', username: user.username }, clientIp, authMethod: 'session' };
      try {
        const updated = await d.users.setPassword(user.id, password, ctx);
        await d.webSessions?.endAllFor('user', user.id);
        return { status: 'ok', user: updated, purpose: consumed.purpose };
      } catch (err) {
        if (isDomainError(err) && err.kind === 'invalid') return { status: 'rejected', message: `The ${err.message}.` };
        throw err;
      }
    },

    /** Deletes expired links; run periodically. */
    purgeExpired: () => d.repos.passwordTokens.purgeExpired(d.clock.now()),
  };
}

export type AccountMailService = ReturnType<typeof createAccountMailService>;
