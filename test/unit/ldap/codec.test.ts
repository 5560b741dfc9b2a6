import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRequest } from '../../../src/ldap/codec.js';
import { berString, equalityFilter, ldapMessage, pagedControl, presentFilter, searchRequest, simpleBindRequest, tlv } from '../../integration/ldap/support.js';

/** Control ::= SEQUENCE { controlType, criticality, controlValue } (RFC 4511 §4.1.11). */
const control = (oid: string, value?: Buffer) => tlv(0x30, berString(oid), ...(value ? [berString(value)] : []));

/**
 * The request decoder on cut and odd input: it must return or throw, quickly, for any prefix of a
 * well-formed message. BerReader answers null without moving for an element cut short, so a loop
 * that did not check turned an 18-octet abandon request with a cut control, sent before any bind,
 * into an endless loop on the event loop (and out of memory).
 */
describe('LDAP request decoder (codec.ts) on truncated and malformed input', () => {
  const samples: [string, Buffer][] = [
    ['abandon with a control', ldapMessage(1, tlv(0x50, Buffer.from([5])), tlv(0xa0, control('1.2.3.4', Buffer.from('x'))))],
    ['search with attributes and the paged control', ldapMessage(2, searchRequest('o=x', 2, presentFilter('objectClass'), ['cn', 'uid', 'mail']), pagedControl(10, Buffer.alloc(0)))],
    ['bind with two controls', ldapMessage(3, simpleBindRequest('uid=a,o=x', 'secret'), tlv(0xa0, control('1.3.6.1.4.1.42.2.27.8.5.1'), control('1.2.3', Buffer.from('v'))))],
    [
      'search with every kind of filter',
      ldapMessage(
        6,
        searchRequest(
          'o=x',
          2,
          tlv(
            0xa0,
            tlv(0xa1, equalityFilter('uid', 'a'), presentFilter('cn'), tlv(0xa4, berString('cn'), tlv(0x30, berString('a', 0x80), berString('b', 0x81), berString('c', 0x82)))),
            tlv(0xa2, tlv(0xa9, berString('caseExactMatch', 0x81), berString('cn', 0x82), berString('x', 0x83), tlv(0x84, Buffer.from([0xff])))),
            tlv(0xa5, berString('uidNumber'), berString('5')),
            tlv(0xa8, berString('cn'), berString('x')),
          ),
          ['cn'],
        ),
      ),
    ],
    ['compare', ldapMessage(4, tlv(0x6e, berString('uid=a,o=x'), tlv(0x30, berString('cn'), berString('a'))))],
    ['password modify', ldapMessage(5, tlv(0x77, berString('1.3.6.1.4.1.4203.1.11.1', 0x80), berString(tlv(0x30, berString('uid=a', 0x80), berString('old', 0x81), berString('new', 0x82)), 0x81)))],
  ];

  it('never decodes update operations (answered from the envelope): the cut add request that looped in ldapjs', () => {
    assert.throws(() => decodeRequest(Buffer.from('3006020101683904', 'hex')));
    assert.throws(() => decodeRequest(Buffer.from('30070201016802040 0'.replace(/ /g, ''), 'hex')), /unsupported operation/);
  });

  it('refuses a substring filter whose piece overruns its SEQUENCE (looped forever in ldapjs)', () => {
    assert.throws(() => decodeRequest(Buffer.from('3079020101637404036f3d780a01020a0100020100020100010100a058a11fa30804037569640401618702636ea40f0402636e3009807f61810162820163a21ca91a810e6361736545786163744d617463688202636e8301788401ffa50e04097569644e756d626572040135a8070402636e04017830040402636e', 'hex')), /overruns/);
  });

  it('answers the 18-octet abandon request with a cut control (an error, not an endless loop)', () => {
    const pdu = Buffer.from('301002010150010 5a00830050401780400 04'.replace(/ /g, ''), 'hex');
    assert.throws(() => decodeRequest(pdu));
  });

  it('answers a search whose attribute list is cut (30 01 04) with an error', () => {
    const whole = ldapMessage(1, searchRequest('', 0, presentFilter('objectClass'), ['cn']));
    // Replace the attribute list (30 04 04 02 63 6e) by a SEQUENCE that claims one octet: 04.
    const cut = Buffer.concat([whole.subarray(0, whole.length - 6), Buffer.from([0x30, 0x01, 0x04])]);
    cut[1] = cut.length - 2;
    cut[6] = cut.length - 7; // the SearchRequest's own length, so that only the list is cut
    assert.throws(() => decodeRequest(cut));
  });

  it('returns or throws for any message with up to 3 octets changed (property, fast-check)', () => {
    const all = samples.map(([, pdu]) => pdu);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: all.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0x84, 0x30, 0xa0, 0x04, 0xff)), { minLength: 1, maxLength: 3 }),
        (which, changes) => {
          const q = Buffer.from(all[which]!);
          for (const [at, octet] of changes) q[1 + (at % (q.length - 1))] = octet;
          try {
            decodeRequest(q);
          } catch {
            /* refused: fine */
          }
          return true;
        },
      ),
      { numRuns: 3000 },
    );
  });

  for (const [what, pdu] of samples) {
    it(`decodes ${what}, and returns or throws for each of its ${pdu.length} prefixes, with every length octet patched`, () => {
      assert.doesNotThrow(() => decodeRequest(pdu));
      for (let n = 0; n < pdu.length; n++) {
        const prefix = Buffer.from(pdu.subarray(0, n));
        // The outer length made to fit the prefix, as the framer would deliver it.
        if (n >= 2 && prefix[1]! < 0x80) prefix[1] = n - 2;
        try {
          decodeRequest(prefix);
        } catch {
          /* refused: fine */
        }
      }
    });
  }
});

