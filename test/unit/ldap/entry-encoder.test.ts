import assert from 'node:assert/strict';
import { BerReader, BerWriter } from '@ldapjs/asn1';
import fc from 'fast-check';
import { encodeEntry, type EntryAttribute } from '../../../src/ldap/entry-encoder.js';

/** The same message through @ldapjs/asn1's BerWriter: the encoder must produce these bytes. */
function reference(messageId: number, dn: string, attributes: EntryAttribute[]): Buffer {
  const w = new BerWriter({ size: 256 });
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(0x64);
  w.writeString(dn);
  w.startSequence();
  for (const a of attributes) {
    w.startSequence();
    w.writeString(a.type);
    w.startSequence(0x31);
    for (const v of a.values) w.writeString(v);
    w.endSequence();
    w.endSequence();
  }
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return Buffer.from(w.buffer);
}

// Strings around every length-form boundary (127/128, 255/256, 65535/65536 bytes), multi-byte
// UTF-8 and lone surrogates (both sides write them as U+FFFD).
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(126, 127, 128, 129, 254, 255, 256, 257, 65_534, 65_535, 65_536).map((n) => 'x'.repeat(n)),
);
const attribute: fc.Arbitrary<EntryAttribute> = fc.record({ type: text, values: fc.array(text, { maxLength: 6 }) });
const messageId = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 255, 256, 32_767, 32_768, 65_535, 8_388_607, 8_388_608, 2_147_483_647),
  fc.integer({ min: 0, max: 2_147_483_647 }),
);

describe('SearchResultEntry encoder', () => {
  it('writes the same bytes as BerWriter for any entry', () => {
    fc.assert(
      fc.property(messageId, text, fc.array(attribute, { maxLength: 8 }), (id, dn, attrs) => {
        assert.deepEqual(encodeEntry(id, dn, attrs), reference(id, dn, attrs));
      }),
      { numRuns: 500 },
    );
  });

  it('writes an entry whose lengths need three octets, and a BER reader reads it back', () => {
    const values = Array.from({ length: 300 }, (_, i) => `member-${i}-${'y'.repeat(250)}`);
    const bytes = encodeEntry(7, 'cn=big,ou=Groups', [{ type: 'member', values }]);
    assert.deepEqual(bytes, reference(7, 'cn=big,ou=Groups', [{ type: 'member', values }]));
    const r = new BerReader(bytes);
    r.readSequence();
    assert.equal(r.readInt(), 7);
    assert.equal(r.readSequence(), 0x64);
    assert.equal(r.readString(), 'cn=big,ou=Groups');
    r.readSequence();
    r.readSequence();
    assert.equal(r.readString(), 'member');
    r.readSequence(0x31);
    const read: string[] = [];
    for (let i = 0; i < values.length; i++) read.push(r.readString() as string);
    assert.deepEqual(read, values);
  });
});
