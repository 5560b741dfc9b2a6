import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'mocha';
import { systemActor, type ActorContext } from '../../../src/core/access/actor.js';
import { lockoutPolicyOf } from '../../../src/core/directory/organization.js';
import type { Core } from '../../../src/core/index.js';
import type { MailMessage, MailTransport } from '../../../src/core/mail/smtp-transport.js';
import type { Store } from '../../../src/core/ports.js';
import { createFakeClock, type FakeClock } from '../../helpers/fake-clock.js';
import { allAuditEvents, createMemoryStore } from '../../helpers/memory-store.js';
import { createTestCore } from '../../helpers/test-core.js';

const ctx: ActorContext = { actor: { id: 'a'.repeat(24), type: 'admin', email: 'root@example.com' }, clientIp: '192.0.2.7', authMethod: 'session' };

interface Fixture {
  core: Core;
  store: Store;
  clock: FakeClock;
  sent: MailMessage[];
  transport: { fail: boolean };
  ids: Record<string, string>;
}

async function fixture(): Promise<Fixture> {
  const clock = createFakeClock('2025-03-01T10:00:00.000Z');
  const store = createMemoryStore({ clock });
  const sent: MailMessage[] = [];
  const state = { fail: false };
  const transport: MailTransport = {
    async send(settings, m) {
      if (state.fail) throw new Error('connect ECONNREFUSED 127.0.0.1:2525');
      assert.equal(settings.host, 'smtp.example.test');
      sent.push(m);
    },
  };
  const core = createTestCore({
    store,
    clock,
    mail: {
      defaults: { host: 'smtp.example.test', port: 25, security: 'none', username: '', password: '', from: 'Gatehouse <gh@example.test>' },
      linkHours: { activation: 168, reset: 24 },
      publicUrl: () => 'https://id.example.test',
      transport,
    },
  });
  await core.bootstrap({ organizationName: 'Org', adminEmail: 'root@example.com', adminPassword: 'Admin-Password-2024!', apiKey: '' });
  const ids: Record<string, string> = {};
  const mk = async (username: string, extra: Record<string, unknown> = {}) => {
    ids[username] = (await core.users.create({ username, email: `${username}@example.com`, firstname: username, ...extra }, systemActor)).id;
  };
  await mk('pending');
  await mk('active', { password: 'Sunny-Meadow-41' });
  await mk('staged', { state: 'STAGED', password: 'Sunny-Meadow-41' });
  await mk('suspended', { state: 'SUSPENDED', password: 'Sunny-Meadow-41' });
  return { core, store, clock, sent, transport: state, ids };
}

