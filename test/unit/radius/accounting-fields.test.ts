import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import radius from 'radius';
import { accountingFields } from '../../../src/radius/accounting.js';
import { attributeDef } from '../../../src/radius/dictionary.js';
import { Code, encodeAttribute, parsePacket, type RadiusPacket } from '../../../src/radius/packet.js';

// Loads the codec's dictionaries before the package is used as the reference decoder below.
attributeDef('User-Name');

/** An Accounting-Request around already-encoded attributes (RFC 2866 §3). */
function packet(attrs: Buffer[], secret = 's'): Buffer {
  const pkt = Buffer.concat([Buffer.from([Code.AccountingRequest, 7, 0, 0]), Buffer.alloc(16), ...attrs]);
  pkt.writeUInt16BE(pkt.length, 2);
  createHash('md5').update(pkt).update(secret).digest().copy(pkt, 4);
  return pkt;
}

function parsed(raw: Buffer): RadiusPacket {
  const p = parsePacket(raw);
  assert.ok(typeof p !== 'string', String(p));
  return p;
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const attr = (type: number, value: Buffer | string) => encodeAttribute(type, typeof value === 'string' ? Buffer.from(value) : value);
const ALICE = attr(1, 'alice');
const SESSION = attr(44, 'sess-1');

describe('RADIUS accounting fields (decoded attribute by attribute)', () => {
  it('agrees with the radius package on well-formed attributes (same names and formats)', () => {
    const names: [string, string][] = [
      ['Acct-Status-Type', 'acct_status_type'],
      ['Acct-Terminate-Cause', 'acct_terminate_cause'],
    ];
    for (const [name, field] of names) {
      const type = Number(radius.attr_name_to_id(name));
      for (let n = 0; n <= 30; n++) {
        const raw = packet([ALICE, attr(type, u32(n))]);
        const reference = radius.decode_without_secret({ packet: raw }).attributes[name];
        // Values without a name are the number in text: one field keeps one type.
        assert.deepEqual(accountingFields(parsed(raw)).fields[field], typeof reference === 'number' ? String(reference) : reference, `${name} ${n}`);
      }
    }
    const raw = packet([
      ALICE,
      SESSION,
      attr(50, 'multi-9'),
      attr(46, u32(3600)),
      attr(42, u32(4_000_000_000)),
      attr(43, u32(2)),
      attr(47, u32(3)),
      attr(48, u32(4)),
      attr(8, Buffer.from([192, 0, 2, 7])),
    ]);
    const ref = radius.decode_without_secret({ packet: raw }).attributes;
    const { fields, userName } = accountingFields(parsed(raw));
    assert.equal(userName, ref['User-Name']);
    assert.deepEqual(fields, {
      acct_session_id: ref['Acct-Session-Id'],
      acct_multi_session_id: ref['Acct-Multi-Session-Id'],
      acct_session_time: ref['Acct-Session-Time'],
      acct_input_octets: ref['Acct-Input-Octets'],
      acct_output_octets: ref['Acct-Output-Octets'],
      acct_input_packets: ref['Acct-Input-Packets'],
      acct_output_packets: ref['Acct-Output-Packets'],
      framed_ip: ref['Framed-IP-Address'],
    });
  });

  it('adds Acct-{Input,Output}-Gigawords to the octet counts (RFC 2869 §5.1–5.2)', () => {
    const raw = packet([ALICE, SESSION, attr(42, u32(5000)), attr(52, u32(2)), attr(43, u32(7)), attr(53, u32(3))]);
    const { fields } = accountingFields(parsed(raw));
    assert.equal(fields.acct_input_octets, 2 * 2 ** 32 + 5000);
    assert.equal(fields.acct_output_octets, 3 * 2 ** 32 + 7);
    assert.equal(fields.acct_input_gigawords, 2);
    assert.equal(fields.acct_output_gigawords, 3);
  });

  it('keeps every field when a Vendor-Specific is not in sub-attribute form (RFC 6929 §2.8)', () => {
    const raw = packet([ALICE, attr(26, Buffer.from([0, 0, 0, 9, 0x41])), attr(40, u32(1)), SESSION]);
    assert.throws(() => radius.decode_without_secret({ packet: raw }), 'the package rejects the whole packet');
    const { fields, userName } = accountingFields(parsed(raw));
    assert.equal(userName, 'alice');
    assert.deepEqual(fields, { acct_status_type: 'Start', acct_session_id: 'sess-1' });
  });

  it('leaves out only an integer of the wrong length, and takes a later well-formed one', () => {
    const short = packet([ALICE, attr(40, Buffer.from([0, 1])), SESSION, attr(46, u32(60))]);
    assert.deepEqual(accountingFields(parsed(short)), { userName: 'alice', fields: { acct_session_id: 'sess-1', acct_session_time: 60 } });
    const long = packet([attr(46, Buffer.from([0, 0, 0, 0, 60]))]);
    assert.deepEqual(accountingFields(parsed(long)).fields, {}, 'five octets are not an integer either');
    const twice = packet([attr(40, Buffer.from([2])), attr(40, u32(2))]);
    assert.equal(accountingFields(parsed(twice)).fields.acct_status_type, 'Stop');
  });

  it('leaves out a Framed-IP-Address that is not 4 octets', () => {
    const raw = packet([ALICE, attr(8, Buffer.from([10, 0, 0])), SESSION]);
    assert.deepEqual(accountingFields(parsed(raw)).fields, { acct_session_id: 'sess-1' });
  });
});
