import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, before, beforeEach, describe, it } from 'mocha';
import type { AuditEvent, AuditEventType } from '../../src/core/audit/event.js';
import { createAuditRecorder, type AuditRecorder } from '../../src/core/audit/recorder.js';
import { createAuthPipeline, normaliseLogin, type AuthOutcome, type AuthPipeline, type AuthProtocol, type AuthRequest, type AuthResource } from '../../src/core/auth/authenticate.js';
import { createCredentialCache, type CredentialCache } from '../../src/core/auth/credential-cache.js';
import { createPasswordHasher, MAX_PASSWORD_LENGTH, type PasswordHasher } from '../../src/core/auth/password-hasher.js';
import { applicationResource, ldapServerResource, radiusServerResource, userPortalResource } from '../../src/core/auth/resources.js';
import { createSecretBox } from '../../src/core/auth/secret-box.js';
import { systemActor } from '../../src/core/access/actor.js';
import { createOrganizationCache, type OrganizationCache } from '../../src/core/directory/organization-cache.js';
import { DEFAULT_ORG_SETTINGS, DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from '../../src/core/directory/organization.js';
import type { Application, LdapServer, RadiusServer, User } from '../../src/core/directory/types.js';
import { createUserService } from '../../src/core/directory/users.js';
import type { Logger, SecretBox, Store } from '../../src/core/ports.js';
import { newId } from '../../src/util/ids.js';
import { createFakeClock, type FakeClock } from '../helpers/fake-clock.js';
import { allAuditEvents, createMemoryStore } from '../helpers/memory-store.js';
import { base32Decode, base32Encode, totpAtStep } from '../helpers/rfc6238.js';

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

const PASSWORD = 'correct horse battery staple';
const OTHER_PASSWORD = 'Tr0ub4dor&3-but-longer';
const DAY = 86_400_000;

/** The OWASP minimum argon2id cost: the least the hasher is ever configured with. */
const realHasher = createPasswordHasher({ memoryKiB: 19456, iterations: 2, parallelism: 1 });
/** Hashes computed once for the whole file (each costs an argon2id run). */
let passwordHash = '';
let otherPasswordHash = '';

before(async () => {
  [passwordHash, otherPasswordHash] = await Promise.all([realHasher.hash(PASSWORD), realHasher.hash(OTHER_PASSWORD)]);
});

const silentLog: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface HasherCalls {
  hash: number;
  verify: number;
  verifyDummy: number;
  /** Most dummy verifications that ran at the same time. */
  dummyPeak: number;
}

/** The real hasher, counting its calls. */
function countingHasher(inner: PasswordHasher): { hasher: PasswordHasher; calls: HasherCalls } {
  const calls: HasherCalls = { hash: 0, verify: 0, verifyDummy: 0, dummyPeak: 0 };
  let dummyRunning = 0;
  return {
    calls,
    hasher: {
      hash: (p) => {
        calls.hash += 1;
        return inner.hash(p);
      },
      verify: (h, p) => {
        calls.verify += 1;
        return inner.verify(h, p);
      },
      verifyDummy: async (p) => {
        calls.verifyDummy += 1;
        calls.dummyPeak = Math.max(calls.dummyPeak, ++dummyRunning);
        try {
          return await inner.verifyDummy(p);
        } finally {
          dummyRunning -= 1;
        }
      },
    },
  };
}

interface Env {
  store: Store;
  clock: FakeClock;
  hasher: PasswordHasher;
  calls: HasherCalls;
  cache: CredentialCache;
  audit: AuditRecorder;
  organization: OrganizationCache;
  secretBox: SecretBox;
  pipeline: AuthPipeline;
  orgId: string;
  ldapServer: LdapServer;
  radiusServer: RadiusServer;
  radiusMaintain: RadiusServer;
  app: Application;
  ldap: AuthResource;
  radius: AuthResource;
  /** A RADIUS server whose lockout and expiry actions are "maintain" (locked/expired users pass). */
  radiusLenient: AuthResource;
  saml: AuthResource;
  /** Sets the organisation's password policy (seen by the next authentication). */
  setPolicy(p: Partial<PasswordPolicy>): Promise<void>;
  /** Creates a user (active, with PASSWORD, bound to every resource of the fixture unless told otherwise). */
  addUser(o?: UserOptions): Promise<User>;
  /** TOTP code of a user's seed for the step `delta` steps from now. */
  code(user: User, delta?: number): string;
  auth(login: string, password: string, extra?: Partial<AuthRequest>): Promise<AuthOutcome>;
  events(): Promise<AuditEvent[]>;
}

interface UserOptions extends Partial<User> {
  /** The password hash to store; null for "password pending". */
  hash?: string | null;
  /** Enrol TOTP with a fresh seed. */
  totp?: boolean;
  /** Resources to associate the user with directly (default: all of the fixture's). */
  bindTo?: AuthResource[];
}

const LOCKOUT_OFF: Partial<PasswordPolicy> = { enableMaxLoginAttempts: false };

async function setup(
  policy: Partial<PasswordPolicy> = LOCKOUT_OFF,
  o: { cacheTtlSeconds?: number; revalidateMs?: number; epoch?: () => number } = {},
): Promise<Env> {
  const clock = createFakeClock();
  const store = createMemoryStore({ clock });
  const { hasher, calls } = countingHasher(realHasher);
  const cache = createCredentialCache(o.cacheTtlSeconds ?? 300, 1000, clock);
  const orgId = newId(clock.ms());
  const audit = createAuditRecorder({
    repo: store.repos.audit,
    clock,
    log: silentLog,
    organizationId: () => orgId,
    flushIntervalMs: 60_000,
    batchSize: 100_000,
    maxQueue: 100_000,
  });
  // TTL 0: every authentication reads the policy as it is in the store now.
  const organization = createOrganizationCache(store.repos.organizations, 0);
  const secretBox = createSecretBox(randomBytes(32));
  const pipeline = createAuthPipeline({
    store,
    hasher,
    cache,
    secretBox,
    audit,
    clock,
    organization,
    ...(o.revalidateMs ? { revalidateMs: o.revalidateMs } : {}),
    ...(o.epoch ? { epoch: o.epoch } : {}),
  });

  await store.repos.organizations.create({
    id: orgId,
    displayName: 'Test Org',
    settings: { ...DEFAULT_ORG_SETTINGS, passwordPolicy: { ...DEFAULT_PASSWORD_POLICY, ...policy } },
    createdAt: clock.now(),
  });

  const now = clock.now();
  const ldapServer: LdapServer = {
    id: newId(),
    name: 'corp-ldap',
    userLockoutAction: 'disable',
    userPasswordExpirationAction: 'disable',
    totpOnBind: false,
    createdAt: now,
    updatedAt: now,
  };
  const radiusBase: Omit<RadiusServer, 'id' | 'name' | 'networkSourceIp'> = {
    mfa: 'ENABLED',
    userLockoutAction: 'remove',
    userPasswordExpirationAction: 'remove',
    requireMessageAuthenticator: true,
    sharedSecretLength: 32,
    createdAt: now,
    updatedAt: now,
  };
  const radiusServer: RadiusServer = { ...radiusBase, id: newId(), name: 'wifi', networkSourceIp: '192.0.2.1' };
  const radiusMaintain: RadiusServer = {
    ...radiusBase,
    id: newId(),
    name: 'vpn',
    networkSourceIp: '192.0.2.2',
    userLockoutAction: 'maintain',
    userPasswordExpirationAction: 'maintain',
  };
  const app: Application = {
    id: newId(),
    name: 'wiki',
    displayLabel: 'Wiki',
    config: {
      spEntityId: 'https://wiki.example.com/saml',
      acsUrls: ['https://wiki.example.com/saml/acs'],
      nameIdAttribute: 'email',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      signAssertion: true,
      signResponse: false,
      attributes: [],
      constantAttributes: [],
      groupAttribute: 'memberOf',
    },
    createdAt: now,
    updatedAt: now,
  };
  await store.repos.ldapServers.create(ldapServer);
  await store.repos.radiusServers.create(radiusServer, 'sealed');
  await store.repos.radiusServers.create(radiusMaintain, 'sealed');
  await store.repos.applications.create(app);
  const ldap = ldapServerResource(ldapServer);
  const radius = radiusServerResource(radiusServer);
  const radiusLenient = radiusServerResource(radiusMaintain);
  const saml = applicationResource(app);

  const seeds = new Map<string, Buffer>();
  let n = 0;

  const env: Env = {
    store,
    clock,
    hasher,
    calls,
    cache,
    audit,
    organization,
    secretBox,
    pipeline,
    orgId,
    ldapServer,
    radiusServer,
    radiusMaintain,
    app,
    ldap,
    radius,
    radiusLenient,
    saml,
    async setPolicy(p) {
      const org = (await store.repos.organizations.get())!;
      await store.repos.organizations.update(orgId, { settings: { ...org.settings, passwordPolicy: { ...org.settings.passwordPolicy, ...p } } });
    },
    async addUser(uo = {}) {
      n += 1;
      const { hash, totp, bindTo, ...fields } = uo;
      const username = fields.username ?? `user${n}`;
      const t = clock.now();
      const user: User = {
        id: newId(t.getTime()),
        username,
        email: `${username}@example.com`,
        firstname: 'Test',
        lastname: `User ${n}`,
        displayname: '',
        state: 'ACTIVATED',
        hasPassword: true,
        passwordChangedAt: t,
        passwordExpiredFlag: false,
        totpEnrolled: false,
        enableUserPortalMultifactor: false,
        mfaExclusion: false,
        mfaExclusionUntil: null,
        ldapBindingUser: false,
        unixUid: 5000 + n,
        unixGuid: 5000 + n,
        jobTitle: '',
        department: '',
        company: '',
        location: '',
        employeeIdentifier: '',
        description: '',
        attributes: [],
        lockedAt: null,
        createdAt: t,
        updatedAt: t,
        ...fields,
      };
      let totpSecret: string | null = null;
      if (totp) {
        const seed = randomBytes(20);
        seeds.set(user.id, seed);
        totpSecret = secretBox.seal(base32Encode(seed), `totp:${user.id}`);
        user.totpEnrolled = true;
      }
      const passwordHashToStore = hash === undefined ? passwordHash : hash;
      await store.repos.users.create(user, { passwordHash: passwordHashToStore, passwordHistory: [], totpSecret, totpPendingSecret: null });
      await store.repos.authState.ensure(user.id);
      for (const r of bindTo ?? [ldap, radius, radiusLenient, saml]) {
        if (r.type === 'user_portal') continue;
        await store.repos.associations.add({ fromType: 'user', fromId: user.id, toType: r.type, toId: r.id, createdAt: t });
      }
      return (await store.repos.users.get(user.id))!;
    },
    code(user, delta = 0) {
      const seed = seeds.get(user.id);
      if (!seed) throw new Error(`user ${user.username} has no TOTP seed`);
      return totpAtStep(seed, Math.floor(clock.ms() / 30_000) + delta);
    },
    auth(login, password, extra = {}) {
      return pipeline.authenticate({ protocol: 'ldap', login, password, clientIp: '198.51.100.7', resource: ldap, ...extra });
    },
    async events() {
      await audit.flush();
      return allAuditEvents(store);
    },
  };
  return env;
}

const AUTH_EVENT_TYPES: ReadonlySet<AuditEventType> = new Set(['ldap_bind', 'radius_auth_attempt', 'sso_auth', 'user_login_attempt']);
const authEvents = (events: AuditEvent[]) => events.filter((e) => AUTH_EVENT_TYPES.has(e.event_type));
const ofType = (events: AuditEvent[], t: AuditEventType) => events.filter((e) => e.event_type === t);

/** Narrows an outcome to a failure and returns its reason. */
function reasonOf(o: AuthOutcome): string {
  assert.ok('reason' in o, `expected a failure, got ${o.status}`);
  return o.reason;
}

// ---------------------------------------------------------------------------------------------

describe('authentication pipeline', () => {
  let env: Env;
  afterEach(async () => {
    await env?.audit.close();
  });

  describe('authenticate with a correct password', () => {
    beforeEach(async () => {
      env = await setup();
    });

    it('answers ok with the user and no MFA', async () => {
      const u = await env.addUser();
      const r = await env.auth(u.username, PASSWORD);
      assert.equal(r.status, 'ok');
      assert.ok(r.status === 'ok');
      assert.equal(r.user.id, u.id);
      assert.equal(r.mfa, false);
    });

    const spellings: [string, (u: User) => string][] = [
      ['upper case', (u) => u.username.toUpperCase()],
      ['surrounding spaces', (u) => `  ${u.username} `],
      ['the email address', (u) => u.email],
      ['the email in mixed case', (u) => u.email.replace(/^./, (c) => c.toUpperCase()).replace('example', 'EXAMPLE')],
    ];
    for (const [what, login] of spellings) {
      it(`finds the user by ${what}`, async () => {
        const u = await env.addUser();
        const r = await env.auth(login(u), PASSWORD);
        assert.equal(r.status, 'ok');
      });
    }

    it('normalises a login to NFC, trimmed, lower-case', () => {
      assert.equal(normaliseLogin('  A\u0301lice '), '\u00e1lice');
    });

    it('records one successful event without error_message, with the resource and the adapter fields', async () => {
      const u = await env.addUser();
      await env.auth(u.username, PASSWORD, { audit: { dn: `uid=${u.username},ou=Users` } });
      const events = await env.events();
      assert.equal(events.length, 1);
      const e = events[0]!;
      assert.equal(e.event_type, 'ldap_bind');
      assert.equal(e.service, 'ldap');
      assert.equal(e.success, true);
      assert.equal('error_message' in e, false);
      assert.equal(e.mfa, false);
      assert.equal(e.username, u.username);
      assert.equal(e.client_ip, '198.51.100.7');
      assert.deepEqual(e.initiated_by, { id: u.id, type: 'user', username: u.username });
      assert.deepEqual(e.resource, { id: env.ldapServer.id, type: 'ldap_server', name: 'corp-ldap' });
      assert.equal(e.dn, `uid=${u.username},ou=Users`);
      assert.equal(e.organization, env.orgId);
      assert.equal(e.timestamp, env.clock.now().toISOString());
    });

    it('lets the adapter refuse a success it cannot deliver: one failed event with its reason, no lockout count', async () => {
      const u = await env.addUser();
      const seen: string[] = [];
      const r = await env.auth(u.username, PASSWORD, {
        deliver: async (user) => {
          seen.push(user.id);
          return 'Access-Accept would exceed 4096 octets';
        },
      });
      assert.equal(r.status, 'invalid');
      assert.deepEqual(seen, [u.id]);
      const events = await env.events();
      assert.equal(events.length, 1);
      assert.equal(events[0]!.success, false);
      assert.equal(events[0]!.error_message, 'Access-Accept would exceed 4096 octets');
      assert.equal((await env.store.repos.authState.get(u.id)).failedCount, 0);
      assert.equal((await env.auth(u.username, PASSWORD, { deliver: async () => null })).status, 'ok');
    });

    it('clears earlier failures', async () => {
      await env.setPolicy({ enableMaxLoginAttempts: true }); // failures are counted only with lockout on
      const u = await env.addUser();
      await env.auth(u.username, 'wrong-1');
      await env.auth(u.username, 'wrong-2');
      assert.equal((await env.store.repos.authState.get(u.id)).failedCount, 2);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      const s = await env.store.repos.authState.get(u.id);
      assert.equal(s.failedCount, 0);
      assert.equal(s.lastFailedAt, null);
    });
  });

  describe('authenticate with a wrong password', () => {
    beforeEach(async () => {
      env = await setup({ enableMaxLoginAttempts: true, maxLoginAttempts: 10 });
    });

    it('answers invalid and counts the failure at the current time', async () => {
      const u = await env.addUser();
      const r = await env.auth(u.username, OTHER_PASSWORD);
      assert.equal(r.status, 'invalid');
      assert.equal(reasonOf(r), 'invalid password');
      const s = await env.store.repos.authState.get(u.id);
      assert.equal(s.failedCount, 1);
      assert.deepEqual(s.lastFailedAt, env.clock.now());
      assert.equal(s.lockedAt, null);
    });

    it('counts the failures of every spelling of the login on one counter', async () => {
      const u = await env.addUser();
      await env.auth(u.username, 'x1');
      await env.auth(u.username.toUpperCase(), 'x2');
      await env.auth(u.email, 'x3');
      assert.equal((await env.store.repos.authState.get(u.id)).failedCount, 3);
    });

    it('answers invalid for an empty password without spending a real verification, and counts it', async () => {
      const u = await env.addUser();
      const r = await env.auth(u.username, '');
      assert.equal(r.status, 'invalid');
      assert.equal(env.calls.verify, 0);
      assert.equal(env.calls.verifyDummy, 1);
      assert.equal((await env.store.repos.authState.get(u.id)).failedCount, 1);
    });

    it(`answers invalid for a password over ${MAX_PASSWORD_LENGTH} characters, even if it would match`, async () => {
      const long = 'p'.repeat(MAX_PASSWORD_LENGTH + 1);
      const u = await env.addUser({ hash: await realHasher.hash(long) });
      const r = await env.auth(u.username, long);
      assert.equal(r.status, 'invalid');
      assert.equal(env.calls.verify, 0);
    });

    it('answers invalid with reason "password not set" for a user without a password', async () => {
      const u = await env.addUser({ hash: null });
      const r = await env.auth(u.username, PASSWORD);
      assert.equal(r.status, 'invalid');
      assert.equal(reasonOf(r), 'password not set');
      assert.equal(env.calls.verifyDummy, 1);
    });

    it('answers invalid rather than disabled, expired or not_authorized (no oracle before the password)', async () => {
      const suspended = await env.addUser({ state: 'SUSPENDED' });
      const expired = await env.addUser({ passwordExpiredFlag: true });
      const unbound = await env.addUser({ bindTo: [] });
      for (const u of [suspended, expired, unbound]) {
        assert.equal((await env.auth(u.username, OTHER_PASSWORD)).status, 'invalid', u.username);
      }
    });
  });

  describe('authenticate an unknown user', () => {
    beforeEach(async () => {
      env = await setup({ enableMaxLoginAttempts: true, maxLoginAttempts: 2 });
    });

    it('writes a failure count as a wrong password for an account does, on a bounded row that never locks', async () => {
      const seen: string[] = [];
      const inner = env.store.repos.authState.recordFailure.bind(env.store.repos.authState);
      env.store.repos.authState.recordFailure = (subject, now, policy) => {
        seen.push(subject);
        return inner(subject, now, policy);
      };
      const u = await env.addUser();
      await env.auth(u.username, 'wrong-password');
      for (let i = 0; i < 12; i++) await env.auth(`nobody-${i}`, 'wrong-password');
      assert.equal(seen[0], u.id);
      const unknown = seen.slice(1);
      assert.equal(unknown.length, 12, 'one store write per unknown login, as for an account');
      assert.ok(unknown.every((x) => /^unknown-login:\d+$/.test(x)));
      for (const x of new Set(unknown)) assert.equal((await env.store.repos.authState.get(x)).lockedAt, null);
    });

    it('answers invalid with reason "user not found", spending a dummy verification', async () => {
      const r = await env.auth('nobody', PASSWORD);
      assert.equal(r.status, 'invalid');
      assert.equal(reasonOf(r), 'user not found');
      assert.equal(env.calls.verifyDummy, 1);
      assert.equal(env.calls.verify, 0);
    });

    it('locks nothing, however many attempts', async () => {
      for (let i = 0; i < 4; i++) await env.auth('nobody', PASSWORD);
      assert.deepEqual(await env.store.repos.authState.lockedSubjects(), []);
      assert.equal(ofType(await env.events(), 'user_lockout').length, 0);
    });

    it('records the normalised login and no user id', async () => {
      await env.auth('  NoBody ', PASSWORD);
      const [e] = await env.events();
      assert.equal(e?.username, 'nobody');
      assert.equal(e?.error_message, 'user not found');
      assert.deepEqual(e?.initiated_by, { type: 'user', username: 'nobody' });
    });

    it('treats an empty login as unknown', async () => {
      assert.equal((await env.auth('   ', PASSWORD)).status, 'invalid');
    });

    it('checks parallel guesses at one unknown login one at a time, as it does for an account (uniform timing)', async () => {
      const outcomes = await Promise.all(Array.from({ length: 4 }, (_, i) => env.auth('nobody', `guess-${i}`)));
      assert.ok(outcomes.every((o) => o.status === 'invalid'));
      assert.equal(env.calls.verifyDummy, 4);
      assert.equal(env.calls.dummyPeak, 1);
    });
  });

  describe('lockout', () => {
    const MAX = 3;
    beforeEach(async () => {
      env = await setup({
        enableMaxLoginAttempts: true,
        maxLoginAttempts: MAX,
        enableLockoutTimeInSeconds: true,
        lockoutTimeInSeconds: 600,
        enableResetLockoutCounter: true,
        resetLockoutCounterMinutes: 10,
      });
    });

    it('locks at exactly maxAttempts failures and records one user_lockout', async () => {
      const u = await env.addUser();
      for (let i = 1; i < MAX; i++) {
        assert.equal((await env.auth(u.username, OTHER_PASSWORD)).status, 'invalid');
        assert.equal((await env.store.repos.authState.get(u.id)).lockedAt, null, `locked after ${i} failures`);
      }
      assert.equal((await env.auth(u.username, OTHER_PASSWORD)).status, 'invalid');
      const s = await env.store.repos.authState.get(u.id);
      assert.deepEqual(s.lockedAt, env.clock.now());
      assert.equal(s.failedCount, MAX);
      assert.deepEqual(await env.store.repos.authState.lockedSubjects(), [u.id]);

      const lockouts = ofType(await env.events(), 'user_lockout');
      assert.equal(lockouts.length, 1);
      assert.equal(lockouts[0]!.failed_attempts, MAX);
      assert.deepEqual(lockouts[0]!.resource, { id: u.id, type: 'user', username: u.username });
      assert.equal(lockouts[0]!.initiated_by.type, 'system');
    });

    it('answers locked to the right password once locked, and does not clear the lock', async () => {
      const u = await env.addUser();
      for (let i = 0; i < MAX; i++) await env.auth(u.username, OTHER_PASSWORD);
      const r = await env.auth(u.username, PASSWORD);
      assert.equal(r.status, 'locked');
      assert.equal(reasonOf(r), 'account locked');
      assert.notEqual((await env.store.repos.authState.get(u.id)).lockedAt, null);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'locked');
    });

    it('answers locked to a wrong password once locked, without another user_lockout', async () => {
      const u = await env.addUser();
      for (let i = 0; i < MAX + 3; i++) await env.auth(u.username, OTHER_PASSWORD);
      assert.equal((await env.auth(u.username, OTHER_PASSWORD)).status, 'locked');
      assert.equal(ofType(await env.events(), 'user_lockout').length, 1);
    });

    it('never lets the right password in when it arrives among more parallel guesses than the threshold', async () => {
      const u = await env.addUser();
      const guesses = Array.from({ length: 10 }, (_, i) => env.auth(u.username, `guess-${i}`));
      // The real password is sent last, while the guesses are still being checked.
      const right = env.auth(u.username, PASSWORD);
      const outcomes = await Promise.all([...guesses, right]);
      assert.equal(outcomes.filter((o) => o.status === 'invalid').length, MAX, 'exactly maxAttempts guesses were judged');
      assert.equal(outcomes[outcomes.length - 1]!.status, 'locked');
      assert.equal(outcomes.filter((o) => o.status === 'ok').length, 0);
    });

    it('refuses the right password whose account read predates a lock recorded meanwhile', async () => {
      const u = await env.addUser();
      for (let i = 1; i < MAX; i++) await env.auth(u.username, OTHER_PASSWORD);
      // Hold back the next account read after it has been made, so that it is stale when used.
      const users = env.store.repos.users;
      const read = users.findForAuth.bind(users);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let readDone!: () => void;
      const readMade = new Promise<void>((r) => (readDone = r));
      let hold = true;
      users.findForAuth = async (login, accessTo) => {
        const found = await read(login, accessTo);
        if (hold) {
          hold = false;
          readDone();
          await gate;
        }
        return found;
      };
      try {
        const late = env.auth(u.username, PASSWORD);
        await readMade; // it read "unlocked, MAX-1 failures"
        assert.equal((await env.auth(u.username, OTHER_PASSWORD)).status, 'invalid'); // the failure that locks
        assert.notEqual((await env.store.repos.authState.get(u.id)).lockedAt, null);
        release();
        assert.equal((await late).status, 'locked');
      } finally {
        users.findForAuth = read;
      }
    });

    it('locks at the threshold exactly once when more than maxAttempts failures run concurrently', async () => {
      const u = await env.addUser();
      const N = 12;
      const logins = [u.username, u.username.toUpperCase(), u.email];
      const outcomes = await Promise.all(Array.from({ length: N }, (_, i) => env.auth(logins[i % 3]!, `wrong-${i}`)));
      for (const o of outcomes) assert.ok(o.status === 'invalid' || o.status === 'locked', o.status);
      const s = await env.store.repos.authState.get(u.id);
      assert.notEqual(s.lockedAt, null);
      const events = await env.events();
      const lockouts = ofType(events, 'user_lockout');
      assert.equal(lockouts.length, 1);
      assert.equal(lockouts[0]!.failed_attempts, MAX);
      assert.equal(authEvents(events).length, N);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'locked');
    });

    it('unlocks by itself once lockoutSeconds have passed, recording one user_unlocked', async () => {
      const u = await env.addUser();
      for (let i = 0; i < MAX; i++) await env.auth(u.username, OTHER_PASSWORD);
      env.clock.advanceSeconds(599);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'locked');
      env.clock.advanceSeconds(1);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      const s = await env.store.repos.authState.get(u.id);
      assert.equal(s.lockedAt, null);
      assert.equal(s.failedCount, 0);
      const unlocked = ofType(await env.events(), 'user_unlocked');
      assert.equal(unlocked.length, 1);
      assert.deepEqual(unlocked[0]!.resource, { id: u.id, type: 'user', username: u.username });
      assert.equal(unlocked[0]!.initiated_by.type, 'system');
    });

    it('records one user_unlocked when several attempts arrive together after the lock ran out', async () => {
      const u = await env.addUser();
      for (let i = 0; i < MAX; i++) await env.auth(u.username, OTHER_PASSWORD);
      env.clock.advanceSeconds(600);
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => env.auth(u.username, PASSWORD)));
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['ok', 'ok', 'ok', 'ok', 'ok'],
      );
      assert.equal(ofType(await env.events(), 'user_unlocked').length, 1);
    });

    it('starts counting afresh after an automatic unlock', async () => {
      const u = await env.addUser();
      for (let i = 0; i < MAX; i++) await env.auth(u.username, OTHER_PASSWORD);
      env.clock.advanceSeconds(600);
      assert.equal((await env.auth(u.username, OTHER_PASSWORD)).status, 'invalid');
      const s = await env.store.repos.authState.get(u.id);
      assert.equal(s.failedCount, 1);
      assert.equal(s.lockedAt, null);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
    });

    it('stays locked when lockoutSeconds is 0 (until an admin unlocks)', async () => {
      await env.setPolicy({ lockoutTimeInSeconds: 0 });
      const u = await env.addUser();
      for (let i = 0; i < MAX; i++) await env.auth(u.username, OTHER_PASSWORD);
      env.clock.advance(365 * DAY);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'locked');
      assert.equal(ofType(await env.events(), 'user_unlocked').length, 0);
      // An admin unlock ends it.
      assert.equal(await env.store.repos.authState.unlock(u.id), true);
      env.cache.invalidate(u.id);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
    });

    it('stays locked when the lockout time flag is off', async () => {
      await env.setPolicy({ enableLockoutTimeInSeconds: false });
      const u = await env.addUser();
      for (let i = 0; i < MAX; i++) await env.auth(u.username, OTHER_PASSWORD);
      env.clock.advance(30 * DAY);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'locked');
    });

    it('never locks when max login attempts is off, and does not count: turning it on starts from zero', async () => {
      await env.setPolicy({ enableMaxLoginAttempts: false });
      const u = await env.addUser();
      await Promise.all(Array.from({ length: 8 }, (_, i) => env.auth(u.username, `wrong-${i}`)));
      const s = await env.store.repos.authState.get(u.id);
      assert.equal(s.failedCount, 0);
      assert.equal(s.lockedAt, null);
      await env.setPolicy({ enableMaxLoginAttempts: true });
      await env.auth(u.username, 'wrong-again');
      assert.equal((await env.store.repos.authState.get(u.id)).failedCount, 1, 'the failures made while it was off do not count');
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
    });

    it('restarts the count at 1 when the last failure is as old as the reset window', async () => {
      const u = await env.addUser();
      await env.auth(u.username, OTHER_PASSWORD);
      await env.auth(u.username, OTHER_PASSWORD);
      env.clock.advanceSeconds(600);
      assert.equal((await env.auth(u.username, OTHER_PASSWORD)).status, 'invalid');
      const s = await env.store.repos.authState.get(u.id);
      assert.equal(s.failedCount, 1);
      assert.equal(s.lockedAt, null);
      await env.auth(u.username, OTHER_PASSWORD);
      assert.equal((await env.store.repos.authState.get(u.id)).lockedAt, null);
      await env.auth(u.username, OTHER_PASSWORD);
      assert.notEqual((await env.store.repos.authState.get(u.id)).lockedAt, null);
    });

    it('keeps counting failures that fall inside the reset window', async () => {
      const u = await env.addUser();
      await env.auth(u.username, OTHER_PASSWORD);
      env.clock.advanceSeconds(599);
      await env.auth(u.username, OTHER_PASSWORD);
      env.clock.advanceSeconds(599);
      await env.auth(u.username, OTHER_PASSWORD);
      const s = await env.store.repos.authState.get(u.id);
      assert.equal(s.failedCount, 3);
      assert.notEqual(s.lockedAt, null);
    });

    it('never forgets failures when the reset counter is off', async () => {
      await env.setPolicy({ enableResetLockoutCounter: false });
      const u = await env.addUser();
      await env.auth(u.username, OTHER_PASSWORD);
      await env.auth(u.username, OTHER_PASSWORD);
      env.clock.advance(30 * DAY);
      await env.auth(u.username, OTHER_PASSWORD);
      assert.notEqual((await env.store.repos.authState.get(u.id)).lockedAt, null);
    });

    it('lets a locked user in where the resource maintains locked users (RADIUS "maintain")', async () => {
      const u = await env.addUser();
      for (let i = 0; i < MAX; i++) await env.auth(u.username, OTHER_PASSWORD);
      assert.equal((await env.auth(u.username, PASSWORD, { protocol: 'radius', resource: env.radius })).status, 'locked');
      assert.equal((await env.auth(u.username, PASSWORD, { protocol: 'radius', resource: env.radiusLenient })).status, 'ok');
      // ... and the lock still holds elsewhere.
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'locked');
    });

    it('records user_lockout only for the failure that set the lock, even after failures at a lenient resource', async () => {
      const u = await env.addUser();
      for (let i = 0; i < MAX; i++) await env.auth(u.username, OTHER_PASSWORD);
      const lenient = { protocol: 'radius' as const, resource: env.radiusLenient };
      assert.equal((await env.auth(u.username, PASSWORD, lenient)).status, 'ok');
      for (let i = 0; i < MAX + 1; i++) assert.equal((await env.auth(u.username, OTHER_PASSWORD, lenient)).status, 'invalid');
      assert.equal(ofType(await env.events(), 'user_lockout').length, 1);
    });
  });

  describe('reuse of account reads (revalidateMs)', () => {
    let epoch = 0;
    beforeEach(async () => {
      epoch = 0;
      env = await setup(LOCKOUT_OFF, { revalidateMs: 10_000, epoch: () => epoch });
    });

    it('judges a password proven right on the lockout state in the store, not on a reused read: a lock or failures recorded by another instance count', async () => {
      await env.setPolicy({ enableMaxLoginAttempts: true, maxLoginAttempts: 3, enableLockoutTimeInSeconds: false });
      const u = await env.addUser();
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      // Another instance (same store, no commit seen here) counts failures until the account locks.
      const policy = { maxAttempts: 3, lockoutSeconds: 0, resetCounterSeconds: 600 };
      for (let i = 0; i < 3; i++) await env.store.repos.authState.recordFailure(u.id, env.clock.now(), policy);
      // This instance's verified credential is gone (another process, or its TTL): the right password
      // goes through argon2id again, with the pre-lock read reused.
      env.cache.clear();
      const r = await env.auth(u.username, PASSWORD);
      assert.equal(r.status, 'locked', 'a correct guess after the lock landed elsewhere is refused');
      assert.equal(env.calls.verify, 2);
    });

    it('clears failures counted by another instance on a success, even when the reused read shows none', async () => {
      await env.setPolicy({ enableMaxLoginAttempts: true, maxLoginAttempts: 5, enableLockoutTimeInSeconds: false });
      const u = await env.addUser();
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      const policy = { maxAttempts: 5, lockoutSeconds: 0, resetCounterSeconds: 600 };
      for (let i = 0; i < 4; i++) await env.store.repos.authState.recordFailure(u.id, env.clock.now(), policy);
      env.cache.clear();
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      assert.equal((await env.store.repos.authState.get(u.id)).failedCount, 0, 'the success reset the counter');
    });

    it('reuses a read for a repeated login while nothing was committed', async () => {
      const u = await env.addUser();
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      // Changed behind the pipeline's back (no commit seen): the reused read still answers.
      await env.store.repos.users.update(u.id, { state: 'SUSPENDED' });
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      epoch++; // the commit becomes visible
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'disabled');
    });

    it('does not keep a read that overlapped a commit (a suspension applies to the next login)', async () => {
      const u = await env.addUser();
      const users = env.store.repos.users;
      const read = users.findForAuth.bind(users);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let readDone!: () => void;
      const readMade = new Promise<void>((r) => (readDone = r));
      let hold = true;
      users.findForAuth = async (login, accessTo) => {
        const found = await read(login, accessTo);
        if (hold) {
          hold = false;
          readDone();
          await gate;
        }
        return found;
      };
      try {
        const inFlight = env.auth(u.username, PASSWORD);
        await readMade;
        await env.store.repos.users.update(u.id, { state: 'SUSPENDED' });
        epoch++; // the admin's transaction commits while the read is in flight
        release();
        assert.equal((await inFlight).status, 'ok'); // it read the account before the change
        assert.equal((await env.auth(u.username, PASSWORD)).status, 'disabled');
      } finally {
        users.findForAuth = read;
      }
    });
    /**
     * From now on account reads are counted and held until `release()`. (Each test has its own
     * store, so the wrapped repository goes with it.)
     */
    const holdReads = () => {
      const users = env.store.repos.users;
      const read = users.findForAuth.bind(users);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const reads = { n: 0 };
      users.findForAuth = async (login, accessTo) => {
        reads.n++;
        const found = await read(login, accessTo);
        await gate;
        return found;
      };
      const started = () => new Promise((r) => setImmediate(r));
      return { reads, release: () => release(), started };
    };
    /**
     * A user with a verified credential (later logins skip the hash and its re-read under the
     * account lock), then a commit, so that the next logins must read the account again.
     */
    const afterVerifiedLogin = async () => {
      const u = await env.addUser();
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      epoch++;
      return { u, ...holdReads() };
    };

    it('shares one account read among concurrent logins of the same account', async () => {
      const { u, reads, release, started } = await afterVerifiedLogin();
      const logins = Array.from({ length: 5 }, () => env.auth(u.username, PASSWORD));
      await started();
      release();
      const outcomes = await Promise.all(logins);
      assert.deepEqual(outcomes.map((o) => o.status), ['ok', 'ok', 'ok', 'ok', 'ok']);
      assert.equal(reads.n, 1);
    });

    it('serves a read past its freshness at once, and re-reads it meanwhile', async () => {
      const u = await env.addUser();
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      const { reads, release, started } = holdReads();
      await env.store.repos.users.update(u.id, { state: 'SUSPENDED' }); // another instance: no commit seen here
      env.clock.advance(8_500); // past freshness (at most 80% of revalidateMs), within revalidateMs
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok', 'answered from the read held, without waiting');
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      assert.equal(reads.n, 1, 'one re-read, shared');
      release();
      await started();
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'disabled', 'the re-read replaced it');
      assert.equal(reads.n, 1);
    });

    it('waits for the store once revalidateMs has passed', async () => {
      const u = await env.addUser();
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      const { reads, release, started } = holdReads();
      await env.store.repos.users.update(u.id, { state: 'SUSPENDED' });
      env.clock.advance(10_000);
      let answered = false;
      const login = env.auth(u.username, PASSWORD).finally(() => (answered = true));
      await started();
      assert.equal(answered, false);
      release();
      assert.equal((await login).status, 'disabled');
      assert.equal(reads.n, 1);
    });

    it('does not share a read that started before a commit', async () => {
      const { u, reads, release, started } = await afterVerifiedLogin();
      const before = env.auth(u.username, PASSWORD);
      await started();
      await env.store.repos.users.update(u.id, { state: 'SUSPENDED' });
      epoch++;
      const after = env.auth(u.username, PASSWORD);
      await started();
      release();
      assert.equal((await before).status, 'ok');
      assert.equal((await after).status, 'disabled');
      assert.equal(reads.n, 2);
    });
  });

  describe('account state', () => {
    beforeEach(async () => {
      env = await setup();
    });

    const states: [User['state'], string][] = [
      ['STAGED', 'user is staged'],
      ['SUSPENDED', 'user is suspended'],
    ];
    for (const [state, reason] of states) {
      it(`answers disabled for a ${state} user with the right password`, async () => {
        const u = await env.addUser({ state });
        const r = await env.auth(u.username, PASSWORD);
        assert.equal(r.status, 'disabled');
        assert.equal(reasonOf(r), reason);
        const [e] = await env.events();
        assert.equal(e?.success, false);
        assert.equal(e?.error_message, reason);
      });
    }

    it('answers disabled on every protocol, whatever the resource policy', async () => {
      const u = await env.addUser({ state: 'SUSPENDED' });
      for (const [protocol, resource] of [
        ['radius', env.radiusLenient],
        ['saml', env.saml],
        ['portal', userPortalResource],
      ] as const) {
        assert.equal((await env.auth(u.username, PASSWORD, { protocol, resource })).status, 'disabled', protocol);
      }
    });
  });

  describe('password expiry', () => {
    beforeEach(async () => {
      env = await setup({ ...LOCKOUT_OFF, enablePasswordExpirationInDays: true, passwordExpirationInDays: 30 });
    });

    it('answers expired when an admin forced a password change', async () => {
      const u = await env.addUser({ passwordExpiredFlag: true });
      const r = await env.auth(u.username, PASSWORD);
      assert.equal(r.status, 'expired');
      assert.equal(reasonOf(r), 'password expired');
      assert.equal(r.status === 'expired' && r.user?.id, u.id);
    });

    it('answers expired once the password is as old as the policy allows', async () => {
      const u = await env.addUser({ passwordChangedAt: new Date(env.clock.ms() - 30 * DAY) });
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'expired');
    });

    it('answers ok for a password one millisecond younger than the limit', async () => {
      const u = await env.addUser({ passwordChangedAt: new Date(env.clock.ms() - 30 * DAY + 1) });
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
    });

    it('expires a password as the clock moves on', async () => {
      const u = await env.addUser();
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      env.clock.advance(30 * DAY);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'expired');
    });

    it('ignores the age when the policy does not expire passwords', async () => {
      await env.setPolicy({ enablePasswordExpirationInDays: false });
      const u = await env.addUser({ passwordChangedAt: new Date(env.clock.ms() - 3650 * DAY) });
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
    });

    const allowing: [string, AuthProtocol, () => AuthResource][] = [
      ['a RADIUS server that maintains expired users', 'radius', () => env.radiusLenient],
      ['the user portal (where the password gets changed)', 'portal', () => userPortalResource],
    ];
    for (const [what, protocol, resource] of allowing) {
      it(`answers ok for an expired password at ${what}`, async () => {
        const byFlag = await env.addUser({ passwordExpiredFlag: true });
        const byAge = await env.addUser({ passwordChangedAt: new Date(env.clock.ms() - 31 * DAY) });
        assert.equal((await env.auth(byFlag.username, PASSWORD, { protocol, resource: resource() })).status, 'ok');
        assert.equal((await env.auth(byAge.username, PASSWORD, { protocol, resource: resource() })).status, 'ok');
      });
    }
  });

  describe('access to the resource', () => {
    beforeEach(async () => {
      env = await setup();
    });

    it('answers not_authorized for a user not bound to the resource', async () => {
      const u = await env.addUser({ bindTo: [] });
      const r = await env.auth(u.username, PASSWORD);
      assert.equal(r.status, 'not_authorized');
      assert.equal(reasonOf(r), 'user is not bound to ldap_server corp-ldap');
    });

    it('answers not_authorized for a user bound to another resource only', async () => {
      const u = await env.addUser({ bindTo: [env.radius] });
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'not_authorized');
      assert.equal((await env.auth(u.username, PASSWORD, { protocol: 'saml', resource: env.saml })).status, 'not_authorized');
    });

    it('answers ok for a user bound through a group', async () => {
      const u = await env.addUser({ bindTo: [] });
      const t = env.clock.now();
      const group = { id: newId(), name: 'engineers', description: '', email: '', posixGid: null, posixName: null, radiusReply: [], createdAt: t, updatedAt: t };
      await env.store.repos.userGroups.create(group);
      await env.store.repos.associations.add({ fromType: 'user_group', fromId: group.id, toType: 'ldap_server', toId: env.ldapServer.id, createdAt: t });
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'not_authorized');
      await env.store.repos.userGroups.addMember(group.id, u.id);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      await env.store.repos.userGroups.removeMember(group.id, u.id);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'not_authorized');
    });

    it('needs no association for the user portal', async () => {
      const u = await env.addUser({ bindTo: [] });
      assert.equal((await env.auth(u.username, PASSWORD, { protocol: 'portal', resource: userPortalResource })).status, 'ok');
    });
  });

  describe('MFA', () => {
    beforeEach(async () => {
      env = await setup({
        enableMaxLoginAttempts: true,
        maxLoginAttempts: 5,
        enableLockoutTimeInSeconds: true,
        lockoutTimeInSeconds: 600,
        enableResetLockoutCounter: false,
      });
    });
    const saml = () => ({ protocol: 'saml' as const, resource: env.saml });

    it('answers mfa_required without a code, counting nothing', async () => {
      const u = await env.addUser({ totp: true });
      const r = await env.auth(u.username, PASSWORD, saml());
      assert.equal(r.status, 'mfa_required');
      assert.equal(r.status === 'mfa_required' && r.user.id, u.id);
      assert.equal((await env.store.repos.authState.get(u.id)).failedCount, 0);
      const [e] = await env.events();
      assert.equal(e?.error_message, 'MFA required');
      assert.deepEqual(e?.mfa_meta, { status: 'challenged' });
    });

    it('answers ok with mfa for a valid code', async () => {
      const u = await env.addUser({ totp: true });
      const r = await env.auth(u.username, PASSWORD, { ...saml(), otp: env.code(u) });
      assert.equal(r.status, 'ok');
      assert.equal(r.status === 'ok' && r.mfa, true);
      const [e] = await env.events();
      assert.equal(e?.success, true);
      assert.equal(e?.mfa, true);
      assert.deepEqual(e?.mfa_meta, { type: 'TOTP' });
      assert.equal('error_message' in e!, false);
    });

    it('accepts the codes of the previous and the next step (clock drift)', async () => {
      const a = await env.addUser({ totp: true });
      const b = await env.addUser({ totp: true });
      assert.equal((await env.auth(a.username, PASSWORD, { ...saml(), otp: env.code(a, -1) })).status, 'ok');
      assert.equal((await env.auth(b.username, PASSWORD, { ...saml(), otp: env.code(b, 1) })).status, 'ok');
    });

    it('answers mfa_invalid for a wrong code and counts it as a failure', async () => {
      const u = await env.addUser({ totp: true });
      const good = env.code(u);
      const wrong = good === '000000' ? '000001' : '000000';
      const r = await env.auth(u.username, PASSWORD, { ...saml(), otp: wrong });
      assert.equal(r.status, 'mfa_invalid');
      assert.equal(reasonOf(r), 'invalid TOTP code');
      assert.equal((await env.store.repos.authState.get(u.id)).failedCount, 1);
    });

    it('answers mfa_invalid for a code two steps old', async () => {
      const u = await env.addUser({ totp: true });
      assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp: env.code(u, -2) })).status, 'mfa_invalid');
    });

    for (const otp of ['12345', 'abcdef', '1234567', '１２３４５６']) {
      it(`answers mfa_invalid for the malformed code ${JSON.stringify(otp)} without throwing`, async () => {
        const u = await env.addUser({ totp: true });
        assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp })).status, 'mfa_invalid');
      });
    }

    it('keeps the replay guard of the current seed through a failed re-enrolment, and guards the confirming code', async () => {
      const u = await env.addUser({ totp: true });
      const users = createUserService({
        store: env.store,
        hasher: env.hasher,
        secretBox: env.secretBox,
        clock: env.clock,
        audit: env.audit,
        cache: env.cache,
        organization: env.organization,
        totpIssuer: 'Gatehouse',
      });
      const used = env.code(u);
      assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp: used })).status, 'ok');
      const { secret } = await users.beginTotpEnrolment(u.id);
      assert.equal(await users.confirmTotpEnrolment(u.id, '000000', systemActor), false);
      // The old seed is still the active one, and its last code is still spent.
      assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp: used })).status, 'mfa_invalid');
      const step = Math.floor(env.clock.ms() / 30_000);
      const fresh = totpAtStep(base32Decode(secret), step);
      assert.equal(await users.confirmTotpEnrolment(u.id, fresh, systemActor), true);
      assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp: fresh })).status, 'mfa_invalid', 'the confirming code is spent');
      assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp: totpAtStep(base32Decode(secret), step + 1) })).status, 'ok');
    });

    it('refuses the same code a second time as a replay', async () => {
      const u = await env.addUser({ totp: true });
      const otp = env.code(u);
      assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp })).status, 'ok');
      env.clock.advanceSeconds(1); // same TOTP step; orders the audit events
      const r = await env.auth(u.username, PASSWORD, { ...saml(), otp });
      assert.equal(r.status, 'mfa_invalid');
      assert.equal(reasonOf(r), 'TOTP code already used');
      const events = authEvents(await env.events());
      assert.equal(events[1]?.error_message, 'TOTP code already used');
    });

    it('refuses a replay on another protocol (one guard per account)', async () => {
      const u = await env.addUser({ totp: true });
      const otp = env.code(u);
      assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp })).status, 'ok');
      const r = await env.auth(u.username, PASSWORD, { protocol: 'radius', resource: env.radius, otp });
      assert.equal(r.status, 'mfa_invalid');
      assert.equal(reasonOf(r), 'TOTP code already used');
    });

    it('accepts a code only once when it is sent concurrently', async () => {
      const u = await env.addUser({ totp: true });
      const otp = env.code(u);
      const outcomes = await Promise.all(Array.from({ length: 4 }, () => env.auth(u.username, PASSWORD, { ...saml(), otp })));
      assert.equal(outcomes.filter((o) => o.status === 'ok').length, 1);
      assert.equal(outcomes.filter((o) => o.status === 'mfa_invalid').length, 3);
    });

    it('refuses an older step once a later one was used', async () => {
      const u = await env.addUser({ totp: true });
      assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp: env.code(u, 1) })).status, 'ok');
      const r = await env.auth(u.username, PASSWORD, { ...saml(), otp: env.code(u, 0) });
      assert.equal(reasonOf(r), 'TOTP code already used');
    });

    it('accepts the code of the next step after a replay', async () => {
      const u = await env.addUser({ totp: true });
      const otp = env.code(u);
      await env.auth(u.username, PASSWORD, { ...saml(), otp });
      env.clock.advanceSeconds(30);
      assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp: env.code(u) })).status, 'ok');
    });

    it('locks the account after maxAttempts wrong codes', async () => {
      const u = await env.addUser({ totp: true });
      for (let i = 0; i < 5; i++) {
        const good = env.code(u);
        const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, '0');
        await env.auth(u.username, PASSWORD, { ...saml(), otp: wrong });
      }
      assert.equal((await env.auth(u.username, PASSWORD, { ...saml(), otp: env.code(u) })).status, 'locked');
    });

    it('does not ask for a code where the resource needs no MFA, and ignores one given', async () => {
      const u = await env.addUser({ totp: true });
      const r = await env.auth(u.username, PASSWORD, { otp: '000000' });
      assert.equal(r.status, 'ok');
      assert.equal(r.status === 'ok' && r.mfa, false);
    });

    it('answers mfa_enrollment_required for a user who must use MFA but has not enrolled', async () => {
      const u = await env.addUser({ enableUserPortalMultifactor: true });
      const r = await env.auth(u.username, PASSWORD, saml());
      assert.equal(r.status, 'mfa_enrollment_required');
    });

    it('lets a not-enrolled user in during the enrolment grace period', async () => {
      const u = await env.addUser({ enableUserPortalMultifactor: true, mfaExclusion: true, mfaExclusionUntil: new Date(env.clock.ms() + DAY) });
      assert.equal((await env.auth(u.username, PASSWORD, saml())).status, 'ok');
      env.clock.advance(DAY);
      assert.equal((await env.auth(u.username, PASSWORD, saml())).status, 'mfa_enrollment_required');
    });

    describe('completeMfa', () => {
      /** First round with a challenge in the store; returns its id. */
      const challenged = async (u: User, protocol: 'saml' | 'radius' = 'saml') => {
        const resource = protocol === 'saml' ? env.saml : env.radius;
        const first = await env.auth(u.username, PASSWORD, { protocol, resource, issueChallenge: { ttlSeconds: 60 } });
        assert.equal(first.status, 'mfa_required');
        const challenge = first.status === 'mfa_required' ? first.challenge : undefined;
        assert.ok(challenge, 'no challenge issued');
        assert.match(challenge.id, /^[0-9a-f]{32}$/);
        return challenge.id;
      };

      it('completes a challenged login with a valid code, and the challenge is single-use', async () => {
        const u = await env.addUser({ totp: true });
        const challenge = await challenged(u);
        const req = { protocol: 'saml' as const, challenge, otp: env.code(u), clientIp: '198.51.100.7', resource: env.saml };
        env.clock.advanceSeconds(1); // same TOTP step; orders the audit events
        const r = await env.pipeline.completeMfa(req);
        assert.equal(r.status, 'ok');
        assert.equal(r.status === 'ok' && r.mfa, true);
        env.clock.advanceSeconds(1);
        const again = await env.pipeline.completeMfa(req);
        assert.equal(again.status, 'invalid');
        assert.equal(reasonOf(again), 'unknown or expired challenge');
        const events = authEvents(await env.events());
        assert.deepEqual(
          events.map((e) => [e.event_type, e.success, e.error_message]),
          [
            ['sso_auth', false, 'MFA required'],
            ['sso_auth', true, undefined],
            ['sso_auth', false, 'unknown or expired challenge'],
          ],
        );
      });

      it('refuses a code already used in another round (replay guard across challenges)', async () => {
        const u = await env.addUser({ totp: true });
        const code = env.code(u);
        const first = await env.pipeline.completeMfa({ protocol: 'saml', challenge: await challenged(u), otp: code, clientIp: '1.2.3.4', resource: env.saml });
        assert.equal(first.status, 'ok');
        const second = await env.pipeline.completeMfa({ protocol: 'saml', challenge: await challenged(u), otp: code, clientIp: '1.2.3.4', resource: env.saml });
        assert.equal(second.status, 'mfa_invalid');
        assert.equal(reasonOf(second), 'TOTP code already used');
      });

      it('answers mfa_invalid for a wrong code and counts the failure', async () => {
        const u = await env.addUser({ totp: true });
        const good = env.code(u);
        const wrong = good === '111111' ? '222222' : '111111';
        const r = await env.pipeline.completeMfa({ protocol: 'radius', challenge: await challenged(u, 'radius'), otp: wrong, clientIp: '192.0.2.1', resource: env.radius });
        assert.equal(r.status, 'mfa_invalid');
        assert.equal((await env.store.repos.authState.get(u.id)).failedCount, 1);
      });

      it('refuses an expired challenge', async () => {
        const u = await env.addUser({ totp: true });
        const challenge = await challenged(u);
        env.clock.advanceSeconds(61);
        const r = await env.pipeline.completeMfa({ protocol: 'saml', challenge, otp: env.code(u), clientIp: '1.2.3.4', resource: env.saml });
        assert.equal(r.status, 'invalid');
      });

      it('refuses a challenge issued for another resource or protocol', async () => {
        const u = await env.addUser({ totp: true });
        const challenge = await challenged(u, 'radius');
        const r = await env.pipeline.completeMfa({ protocol: 'saml', challenge, otp: env.code(u), clientIp: '1.2.3.4', resource: env.saml });
        assert.equal(r.status, 'invalid');
        assert.equal(reasonOf(r), 'unknown or expired challenge');
      });

      it('answers locked for an account locked between the two rounds, even with a valid code', async () => {
        const u = await env.addUser({ totp: true });
        const challenge = await challenged(u);
        for (let i = 0; i < 5; i++) await env.auth(u.username, OTHER_PASSWORD, saml());
        const r = await env.pipeline.completeMfa({ protocol: 'saml', challenge, otp: env.code(u), clientIp: '1.2.3.4', resource: env.saml });
        assert.equal(r.status, 'locked');
      });

      it('answers disabled when the user was suspended between the two rounds', async () => {
        const u = await env.addUser({ totp: true });
        const challenge = await challenged(u);
        await env.store.repos.users.update(u.id, { state: 'SUSPENDED' });
        const r = await env.pipeline.completeMfa({ protocol: 'saml', challenge, otp: env.code(u), clientIp: '1.2.3.4', resource: env.saml });
        assert.equal(r.status, 'disabled');
      });

      it('answers invalid for an unknown challenge, with one audit event', async () => {
        const r = await env.pipeline.completeMfa({ protocol: 'saml', challenge: 'f'.repeat(32), otp: '123456', clientIp: '1.2.3.4', resource: env.saml });
        assert.equal(r.status, 'invalid');
        assert.equal(authEvents(await env.events()).length, 1);
      });
    });

    describe('a code appended to the password', () => {
      const withSuffix = (extra: Partial<AuthRequest> = {}) => ({ protocol: 'saml' as const, resource: env.saml, otpInPassword: ';', ...extra });

      it('accepts password;code from an enrolled user, once', async () => {
        const u = await env.addUser({ totp: true });
        const code = env.code(u);
        assert.equal((await env.auth(u.username, `${PASSWORD};${code}`, withSuffix())).status, 'ok');
        const replay = await env.auth(u.username, `${PASSWORD};${code}`, withSuffix());
        assert.equal(replay.status, 'mfa_invalid');
      });

      it('splits at the last separator, so a password containing one still works', async () => {
        const pw = 'semi;colon;123456-pass';
        const u = await env.addUser({ totp: true, hash: await realHasher.hash(pw) });
        assert.equal((await env.auth(u.username, `${pw};${env.code(u)}`, withSuffix())).status, 'ok');
      });

      it('leaves the password whole for a user who is not asked for a code', async () => {
        const pw = 'ends-with;123456';
        const u = await env.addUser({ hash: await realHasher.hash(pw) });
        assert.equal((await env.auth(u.username, pw, withSuffix())).status, 'ok');
      });

      it('asks for the code when none is appended', async () => {
        const u = await env.addUser({ totp: true });
        assert.equal((await env.auth(u.username, PASSWORD, withSuffix())).status, 'mfa_required');
      });
    });
  });

  describe('verified-credential cache', () => {
    beforeEach(async () => {
      env = await setup({ enableMaxLoginAttempts: true, maxLoginAttempts: 10 }, { cacheTtlSeconds: 300 });
    });

    it('skips the password verification on a second success', async () => {
      const u = await env.addUser();
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      assert.equal(env.calls.verify, 1);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      assert.equal((await env.auth(u.username.toUpperCase(), PASSWORD, { protocol: 'radius', resource: env.radius })).status, 'ok');
      assert.equal(env.calls.verify, 1);
    });

    it('still verifies, and refuses, a wrong password after a success; the next right one pays again', async () => {
      const u = await env.addUser();
      await env.auth(u.username, PASSWORD);
      assert.equal((await env.auth(u.username, OTHER_PASSWORD)).status, 'invalid');
      assert.equal(env.calls.verify, 2);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      assert.equal(env.calls.verify, 3);
    });

    it('verifies again once the TTL has passed', async () => {
      const u = await env.addUser();
      await env.auth(u.username, PASSWORD);
      env.clock.advanceSeconds(300);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      assert.equal(env.calls.verify, 2);
    });

    it('misses after a state change made directly in the store (another instance)', async () => {
      const u = await env.addUser();
      await env.auth(u.username, PASSWORD);
      await env.store.repos.users.update(u.id, { state: 'SUSPENDED' });
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'disabled');
      assert.equal(env.calls.verify, 2);
      await env.store.repos.users.update(u.id, { state: 'ACTIVATED' });
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      assert.equal(env.calls.verify, 3);
    });

    it('misses after a password change in the store: the old password fails, the new one works', async () => {
      const u = await env.addUser();
      await env.auth(u.username, PASSWORD);
      await env.store.repos.users.updateCredentials(u.id, { passwordHash: otherPasswordHash });
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'invalid');
      assert.equal((await env.auth(u.username, OTHER_PASSWORD)).status, 'ok');
    });

    it('misses after any user update through the user service', async () => {
      const u = await env.addUser();
      const users = createUserService({
        store: env.store,
        hasher: env.hasher,
        secretBox: env.secretBox,
        clock: env.clock,
        audit: env.audit,
        cache: env.cache,
        organization: env.organization,
        totpIssuer: 'Gatehouse',
      });
      await env.auth(u.username, PASSWORD);
      assert.equal(env.calls.verify, 1);
      await users.update(u.id, { jobTitle: 'Engineer' }, systemActor);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'ok');
      assert.equal(env.calls.verify, 2);
    });

    it('does not turn a cached password into a pass for a locked account', async () => {
      const u = await env.addUser();
      await env.auth(u.username, PASSWORD);
      const t = env.clock.now();
      // Another instance locked the account.
      const policy = { maxAttempts: 1, lockoutSeconds: 600, resetCounterSeconds: 0 };
      await env.store.repos.authState.recordFailure(u.id, t, policy);
      assert.equal((await env.auth(u.username, PASSWORD)).status, 'locked');
    });

    it('caches nothing when the TTL is 0', async () => {
      const e0 = await setup(LOCKOUT_OFF, { cacheTtlSeconds: 0 });
      try {
        const u = await e0.addUser();
        await e0.auth(u.username, PASSWORD);
        await e0.auth(u.username, PASSWORD);
        assert.equal(e0.calls.verify, 2);
      } finally {
        await e0.audit.close();
      }
    });
  });

  describe('audit trail', () => {
    beforeEach(async () => {
      env = await setup({ enableMaxLoginAttempts: true, maxLoginAttempts: 2, lockoutTimeInSeconds: 600 });
    });

    const protocols: [AuthProtocol, AuditEventType, string, () => AuthResource][] = [
      ['ldap', 'ldap_bind', 'ldap', () => env.ldap],
      ['radius', 'radius_auth_attempt', 'radius', () => env.radius],
      ['saml', 'sso_auth', 'sso', () => env.saml],
      ['portal', 'user_login_attempt', 'directory', () => userPortalResource],
    ];
    for (const [protocol, eventType, service, resource] of protocols) {
      it(`writes exactly one ${eventType} event (service ${service}) per ${protocol} authentication`, async () => {
        const u = await env.addUser();
        const calls: Promise<AuthOutcome>[] = [
          env.auth(u.username, PASSWORD, { protocol, resource: resource() }),
          env.auth('ghost', PASSWORD, { protocol, resource: resource() }),
          env.auth(u.username, OTHER_PASSWORD, { protocol, resource: resource() }),
        ];
        const outcomes = await Promise.all(calls);
        assert.deepEqual(
          outcomes.map((o) => o.status),
          ['ok', 'invalid', 'invalid'],
        );
        const events = authEvents(await env.events());
        assert.equal(events.length, 3);
        for (const e of events) {
          assert.equal(e.event_type, eventType);
          assert.equal(e.service, service);
        }
        assert.deepEqual(events.map((e) => e.success).sort(), [false, false, true]);
        if (protocol === 'portal') for (const e of events) assert.equal(e.resource, undefined);
        else for (const e of events) assert.equal(e.resource?.id, resource().id);
      });
    }

    it('puts the real reason in error_message for every kind of failure', async () => {
      const ok = await env.addUser();
      const locked = await env.addUser();
      const suspended = await env.addUser({ state: 'SUSPENDED' });
      const expired = await env.addUser({ passwordExpiredFlag: true });
      const unbound = await env.addUser({ bindTo: [] });
      const pending = await env.addUser({ hash: null });
      const mfa = await env.addUser({ totp: true });
      for (let i = 0; i < 2; i++) await env.auth(locked.username, OTHER_PASSWORD);
      env.clock.advanceSeconds(1); // same TOTP step; separates these events from the ones below
      const since = env.clock.now().toISOString();

      const saml = { protocol: 'saml' as const, resource: env.saml };
      const otp = env.code(mfa);
      const cases: [() => Promise<AuthOutcome>, string][] = [
        [() => env.auth(ok.username, OTHER_PASSWORD), 'invalid password'],
        [() => env.auth('ghost', PASSWORD), 'user not found'],
        [() => env.auth(locked.username, PASSWORD), 'account locked'],
        [() => env.auth(suspended.username, PASSWORD), 'user is suspended'],
        [() => env.auth(expired.username, PASSWORD), 'password expired'],
        [() => env.auth(unbound.username, PASSWORD), 'user is not bound to ldap_server corp-ldap'],
        [() => env.auth(pending.username, PASSWORD), 'password not set'],
        [() => env.auth(mfa.username, PASSWORD, saml), 'MFA required'],
        [() => env.auth(mfa.username, PASSWORD, { ...saml, otp: otp === '000000' ? '000001' : '000000' }), 'invalid TOTP code'],
      ];
      await Promise.all(cases.map(([call]) => call()));
      // Then a success and its replay, in this order.
      await env.auth(mfa.username, PASSWORD, { ...saml, otp });
      await env.auth(mfa.username, PASSWORD, { ...saml, otp });
      const expected = [...cases.map(([, reason]) => reason), undefined, 'TOTP code already used'];

      const events = authEvents((await env.events()).filter((e) => e.timestamp >= since));
      assert.equal(events.length, expected.length);
      assert.deepEqual(events.map((e) => e.error_message).sort(), expected.slice().sort());
      for (const e of events) assert.equal(e.success, e.error_message === undefined);
    });

    it('never writes the password or the code into an event', async () => {
      const u = await env.addUser({ totp: true });
      const otp = env.code(u);
      await env.auth(u.username, PASSWORD, { protocol: 'saml', resource: env.saml, otp });
      await env.auth(u.username, OTHER_PASSWORD, { protocol: 'saml', resource: env.saml });
      const text = JSON.stringify(await env.events());
      assert.ok(!text.includes(PASSWORD));
      assert.ok(!text.includes(OTHER_PASSWORD));
      assert.ok(!text.includes(otp));
    });
  });
});