describe('console: bulk actions', function () {
  this.timeout(30_000);
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });

  describe('Resend Email', () => {
    it('sends activation to password-pending users, a reset to active users, and nothing to staged or suspended users', async () => {
      const r = await f.core.console.bulk.users('resend_email', [f.ids.pending!, f.ids.active!, f.ids.staged!, f.ids.suspended!], ctx);
      assert.deepEqual(
        r.map((x) => [x.name, x.status]),
        [
          ['pending', 'done'],
          ['active', 'done'],
          ['staged', 'skipped'],
          ['suspended', 'skipped'],
        ],
      );
      assert.match(r[0]!.message, /activation email/);
      assert.match(r[1]!.message, /reset email/);
      assert.deepEqual(f.sent.map((m) => m.to), ['pending@example.com', 'active@example.com']);
      assert.match(f.sent[0]!.subject, /Activate/);
      assert.match(f.sent[1]!.subject, /Reset/);
      for (const m of f.sent) assert.match(m.text, /https:\/\/id\.example\.test\/account\/set-password\?token=[A-Za-z0-9_-]{43}/);
    });

    it('reports a relay failure per user and leaves no usable link behind', async () => {
      f.transport.fail = true;
      const [r] = await f.core.console.bulk.users('resend_email', [f.ids.pending!], ctx);
      assert.equal(r!.status, 'failed');
      assert.match(r!.message, /ECONNREFUSED/);
    });

    it('replaces an older link: only the newest one sets a password', async () => {
      await f.core.console.bulk.users('resend_email', [f.ids.pending!], ctx);
      await f.core.console.bulk.users('resend_email', [f.ids.pending!], ctx);
      const [older, newer] = f.sent.map((m) => /token=([A-Za-z0-9_-]+)/.exec(m.text)![1]!);
      assert.equal((await f.core.console.mail.redeem(older, 'Brand-New-Pass-77', '192.0.2.1')).status, 'invalid_link');
      assert.equal((await f.core.console.mail.redeem(newer, 'Brand-New-Pass-77', '192.0.2.1')).status, 'ok');
      assert.equal((await f.core.users.get(f.ids.pending!)).hasPassword, true);
    });
  });

  it('Force Password Change expires active passwords and skips password-pending users', async () => {
    const r = await f.core.console.bulk.users('force_password_change', [f.ids.active!, f.ids.pending!], ctx);
    assert.deepEqual(r.map((x) => x.status), ['done', 'skipped']);
    assert.equal((await f.core.users.get(f.ids.active!)).passwordExpiredFlag, true);
    assert.equal((await f.core.users.status(await f.core.users.get(f.ids.active!))).passwordExpired, true);
  });

  it('Unlock User Account clears a lock and skips users that are not locked', async () => {
    const policy = lockoutPolicyOf({ ...(await f.core.organization.get()).settings.passwordPolicy, maxLoginAttempts: 1 });
    await f.store.repos.authState.recordFailure(f.ids.active!, f.clock.now(), policy);
    assert.equal((await f.core.users.status(await f.core.users.get(f.ids.active!))).accountLocked, true);
    const r = await f.core.console.bulk.users('unlock', [f.ids.active!, f.ids.pending!], ctx);
    assert.deepEqual(r.map((x) => x.status), ['done', 'skipped']);
    assert.equal((await f.core.users.status(await f.core.users.get(f.ids.active!))).accountLocked, false);
    await f.core.audit.flush();
    assert.equal((await allAuditEvents(f.store)).filter((e) => e.event_type === 'user_unlocked').length, 1);
  });

  it('Require User MFA gives the enrolment grace period; Remove User MFA Requirement clears it', async () => {
    const [r] = await f.core.console.bulk.users('require_mfa', [f.ids.active!], ctx);
    assert.equal(r!.status, 'done');
    let u = await f.core.users.get(f.ids.active!);
    assert.equal(u.enableUserPortalMultifactor, true);
    assert.equal(u.mfaExclusionUntil?.toISOString(), '2025-03-08T10:00:00.000Z');
    assert.equal((await f.core.console.bulk.users('require_mfa', [f.ids.active!], ctx))[0]!.status, 'skipped');
    await f.core.console.bulk.users('remove_mfa', [f.ids.active!], ctx);
    u = await f.core.users.get(f.ids.active!);
    assert.equal(u.enableUserPortalMultifactor, false);
    assert.equal(u.mfaExclusion, false);
  });

  it('Reset TOTP MFA removes the key, with a re-enrolment period for users who must use MFA', async () => {
    await f.core.users.provisionTotp(f.ids.active!, undefined, ctx);
    await f.core.users.requireMfa(f.ids.active!, ctx);
    const r = await f.core.console.bulk.users('reset_totp', [f.ids.active!, f.ids.pending!], ctx);
    assert.deepEqual(r.map((x) => x.status), ['done', 'skipped']);
    const u = await f.core.users.get(f.ids.active!);
    assert.equal(u.totpEnrolled, false);
    assert.equal(u.mfaExclusionUntil?.toISOString(), '2025-03-08T10:00:00.000Z');
  });

  it('reports unknown ids as failed and refuses an unknown action or an empty selection', async () => {
    const r = await f.core.console.bulk.users('unlock', ['f'.repeat(24)], ctx);
    assert.deepEqual(r.map((x) => [x.status, x.message]), [['failed', 'not found']]);
    await assert.rejects(() => f.core.console.bulk.users('delete_everything', [f.ids.active!], ctx), /must be one of/);
    await assert.rejects(() => f.core.console.bulk.users('unlock', [], ctx), /select at least one/);
  });

  it('switches device MFA and System Insights, skipping devices already in that state', async () => {
    const a = await f.core.systems.create({ displayName: 'a' }, ctx);
    const b = await f.core.systems.create({ displayName: 'b', allowMultiFactorAuthentication: true, systemInsightsState: 'enabled' }, ctx);
    assert.deepEqual((await f.core.console.bulk.devices('enable_mfa', [a.id, b.id], ctx)).map((x) => x.status), ['done', 'skipped']);
    assert.deepEqual((await f.core.console.bulk.devices('disable_insights', [a.id, b.id], ctx)).map((x) => x.status), ['skipped', 'done']);
    assert.equal((await f.core.systems.get(a.id)).allowMultiFactorAuthentication, true);
    assert.equal((await f.core.systems.get(b.id)).systemInsightsState, 'disabled');
    assert.deepEqual((await f.core.console.bulk.devices('disable_mfa', [a.id], ctx)).map((x) => x.status), ['done']);
    assert.deepEqual((await f.core.console.bulk.devices('enable_insights', [a.id], ctx)).map((x) => x.status), ['done']);
  });
});
