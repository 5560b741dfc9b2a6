import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'mocha';
import { systemActor, type ActorContext } from '../../../src/core/access/actor.js';
import { isDomainError } from '../../../src/core/errors.js';
import type { AuditEvent } from '../../../src/core/audit/event.js';
import type { Core } from '../../../src/core/index.js';
import type { Store } from '../../../src/core/ports.js';
import { createFakeClock, type FakeClock } from '../../helpers/fake-clock.js';
import { allAuditEvents, createMemoryStore } from '../../helpers/memory-store.js';
import { base32Decode, timeStep, totpAtStep } from '../../helpers/rfc6238.js';
import { createTestCore } from '../../helpers/test-core.js';

const EMAIL = 'root@example.com';
const PASSWORD = 'Admin-Password-2024!';

interface Fixture {
  core: Core;
  store: Store;
  clock: FakeClock;
  adminId: string;
  ctx: ActorContext;
}

async function fixture(o: { requireAdminMfa?: boolean; maxLoginAttempts?: number; lockoutSeconds?: number } = {}): Promise<Fixture> {
  const clock = createFakeClock('2025-03-01T10:00:10.000Z');
  const store = createMemoryStore({ clock });
  const core = createTestCore({ store, clock });
  const boot = await core.bootstrap({ organizationName: 'Org', adminEmail: EMAIL, adminPassword: PASSWORD, apiKey: '' });
  await core.organization.update(
    boot.organization.id,
    {
      settings: {
        requireAdminMfa: o.requireAdminMfa ?? true,
        passwordPolicy: { maxLoginAttempts: o.maxLoginAttempts ?? 3, lockoutTimeInSeconds: o.lockoutSeconds ?? 600 },
      },
    },
    systemActor,
  );
  const admin = (await core.admins.list())[0]!;
  return { core, store, clock, adminId: admin.id, ctx: { actor: { id: admin.id, type: 'admin', email: EMAIL }, clientIp: '192.0.2.9', authMethod: 'session' } };
}

const codeAt = (secret: string, ms: number, stepOffset = 0) => totpAtStep(base32Decode(secret), timeStep(ms / 1000) + stepOffset);

async function events(f: Fixture, type = 'admin_login_attempt'): Promise<AuditEvent[]> {
  await f.core.audit.flush();
  return (await allAuditEvents(f.store)).filter((e) => e.event_type === type);
}

/** Enrols TOTP for the admin and returns the key. */
async function enrol(f: Fixture): Promise<string> {
  const { secret } = await f.core.console.adminAuth.beginTotpEnrolment(f.adminId);
  assert.equal(await f.core.console.adminAuth.confirmTotpEnrolment(f.adminId, codeAt(secret, f.clock.ms()), f.ctx), true);
  return secret;
}

