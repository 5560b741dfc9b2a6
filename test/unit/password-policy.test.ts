import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { isPasswordExpired, passwordExpiresAt, checkPasswordRules, generateCompliantPassword, type PolicyViolation } from '../../src/core/auth/password-policy.js';
import { MAX_PASSWORD_LENGTH } from '../../src/core/auth/password-hasher.js';
import { DEFAULT_PASSWORD_POLICY, mergePasswordPolicy, type PasswordPolicy } from '../../src/core/directory/organization.js';
import { DomainError } from '../../src/core/errors.js';

/** A policy with every rule off, so that each case turns on exactly the rule it tests. */
const NO_RULES: PasswordPolicy = {
  ...DEFAULT_PASSWORD_POLICY,
  enableMinLength: false,
  needsUppercase: false,
  needsLowercase: false,
  needsNumeric: false,
  needsSymbolic: false,
  allowUsernameSubstring: true,
};

const rules = (password: string, policy: Partial<PasswordPolicy>, username = 'alice'): PolicyViolation['rule'][] =>
  checkPasswordRules(password, { ...NO_RULES, ...policy }, username).map((v) => v.rule);

const DAY = 86_400_000;

describe('password policy', () => {
  describe('checkPasswordRules', () => {
    it('finds nothing to object to when every rule is off', () => {
      assert.deepEqual(rules('a', {}), []);
    });

    describe('minimum length (counted in characters, not UTF-16 units)', () => {
      const cases: [string, string, number, boolean][] = [
        ['7 ASCII characters under a minimum of 8', 'abcdefg', 8, false],
        ['exactly 8 ASCII characters', 'abcdefgh', 8, true],
        ['4 emoji (8 UTF-16 units) under a minimum of 5', '😀😀😀😀', 5, false],
        ['5 emoji under a minimum of 5', '😀😀😀😀😀', 5, true],
        ['8 accented letters', 'éèêëàâäö', 8, true],
        ['the empty password under a minimum of 1', '', 1, false],
      ];
      for (const [what, password, minLength, ok] of cases) {
        it(`${ok ? 'accepts' : 'refuses'} ${what}`, () => {
          assert.deepEqual(rules(password, { enableMinLength: true, minLength }), ok ? [] : ['minLength']);
        });
      }

      it('ignores minLength while enableMinLength is off', () => {
        assert.deepEqual(rules('ab', { enableMinLength: false, minLength: 12 }), []);
      });

      it('names the required length in its message', () => {
        const [v] = checkPasswordRules('abc', { ...NO_RULES, enableMinLength: true, minLength: 12 }, 'alice');
        assert.equal(v?.message, 'must be at least 12 characters long');
      });
    });

    describe('character classes', () => {
      const cases: [string, string, keyof PasswordPolicy, boolean][] = [
        ['an ASCII uppercase letter', 'abcD', 'needsUppercase', true],
        ['no uppercase letter', 'abcd1!', 'needsUppercase', false],
        ['a non-ASCII uppercase letter (É)', 'ébcÉ', 'needsUppercase', true],
        ['a Greek capital (Ω)', 'ωmega Ω', 'needsUppercase', true],
        ['an ASCII lowercase letter', 'ABCd', 'needsLowercase', true],
        ['no lowercase letter', 'ABCD1!', 'needsLowercase', false],
        ['a non-ASCII lowercase letter (ß)', 'ABCß', 'needsLowercase', true],
        ['a Cyrillic lowercase letter (ж)', 'ЖЖЖж', 'needsLowercase', true],
        ['uncased letters only (Han) for uppercase', '密码密码', 'needsUppercase', false],
        ['uncased letters only (Han) for lowercase', '密码密码', 'needsLowercase', false],
        ['an ASCII digit', 'abc1', 'needsNumeric', true],
        ['no digit', 'abc!', 'needsNumeric', false],
        ['an Arabic-Indic digit (٣)', 'abc٣', 'needsNumeric', true],
        ['a symbol', 'abc!', 'needsSymbolic', true],
        ['a space as the symbol', 'abc def', 'needsSymbolic', true],
        ['an emoji as the symbol', 'abc😀', 'needsSymbolic', true],
        ['letters and digits only', 'abcDEF123', 'needsSymbolic', false],
        ['non-ASCII letters only (not symbols)', 'éÉßж', 'needsSymbolic', false],
      ];
      for (const [what, password, rule, ok] of cases) {
        it(`${ok ? 'accepts' : 'refuses'} ${what} under ${rule}`, () => {
          assert.deepEqual(rules(password, { [rule]: true }), ok ? [] : [rule]);
        });
      }

      it('reports every missing class at once, in rule order', () => {
        assert.deepEqual(rules('', { needsUppercase: true, needsLowercase: true, needsNumeric: true, needsSymbolic: true }), [
          'needsUppercase',
          'needsLowercase',
          'needsNumeric',
          'needsSymbolic',
        ]);
      });

      it('accepts a password meeting all four classes', () => {
        assert.deepEqual(rules('Ab1!', { needsUppercase: true, needsLowercase: true, needsNumeric: true, needsSymbolic: true }), []);
      });
    });

    describe('username substring', () => {
      const cases: [string, string, string, boolean][] = [
        ['the username itself', 'alice', 'alice', false],
        ['the username inside a longer password', 'xxalice99', 'alice', false],
        ['the username in another case', 'xxALICE99', 'alice', false],
        ['a password without the username', 'wonderland', 'alice', true],
        ['a username shorter than three characters', 'xxbo99', 'bo', true],
        ['a three-character username', 'xxbob99', 'bob', false],
        ['a username given in upper case', 'xxalice99', 'ALICE', false],
      ];
      for (const [what, password, username, ok] of cases) {
        it(`${ok ? 'accepts' : 'refuses'} ${what}`, () => {
          assert.deepEqual(rules(password, { allowUsernameSubstring: false }, username), ok ? [] : ['allowUsernameSubstring']);
        });
      }

      it('allows the username when allowUsernameSubstring is on', () => {
        assert.deepEqual(rules('xxalice99', { allowUsernameSubstring: true }, 'alice'), []);
      });
    });

    describe('maximum length', () => {
      it(`accepts exactly ${MAX_PASSWORD_LENGTH} characters`, () => {
        assert.deepEqual(rules('a'.repeat(MAX_PASSWORD_LENGTH), {}), []);
      });

      it(`refuses ${MAX_PASSWORD_LENGTH + 1} characters, whatever the policy`, () => {
        assert.deepEqual(rules('a'.repeat(MAX_PASSWORD_LENGTH + 1), {}), ['maxLength']);
      });

      it('accepts at least 128 characters (security bar)', () => {
        assert.deepEqual(rules('Aa1!'.repeat(32), { enableMinLength: true, minLength: 128 }), []);
      });
    });

    it('applies the default policy: 8 characters, username not allowed', () => {
      assert.deepEqual(checkPasswordRules('short', DEFAULT_PASSWORD_POLICY, 'carol').map((v) => v.rule), ['minLength']);
      assert.deepEqual(checkPasswordRules('carol-2025!', DEFAULT_PASSWORD_POLICY, 'carol').map((v) => v.rule), ['allowUsernameSubstring']);
      assert.deepEqual(checkPasswordRules('correct horse', DEFAULT_PASSWORD_POLICY, 'carol'), []);
    });
  });

  describe('passwordExpiresAt', () => {
    const changed = new Date('2025-01-01T00:00:00.000Z');
    const withExpiry: PasswordPolicy = { ...DEFAULT_PASSWORD_POLICY, enablePasswordExpirationInDays: true, passwordExpirationInDays: 30 };

    it('is the change time plus the configured days', () => {
      assert.deepEqual(passwordExpiresAt({ passwordChangedAt: changed, hasPassword: true }, withExpiry), new Date('2025-01-31T00:00:00.000Z'));
    });

    it('is null when expiry is disabled', () => {
      assert.equal(passwordExpiresAt({ passwordChangedAt: changed, hasPassword: true }, { ...withExpiry, enablePasswordExpirationInDays: false }), null);
    });

    it('is null without a password', () => {
      assert.equal(passwordExpiresAt({ passwordChangedAt: changed, hasPassword: false }, withExpiry), null);
    });

    it('is null when the change time is unknown', () => {
      assert.equal(passwordExpiresAt({ passwordChangedAt: null, hasPassword: true }, withExpiry), null);
    });
  });

  describe('isPasswordExpired', () => {
    const changed = new Date('2025-01-01T00:00:00.000Z');
    const policy: PasswordPolicy = { ...DEFAULT_PASSWORD_POLICY, enablePasswordExpirationInDays: true, passwordExpirationInDays: 30 };
    const user = { passwordExpiredFlag: false, passwordChangedAt: changed, hasPassword: true };
    const at = (ms: number) => new Date(changed.getTime() + ms);

    const cases: [string, Date, boolean][] = [
      ['one millisecond before the limit', at(30 * DAY - 1), false],
      ['exactly at the limit', at(30 * DAY), true],
      ['after the limit', at(31 * DAY), true],
      ['on the day of the change', at(0), false],
    ];
    for (const [what, now, expired] of cases) {
      it(`is ${expired} ${what}`, () => {
        assert.equal(isPasswordExpired(user, policy, now), expired);
      });
    }

    it('is true when an admin forced a change, whatever the age', () => {
      assert.equal(isPasswordExpired({ ...user, passwordExpiredFlag: true }, { ...policy, enablePasswordExpirationInDays: false }, at(0)), true);
    });

    it('is false for an old password when expiry is disabled', () => {
      assert.equal(isPasswordExpired(user, { ...policy, enablePasswordExpirationInDays: false }, at(3650 * DAY)), false);
    });
  });

  describe('mergePasswordPolicy', () => {
    const base: PasswordPolicy = {
      ...DEFAULT_PASSWORD_POLICY,
      enableMinLength: false,
      enableMaxHistory: false,
      enablePasswordExpirationInDays: false,
      enableMaxLoginAttempts: false,
      enableLockoutTimeInSeconds: false,
      enableResetLockoutCounter: false,
    };

    describe('turns a rule on when its value is set without its flag', () => {
      const cases: [keyof PasswordPolicy, number, keyof PasswordPolicy][] = [
        ['minLength', 12, 'enableMinLength'],
        ['maxHistory', 5, 'enableMaxHistory'],
        ['passwordExpirationInDays', 60, 'enablePasswordExpirationInDays'],
        ['maxLoginAttempts', 3, 'enableMaxLoginAttempts'],
        ['lockoutTimeInSeconds', 900, 'enableLockoutTimeInSeconds'],
        ['resetLockoutCounterMinutes', 15, 'enableResetLockoutCounter'],
      ];
      for (const [key, value, flag] of cases) {
        it(`${key}: ${value} sets ${flag}`, () => {
          const next = mergePasswordPolicy(base, { [key]: value });
          assert.equal(next[key], value);
          assert.equal(next[flag], true);
        });
      }
    });

    it('keeps an explicit false flag given with the value', () => {
      const next = mergePasswordPolicy(base, { minLength: 12, enableMinLength: false });
      assert.equal(next.minLength, 12);
      assert.equal(next.enableMinLength, false);
    });

    it('keeps an explicit false flag given before the value', () => {
      const next = mergePasswordPolicy(base, { enableMaxLoginAttempts: false, maxLoginAttempts: 4 });
      assert.equal(next.maxLoginAttempts, 4);
      assert.equal(next.enableMaxLoginAttempts, false);
    });

    it('sets boolean rules as given and leaves other keys unchanged', () => {
      const next = mergePasswordPolicy(base, { needsSymbolic: true, allowUsernameSubstring: true });
      assert.deepEqual(next, { ...base, needsSymbolic: true, allowUsernameSubstring: true });
    });

    it('does not modify the current policy', () => {
      const current = { ...base };
      mergePasswordPolicy(current, { minLength: 20, needsNumeric: true });
      assert.deepEqual(current, base);
    });

    it('accepts the bounds of every range', () => {
      const next = mergePasswordPolicy(base, {
        minLength: 128,
        maxHistory: 0,
        passwordExpirationInDays: 3650,
        maxLoginAttempts: 1,
        lockoutTimeInSeconds: 0,
        resetLockoutCounterMinutes: 525_600,
      });
      assert.equal(next.minLength, 128);
      assert.equal(next.maxHistory, 0);
      assert.equal(next.passwordExpirationInDays, 3650);
      assert.equal(next.maxLoginAttempts, 1);
      assert.equal(next.lockoutTimeInSeconds, 0);
      assert.equal(next.resetLockoutCounterMinutes, 525_600);
    });

    describe('refuses a bad value with a DomainError naming the field', () => {
      const cases: [string, unknown][] = [
        ['minLength', 0],
        ['minLength', 129],
        ['minLength', 8.5],
        ['minLength', '12'],
        ['minLength', null],
        ['maxHistory', -1],
        ['maxHistory', 25],
        ['passwordExpirationInDays', 0],
        ['maxLoginAttempts', 0],
        ['maxLoginAttempts', 1001],
        ['lockoutTimeInSeconds', -1],
        ['resetLockoutCounterMinutes', Number.NaN],
        ['resetLockoutCounterMinutes', Number.POSITIVE_INFINITY],
        ['needsUppercase', 'true'],
        ['needsUppercase', 1],
        ['enableMinLength', null],
      ];
      for (const [key, value] of cases) {
        it(`${key}: ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`, () => {
          assert.throws(
            () => mergePasswordPolicy(base, { [key]: value }),
            (e: unknown) => {
              assert.ok(e instanceof DomainError, 'a DomainError');
              assert.equal(e.kind, 'invalid');
              assert.equal(e.field, `settings.passwordPolicy.${key}`);
              return true;
            },
          );
        });
      }
    });

    describe('refuses an unknown key with a DomainError naming it', () => {
      // The last ones are names every plain object inherits: they must not pass for policy rules.
      const keys = ['minLenght', 'enableLockout', 'passwordPolicy', 'toString', 'constructor', 'hasOwnProperty', 'valueOf'];
      for (const key of keys) {
        it(key, () => {
          assert.throws(
            () => mergePasswordPolicy(base, { [key]: 5 }),
            (e: unknown) => {
              assert.ok(e instanceof DomainError, 'a DomainError');
              assert.equal(e.field, `settings.passwordPolicy.${key}`);
              assert.match(e.message, /unknown password policy setting/);
              return true;
            },
          );
        });
      }
    });
  });

  describe('characters any protocol can carry', () => {
    for (const p of ['Abcdefgh\u0000ijklmn', 'tab\there', 'new\nline', 'del\u007f', 'lone\ud800']) {
      it(`refuses ${JSON.stringify(p)} whatever the policy`, () => assert.deepEqual(rules(p, {}), ['characters']));
    }
    it('takes spaces and any printable Unicode', () => assert.deepEqual(rules('correct horse battery stäple ✓', {}), []));
  });

  describe('generateCompliantPassword', () => {
    it('meets every class and length rule, and fixes no character at any position', () => {
      const strict: Partial<PasswordPolicy> = { enableMinLength: true, minLength: 30, needsUppercase: true, needsLowercase: true, needsNumeric: true, needsSymbolic: true };
      const seen = Array.from({ length: 30 }, () => new Set<string>());
      for (let i = 0; i < 300; i++) {
        const p = generateCompliantPassword({ ...NO_RULES, ...strict });
        assert.equal(p.length, 30);
        assert.deepEqual(rules(p, strict), [], p);
        assert.doesNotMatch(p, /[;\s]/, 'no TOTP separator, no space');
        [...p].forEach((ch, at) => seen[at]!.add(ch));
      }
      for (const [at, chars] of seen.entries()) assert.ok(chars.size > 20, `position ${at} drew only ${[...chars].join('')}`);
      assert.equal(generateCompliantPassword(NO_RULES).length, 24);
    });
  });
});
