import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { type Algorithm, digest, HmacKey, hmacKeyOf } from '../../../src/util/digest.js';

/** Node's streaming objects, the reference the one-shot helpers must equal byte for byte. */
const refDigest = (a: Algorithm, parts: (Uint8Array | string)[]) => {
  const h = createHash(a);
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
  return h.digest();
};
const refHmac = (a: Algorithm, key: Uint8Array, parts: (Uint8Array | string)[]) => {
  const h = createHmac(a, key);
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
  return h.digest();
};

const part = fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 40 }));
const algorithm = fc.constantFrom<Algorithm>('md5', 'sha256');

describe('one-shot digests and HMACs (util/digest)', () => {
  it('equal createHash over any parts, bytes or UTF-8 text', () => {
    fc.assert(
      fc.property(algorithm, fc.array(part, { maxLength: 6 }), (a, parts) => {
        assert.deepEqual(digest(a, ...parts), refDigest(a, parts));
      }),
    );
  });

  it('equal createHmac for keys shorter than, as long as and longer than the block (RFC 2104 §2)', () => {
    fc.assert(
      fc.property(algorithm, fc.uint8Array({ maxLength: 150 }), fc.array(part, { maxLength: 6 }), (a, key, parts) => {
        assert.deepEqual(new HmacKey(a, key).mac(...parts), refHmac(a, key, parts));
      }),
    );
    for (const n of [0, 1, 63, 64, 65, 200]) {
      const key = Buffer.alloc(n, 7);
      assert.deepEqual(new HmacKey('md5', key).mac('x'), refHmac('md5', key, ['x']));
    }
  });

  it('match RFC 2202 test case 2 (HMAC-MD5) and RFC 4231 test case 2 (HMAC-SHA-256)', () => {
    assert.equal(new HmacKey('md5', Buffer.from('Jefe')).mac('what do ya want ', 'for nothing?').toString('hex'), '750c783e6ab0b503eaa86e310a5db738');
    assert.equal(
      new HmacKey('sha256', Buffer.from('Jefe')).mac('what do ya want for nothing?').toString('hex'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('handle parts larger than the scratch buffer, and stay right after it grew', () => {
    const big = Buffer.alloc(100_000, 0xab);
    assert.deepEqual(digest('sha256', big, 'tail'), refDigest('sha256', [big, 'tail']));
    assert.deepEqual(new HmacKey('md5', Buffer.from('k')).mac(big), refHmac('md5', Buffer.from('k'), [big]));
    assert.deepEqual(digest('md5', 'short'), refDigest('md5', ['short']));
  });

  it('return independent buffers, not views of the scratch area', () => {
    const first = digest('md5', 'one');
    const copy = Buffer.from(first);
    digest('md5', 'two');
    new HmacKey('md5', Buffer.from('k')).mac('three');
    assert.deepEqual(first, copy);
  });

  it('keep one padded key per key buffer and algorithm (a new secret buffer gets its own)', () => {
    const secret = Buffer.from('shared-secret-of-a-nas');
    assert.equal(hmacKeyOf('md5', secret), hmacKeyOf('md5', secret));
    assert.notEqual(hmacKeyOf('md5', secret), hmacKeyOf('sha256', secret));
    assert.notEqual(hmacKeyOf('md5', Buffer.from(secret)), hmacKeyOf('md5', secret));
    assert.deepEqual(hmacKeyOf('sha256', secret).mac('m'), refHmac('sha256', secret, ['m']));
  });
});