describe('LDAP filter rules the BER shape does not enforce (RFC 4511 §4.5.1.7)', () => {
  const search = (filter: Buffer) => ldapMessage(7, searchRequest('o=x', 2, filter, ['cn']));
  const substrings = (...parts: [number, string][]) => tlv(0xa4, berString('cn'), tlv(0x30, ...parts.map(([tag, v]) => berString(v, tag))));
  it('refuses a substrings filter with no part, initial not first, final not last, or two of either', () => {
    for (const parts of [[], [[0x82, 'z'], [0x80, 'a']], [[0x80, 'a'], [0x80, 'b']], [[0x82, 'y'], [0x82, 'z']], [[0x81, 'm'], [0x80, 'a']]] as [number, string][][]) {
      assert.throws(() => decodeRequest(search(substrings(...parts))), /substrings filter/, JSON.stringify(parts));
      // the same inside and/or/not
      assert.throws(() => decodeRequest(search(tlv(0xa0, presentFilter('cn'), tlv(0xa2, substrings(...parts))))), /substrings filter/);
    }
  });
  it('takes initial, any and final in order, and any alone', () => {
    for (const parts of [[[0x80, 'a'], [0x81, 'm'], [0x81, 'n'], [0x82, 'z']], [[0x81, 'm']], [[0x80, 'a']], [[0x82, 'z']]] as [number, string][][]) {
      assert.doesNotThrow(() => decodeRequest(search(substrings(...parts))), JSON.stringify(parts));
    }
  });
  it('refuses an extensible match with neither matching rule nor type, and takes either alone', () => {
    assert.throws(() => decodeRequest(search(tlv(0xa9, berString('x', 0x83)))), /extensible match/);
    assert.doesNotThrow(() => decodeRequest(search(tlv(0xa9, berString('cn', 0x82), berString('x', 0x83)))));
    assert.doesNotThrow(() => decodeRequest(search(tlv(0xa9, berString('caseIgnoreMatch', 0x81), berString('x', 0x83)))));
  });
});
