import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { md5, md5Into, md5Midstate } from '../../../src/util/md5.js';

const ref = (...parts: Uint8Array[]) => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

describe('MD5 (util/md5, RFC 1321)', () => {
  it('gives the test suite of RFC 1321 §A.5', () => {
    const suite: [string, string][] = [
      ['', 'd41d8cd98f00b204e9800998ecf8427e'],
      ['a', '0cc175b9c0f1b6a831c399e269772661'],
      ['abc', '900150983cd24fb0d6963f7d28e17f72'],
      ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
      ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
      ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', 'd174ab98d277d9f5a5611c2c9f419d9f'],
      ['1234567890'.repeat(8), '57edf4a22be3c955ac49da2e2107b67a'],
    ];
    for (const [text, hex] of suite) assert.equal(md5(Buffer.from(text)).toString('hex'), hex, JSON.stringify(text));
  });

  it('equals node:crypto for any parts, split anywhere, around every block and padding boundary', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), (parts) => {
        assert.deepEqual(md5(...parts), ref(...parts));
      }),
      { numRuns: 500 },
    );
    for (let n = 0; n <= 200; n++) {
      const b = Buffer.alloc(n, n % 251);
      assert.deepEqual(md5(b), ref(b), `${n} octets`);
      assert.deepEqual(md5(b.subarray(0, n >> 1), b.subarray(n >> 1)), ref(b), `${n} octets in two parts`);
    }
  });

  it('goes on from a midstate as if its block came first, and writes at an offset without touching the rest', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.array(fc.uint8Array({ maxLength: 150 }), { maxLength: 4 }), fc.nat(32), (first, parts, offset) => {
        const out = Buffer.alloc(offset + 20, 0xee);
        md5Into(out, offset, parts, md5Midstate(first));
        assert.deepEqual(out.subarray(offset, offset + 16), ref(first, ...parts));
        assert.ok(out.subarray(0, offset).every((x) => x === 0xee) && out.subarray(offset + 16).every((x) => x === 0xee));
      }),
      { numRuns: 300 },
    );
    assert.throws(() => md5Midstate(new Uint8Array(63)), RangeError);
  });

  it('reads its input wholly before writing its result, so a digest can go into the bytes it covers', () => {
    const packet = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz'.repeat(3));
    const expected = ref(packet, Buffer.from('secret'));
    md5Into(packet, 4, [packet, Buffer.from('secret')]);
    assert.deepEqual(packet.subarray(4, 20), expected);
  });
});
