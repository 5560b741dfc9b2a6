import type { User } from '../directory/types.js';
import type { RadiusMfaMode } from '../directory/types.js';

/**
 * What a resource asks of a user's second factor.
 * - `none`: never ask.
 * - `if_enrolled`: ask users who have TOTP; others pass with the password alone.
 * - `user_policy`: ask users who have TOTP; a user whose MFA is required ("Require User MFA") but who
 *   has not enrolled is refused once the enrolment grace period is over, and passes inside it.
 * - `always`: every user must give a code; a user without TOTP is refused except inside the
 *   enrolment grace period. A permanent MFA exclusion is not honoured here.
 * A permanent exclusion (`mfa.exclusion` without `exclusionUntil`) skips MFA for the first three.
 */
export type MfaRequirement = 'none' | 'if_enrolled' | 'user_policy' | 'always';

/** `ask`: a code is needed; `enroll`: the user must enrol first (a failure on LDAP/RADIUS). */
export type MfaDecision = 'skip' | 'ask' | 'enroll';

export function inMfaGracePeriod(user: Pick<User, 'mfaExclusion' | 'mfaExclusionUntil'>, now: Date): boolean {
  return user.mfaExclusion && user.mfaExclusionUntil !== null && user.mfaExclusionUntil.getTime() > now.getTime();
}

function permanentlyExcluded(user: Pick<User, 'mfaExclusion' | 'mfaExclusionUntil'>): boolean {
  return user.mfaExclusion && user.mfaExclusionUntil === null;
}

export function decideMfa(
  user: Pick<User, 'totpEnrolled' | 'enableUserPortalMultifactor' | 'mfaExclusion' | 'mfaExclusionUntil'>,
  requirement: MfaRequirement,
  now: Date,
): MfaDecision {
  if (requirement === 'none') return 'skip';
  if (requirement === 'always') {
    if (user.totpEnrolled) return 'ask';
    return inMfaGracePeriod(user, now) ? 'skip' : 'enroll';
  }
  if (permanentlyExcluded(user)) return 'skip';
  if (user.totpEnrolled) return 'ask';
  if (requirement === 'if_enrolled') return 'skip';
  // user_policy, not enrolled
  if (!user.enableUserPortalMultifactor || inMfaGracePeriod(user, now)) return 'skip';
  return 'enroll';
}

/** The RADIUS server modes of the contract, in terms of the requirement above. */
export function mfaRequirementOfRadius(mode: RadiusMfaMode): MfaRequirement {
  switch (mode) {
    case 'DISABLED':
      return 'none';
    case 'ENABLED':
      return 'if_enrolled';
    case 'REQUIRED':
      return 'user_policy';
    case 'ALWAYS':
      return 'always';
  }
}
