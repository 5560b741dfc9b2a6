import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { HmacKey } from '../../../src/util/digest.js';
import { sha256, sha256Into, sha256Midstate } from '../../../src/util/sha256.js';

const ref = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

describe('SHA-256 (util/sha256, FIPS 180-4)', () => {
  it('gives the examples of FIPS 180-4 (NIST CSRC) and the empty message', () => {
    const suite: [string, string][] = [
      ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
      ['a'.repeat(1_000_000), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
    ];
    for (const [text, hex] of suite) assert.equal(sha256(Buffer.from(text)).toString('hex'), hex, text.slice(0, 20));
  });

  it('equals node:crypto for any input, around every block and padding boundary', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        assert.deepEqual(sha256(data), ref(data));
      }),
      { numRuns: 500 },
    );
    for (let n = 0; n <= 200; n++) {
      const b = Buffer.alloc(n, n % 251);
      assert.deepEqual(sha256(b), ref(b), `${n} octets`);
    }
  });

  it('goes on from a midstate as if its block came first, reads only `length` octets, and writes at an offset without touching the rest', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.uint8Array({ maxLength: 200 }), fc.nat(16), fc.nat(32), (first, data, extra, offset) => {
        const input = Buffer.concat([data, Buffer.alloc(extra, 0xaa)]);
        const out = Buffer.alloc(offset + 36, 0xee);
        sha256Into(out, offset, input, data.length, sha256Midstate(first));
        assert.deepEqual(out.subarray(offset, offset + 32), ref(first, data));
        assert.ok(out.subarray(0, offset).every((x) => x === 0xee) && out.subarray(offset + 32).every((x) => x === 0xee));
      }),
      { numRuns: 300 },
    );
    assert.throws(() => sha256Midstate(new Uint8Array(65)), RangeError);
  });

  it('makes HmacKey("sha256") give what createHmac gives, for keys up to and beyond a block and text parts in UTF-8', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 80 })), { maxLength: 4 }), (key, parts) => {
        const h = createHmac('sha256', key);
        for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
        assert.deepEqual(new HmacKey('sha256', key).mac(...parts), h.digest());
      }),
      { numRuns: 300 },
    );
  });
});
