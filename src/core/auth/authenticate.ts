import { availableParallelism } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import type { AuditEventType, AuditInput, AuditService } from '../audit/event.js';
import type { AuditRecorder } from '../audit/recorder.js';
import { lockExpiredEvent, lockoutEvent } from '../audit/lockout-events.js';
import { lockoutPolicyOf, type LockoutPolicy } from '../directory/organization.js';
import type { OrganizationCache } from '../directory/organization-cache.js';
import type { AuthChallenge, AuthState, GraphToType, User, UserCredentials } from '../directory/types.js';
import type { Clock, Repositories, SecretBox, UserForAuth } from '../ports.js';
import type { CredentialCache } from './credential-cache.js';
import { lockStatus } from './lockout.js';
import { decideMfa, type MfaRequirement } from './mfa-policy.js';
import { MAX_PASSWORD_LENGTH, type PasswordHasher } from './password-hasher.js';
import { isPasswordExpired } from './password-policy.js';
import { verifyTotp } from './totp.js';
import { KeyedMutex } from './keyed-mutex.js';
import { createFairGate } from './fair-gate.js';
import { createEpochCache, UNTIMED_KEPT_MS, type EpochMark } from '../directory/epoch-cache.js';
import type { VersionWatch } from '../directory/version-watch.js';

export type AuthProtocol = 'ldap' | 'radius' | 'saml' | 'portal';

/**
 * The resource a user is authenticating to, with the policy it applies. Built by core from the
 * resource's record (see `resourcePolicies`), so adapters cannot forget a rule.
 */
export interface AuthResource {
  /** Resources in the graph need an association; the user portal does not. */
  type: GraphToType | 'user_portal';
  id: string;
  name: string;
  mfa: MfaRequirement;
  /** `allow`: a locked-out user still authenticates here (RADIUS "maintain"). */
  lockedUsers: 'deny' | 'allow';
  expiredPasswords: 'deny' | 'allow';
}

export interface AuthRequest {
  protocol: AuthProtocol;
  /** Username or email, as typed. */
  login: string;
  /** `username`: the login names a username only (an LDAP DN's uid), never an email. Default: either. */
  loginBy?: 'username' | 'username_or_email';
  password: string;
  /** A TOTP code given separately (a form field, a RADIUS challenge answer). */
  otp?: string;
  /**
   * The code may travel at the end of the password after this separator (`password;123456`: LDAP
   * TOTP-on-bind, RADIUS gear that cannot show a prompt). It is split off only when the user is
   * asked for a code, at the last separator, so a password that itself contains one still works.
   */
  otpInPassword?: string;
  /** On `mfa_required`, open a challenge in the store (RADIUS Access-Challenge State, SAML/portal step). */
  issueChallenge?: { ttlSeconds: number };
  clientIp: string;
  resource: AuthResource;
  /** Protocol fields merged into the audit event (dn, nas_ip, auth_type, application, …). */
  audit?: Record<string, unknown>;
  /**
   * Called once the user is authenticated, before the success is audited: the adapter prepares what
   * it will send (RADIUS: the reply attributes, an Access-Accept within 4096 octets). A reason means
   * it cannot deliver the success: the attempt is audited once, as a failure with that reason, and
   * answered `invalid`. Lockout is not touched (the credentials were right). Must not throw.
   */
  deliver?: (user: User, how: { mfa: boolean }) => Promise<string | null>;
}

export interface MfaRequest {
  protocol: AuthProtocol;
  /** The login the second round is sent under (RADIUS User-Name); must name the challenged user. */
  login?: string;
  /** The challenge id from the first round's `mfa_required` outcome; consumed by this call. */
  challenge: string;
  otp: string;
  clientIp: string;
  resource: AuthResource;
  audit?: Record<string, unknown>;
  /** As AuthRequest's. */
  deliver?: (user: User, how: { mfa: boolean }) => Promise<string | null>;
}

export type AuthFailure = 'invalid' | 'locked' | 'disabled' | 'expired' | 'not_authorized' | 'mfa_invalid' | 'mfa_enrollment_required';

