import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { decideMfa, inMfaGracePeriod, mfaRequirementOfRadius, type MfaDecision, type MfaRequirement } from '../../src/core/auth/mfa-policy.js';
import type { RadiusMfaMode, User } from '../../src/core/directory/types.js';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const DAY = 86_400_000;

/** The user's MFA exclusion: none, an enrolment grace period running or over, or a permanent exclusion. */
type Exclusion = 'none' | 'grace' | 'expired' | 'permanent';

const EXCLUSIONS: Record<Exclusion, Pick<User, 'mfaExclusion' | 'mfaExclusionUntil'>> = {
  none: { mfaExclusion: false, mfaExclusionUntil: null },
  grace: { mfaExclusion: true, mfaExclusionUntil: new Date(NOW.getTime() + 3 * DAY) },
  expired: { mfaExclusion: true, mfaExclusionUntil: new Date(NOW.getTime() - DAY) },
  permanent: { mfaExclusion: true, mfaExclusionUntil: null },
};

const userWith = (enrolled: boolean, required: boolean, exclusion: Exclusion) => ({
  totpEnrolled: enrolled,
  enableUserPortalMultifactor: required,
  ...EXCLUSIONS[exclusion],
});

describe('mfa policy', () => {
  describe('decideMfa', () => {
    // requirement × TOTP enrolled × "Require User MFA" × exclusion → decision
    const table: [MfaRequirement, boolean, boolean, Exclusion, MfaDecision][] = [
      ['none', false, false, 'none', 'skip'],
      ['none', false, false, 'grace', 'skip'],
      ['none', false, false, 'expired', 'skip'],
      ['none', false, false, 'permanent', 'skip'],
      ['none', false, true, 'none', 'skip'],
      ['none', false, true, 'grace', 'skip'],
      ['none', false, true, 'expired', 'skip'],
      ['none', false, true, 'permanent', 'skip'],
      ['none', true, false, 'none', 'skip'],
      ['none', true, false, 'grace', 'skip'],
      ['none', true, false, 'expired', 'skip'],
      ['none', true, false, 'permanent', 'skip'],
      ['none', true, true, 'none', 'skip'],
      ['none', true, true, 'grace', 'skip'],
      ['none', true, true, 'expired', 'skip'],
      ['none', true, true, 'permanent', 'skip'],
      ['if_enrolled', false, false, 'none', 'skip'],
      ['if_enrolled', false, false, 'grace', 'skip'],
      ['if_enrolled', false, false, 'expired', 'skip'],
      ['if_enrolled', false, false, 'permanent', 'skip'],
      ['if_enrolled', false, true, 'none', 'skip'],
      ['if_enrolled', false, true, 'grace', 'skip'],
      ['if_enrolled', false, true, 'expired', 'skip'],
      ['if_enrolled', false, true, 'permanent', 'skip'],
      ['if_enrolled', true, false, 'none', 'ask'],
      ['if_enrolled', true, false, 'grace', 'ask'],
      ['if_enrolled', true, false, 'expired', 'ask'],
      ['if_enrolled', true, false, 'permanent', 'skip'],
      ['if_enrolled', true, true, 'none', 'ask'],
      ['if_enrolled', true, true, 'grace', 'ask'],
      ['if_enrolled', true, true, 'expired', 'ask'],
      ['if_enrolled', true, true, 'permanent', 'skip'],
      ['user_policy', false, false, 'none', 'skip'],
      ['user_policy', false, false, 'grace', 'skip'],
      ['user_policy', false, false, 'expired', 'skip'],
      ['user_policy', false, false, 'permanent', 'skip'],
      ['user_policy', false, true, 'none', 'enroll'],
      ['user_policy', false, true, 'grace', 'skip'],
      ['user_policy', false, true, 'expired', 'enroll'],
      ['user_policy', false, true, 'permanent', 'skip'],
      ['user_policy', true, false, 'none', 'ask'],
      ['user_policy', true, false, 'grace', 'ask'],
      ['user_policy', true, false, 'expired', 'ask'],
      ['user_policy', true, false, 'permanent', 'skip'],
      ['user_policy', true, true, 'none', 'ask'],
      ['user_policy', true, true, 'grace', 'ask'],
      ['user_policy', true, true, 'expired', 'ask'],
      ['user_policy', true, true, 'permanent', 'skip'],
      ['always', false, false, 'none', 'enroll'],
      ['always', false, false, 'grace', 'skip'],
      ['always', false, false, 'expired', 'enroll'],
      ['always', false, false, 'permanent', 'enroll'],
      ['always', false, true, 'none', 'enroll'],
      ['always', false, true, 'grace', 'skip'],
      ['always', false, true, 'expired', 'enroll'],
      ['always', false, true, 'permanent', 'enroll'],
      ['always', true, false, 'none', 'ask'],
      ['always', true, false, 'grace', 'ask'],
      ['always', true, false, 'expired', 'ask'],
      ['always', true, false, 'permanent', 'ask'],
      ['always', true, true, 'none', 'ask'],
      ['always', true, true, 'grace', 'ask'],
      ['always', true, true, 'expired', 'ask'],
      ['always', true, true, 'permanent', 'ask'],
    ];

    it('has a row for every combination', () => {
      assert.equal(table.length, 4 * 2 * 2 * 4);
      assert.equal(new Set(table.map((r) => r.slice(0, 4).join())).size, table.length);
    });

    for (const [requirement, enrolled, required, exclusion, expected] of table) {
      it(`${requirement}, ${enrolled ? 'enrolled' : 'not enrolled'}, ${required ? 'MFA required' : 'MFA not required'}, exclusion ${exclusion} → ${expected}`, () => {
        assert.equal(decideMfa(userWith(enrolled, required, exclusion), requirement, NOW), expected);
      });
    }

    it('ends the grace period exactly at mfaExclusionUntil', () => {
      const user = { totpEnrolled: false, enableUserPortalMultifactor: true, mfaExclusion: true, mfaExclusionUntil: NOW };
      assert.equal(decideMfa(user, 'user_policy', NOW), 'enroll');
      assert.equal(decideMfa(user, 'always', NOW), 'enroll');
      assert.equal(decideMfa(user, 'user_policy', new Date(NOW.getTime() - 1)), 'skip');
      assert.equal(decideMfa(user, 'always', new Date(NOW.getTime() - 1)), 'skip');
    });

    it('ignores an exclusion date when the exclusion flag is off', () => {
      const user = { totpEnrolled: false, enableUserPortalMultifactor: true, mfaExclusion: false, mfaExclusionUntil: new Date(NOW.getTime() + DAY) };
      assert.equal(decideMfa(user, 'user_policy', NOW), 'enroll');
      assert.equal(decideMfa(user, 'always', NOW), 'enroll');
    });
  });

  describe('inMfaGracePeriod', () => {
    const cases: [string, Pick<User, 'mfaExclusion' | 'mfaExclusionUntil'>, boolean][] = [
      ['no exclusion', EXCLUSIONS.none, false],
      ['an exclusion until a future time', EXCLUSIONS.grace, true],
      ['an exclusion that ended', EXCLUSIONS.expired, false],
      ['a permanent exclusion (not a grace period)', EXCLUSIONS.permanent, false],
      ['an exclusion ending right now', { mfaExclusion: true, mfaExclusionUntil: NOW }, false],
      ['a date without the exclusion flag', { mfaExclusion: false, mfaExclusionUntil: new Date(NOW.getTime() + DAY) }, false],
    ];
    for (const [what, user, expected] of cases) {
      it(`is ${expected} for ${what}`, () => {
        assert.equal(inMfaGracePeriod(user, NOW), expected);
      });
    }
  });

  describe('mfaRequirementOfRadius', () => {
    const table: [RadiusMfaMode, MfaRequirement][] = [
      ['DISABLED', 'none'],
      ['ENABLED', 'if_enrolled'],
      ['REQUIRED', 'user_policy'],
      ['ALWAYS', 'always'],
    ];
    for (const [mode, requirement] of table) {
      it(`maps ${mode} to ${requirement}`, () => {
        assert.equal(mfaRequirementOfRadius(mode), requirement);
      });
    }
  });
});
