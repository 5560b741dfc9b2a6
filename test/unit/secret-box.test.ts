import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, it } from 'mocha';
import { createSecretBox, parseSecretKey } from '../../src/core/auth/secret-box.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');

/** Flips one bit of the base64url part `index` (1 = iv, 2 = tag, 3 = ciphertext) of a sealed value. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0] = bytes[0]! ^ 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

describe('secret box', () => {
  describe('createSecretBox', () => {
    it('refuses a key that is not 32 bytes', () => {
      assert.throws(() => createSecretBox(randomBytes(16)), /32 bytes/);
      assert.throws(() => createSecretBox(randomBytes(33)), /32 bytes/);
    });
  });

  describe('seal and open', () => {
    const box = createSecretBox(KEY);

    it('opens what it sealed, for the same context', () => {
      const sealed = box.seal('JBSWY3DPEHPK3PXP', 'totp:u1');
      assert.equal(box.open(sealed, 'totp:u1'), 'JBSWY3DPEHPK3PXP');
    });

    it('round-trips any text, including the empty string and non-ASCII (property)', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.string({ maxLength: 40 }), (plaintext, context) => {
          return box.open(box.seal(plaintext, context), context) === plaintext;
        }),
        { numRuns: 200 },
      );
    });

    it('produces the documented format v1.<iv>.<tag>.<ciphertext> in base64url', () => {
      const sealed = box.seal('secret', 'ctx');
      const parts = sealed.split('.');
      assert.equal(parts.length, 4);
      assert.equal(parts[0], 'v1');
      assert.equal(Buffer.from(parts[1]!, 'base64url').length, 12);
      assert.equal(Buffer.from(parts[2]!, 'base64url').length, 16);
      assert.equal(Buffer.from(parts[3]!, 'base64url').length, Buffer.byteLength('secret'));
      for (const p of parts.slice(1)) assert.match(p, /^[A-Za-z0-9_-]+$/);
    });

    it('never contains the plaintext', () => {
      const sealed = box.seal('hunter2-hunter2', 'ctx');
      assert.ok(!sealed.includes('hunter2'));
      assert.ok(!sealed.includes(Buffer.from('hunter2-hunter2').toString('base64url')));
    });

    it('seals the same plaintext differently each time (random IV)', () => {
      assert.notEqual(box.seal('same', 'ctx'), box.seal('same', 'ctx'));
    });

    it('refuses to open under another context (a value copied to another row)', () => {
      const sealed = box.seal('seed', 'totp:u1');
      assert.throws(() => box.open(sealed, 'totp:u2'));
      assert.throws(() => box.open(sealed, 'totp-pending:u1'));
      assert.throws(() => box.open(sealed, ''));
    });

    const parts: [string, number][] = [
      ['iv', 1],
      ['tag', 2],
      ['ciphertext', 3],
    ];
    for (const [name, index] of parts) {
      it(`refuses a value whose ${name} was altered`, () => {
        const sealed = box.seal('seed', 'ctx');
        assert.throws(() => box.open(tamper(sealed, index), 'ctx'));
      });
    }

    it('refuses a value whose tag was cut to its first 4 bytes (the tag length must be pinned to 16)', () => {
      const [v, iv, tag, ct] = box.seal('seed', 'ctx').split('.');
      const short = Buffer.from(tag!, 'base64url').subarray(0, 4).toString('base64url');
      assert.throws(() => box.open([v, iv, short, ct].join('.'), 'ctx'));
    });

    it('refuses a value sealed under another key', () => {
      const other = createSecretBox(randomBytes(32));
      assert.throws(() => box.open(other.seal('seed', 'ctx'), 'ctx'));
    });

    const malformed = ['', 'v1', 'v1.a.b', 'v2.AAAA.AAAA.AAAA', 'plaintext-seed'];
    for (const m of malformed) {
      it(`refuses the malformed value ${JSON.stringify(m)}`, () => {
        assert.throws(() => box.open(m, 'ctx'));
      });
    }
  });

  describe('parseSecretKey', () => {
    const hex = KEY.toString('hex');

    it('parses 64 hex digits', () => {
      assert.deepEqual(parseSecretKey(hex), KEY);
    });

    it('parses upper-case hex', () => {
      assert.deepEqual(parseSecretKey(hex.toUpperCase()), KEY);
    });

    it('parses base64 of 32 bytes', () => {
      assert.deepEqual(parseSecretKey(KEY.toString('base64')), KEY);
    });

    it('parses base64url of 32 bytes', () => {
      const key = Buffer.from('fbff'.repeat(16), 'hex');
      assert.match(key.toString('base64url'), /[-_]/);
      assert.deepEqual(parseSecretKey(key.toString('base64url')), key);
    });

    it('ignores surrounding whitespace (a key file ending in a newline)', () => {
      assert.deepEqual(parseSecretKey(`  ${hex}\n`), KEY);
      assert.deepEqual(parseSecretKey(`${KEY.toString('base64')}\n`), KEY);
    });

    const bad: [string, string][] = [
      ['the empty string', ''],
      ['62 hex digits (31 bytes)', hex.slice(0, 62)],
      ['base64 of 16 bytes', randomBytes(16).toString('base64')],
      ['base64 of 48 bytes', randomBytes(48).toString('base64')],
      ['a passphrase', 'correct horse battery staple'],
    ];
    for (const [what, text] of bad) {
      it(`refuses ${what}`, () => {
        assert.throws(() => parseSecretKey(text), /must be 32 bytes/);
      });
    }

    it('does not echo the key material in its error', () => {
      const text = randomBytes(16).toString('hex');
      assert.throws(
        () => parseSecretKey(text),
        (e: unknown) => e instanceof Error && !e.message.includes(text),
      );
    });
  });
});