describe('console: admin sign-in', function () {
  this.timeout(30_000);
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });

  it('asks an admin without TOTP to enrol when the organisation requires admin MFA, and records no success yet', async () => {
    const r = await f.core.console.adminAuth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.1' });
    assert.equal(r.status, 'enrollment_required');
    assert.deepEqual((await events(f)).filter((e) => e.success), []);
  });

  it('completes the sign-in with the first code of the enrolment and records admin_login_attempt with mfa', async () => {
    const auth = f.core.console.adminAuth;
    assert.equal((await auth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.1' })).status, 'enrollment_required');
    const { secret, uri } = await auth.beginTotpEnrolment(f.adminId);
    assert.match(uri, /^otpauth:\/\/totp\//);
    assert.equal(await auth.confirmTotpEnrolment(f.adminId, '000000', f.ctx, '192.0.2.1'), codeAt(secret, f.clock.ms()) === '000000');
    assert.equal(await auth.confirmTotpEnrolment(f.adminId, codeAt(secret, f.clock.ms()), f.ctx, '192.0.2.1'), true);
    assert.equal((await auth.get(f.adminId)).totpEnrolled, true);
    const ok = (await events(f)).filter((e) => e.success);
    assert.equal(ok.length, 1);
    assert.equal(ok[0]!.mfa, true);
    assert.deepEqual(ok[0]!.initiated_by, { id: f.adminId, type: 'admin', email: EMAIL });
    assert.equal(ok[0]!.client_ip, '192.0.2.1');
    assert.equal((await events(f, 'admin_update')).length, 1, 'the enrolment itself is an admin_update');
  });

  it('lets an admin without TOTP in with the password alone when admin MFA is not required', async () => {
    f = await fixture({ requireAdminMfa: false });
    const r = await f.core.console.adminAuth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.1' });
    assert.equal(r.status, 'ok');
    assert.equal(r.status === 'ok' && r.mfa, false);
    const [e] = await events(f);
    assert.equal(e!.success, true);
    assert.equal(e!.mfa, false);
  });

  it('requires the code of an enrolled admin even when admin MFA is not required', async () => {
    f = await fixture({ requireAdminMfa: false });
    await enrol(f);
    const r = await f.core.console.adminAuth.signIn({ email: EMAIL.toUpperCase(), password: PASSWORD, clientIp: '192.0.2.1' });
    assert.equal(r.status, 'mfa_required');
  });

  it('accepts a TOTP code once: the same code again is a replay, refused and counted', async () => {
    const auth = f.core.console.adminAuth;
    const secret = await enrol(f);
    f.clock.advanceSeconds(30);
    const first = await auth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.1' });
    assert.equal(first.status, 'mfa_required');
    const code = codeAt(secret, f.clock.ms());
    const ok = await auth.completeTotp({ challenge: first.status === 'mfa_required' ? first.challenge : '', code, clientIp: '192.0.2.1' });
    assert.equal(ok.status, 'ok');
    const second = await auth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.2' });
    assert.equal(second.status, 'mfa_required');
    const replay = await auth.completeTotp({ challenge: second.status === 'mfa_required' ? second.challenge : '', code, clientIp: '192.0.2.2' });
    assert.equal(replay.status, 'mfa_invalid');
    assert.equal(replay.status === 'mfa_invalid' && replay.reason, 'TOTP code already used');
    const failed = (await events(f)).filter((e) => !e.success);
    assert.equal(failed.at(-1)!.error_message, 'TOTP code already used');
    assert.equal((await f.store.repos.authState.get(f.adminId)).failedCount, 1, 'a replayed code counts toward the lockout');
    // The refusal opened a fresh challenge; the next step's code goes through it.
    const next = await auth.completeTotp({ challenge: replay.status === 'mfa_invalid' ? replay.challenge : '', code: codeAt(secret, f.clock.ms(), 1), clientIp: '192.0.2.2' });
    assert.equal(next.status, 'ok');
  });

  it('consumes a challenge: it cannot be answered twice, nor be a portal challenge', async () => {
    const auth = f.core.console.adminAuth;
    const secret = await enrol(f);
    f.clock.advanceSeconds(30);
    const r = await auth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.1' });
    const challenge = r.status === 'mfa_required' ? r.challenge : '';
    assert.equal((await auth.completeTotp({ challenge, code: codeAt(secret, f.clock.ms()), clientIp: '192.0.2.1' })).status, 'ok');
    assert.equal((await auth.completeTotp({ challenge, code: codeAt(secret, f.clock.ms(), 1), clientIp: '192.0.2.1' })).status, 'invalid');
    assert.equal((await auth.completeTotp({ challenge: 'not-a-challenge', code: '123456', clientIp: '192.0.2.1' })).status, 'invalid');
  });

  it('expires the TOTP step of a sign-in with its challenge', async () => {
    const auth = f.core.console.adminAuth;
    const secret = await enrol(f);
    f.clock.advanceSeconds(30);
    const r = await auth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.1' });
    f.clock.advanceSeconds(601);
    const late = await auth.completeTotp({ challenge: r.status === 'mfa_required' ? r.challenge : '', code: codeAt(secret, f.clock.ms()), clientIp: '192.0.2.1' });
    assert.equal(late.status, 'invalid');
  });

  it('refuses a wrong password and an unknown email alike, recording why', async () => {
    const auth = f.core.console.adminAuth;
    const wrong = await auth.signIn({ email: EMAIL, password: 'nope', clientIp: '192.0.2.1' });
    const unknown = await auth.signIn({ email: 'ghost@example.com', password: PASSWORD, clientIp: '192.0.2.1' });
    assert.equal(wrong.status, 'invalid');
    assert.equal(unknown.status, 'invalid');
    const ev = await events(f);
    assert.deepEqual(
      ev.map((e) => [e.success, e.error_message, e.initiated_by.email]),
      [
        [false, 'invalid password', EMAIL],
        [false, 'admin not found', 'ghost@example.com'],
      ],
    );
    assert.equal(ev[0]!.service, 'directory');
  });

  it('locks the admin at the threshold; the right password is then refused like a wrong one', async () => {
    const auth = f.core.console.adminAuth;
    for (let i = 0; i < 3; i++) assert.equal((await auth.signIn({ email: EMAIL, password: `wrong-${i}`, clientIp: '192.0.2.1' })).status, 'invalid');
    const locked = await auth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.1' });
    assert.equal(locked.status, 'locked');
    assert.equal((await events(f)).at(-1)!.error_message, 'account locked');
    const lockouts = await events(f, 'user_lockout');
    assert.equal(lockouts.length, 1);
    assert.deepEqual(lockouts[0]!.resource, { id: f.adminId, type: 'admin', email: EMAIL });
  });

  it('locks on concurrent wrong passwords exactly at the threshold', async () => {
    const auth = f.core.console.adminAuth;
    await Promise.all(Array.from({ length: 8 }, (_, i) => auth.signIn({ email: EMAIL, password: `wrong-${i}`, clientIp: '192.0.2.1' })));
    assert.equal((await events(f, 'user_lockout')).length, 1);
    assert.equal((await f.store.repos.authState.get(f.adminId)).lockedAt !== null, true);
  });

  it('counts wrong TOTP codes toward the lockout and unlocks after the lockout time', async () => {
    const auth = f.core.console.adminAuth;
    const secret = await enrol(f);
    f.clock.advanceSeconds(30);
    const r = await auth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.1' });
    let challenge = r.status === 'mfa_required' ? r.challenge : '';
    const bad = codeAt(secret, f.clock.ms()) === '111111' ? '222222' : '111111';
    let last;
    for (let i = 0; i < 3; i++) {
      last = await auth.completeTotp({ challenge, code: bad, clientIp: '192.0.2.1' });
      if (last.status === 'mfa_invalid') challenge = last.challenge;
    }
    assert.equal(last!.status, 'locked');
    assert.equal((await auth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.1' })).status, 'locked');
    f.clock.advanceSeconds(601);
    assert.equal((await auth.signIn({ email: EMAIL, password: PASSWORD, clientIp: '192.0.2.1' })).status, 'mfa_required');
    assert.equal((await events(f, 'user_unlocked')).length, 1);
  });

  it('changes the admin password only with the current one, under the admin rules', async () => {
    const auth = f.core.console.adminAuth;
    assert.equal(await auth.changePassword(f.adminId, 'wrong', 'Another-Long-Password-1', f.ctx), 'wrong_password');
    await assert.rejects(() => auth.changePassword(f.adminId, PASSWORD, 'short', f.ctx), /at least 12/);
    assert.equal(await auth.changePassword(f.adminId, PASSWORD, 'Another-Long-Password-1', f.ctx), 'ok');
    const r = await f.core.console.adminAuth.signIn({ email: EMAIL, password: 'Another-Long-Password-1', clientIp: '192.0.2.1' });
    assert.equal(r.status, 'enrollment_required');
  });

  it('refuses to turn TOTP off while the organisation requires admin MFA', async () => {
    await enrol(f);
    await assert.rejects(() => f.core.console.adminAuth.removeTotp(f.adminId, f.ctx, PASSWORD), /requires admin MFA/);
  });

  it('turns TOTP off, when allowed, only with the password given again, and replaces a key the same way', async () => {
    f = await fixture({ requireAdminMfa: false });
    const secret = await enrol(f);
    const auth = f.core.console.adminAuth;
    await assert.rejects(() => auth.removeTotp(f.adminId, f.ctx, 'wrong-password'), (err: unknown) => isDomainError(err) && err.field === 'password');
    assert.equal((await auth.get(f.adminId)).totpEnrolled, true);
    // A new key from the session: a valid code from it is not enough without the password.
    const next = await auth.beginTotpEnrolment(f.adminId);
    const code = codeAt(next.secret, f.clock.ms());
    assert.equal(await auth.confirmTotpEnrolment(f.adminId, code, f.ctx), false);
    f.clock.advance(30_000);
    assert.equal(await auth.confirmTotpEnrolment(f.adminId, codeAt(next.secret, f.clock.ms()), f.ctx, undefined, PASSWORD), true);
    assert.notEqual(next.secret, secret);
    await auth.removeTotp(f.adminId, f.ctx, PASSWORD);
    assert.equal((await auth.get(f.adminId)).totpEnrolled, false);
  });

  it('does not check a password given again while the account is locked, right or wrong', async () => {
    f = await fixture({ requireAdminMfa: false, maxLoginAttempts: 3 });
    await enrol(f);
    const auth = f.core.console.adminAuth;
    for (let i = 0; i < 3; i++) await assert.rejects(() => auth.removeTotp(f.adminId, f.ctx, `wrong-${i}`), (err: unknown) => isDomainError(err) && err.field === 'password');
    // Locked now: the right password removes nothing, and changes nothing.
    await assert.rejects(() => auth.removeTotp(f.adminId, f.ctx, PASSWORD), (err: unknown) => isDomainError(err) && err.field === 'password');
    assert.equal((await auth.get(f.adminId)).totpEnrolled, true);
    assert.equal(await auth.changePassword(f.adminId, PASSWORD, 'Another-Long-Password-1', f.ctx), 'wrong_password');
  });
});
