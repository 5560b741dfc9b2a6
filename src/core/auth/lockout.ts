import type { LockoutPolicy } from '../directory/organization.js';
import type { AuthState } from '../directory/types.js';

/**
 * The lockout state machine's arithmetic. The counting itself happens in one atomic statement in
 * the store (AuthStateRepository.recordFailure); this decides what a stored state means now.
 *
 *   unlocked --failure (count reaches maxAttempts)--> locked
 *   locked --lockoutSeconds elapsed--> lock_expired (cleared on the next attempt, `user_unlocked`)
 *   locked --admin unlock--> unlocked
 */
export type LockStatus = 'unlocked' | 'locked' | 'lock_expired';

export function lockStatus(state: Pick<AuthState, 'lockedAt'>, policy: LockoutPolicy, now: Date): LockStatus {
  if (!state.lockedAt) return 'unlocked';
  if (policy.lockoutSeconds > 0 && state.lockedAt.getTime() + policy.lockoutSeconds * 1000 <= now.getTime()) {
    return 'lock_expired';
  }
  return 'locked';
}

/** When a lock ends on its own, or null when only an admin can end it. */
export function lockEndsAt(state: Pick<AuthState, 'lockedAt'>, policy: LockoutPolicy): Date | null {
  if (!state.lockedAt || policy.lockoutSeconds <= 0) return null;
  return new Date(state.lockedAt.getTime() + policy.lockoutSeconds * 1000);
}
