import { invalid } from '../errors.js';

/**
 * The organisation's password and lockout policy, with JumpCloud's key names so that scripts
 * written for JumpCloud's `PUT /api/organizations/{id}` work unchanged. A rule applies only when its
 * `enable…` flag is set (JumpCloud semantics); flags default to secure values.
 */
export interface PasswordPolicy {
  enableMinLength: boolean;
  minLength: number;
  needsUppercase: boolean;
  needsLowercase: boolean;
  needsNumeric: boolean;
  needsSymbolic: boolean;
  allowUsernameSubstring: boolean;
  enableMaxHistory: boolean;
  maxHistory: number;
  enablePasswordExpirationInDays: boolean;
  passwordExpirationInDays: number;
  enableMaxLoginAttempts: boolean;
  maxLoginAttempts: number;
  enableLockoutTimeInSeconds: boolean;
  /** 0 (or the flag off) = locked until an admin unlocks. */
  lockoutTimeInSeconds: number;
  enableResetLockoutCounter: boolean;
  /** Failures older than this stop counting; 0 (or the flag off) = they count until a success. */
  resetLockoutCounterMinutes: number;
}

export interface OrgSettings {
  passwordPolicy: PasswordPolicy;
  /** Days a user has to enrol TOTP after "Require User MFA" (JumpCloud's enrollment period). */
  userMfaEnrollmentDays: number;
  /** Admins must use TOTP to sign in to the console. */
  requireAdminMfa: boolean;
}

export interface Organization {
  id: string;
  displayName: string;
  settings: OrgSettings;
  createdAt: Date;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  enableMinLength: true,
  minLength: 8,
  needsUppercase: false,
  needsLowercase: false,
  needsNumeric: false,
  needsSymbolic: false,
  allowUsernameSubstring: false,
  enableMaxHistory: false,
  maxHistory: 0,
  enablePasswordExpirationInDays: false,
  passwordExpirationInDays: 90,
  enableMaxLoginAttempts: true,
  maxLoginAttempts: 10,
  enableLockoutTimeInSeconds: true,
  lockoutTimeInSeconds: 600,
  enableResetLockoutCounter: true,
  resetLockoutCounterMinutes: 10,
};

export const DEFAULT_ORG_SETTINGS: OrgSettings = {
  passwordPolicy: DEFAULT_PASSWORD_POLICY,
  userMfaEnrollmentDays: 7,
  requireAdminMfa: true,
};

type Rule = { kind: 'bool' } | { kind: 'int'; min: number; max: number };

const POLICY_RULES: Record<keyof PasswordPolicy, Rule> = {
  enableMinLength: { kind: 'bool' },
  minLength: { kind: 'int', min: 1, max: 128 },
  needsUppercase: { kind: 'bool' },
  needsLowercase: { kind: 'bool' },
  needsNumeric: { kind: 'bool' },
  needsSymbolic: { kind: 'bool' },
  allowUsernameSubstring: { kind: 'bool' },
  enableMaxHistory: { kind: 'bool' },
  maxHistory: { kind: 'int', min: 0, max: 24 },
  enablePasswordExpirationInDays: { kind: 'bool' },
  passwordExpirationInDays: { kind: 'int', min: 1, max: 3650 },
  enableMaxLoginAttempts: { kind: 'bool' },
  maxLoginAttempts: { kind: 'int', min: 1, max: 1000 },
  enableLockoutTimeInSeconds: { kind: 'bool' },
  lockoutTimeInSeconds: { kind: 'int', min: 0, max: 31_536_000 },
  enableResetLockoutCounter: { kind: 'bool' },
  resetLockoutCounterMinutes: { kind: 'int', min: 0, max: 525_600 },
};

/**
 * Applies a partial policy from the API onto the current one. Setting a value without its flag
 * (e.g. `minLength: 12` alone) turns the rule on, as an admin would expect. Throws a field-level
 * DomainError on a bad value or an unknown key.
 */
export function mergePasswordPolicy(current: PasswordPolicy, patch: Record<string, unknown>): PasswordPolicy {
  const next: PasswordPolicy = { ...current };
  const enableFor: Partial<Record<keyof PasswordPolicy, keyof PasswordPolicy>> = {
    minLength: 'enableMinLength',
    maxHistory: 'enableMaxHistory',
    passwordExpirationInDays: 'enablePasswordExpirationInDays',
    maxLoginAttempts: 'enableMaxLoginAttempts',
    lockoutTimeInSeconds: 'enableLockoutTimeInSeconds',
    resetLockoutCounterMinutes: 'enableResetLockoutCounter',
  };
  for (const [key, value] of Object.entries(patch)) {
    const field = `settings.passwordPolicy.${key}`;
    // Own keys only: "constructor" or "toString" must not pass for a rule.
    const rule = Object.hasOwn(POLICY_RULES, key) ? POLICY_RULES[key as keyof PasswordPolicy] : undefined;
    if (!rule) throw invalid(field, `unknown password policy setting ${JSON.stringify(key)}`);
    if (rule.kind === 'bool') {
      if (typeof value !== 'boolean') throw invalid(field, 'must be true or false');
      (next as unknown as Record<string, unknown>)[key] = value;
    } else {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
        throw invalid(field, `must be an integer from ${rule.min} to ${rule.max}`);
      }
      (next as unknown as Record<string, unknown>)[key] = value;
      const flag = Object.hasOwn(enableFor, key) ? enableFor[key as keyof PasswordPolicy] : undefined;
      if (flag && !(flag in patch)) (next as unknown as Record<string, unknown>)[flag] = true;
    }
  }
  return next;
}

/** Fills in keys added after a settings row was written. */
export function normaliseSettings(stored: Partial<OrgSettings> | null | undefined): OrgSettings {
  return {
    ...DEFAULT_ORG_SETTINGS,
    ...(stored ?? {}),
    passwordPolicy: { ...DEFAULT_PASSWORD_POLICY, ...(stored?.passwordPolicy ?? {}) },
  };
}

/** Effective lockout parameters derived from the policy flags. */
export interface LockoutPolicy {
  /** 0 = lockout disabled. */
  maxAttempts: number;
  /** 0 = until an admin unlocks. */
  lockoutSeconds: number;
  /** 0 = failures never expire on their own. */
  resetCounterSeconds: number;
}

export function lockoutPolicyOf(p: PasswordPolicy): LockoutPolicy {
  return {
    maxAttempts: p.enableMaxLoginAttempts ? p.maxLoginAttempts : 0,
    lockoutSeconds: p.enableLockoutTimeInSeconds ? p.lockoutTimeInSeconds : 0,
    resetCounterSeconds: p.enableResetLockoutCounter ? p.resetLockoutCounterMinutes * 60 : 0,
  };
}