/**
 * The outcome of an authentication. Adapters put every failure on the wire the same way; `reason`
 * is for the audit log and server logs only. `user` is present once the password was proven.
 */
export type AuthOutcome =
  | { status: 'ok'; user: User; mfa: boolean }
  | { status: 'mfa_required'; user: User; challenge?: AuthChallenge }
  | { status: AuthFailure; reason: string; user?: User };

export interface AuthPipelineDeps {
  store: { repos: Repositories; readonly commits?: number };
  /**
   * How long the account read of a successful authentication may serve the same login again at the
   * same resource (0: read every time). Writes committed here invalidate at once (see EpochCache).
   */
  revalidateMs?: number;
  /** Invalidation counter of cached directory reads (store commits plus lock changes). */
  epoch?: () => number;
  /**
   * Keeps account reads past revalidateMs while the directory version is unchanged, failure counts
   * included: the full watch, not its directoryOnly view (version-watch.ts).
   */
  versionWatch?: VersionWatch;
  /** Called when an account's lock starts or ends, so cached views (LDAP visibility) refresh. */
  onLockChange?: () => void;
  hasher: PasswordHasher;
  /**
   * Password checks run at once (the rest wait their turn by client address, see FairGate); by
   * default the number of cores, which bounds what they can do at once anyway, and leaves the
   * rest of the thread pool to the store's reads.
   */
  hashConcurrency?: number;
  cache: CredentialCache;
  secretBox: SecretBox;
  audit: AuditRecorder;
  clock: Clock;
  organization: OrganizationCache;
}

export interface AuthPipeline {
  authenticate(req: AuthRequest): Promise<AuthOutcome>;
  /** The second round of a challenge (RADIUS Access-Challenge, the SAML/portal TOTP step). */
  completeMfa(req: MfaRequest): Promise<AuthOutcome>;
}

const EVENT_OF: Record<AuthProtocol, { type: AuditEventType; service: AuditService }> = {
  ldap: { type: 'ldap_bind', service: 'ldap' },
  radius: { type: 'radius_auth_attempt', service: 'radius' },
  saml: { type: 'sso_auth', service: 'sso' },
  portal: { type: 'user_login_attempt', service: 'directory' },
};

/** Usernames are lower-case; logins are matched the same way whichever spelling the client sends. */
export function normaliseLogin(login: string): string {
  return login.normalize('NFC').trim().toLowerCase().slice(0, 256);
}

/** Stamps of account reads, computed once per read (a reused read keeps its stamp). */
const stamps = new WeakMap<UserCredentials, string>();

/** What a cached verification depended on; any change makes the cache miss. */
function credentialStamp(user: User, credentials: UserCredentials, state: AuthState): string {
  const known = stamps.get(credentials);
  if (known) return known;
  const stamp = computeStamp(user, credentials, state);
  stamps.set(credentials, stamp);
  return stamp;
}

/**
 * Failures for logins no account has are counted on one of a few rows that stand for no account
 * (never locked: lockout is off for them), chosen by the login. The point is the store write: a wrong
 * password for an account costs one (its failure count), and without the same write for an unknown
 * login, a failed bind answered about a millisecond sooner, which told whether the account exists.
 * The rows are bounded whatever logins are tried.
 */
const UNKNOWN_LOGIN_ROWS = 64;
const NO_LOCKOUT: LockoutPolicy = { maxAttempts: 0, lockoutSeconds: 0, resetCounterSeconds: 0 };

export function unknownLoginSubject(login: string): string {
  return `unknown-login:${createHash('sha256').update(login).digest().readUInt16BE(0) % UNKNOWN_LOGIN_ROWS}`;
}

function computeStamp(user: User, credentials: UserCredentials, state: AuthState): string {
  return createHash('sha256')
    .update(
      [
        credentials.passwordHash ?? '',
        user.state,
        state.lockedAt?.getTime() ?? '',
        user.totpEnrolled,
        user.enableUserPortalMultifactor,
        user.mfaExclusion,
        user.mfaExclusionUntil?.getTime() ?? '',
        user.passwordExpiredFlag,
      ].join('|'),
    )
    .digest('base64');
}

