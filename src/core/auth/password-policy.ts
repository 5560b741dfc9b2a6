import { randomInt } from 'node:crypto';
import { CONTROL } from '../directory/names.js';
import type { PasswordPolicy } from '../directory/organization.js';
import { MAX_PASSWORD_LENGTH, type PasswordHasher } from './password-hasher.js';

/** One broken rule, with a message an admin or user can act on. */
export interface PolicyViolation {
  rule: 'minLength' | 'maxLength' | 'characters' | 'needsUppercase' | 'needsLowercase' | 'needsNumeric' | 'needsSymbolic' | 'allowUsernameSubstring' | 'maxHistory';
  message: string;
}

/** Checks the rules that need no stored hashes (length, classes, username substring). */
export function checkPasswordRules(password: string, policy: PasswordPolicy, username: string): PolicyViolation[] {
  const v: PolicyViolation[] = [];
  const chars = [...password];
  if (policy.enableMinLength && chars.length < policy.minLength) {
    v.push({ rule: 'minLength', message: `must be at least ${policy.minLength} characters long` });
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    v.push({ rule: 'maxLength', message: `must be at most ${MAX_PASSWORD_LENGTH} characters long` });
  }
  // Always, whatever the policy: a control character cannot be typed at a login prompt, and NUL
  // cannot travel in a RADIUS User-Password at all (its padding is NULs, RFC 2865 §5.2), so such a
  // password would work on some protocols only; a lone surrogate has no UTF-8 form to hash.
  if (CONTROL.test(password) || !password.isWellFormed()) {
    v.push({ rule: 'characters', message: 'must not contain control characters' });
  }
  if (policy.needsUppercase && !/\p{Lu}/u.test(password)) v.push({ rule: 'needsUppercase', message: 'must contain an uppercase letter' });
  if (policy.needsLowercase && !/\p{Ll}/u.test(password)) v.push({ rule: 'needsLowercase', message: 'must contain a lowercase letter' });
  if (policy.needsNumeric && !/\p{Nd}/u.test(password)) v.push({ rule: 'needsNumeric', message: 'must contain a digit' });
  if (policy.needsSymbolic && !/[^\p{L}\p{Nd}]/u.test(password)) v.push({ rule: 'needsSymbolic', message: 'must contain a symbol' });
  if (!policy.allowUsernameSubstring && username.length >= 3 && password.toLowerCase().includes(username.toLowerCase())) {
    v.push({ rule: 'allowUsernameSubstring', message: 'must not contain the username' });
  }
  return v;
}

/**
 * Checks the history rule: the new password must differ from the current one and the last
 * `maxHistory` ones. Costs one argon2id verification per remembered hash.
 */
export async function checkPasswordHistory(
  password: string,
  policy: PasswordPolicy,
  hashes: string[],
  hasher: PasswordHasher,
): Promise<PolicyViolation[]> {
  if (!policy.enableMaxHistory || policy.maxHistory <= 0) return [];
  for (const h of hashes.slice(0, policy.maxHistory)) {
    if (await hasher.verify(h, password)) {
      return [{ rule: 'maxHistory', message: `must not be one of the last ${policy.maxHistory} passwords` }];
    }
  }
  return [];
}

/** The remembered hashes after a change: the previous current hash pushed to the front, bounded. */
export function nextPasswordHistory(previousHash: string | null, history: string[], policy: PasswordPolicy): string[] {
  const keep = policy.enableMaxHistory ? policy.maxHistory : 0;
  if (keep <= 0) return [];
  return [...(previousHash ? [previousHash] : []), ...history].slice(0, keep);
}

/** A password is expired when an admin forced it, or when the policy's age limit has passed. */
export function isPasswordExpired(
  user: { passwordExpiredFlag: boolean; passwordChangedAt: Date | null; hasPassword: boolean },
  policy: PasswordPolicy,
  now: Date,
): boolean {
  if (user.passwordExpiredFlag) return true;
  return passwordExpiresAt(user, policy) !== null && passwordExpiresAt(user, policy)!.getTime() <= now.getTime();
}

/** When the password will expire under the policy, or null when it does not. */
export function passwordExpiresAt(
  user: { passwordChangedAt: Date | null; hasPassword: boolean },
  policy: PasswordPolicy,
): Date | null {
  if (!policy.enablePasswordExpirationInDays || !user.hasPassword || !user.passwordChangedAt) return null;
  return new Date(user.passwordChangedAt.getTime() + policy.passwordExpirationInDays * 86_400_000);
}

/**
 * A random password that satisfies the policy's length and class rules (for "generate one for me"
 * flows such as LDAP Password Modify without a new password): one character of each class (upper,
 * lower, digit, symbol) and the rest from all of them, each drawn with crypto.randomInt and then
 * shuffled, so no position or character is fixed (~150 bits at 24 characters).
 */
export function generateCompliantPassword(policy: PasswordPolicy): string {
  const length = Math.max(24, policy.enableMinLength ? policy.minLength : 0);
  const classes = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!#%+-=?@^_~'];
  const all = classes.join('');
  const pick = (set: string) => set[randomInt(set.length)]!;
  const chars = [...classes.map(pick), ...Array.from({ length: length - classes.length }, () => pick(all))];
  // Fisher–Yates: the four guaranteed characters land anywhere.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
