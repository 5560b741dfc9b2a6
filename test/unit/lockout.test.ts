import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { lockEndsAt, lockStatus, type LockStatus } from '../../src/core/auth/lockout.js';
import { DEFAULT_PASSWORD_POLICY, lockoutPolicyOf, type LockoutPolicy, type PasswordPolicy } from '../../src/core/directory/organization.js';

const LOCKED_AT = new Date('2025-01-15T10:00:00.000Z');
const after = (seconds: number) => new Date(LOCKED_AT.getTime() + seconds * 1000);

describe('lockout', () => {
  describe('lockStatus', () => {
    const timed: LockoutPolicy = { maxAttempts: 5, lockoutSeconds: 600, resetCounterSeconds: 0 };
    const untilAdmin: LockoutPolicy = { ...timed, lockoutSeconds: 0 };
    const cases: [string, Date | null, LockoutPolicy, Date, LockStatus][] = [
      ['an account without a lock', null, timed, after(0), 'unlocked'],
      ['a timed lock just set', LOCKED_AT, timed, after(0), 'locked'],
      ['a timed lock one millisecond before its end', LOCKED_AT, timed, new Date(after(600).getTime() - 1), 'locked'],
      ['a timed lock at its end', LOCKED_AT, timed, after(600), 'lock_expired'],
      ['a timed lock long after its end', LOCKED_AT, timed, after(86_400), 'lock_expired'],
      ['a lock until an admin unlocks, a year later', LOCKED_AT, untilAdmin, after(365 * 86_400), 'locked'],
    ];
    for (const [what, lockedAt, policy, now, expected] of cases) {
      it(`is ${expected} for ${what}`, () => {
        assert.equal(lockStatus({ lockedAt }, policy, now), expected);
      });
    }
  });

  describe('lockEndsAt', () => {
    it('is the lock time plus lockoutSeconds', () => {
      assert.deepEqual(lockEndsAt({ lockedAt: LOCKED_AT }, { maxAttempts: 5, lockoutSeconds: 90, resetCounterSeconds: 0 }), after(90));
    });

    it('is null without a lock', () => {
      assert.equal(lockEndsAt({ lockedAt: null }, { maxAttempts: 5, lockoutSeconds: 90, resetCounterSeconds: 0 }), null);
    });

    it('is null for a lock that only an admin ends', () => {
      assert.equal(lockEndsAt({ lockedAt: LOCKED_AT }, { maxAttempts: 5, lockoutSeconds: 0, resetCounterSeconds: 0 }), null);
    });
  });

  describe('lockoutPolicyOf', () => {
    const p = (o: Partial<PasswordPolicy>): PasswordPolicy => ({
      ...DEFAULT_PASSWORD_POLICY,
      maxLoginAttempts: 7,
      lockoutTimeInSeconds: 900,
      resetLockoutCounterMinutes: 15,
      ...o,
    });
    const cases: [string, Partial<PasswordPolicy>, LockoutPolicy][] = [
      ['every rule on', {}, { maxAttempts: 7, lockoutSeconds: 900, resetCounterSeconds: 900 }],
      ['max login attempts off', { enableMaxLoginAttempts: false }, { maxAttempts: 0, lockoutSeconds: 900, resetCounterSeconds: 900 }],
      ['lockout time off', { enableLockoutTimeInSeconds: false }, { maxAttempts: 7, lockoutSeconds: 0, resetCounterSeconds: 900 }],
      ['reset counter off', { enableResetLockoutCounter: false }, { maxAttempts: 7, lockoutSeconds: 900, resetCounterSeconds: 0 }],
    ];
    for (const [what, o, expected] of cases) {
      it(`translates a policy with ${what}`, () => {
        assert.deepEqual(lockoutPolicyOf(p(o)), expected);
      });
    }

    it('translates the default policy to 10 attempts, 10 minutes, 10 minutes', () => {
      assert.deepEqual(lockoutPolicyOf(DEFAULT_PASSWORD_POLICY), { maxAttempts: 10, lockoutSeconds: 600, resetCounterSeconds: 600 });
    });
  });
});