/**
 * Checks a TOTP code for an account and records its time step atomically, so that a code is
 * accepted once across protocols, concurrent requests and instances (RFC 6238 §5.2).
 */
export async function verifyAccountTotp(
  repos: Repositories,
  secretBox: SecretBox,
  subjectId: string,
  sealedSecret: string,
  code: string,
  now: Date,
): Promise<'ok' | 'invalid' | 'replayed'> {
  let secret: string;
  try {
    secret = secretBox.open(sealedSecret, `totp:${subjectId}`);
  } catch {
    return 'invalid';
  }
  const step = verifyTotp(secret, code, now);
  if (step === null) return 'invalid';
  return (await repos.authState.acceptTotpStep(subjectId, step)) ? 'ok' : 'replayed';
}

/**
 * The one authentication pipeline of every protocol (architecture.md, "One authentication
 * pipeline"). It never throws for bad credentials, writes exactly one audit event per call, and
 * spends one password verification whether or not the user exists.
 */
export function createAuthPipeline(d: AuthPipelineDeps): AuthPipeline {
  const repos = d.store.repos;
  const accountLocks = new KeyedMutex();
  const hashing = createFairGate(d.hashConcurrency ?? Math.max(2, availableParallelism()));
  /**
   * Account reads reused for repeated logins (Wi-Fi roams, apps re-binding). An entry also dies when
   * its account's lockout state moves here (`generation`), so a failure or a lock is seen at once.
   */
  const generation = new Map<string, number>();
  /** Moves on every bump: a request that read an account before a bump re-reads it under the lock. */
  let bumps = 0;
  const bump = (userId: string) => {
    bumps++;
    generation.set(userId, (generation.get(userId) ?? 0) + 1);
  };
  const snapshots = createEpochCache<{ found: UserForAuth; generation: number }>(d.revalidateMs ?? 0, 20_000, d.epoch ?? (() => d.store.commits ?? 0), {
    refreshAhead: true,
    // Lock and password age are judged from the snapshot at each use (settleLock, the checks below).
    maxKeptMs: UNTIMED_KEPT_MS,
    now: () => d.clock.now().getTime(),
    ...(d.versionWatch ? { watch: d.versionWatch } : {}),
  });
  /**
   * Account reads in flight, shared by the requests for the same login that arrive meanwhile, on
   * the terms a cached snapshot is used on (no commit and no lockout move since the read started).
   * Without it, when snapshots expire under load every request queues its own read of the same row.
   */
  const reads = new Map<string, { read: Promise<UserForAuth | null>; started: EpochMark; bumps: number }>();
  const keepSnapshot = (key: string, found: UserForAuth, readStarted: EpochMark) =>
    snapshots.set(key, { found, generation: generation.get(found.user.id) ?? 0 }, readStarted);

  const auditAuth = (
    req: { protocol: AuthProtocol; clientIp: string; resource: AuthResource; audit?: Record<string, unknown> },
    who: { id?: string; username: string },
    success: boolean,
    errorMessage: string,
    mfa: boolean,
    extra: Record<string, unknown> = {},
  ) => {
    const ev = EVENT_OF[req.protocol];
    // One object literal of a fixed shape, then the protocol fields: spreading optional parts into
    // a literal cost ~4x as much per event (V8 copies objects of varying shape the slow way), on
    // the path of every authentication.
    const input: AuditInput = {
      event_type: ev.type,
      service: ev.service,
      success,
      client_ip: req.clientIp,
      initiated_by: who.id ? { id: who.id, type: 'user', username: who.username } : { type: 'user', username: who.username },
      username: who.username,
      mfa,
    };
    if (errorMessage) input.error_message = errorMessage;
    if (req.resource.type !== 'user_portal') input.resource = { id: req.resource.id, type: req.resource.type, name: req.resource.name };
    // Protocol fields may add to the event but never replace what core decided; `extra` (core's
    // own additions, such as mfa_meta) wins over the protocol's.
    for (const k in extra) if (!(k in input)) input[k] = extra[k];
    if (req.audit) for (const k in req.audit) if (!(k in input)) input[k] = req.audit[k];
    d.audit.record(input);
  };

  const countFailure = async (user: User, policy: LockoutPolicy, clientIp: string) => {
    d.cache.invalidate(user.id);
    bump(user.id);
    const r = await repos.authState.recordFailure(user.id, d.clock.now(), policy);
    if (r.justLocked) {
      d.onLockChange?.();
      d.audit.record(lockoutEvent({ id: user.id, type: 'user', username: user.username }, clientIp, r.failedCount));
    }
  };

  /** Clears a timed lock that has run out; exactly one concurrent caller records `user_unlocked`. */
  const expireLock = async (user: User, state: AuthState, clientIp: string): Promise<AuthState> => {
    bump(user.id);
    d.onLockChange?.();
    if (state.lockedAt && (await repos.authState.unlock(user.id, state.lockedAt))) {
      d.audit.record(lockExpiredEvent({ id: user.id, type: 'user', username: user.username }, clientIp));
    }
    return { ...state, lockedAt: null, failedCount: 0 };
  };

  /** The lock as `state` shows it now; a timed lock that ran out is cleared (and recorded) here. */
  const settleLock = async (user: User, state: AuthState, policy: LockoutPolicy, clientIp: string): Promise<{ state: AuthState; lock: 'unlocked' | 'locked' }> => {
    const lock = lockStatus(state, policy, d.clock.now());
    if (lock !== 'lock_expired') return { state, lock };
    return { state: await expireLock(user, state, clientIp), lock: 'unlocked' };
  };

  /**
   * The checks that follow a proven password (or the first round of a challenge): account state,
   * password age, access, then MFA. Returns null to go on to MFA with `decision`.
   */
  const postPasswordChecks = async (
    user: User,
    resource: AuthResource,
    /** Already read with the user (authenticate); read now when unknown (completeMfa). */
    hasAccess?: boolean,
  ): Promise<{ status: AuthFailure; reason: string; user?: User } | null> => {
    const org = await d.organization.get();
    const now = d.clock.now();
    if (user.state !== 'ACTIVATED') return { status: 'disabled', reason: `user is ${user.state.toLowerCase()}` };
    if (resource.expiredPasswords === 'deny' && isPasswordExpired(user, org.settings.passwordPolicy, now)) {
      return { status: 'expired', reason: 'password expired', user };
    }
    if (resource.type !== 'user_portal' && !(hasAccess ?? (await repos.associations.userHasAccess(user.id, resource.type, resource.id)))) {
      return { status: 'not_authorized', reason: `user is not bound to ${resource.type} ${resource.name}`, user };
    }
    return null;
  };

  const checkOtp = async (user: User, otp: string, policy: LockoutPolicy, clientIp: string) => {
    const creds = await repos.users.getCredentials(user.id);
    if (!creds?.totpSecret) return 'invalid' as const;
    const r = await verifyAccountTotp(repos, d.secretBox, user.id, creds.totpSecret, otp, d.clock.now());
    if (r !== 'ok') await countFailure(user, policy, clientIp);
    return r;
  };

  /** A single-use, expiring challenge in the store, so that any instance can take the next round. */
  const openChallenge = async (user: User, req: AuthRequest, ttlSeconds: number): Promise<AuthChallenge> => {
    const now = d.clock.now();
    const challenge: AuthChallenge = {
      id: randomBytes(16).toString('hex'),
      subjectId: user.id,
      protocol: req.protocol,
      resourceType: req.resource.type,
      resourceId: req.resource.id,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000),
    };
    await repos.challenges.create(challenge);
    return challenge;
  };

  /** The success, unless the adapter cannot deliver it (AuthRequest.deliver); audited once either way. */
  const concludeSuccess = async (req: AuthRequest | MfaRequest, user: User, who: { id: string; username: string }, mfa: boolean): Promise<AuthOutcome> => {
    const extra = mfa ? { mfa_meta: { type: 'TOTP' } } : {};
    // A throwing hook must not skip the audit event: it counts as undeliverable.
    const undeliverable = req.deliver ? await req.deliver(user, { mfa }).catch((err: unknown) => `the success could not be delivered: ${err instanceof Error ? err.message : String(err)}`) : null;
    if (undeliverable) {
      auditAuth(req, who, false, undeliverable, mfa, extra);
      return { status: 'invalid', reason: undeliverable, user };
    }
    auditAuth(req, who, true, '', mfa, extra);
    return { status: 'ok', user, mfa };
  };

  const succeed = async (user: User, state: AuthState) => {
    // Write only on change: a success after no failures touches nothing in the store.
    if (state.failedCount > 0) {
      await repos.authState.clearFailures(user.id);
      bump(user.id);
    }
  };

  interface Prepared {
    found: UserForAuth;
    policy: LockoutPolicy;
    state: AuthState;
    lock: 'unlocked' | 'locked';
    decision: ReturnType<typeof decideMfa>;
    password: string;
    otp: string | undefined;
    stamp: string;
    cacheHit: boolean;
  }

  /** What an attempt is judged on: the account as read, the policy, and the password/code split. */
  const prepare = async (found: UserForAuth, req: AuthRequest, rawPassword: string): Promise<Prepared> => {
    const { user, credentials } = found;
    const org = await d.organization.get();
    const policy = lockoutPolicyOf(org.settings.passwordPolicy);
    const now = d.clock.now();
    const { state, lock } = await settleLock(user, found.authState, policy, req.clientIp);
    const decision = decideMfa(user, req.resource.mfa, now);
    let password = rawPassword;
    let otp = req.otp;
    if (req.otpInPassword && decision === 'ask' && (otp === undefined || otp === '')) {
      const at = password.lastIndexOf(req.otpInPassword);
      if (at >= 0 && /^\d{6}$/.test(password.slice(at + req.otpInPassword.length))) {
        otp = password.slice(at + req.otpInPassword.length);
        password = password.slice(0, at);
      }
    }
    const stamp = credentialStamp(user, credentials, state);
    const cacheHit = !!credentials.passwordHash && password !== '' && d.cache.hit(user.id, password, stamp);
    return { found, policy, state, lock, decision, password, otp, stamp, cacheHit };
  };

  const withCurrentState = async (p: Prepared, clientIp: string): Promise<Prepared> => ({
    ...p,
    ...(await settleLock(p.found.user, await repos.authState.get(p.found.user.id), p.policy, clientIp)),
  });

  /** Decides the outcome once the password has been checked (or found in the cache). */
  const finish = async (p: Prepared, req: AuthRequest, passwordOk: boolean): Promise<AuthOutcome> => {
    const { user, credentials } = p.found;
    const who = { id: user.id, username: user.username };
    if (p.lock === 'locked' && req.resource.lockedUsers === 'deny') {
      d.cache.invalidate(user.id);
      auditAuth(req, who, false, 'account locked', false);
      return { status: 'locked', reason: 'account locked' };
    }
    if (!passwordOk) {
      await countFailure(user, p.policy, req.clientIp);
      const reason = credentials.passwordHash ? 'invalid password' : 'password not set';
      auditAuth(req, who, false, reason, false);
      return { status: 'invalid', reason };
    }
    const refused = await postPasswordChecks(user, req.resource, p.found.hasAccess);
    if (refused) {
      auditAuth(req, who, false, refused.reason, false);
      return refused;
    }
    if (p.decision === 'enroll') {
      auditAuth(req, who, false, 'MFA enrolment required', false);
      return { status: 'mfa_enrollment_required', reason: 'MFA enrolment required', user };
    }
    if (p.decision === 'ask') {
      if (p.otp === undefined || p.otp === '') {
        d.cache.remember(user.id, p.password, p.stamp);
        auditAuth(req, who, false, 'MFA required', false, { mfa_meta: { status: 'challenged' } });
        const challenge = req.issueChallenge ? await openChallenge(user, req, req.issueChallenge.ttlSeconds) : undefined;
        return { status: 'mfa_required', user, ...(challenge ? { challenge } : {}) };
      }
      const r = await checkOtp(user, p.otp, p.policy, req.clientIp);
      if (r !== 'ok') {
        const reason = r === 'replayed' ? 'TOTP code already used' : 'invalid TOTP code';
        auditAuth(req, who, false, reason, false, { mfa_meta: { type: 'TOTP' } });
        return { status: 'mfa_invalid', reason, user };
      }
    }
    await succeed(user, p.state);
    if (!p.cacheHit) d.cache.remember(user.id, p.password, p.stamp);
    return concludeSuccess(req, user, who, p.decision === 'ask');
  };

  return {
    async authenticate(req) {
      const login = normaliseLogin(req.login);
      const rawPassword = req.password.length > MAX_PASSWORD_LENGTH ? '' : req.password;
      const accessTo = req.resource.type === 'user_portal' ? undefined : { type: req.resource.type, id: req.resource.id };
      // Usernames never contain "@": a username-only login with one names nobody.
      const usable = login !== '' && !(req.loginBy === 'username' && login.includes('@'));
      const lookup = () => (usable ? repos.users.findForAuth(login, accessTo) : Promise.resolve(null));
      const snapshotKey = `${req.resource.type}:${req.resource.id}:${req.loginBy ?? ''}:${login}`;
      // Taken before the read: lockout moves and commits that land while it is in flight make it
      // stale (it is re-read under the account lock, and not kept for reuse).
      const bumpsBefore = bumps;
      let readStarted = snapshots.mark();
      const peeked = snapshots.peek(snapshotKey);
      const snap = peeked && peeked.value.generation === (generation.get(peeked.value.found.user.id) ?? 0) ? peeked.value : undefined;
      let found: UserForAuth | null;
      if (snap && peeked?.fresh) found = snap.found;
      else if (!d.revalidateMs) found = await lookup();
      else {
        let pending = reads.get(snapshotKey);
        const join = pending && pending.started.epoch === readStarted.epoch && pending.bumps === bumpsBefore;
        if (!pending || !join) {
          const read = lookup().finally(() => {
            if (reads.get(snapshotKey)?.read === read) reads.delete(snapshotKey);
          });
          pending = { read, started: readStarted, bumps: bumpsBefore };
          reads.set(snapshotKey, pending);
        }
        if (snap) {
          // Past its freshness but within `revalidateMs`: served now, re-read meanwhile (see
          // EpochCache, refreshAhead), so that no request waits for the store on a hot login.
          found = snap.found;
          if (!join) {
            const { read, started, bumps: bumpsAtRead } = pending;
            read.then(
              (fresh) => {
                if (bumps !== bumpsAtRead) return;
                if (fresh) keepSnapshot(snapshotKey, fresh, started);
                else snapshots.delete(snapshotKey);
              },
              // Nobody may be waiting for this read; a failing store is met by the next request that must.
              () => undefined,
            );
          }
        } else {
          readStarted = pending.started;
          found = await pending.read;
        }
      }
      if (found && found !== snap?.found && bumps === bumpsBefore) {
        keepSnapshot(snapshotKey, found, readStarted);
      }
      if (!found) {
        // Guesses at an unknown login queue like guesses at an account, so that parallel attempts
        // take as long whether or not the user exists (security.md, uniform timing).
        return accountLocks.run(`login:${login}`, async () => {
          await hashing.run(req.clientIp, () => d.hasher.verifyDummy(rawPassword));
          await repos.authState.recordFailure(unknownLoginSubject(login), d.clock.now(), NO_LOCKOUT);
          auditAuth(req, { username: login }, false, 'user not found', false);
          return { status: 'invalid', reason: 'user not found' } as AuthOutcome;
        });
      }
      const first = await prepare(found, req, rawPassword);
      // A credential verified moments ago, with no code to check, needs no serialisation.
      if (first.cacheHit && first.decision !== 'ask' && bumps === bumpsBefore) return finish(first, req, true);
      // Everything that can be guessed (a password, a code) is checked one request at a time per
      // account, so that parallel guesses see each other's failures and the lock stops them at
      // the threshold (security.md item 8). A request that waited, or whose read may predate a
      // failure or a lock recorded meanwhile, re-reads the account.
      return accountLocks.run(found.user.id, async (waited) => {
        let p = first;
        if (waited || bumps !== bumpsBefore) {
          const fresh = await lookup();
          if (!fresh || fresh.user.id !== found.user.id) {
            auditAuth(req, { username: login }, false, 'user not found', false);
            return { status: 'invalid', reason: 'user not found' };
          }
          p = await prepare(fresh, req, rawPassword);
          if (p.cacheHit && p.decision !== 'ask') return finish(p, req, true);
        }
        let passwordOk = p.cacheHit;
        if (!p.cacheHit) {
          const hash = p.found.credentials.passwordHash;
          if (!hash || p.password === '') await hashing.run(req.clientIp, () => d.hasher.verifyDummy(p.password));
          else passwordOk = await hashing.run(req.clientIp, () => d.hasher.verify(hash, p.password));
          // A password proven right is judged on the account's lockout state as it is now: another
          // instance may have locked the account, or counted failures, since this one read it (its
          // snapshot may be `revalidateMs` old). One read per argon2id check, none on cache hits.
          if (passwordOk) p = await withCurrentState(p, req.clientIp);
        }
        return finish(p, req, passwordOk);
      });
    },

    async completeMfa(req) {
      const c = req.challenge ? await repos.challenges.consume(req.challenge, d.clock.now()) : null;
      if (!c || c.protocol !== req.protocol || c.resourceType !== req.resource.type || c.resourceId !== req.resource.id) {
        // The name the client gave (RADIUS User-Name), so that the trail can attribute the attempt.
        const claimed = normaliseLogin(req.login ?? '');
        auditAuth(req, { username: claimed }, false, c ? 'challenge for another resource' : 'unknown or expired challenge', false);
        return { status: 'invalid', reason: 'unknown or expired challenge' };
      }
      const user = await repos.users.get(c.subjectId);
      if (!user) {
        auditAuth(req, { id: c.subjectId, username: normaliseLogin(req.login ?? '') }, false, 'user not found', false);
        return { status: 'invalid', reason: 'user not found' };
      }
      const who = { id: user.id, username: user.username };
      // The second round answers for the first round's login (RADIUS User-Name): another name is refused.
      if (req.login !== undefined && ![user.username, user.email].includes(normaliseLogin(req.login))) {
        auditAuth(req, who, false, 'challenge answered for another user', false);
        return { status: 'invalid', reason: 'challenge answered for another user' };
      }
      // Codes are checked one at a time per account, as in authenticate().
      return accountLocks.run(user.id, async () => {
        const org = await d.organization.get();
        const policy = lockoutPolicyOf(org.settings.passwordPolicy);
        const { state, lock } = await settleLock(user, await repos.authState.get(user.id), policy, req.clientIp);
        if (lock === 'locked' && req.resource.lockedUsers === 'deny') {
          auditAuth(req, who, false, 'account locked', false);
          return { status: 'locked', reason: 'account locked' } as AuthOutcome;
        }
        const refused = await postPasswordChecks(user, req.resource);
        if (refused) {
          auditAuth(req, who, false, refused.reason, false);
          return refused;
        }
        const r = await checkOtp(user, req.otp, policy, req.clientIp);
        if (r !== 'ok') {
          const reason = r === 'replayed' ? 'TOTP code already used' : 'invalid TOTP code';
          auditAuth(req, who, false, reason, false, { mfa_meta: { type: 'TOTP' } });
          return { status: 'mfa_invalid', reason, user } as AuthOutcome;
        }
        await succeed(user, state);
        return concludeSuccess(req, user, who, true);
      });
    },
  };
}
