import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createEpochCache } from '../../../src/core/directory/epoch-cache.js';
import type { SessionState } from '../../../src/ldap/context.js';
import { encodeResult, OP, readEnvelope } from '../../../src/ldap/codec.js';
import { encodeEntry, type EntryAttribute } from '../../../src/ldap/entry-encoder.js';
import { AnswerRecorder, answerKey, KeptAnswers, replay, SeenBefore, type KeptAnswer } from '../../../src/ldap/search-answers.js';
import type { User } from '../../../src/core/directory/types.js';

const text = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(127, 128, 255, 256).map((n) => 'x'.repeat(n)));
const attribute: fc.Arbitrary<EntryAttribute> = fc.record({ type: fc.string({ minLength: 1, maxLength: 10 }), values: fc.array(text, { maxLength: 3 }) });
const messageId = fc.oneof(fc.constantFrom(1, 127, 128, 255, 256, 32_767, 32_768, 8_388_607, 8_388_608, 2_147_483_647), fc.integer({ min: 1, max: 2_147_483_647 }));
const audit = { base: '', scope: 'sub', filter: '(uid=a)', attributes: [], results: 0, code: 0 };

/** A SearchRequest PDU: base "", scope sub, filter (uid=<uid>), then optional controls. */
function searchPdu(id: number, uid: string, controls?: Buffer): Buffer {
  const tlv = (tag: number, body: Buffer) => {
    const n = body.length;
    const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
    return Buffer.concat([Buffer.from([tag]), len, body]);
  };
  const int = (n: number) => tlv(0x02, Buffer.from([n]));
  const op = tlv(0x63, Buffer.concat([tlv(0x04, Buffer.alloc(0)), tlv(0x0a, Buffer.from([2])), tlv(0x0a, Buffer.from([0])), int(0), int(0), tlv(0x01, Buffer.from([0])), tlv(0xa3, Buffer.concat([tlv(0x04, Buffer.from('uid')), tlv(0x04, Buffer.from(uid))])), tlv(0x30, Buffer.alloc(0))]));
  return tlv(0x30, Buffer.concat([int(id), op, ...(controls ? [controls] : [])]));
}

const session = (id: string): SessionState => ({ id: 'c', remoteAddress: '127.0.0.1', tls: false, principal: { kind: 'user', user: { id } as User }, boundDn: '' });

describe('LDAP kept answers (search-answers.ts)', () => {
  it('replays the recorded responses under another message ID, byte for byte as if encoded for it', () => {
    fc.assert(
      fc.property(messageId, messageId, fc.array(fc.tuple(text, fc.array(attribute, { maxLength: 3 })), { maxLength: 3 }), (first, next, entries) => {
        const encodeAll = (id: number) => [...entries.map(([dn, attrs]) => encodeEntry(id, dn, attrs)), encodeResult(id, OP.searchResultDone, { code: 0, message: '' })];
        const recorder = new AnswerRecorder();
        for (const m of encodeAll(first)) recorder.add(m);
        const kept = recorder.answer(audit);
        // Answers over 4 KiB or 8 responses are not kept.
        if (!kept) return Buffer.concat(encodeAll(first)).length > 4096 || entries.length + 1 > 8;
        assert.deepEqual(replay(next, kept), Buffer.concat(encodeAll(next)));
        return true;
      }),
    );
  });

  it('keeps an answer the second time its request comes, and nothing without a mark or over its size', () => {
    const cache = createEpochCache<KeptAnswer>(60_000, 10, () => 0);
    const answers = new KeptAnswers(cache);
    const done = () => {
      const r = new AnswerRecorder();
      r.add(encodeResult(1, OP.searchResultDone, { code: 0, message: '' }));
      return r;
    };
    answers.keep('k', done(), cache.mark(), audit);
    assert.equal(answers.get('k'), undefined, 'asked once: not kept');
    answers.keep('k', done(), cache.mark(), audit);
    assert.ok(answers.get('k'), 'asked again: kept');
    answers.keep('no mark', done(), null, audit);
    answers.keep('no mark', done(), null, audit);
    assert.equal(answers.get('no mark'), undefined);
    const big = () => {
      const r = new AnswerRecorder();
      r.add(encodeEntry(1, 'cn=x', [{ type: 'description', values: ['x'.repeat(5000)] }]));
      r.add(encodeResult(1, OP.searchResultDone, { code: 0, message: '' }));
      return r;
    };
    answers.keep('big', big(), cache.mark(), audit);
    answers.keep('big', big(), cache.mark(), audit);
    assert.equal(answers.get('big'), undefined);
  });

  it('remembers keys it was given (few false positives) and forgets after 2^18 of them', () => {
    const seen = new SeenBefore();
    const keys = Array.from({ length: 50_000 }, (_, i) => `user-${i}\0(uid=u${i})`);
    let falsePositives = 0;
    for (const k of keys) if (seen.testAndSet(k)) falsePositives++;
    assert.ok(falsePositives < 500, `${falsePositives} of 50,000 new keys taken as seen`);
    for (const k of keys) assert.equal(seen.testAndSet(k), true);
    for (let i = 0; i < 1 << 18; i++) seen.testAndSet(`other ${i}`);
    const remembered = keys.filter((k) => seen.testAndSet(k)).length;
    assert.ok(remembered < 25_000, `forgotten after 2^18 more keys: ${remembered} of 50,000 still seen`);
  });

  it('keys a request by the searcher and its bytes after the message ID, and gives none with controls or anonymous', () => {
    const a = searchPdu(1, 'alice');
    const key = answerKey(a, readEnvelope(a), session('u1'));
    assert.ok(key);
    const again = searchPdu(99, 'alice');
    assert.equal(answerKey(again, readEnvelope(again), session('u1')), key, 'another message ID, the same key');
    assert.notEqual(answerKey(a, readEnvelope(a), session('u2')), key, 'another searcher');
    const b = searchPdu(1, 'bob');
    assert.notEqual(answerKey(b, readEnvelope(b), session('u1')), key);
    const paged = searchPdu(1, 'alice', Buffer.from([0xa0, 0x00]));
    assert.equal(answerKey(paged, readEnvelope(paged), session('u1')), null);
    const anonymous: SessionState = { ...session('u1'), principal: { kind: 'anonymous' } };
    assert.equal(answerKey(a, readEnvelope(a), anonymous), null);
    const long = searchPdu(1, 'x'.repeat(600));
    assert.equal(answerKey(long, readEnvelope(long), session('u1')), null, 'a request too long to keep');
  });
});
