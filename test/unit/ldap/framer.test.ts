import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FramingError, PduFramer } from '../../../src/ldap/framer.js';

/** A SEQUENCE of `bodyLength` bytes with a definite length in the shortest form. */
function pdu(bodyLength: number, fill = 0x41): Buffer {
  const body = Buffer.alloc(bodyLength, fill);
  if (bodyLength < 0x80) return Buffer.concat([Buffer.from([0x30, bodyLength]), body]);
  const len: number[] = [];
  for (let n = bodyLength; n > 0; n = Math.floor(n / 256)) len.unshift(n & 0xff);
  return Buffer.concat([Buffer.from([0x30, 0x80 | len.length, ...len]), body]);
}

/** A real LDAPMessage: anonymous Root DSE search, message id 1. */
const ROOT_DSE_SEARCH = Buffer.from('3025020101632004000a01000a0100020100020100010100870b6f626a656374436c6173733000', 'hex');

/** Splits bytes at the given cut points. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('LDAP PDU framer', () => {
  it('returns a whole PDU pushed at once', () => {
    const f = new PduFramer(262_144);
    assert.deepEqual(f.push(ROOT_DSE_SEARCH), [ROOT_DSE_SEARCH]);
    assert.equal(f.pendingBytes, 0);
  });

  it('waits for the rest of a PDU split in two', () => {
    const f = new PduFramer(262_144);
    assert.deepEqual(f.push(ROOT_DSE_SEARCH.subarray(0, 10)), []);
    assert.equal(f.pendingBytes, 10);
    assert.deepEqual(f.push(ROOT_DSE_SEARCH.subarray(10)), [ROOT_DSE_SEARCH]);
    assert.equal(f.pendingBytes, 0);
  });

  it('cuts pipelined PDUs from one chunk, in order, with a partial one left over', () => {
    const a = pdu(3, 0x61);
    const b = pdu(200, 0x62);
    const c = pdu(70_000, 0x63);
    const f = new PduFramer(262_144);
    const all = Buffer.concat([a, b, c, ROOT_DSE_SEARCH.subarray(0, 5)]);
    assert.deepEqual(f.push(all), [a, b, c]);
    assert.equal(f.pendingBytes, 5);
    assert.deepEqual(f.push(ROOT_DSE_SEARCH.subarray(5)), [ROOT_DSE_SEARCH]);
  });

  it('frames 10,000 tiny pipelined PDUs from one chunk', () => {
    const one = ROOT_DSE_SEARCH;
    const f = new PduFramer(262_144);
    const out = f.push(Buffer.concat(Array.from({ length: 10_000 }, () => one)));
    assert.equal(out.length, 10_000);
    assert.ok(out.every((p) => p.equals(one)));
  });

  it('reads long-form lengths of one, two and three octets', () => {
    for (const n of [0x80, 0xff, 0x100, 0xffff, 0x10000]) {
      const p = pdu(n);
      assert.equal(p[1], 0x80 | (n <= 0xff ? 1 : n <= 0xffff ? 2 : 3));
      assert.deepEqual(new PduFramer(262_144).push(p), [p], `body of ${n} bytes`);
    }
  });

  it('accepts a non-minimal long-form length', () => {
    const p = Buffer.from([0x30, 0x84, 0, 0, 0, 2, 0x02, 0x00]);
    assert.deepEqual(new PduFramer(1024).push(p), [p]);
  });

  it('delivers a PDU pushed one byte at a time exactly when its last byte arrives', () => {
    const p = pdu(300);
    const f = new PduFramer(262_144);
    for (let i = 0; i < p.length - 1; i++) assert.deepEqual(f.push(p.subarray(i, i + 1)), [], `byte ${i}`);
    assert.deepEqual(f.push(p.subarray(p.length - 1)), [p]);
  });

  it('reads a header split across chunks', () => {
    const p = pdu(0x1234);
    const f = new PduFramer(262_144);
    assert.deepEqual(f.push(p.subarray(0, 1)), []);
    assert.deepEqual(f.push(p.subarray(1, 3)), []);
    assert.deepEqual(f.push(p.subarray(3, 4)), []);
    assert.deepEqual(f.push(p.subarray(4)), [p]);
  });

  it('ignores an empty chunk', () => {
    assert.deepEqual(new PduFramer(1024).push(Buffer.alloc(0)), []);
  });

  describe('refusals', () => {
    it('refuses an indefinite length (RFC 4511 §5.1)', () => {
      assert.throws(() => new PduFramer(1024).push(Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00])), FramingError);
    });

    it('refuses a length of more than four octets', () => {
      assert.throws(() => new PduFramer(1024).push(Buffer.from([0x30, 0x85, 0, 0, 0, 0, 1])), FramingError);
    });

    it('refuses a first byte that is not a SEQUENCE', () => {
      assert.throws(() => new PduFramer(1024).push(Buffer.from('GET / HTTP/1.1\r\n')), FramingError);
      assert.throws(() => new PduFramer(1024).push(Buffer.from([0x31, 0x00])), FramingError);
    });

    it('refuses a lone first byte that is not a SEQUENCE at once, without waiting for a second byte', () => {
      assert.throws(() => new PduFramer(1024).push(Buffer.from([0x16])), FramingError);
    });

    it('refuses a PDU one byte over the maximum from its header alone', () => {
      const max = 1024;
      const f = new PduFramer(max);
      // 0x30 0x82 0x03 0xfd: 4 header bytes + 1021 = 1025 bytes
      assert.throws(() => f.push(Buffer.from([0x30, 0x82, 0x03, 0xfd])), (err: unknown) => err instanceof FramingError && /1025/.test(err.message));
    });

    it('accepts a PDU of exactly the maximum size', () => {
      const p = pdu(1024 - 4);
      assert.equal(p.length, 1024);
      assert.deepEqual(new PduFramer(1024).push(p), [p]);
    });

    it('refuses a length field claiming 2 GB or 4 GB without waiting for the bytes', () => {
      assert.throws(() => new PduFramer(262_144).push(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff])), FramingError);
      assert.throws(() => new PduFramer(262_144).push(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])), FramingError);
    });

    it('refuses a bad PDU that follows good ones in the same chunk', () => {
      const f = new PduFramer(1024);
      assert.throws(() => f.push(Buffer.concat([pdu(3), Buffer.from([0x04, 0x00])])), FramingError);
    });
  });

  describe('properties', () => {
    it('either yields PDUs or throws FramingError for any bytes in any chunks, never another error', () => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 64 }), { maxLength: 20 }), fc.integer({ min: 1024, max: 4096 }), (chunks, max) => {
          const f = new PduFramer(max);
          let total = 0;
          try {
            for (const c of chunks) {
              for (const p of f.push(Buffer.from(c))) {
                total += p.length;
                assert.equal(p[0], 0x30);
                assert.ok(p.length <= max);
              }
            }
          } catch (err) {
            if (!(err instanceof FramingError)) throw err;
            return;
          }
          assert.equal(total + f.pendingBytes, chunks.reduce((n, c) => n + c.length, 0), 'no byte lost or duplicated');
        }),
        { numRuns: 2000 },
      );
    });

    it('returns the same PDUs however a stream of valid PDUs is cut', () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 12 }),
          fc.array(fc.nat(), { maxLength: 30 }),
          (sizes, cuts) => {
            const pdus = sizes.map((n, i) => pdu(n, 0x41 + (i % 26)));
            const stream = Buffer.concat(pdus);
            const f = new PduFramer(262_144);
            const out = split(stream, cuts).flatMap((c) => f.push(c));
            assert.deepEqual(out, pdus);
            assert.equal(f.pendingBytes, 0);
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});
