import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { newTotpSecret, normaliseTotpCode, normaliseTotpSecret, TOTP_PERIOD_SECONDS, totpUri, verifyTotp } from '../../src/core/auth/totp.js';
import { base32Decode, base32Encode, hotp, timeStep, totpAtStep } from '../helpers/rfc6238.js';

/** RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890". */
const RFC_SEED = Buffer.from('12345678901234567890', 'ascii');
const RFC_SECRET = base32Encode(RFC_SEED);

/** RFC 6238 Appendix B, SHA-1 rows: Unix time, T (hex), 8-digit TOTP. */
const RFC_VECTORS: [number, string, string][] = [
  [59, '0000000000000001', '94287082'],
  [1111111109, '00000000023523EC', '07081804'],
  [1111111111, '00000000023523ED', '14050471'],
  [1234567890, '000000000273EF07', '89005924'],
  [2000000000, '0000000003F940AA', '69279037'],
  [20000000000, '0000000027BC86AA', '65353130'],
];

const at = (unixSeconds: number) => new Date(unixSeconds * 1000);

describe('totp', () => {
  describe('the reference implementation used by these tests', () => {
    it('encodes the RFC seed as the well-known base32 string', () => {
      assert.equal(RFC_SECRET, 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    });

    for (const [time, stepHex, code8] of RFC_VECTORS) {
      it(`reproduces RFC 6238 Appendix B at T=${time}: step ${stepHex}, code ${code8}`, () => {
        assert.equal(timeStep(time), parseInt(stepHex, 16));
        assert.equal(hotp(RFC_SEED, timeStep(time), 8), code8);
      });
    }
  });

  describe('verifyTotp', () => {
    describe('RFC 6238 Appendix B SHA-1 vectors, truncated to 6 digits', () => {
      for (const [time, stepHex, code8] of RFC_VECTORS) {
        const code6 = code8.slice(-6);
        it(`accepts ${code6} at T=${time} and returns step ${parseInt(stepHex, 16)}`, () => {
          assert.equal(verifyTotp(RFC_SECRET, code6, at(time)), parseInt(stepHex, 16));
        });
      }
    });

    describe('drift window: one step either side', () => {
      const secret = base32Encode(Buffer.from('0123456789abcdefghij', 'ascii'));
      const key = Buffer.from('0123456789abcdefghij', 'ascii');
      const T = 57_000_000; // some time step in 2024
      // Positions within the current step: its first second, the middle, its last second.
      for (const offset of [0, 15, 29]) {
        const now = at(T * TOTP_PERIOD_SECONDS + offset);
        for (const delta of [-1, 0, 1]) {
          it(`accepts the code of step ${delta >= 0 ? '+' : ''}${delta} at second ${offset} of the step, returning that step`, () => {
            assert.equal(verifyTotp(secret, totpAtStep(key, T + delta), now), T + delta);
          });
        }
        for (const delta of [-2, 2, -3, 3]) {
          it(`refuses the code of step ${delta > 0 ? '+' : ''}${delta} at second ${offset} of the step`, () => {
            const code = totpAtStep(key, T + delta);
            // Guard against a coincidental collision with an accepted step's code.
            const accepted = [-1, 0, 1].map((d) => totpAtStep(key, T + d));
            assert.ok(!accepted.includes(code), 'test vector collides with an accepted code');
            assert.equal(verifyTotp(secret, code, now), null);
          });
        }
      }

      it('holds for any seed, time and position in the step (property)', () => {
        fc.assert(
          fc.property(
            fc.uint8Array({ minLength: 16, maxLength: 32 }),
            fc.integer({ min: 10, max: 100_000_000 }),
            fc.integer({ min: 0, max: 29 }),
            fc.integer({ min: -3, max: 3 }),
            (seed, step, offset, delta) => {
              const key = Buffer.from(seed);
              const code = totpAtStep(key, step + delta);
              const got = verifyTotp(base32Encode(key), code, at(step * 30 + offset));
              if (Math.abs(delta) <= 1) return got === step + delta;
              // A ±2/±3 code is refused unless it happens to equal an accepted step's code (1 in 10^6).
              const collides = [-1, 0, 1].some((d) => totpAtStep(key, step + d) === code);
              return collides || got === null;
            },
          ),
          { numRuns: 300 },
        );
      });
    });

    it('accepts a code typed with spaces', () => {
      const [time, , code8] = RFC_VECTORS[3]!;
      const c = code8.slice(-6);
      assert.equal(verifyTotp(RFC_SECRET, `${c.slice(0, 3)} ${c.slice(3)}`, at(time)), timeStep(time));
    });

    it('accepts a code with leading zeros', () => {
      // 89005924 → 005924 at T=1234567890
      assert.equal(verifyTotp(RFC_SECRET, '005924', at(1234567890)), timeStep(1234567890));
    });

    it('refuses the right code under another seed', () => {
      const other = base32Encode(Buffer.from('98765432109876543210', 'ascii'));
      assert.equal(verifyTotp(other, '287082', at(59)), null);
    });

    describe('refuses malformed codes without throwing', () => {
      const bad = ['', '12345', '1234567', '12345a', 'abcdef', '-12345', '+123456', '１２３４５６', '12.456', '0x1234', '٠١٢٣٤٥', '28708２'];
      for (const code of bad) {
        it(JSON.stringify(code), () => {
          assert.doesNotThrow(() => verifyTotp(RFC_SECRET, code, at(59)));
          assert.equal(verifyTotp(RFC_SECRET, code, at(59)), null);
        });
      }
    });

    describe('refuses, without throwing, when the secret is unusable', () => {
      for (const secret of ['', '!!!!', 'not base32 at all 0189']) {
        it(JSON.stringify(secret), () => {
          assert.equal(verifyTotp(secret, '287082', at(59)), null);
        });
      }
    });
  });

  describe('normaliseTotpCode', () => {
    const cases: [string, string | null][] = [
      ['123456', '123456'],
      [' 123 456 ', '123456'],
      ['123\t456\n', '123456'],
      ['12345', null],
      ['1234567', null],
      ['12345x', null],
      ['', null],
    ];
    for (const [input, expected] of cases) {
      it(`maps ${JSON.stringify(input)} to ${JSON.stringify(expected)}`, () => {
        assert.equal(normaliseTotpCode(input), expected);
      });
    }
  });

  describe('normaliseTotpSecret', () => {
    const s26 = 'JBSWY3DPEHPK3PXPJBSWY3DPEH'; // 26 characters = 130 bits = 16 whole bytes
    const cases: [string, string, string | null][] = [
      ['an upper-case seed unchanged', RFC_SECRET, RFC_SECRET],
      ['a lower-case seed to upper case', RFC_SECRET.toLowerCase(), RFC_SECRET],
      ['a seed with spaces (as apps show it)', 'GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ', RFC_SECRET],
      ['a seed with dashes', 'GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ', RFC_SECRET],
      ['a seed with = padding', `${s26}======`, s26],
      ['the shortest seed of 128 bits (26 characters)', s26, s26],
      ['a seed of 125 bits (25 characters)', s26.slice(0, 25), null],
      ['a seed with a non-base32 digit 1', `${s26.slice(0, 25)}1`, null],
      ['a seed with a non-base32 digit 0', `${s26.slice(0, 25)}0`, null],
      ['a seed with the digit 8', `${s26.slice(0, 25)}8`, null],
      ['a hex seed with non-base32 characters', '3132333435363738393031323334353637383930', null],
      ['a seed of 128 characters', 'A'.repeat(128), 'A'.repeat(128)],
      ['a seed of 129 characters', 'A'.repeat(129), null],
      ['the empty string', '', null],
      ['padding in the middle', `${s26.slice(0, 13)}=${s26.slice(13)}`, null],
    ];
    for (const [what, input, expected] of cases) {
      it(`${expected === null ? 'refuses' : 'normalises'} ${what}`, () => {
        assert.equal(normaliseTotpSecret(input), expected);
      });
    }
  });

  describe('newTotpSecret', () => {
    it('makes a 160-bit base32 seed that normalises to itself', () => {
      const s = newTotpSecret();
      assert.match(s, /^[A-Z2-7]{32}$/);
      assert.equal(normaliseTotpSecret(s), s);
    });

    it('makes a different seed each time', () => {
      assert.notEqual(newTotpSecret(), newTotpSecret());
    });

    it('makes seeds whose RFC 6238 codes verifyTotp accepts', () => {
      const s = newTotpSecret();
      const key = base32Decode(s);
      assert.equal(key.length, 20);
      assert.equal(verifyTotp(s, totpAtStep(key, 1000), at(30_000)), 1000);
    });
  });

  describe('totpUri', () => {
    it('builds an otpauth://totp URI with issuer-prefixed label, secret and issuer', () => {
      const uri = totpUri('Gatehouse', 'alice@example.com', RFC_SECRET);
      const u = new URL(uri);
      assert.equal(u.protocol, 'otpauth:');
      assert.equal(u.host, 'totp');
      assert.equal(decodeURIComponent(u.pathname), '/Gatehouse:alice@example.com');
      assert.equal(u.searchParams.get('secret'), RFC_SECRET);
      assert.equal(u.searchParams.get('issuer'), 'Gatehouse');
    });

    it('percent-encodes an issuer and an account with spaces and reserved characters', () => {
      const uri = totpUri('Acme Corp', 'bob smith@example.com', RFC_SECRET);
      assert.ok(uri.startsWith('otpauth://totp/Acme%20Corp:bob%20smith%40example.com?'), uri);
      const u = new URL(uri);
      assert.equal(u.searchParams.get('issuer'), 'Acme Corp');
      assert.ok(!/\s/.test(uri), 'no raw whitespace in the URI');
    });

    it('does not announce parameters other than the defaults apps assume (SHA-1, 6 digits, 30 s)', () => {
      const u = new URL(totpUri('Gatehouse', 'alice', RFC_SECRET));
      for (const [name, allowed] of [
        ['algorithm', 'SHA1'],
        ['digits', '6'],
        ['period', '30'],
      ] as const) {
        const v = u.searchParams.get(name);
        assert.ok(v === null || v === allowed, `${name}=${v}`);
      }
    });
  });
});
