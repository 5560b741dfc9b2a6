import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createEpochCache, OldestMark, type EpochMark } from '../../../src/core/directory/epoch-cache.js';
import type { SessionState } from '../../../src/ldap/context.js';
import { encodeResult, OP, readEnvelope } from '../../../src/ldap/codec.js';
import { encodeEntry, type EntryAttribute } from '../../../src/ldap/entry-encoder.js';
import { AnswerRecorder, answerKey, answersOf, KeptAnswers, replay, type KeptAnswer } from '../../../src/ldap/search-answers.js';
import { answerFromKept } from '../../../src/ldap/operations/search.js';
import { decodeRequest } from '../../../src/ldap/codec.js';
import type { LdapDeps } from '../../../src/ldap/context.js';
import type { LdapDirectory, LdapPrincipal } from '../../../src/core/directory/ldap-directory.js';
import { equalityFilter, ldapMessage, searchRequest, tlv } from '../../integration/ldap/support.js';
import type { User } from '../../../src/core/directory/types.js';

const text = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(127, 128, 255, 256).map((n) => 'x'.repeat(n)));
const attribute: fc.Arbitrary<EntryAttribute> = fc.record({ type: fc.string({ minLength: 1, maxLength: 10 }), values: fc.array(text, { maxLength: 3 }) });
const messageId = fc.oneof(fc.constantFrom(1, 127, 128, 255, 256, 32_767, 32_768, 8_388_607, 8_388_608, 2_147_483_647), fc.integer({ min: 1, max: 2_147_483_647 }));
const audit = { base: '', scope: 'sub', filter: '(uid=a)', attributes: [], results: 0, code: 0 };

/** A SearchRequest PDU: base "", scope sub, filter (uid=<uid>), then optional controls. */
const searchPdu = (id: number, uid: string, controls?: Buffer) => ldapMessage(id, searchRequest('', 2, equalityFilter('uid', uid)), controls);

/** The marks of one read at `at`, as OldestMark gives them to KeptAnswers. */
function marksOf(m: EpochMark): OldestMark {
  const marks = new OldestMark();
  marks.note(m);
  return marks;
}

/** What a search does with a keepable request: asks whether it is admitted before it runs, then keeps what it recorded. */
function offer(answers: KeptAnswers, key: string, recorder: AnswerRecorder, marks: OldestMark, fields: typeof audit): void {
  if (answers.admits(key)) answers.keep(key, recorder, marks, fields);
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

  it('keeps an answer at once while the cache has room, then only the second time its request comes, and nothing without a mark or over its size', () => {
    const cache = createEpochCache<KeptAnswer>(60_000, 10, () => 0);
    const answers = new KeptAnswers(cache, { answers: 4, weight: Infinity });
    const done = () => {
      const r = new AnswerRecorder();
      r.add(encodeResult(1, OP.searchResultDone, { code: 0, message: '' }));
      return r;
    };
    for (const k of ['a', 'b', 'c']) {
      offer(answers, k, done(), marksOf(cache.mark()), audit);
      assert.ok(answers.get(k), `${k} asked once while there is room: kept`);
    }
    offer(answers, 'k', done(), marksOf(cache.mark()), audit);
    assert.equal(answers.get('k'), undefined, 'asked once with 3 kept: not kept');
    offer(answers, 'k', done(), marksOf(cache.mark()), audit);
    assert.ok(answers.get('k'), 'asked again: kept');
    // The doorkeeper learnt the keys kept at once: asked again with no room, they are kept again.
    cache.delete('a');
    offer(answers, 'a', done(), marksOf(cache.mark()), audit);
    assert.ok(answers.get('a'));
    offer(answers, 'no mark', done(), new OldestMark(), audit);
    offer(answers, 'no mark', done(), new OldestMark(), audit);
    assert.equal(answers.get('no mark'), undefined);
    const big = () => {
      const r = new AnswerRecorder();
      r.add(encodeEntry(1, 'cn=x', [{ type: 'description', values: ['x'.repeat(5000)] }]));
      r.add(encodeResult(1, OP.searchResultDone, { code: 0, message: '' }));
      return r;
    };
    offer(answers, 'big', big(), marksOf(cache.mark()), audit);
    offer(answers, 'big', big(), marksOf(cache.mark()), audit);
    assert.equal(answers.get('big'), undefined);
  });

  it('keeps repeated answers through a scan of one-off requests when the weight fills before the count', () => {
    // Heavy answers (big groups, many memberOf values): 10 fit by weight, 100 by count.
    const cache = createEpochCache<KeptAnswer>(60_000, 100, () => 0, { weigh: () => 1_000, maxWeight: 10_000 });
    const answers = new KeptAnswers(cache, { answers: 100, weight: 10_000 });
    const done = () => {
      const r = new AnswerRecorder();
      r.add(encodeResult(1, OP.searchResultDone, { code: 0, message: '' }));
      return r;
    };
    const repeated = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
    for (const k of [...repeated, ...repeated]) offer(answers, k, done(), marksOf(cache.mark()), audit);
    for (let i = 0; i < 1_000; i++) offer(answers, `scan${i}`, done(), marksOf(cache.mark()), audit);
    for (const k of repeated) assert.ok(answers.get(k), `${k} still kept after the scan`);
    assert.ok(cache.weight <= 10_000);
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
    const paged = searchPdu(1, 'alice', tlv(0xa0));
    assert.equal(answerKey(paged, readEnvelope(paged), session('u1')), null);
    const anonymous: SessionState = { ...session('u1'), principal: { kind: 'anonymous' } };
    assert.equal(answerKey(a, readEnvelope(a), anonymous), null);
    const long = searchPdu(1, 'x'.repeat(600));
    assert.equal(answerKey(long, readEnvelope(long), session('u1')), null, 'a request too long to keep');
  });

  it("answers from kept bytes only while the searcher's identity check is kept (else the search runs and checks it)", async () => {
    const cache = createEpochCache<KeptAnswer>(60_000, 10, () => 0);
    let identity: LdapPrincipal | undefined;
    const directory = { derivedCache: () => cache, currentKept: () => identity } as unknown as LdapDirectory;
    const recorded: unknown[] = [];
    const deps = { directory, audit: { record: (e: unknown) => recorded.push(e), recordPerSubject: (e: unknown) => recorded.push(e) } } as unknown as LdapDeps;
    const s = session('u1');
    const pdu = searchPdu(7, 'alice');
    const env = readEnvelope(pdu);
    const key = answerKey(pdu, env, s)!;
    for (let i = 0; i < 2; i++) {
      const r = new AnswerRecorder();
      r.add(encodeResult(3, OP.searchResultDone, { code: 0, message: '' }));
      answersOf(directory)!.keep(key, r, marksOf(cache.mark()), audit);
    }
    const sent: Buffer[] = [];
    const send = async (b: Buffer) => void sent.push(b);
    assert.equal(await answerFromKept(env, key, deps, s, send), false, 'identity not checked lately');
    identity = { kind: 'anonymous' };
    assert.equal(await answerFromKept(env, key, deps, s, send), false, 'the searcher is anonymous now');
    assert.equal(sent.length + recorded.length, 0);
    identity = s.principal;
    assert.equal(await answerFromKept(env, key, deps, s, send), true);
    assert.deepEqual(sent, [encodeResult(7, OP.searchResultDone, { code: 0, message: '' })]);
    assert.equal(recorded.length, 1, 'with its audit event');
  });

  it('refuses a search request with anything after its attribute list (it would be read as controls)', () => {
    const op = tlv(0x63, searchRequest('', 2, equalityFilter('uid', 'alice')).subarray(2), tlv(0xa0));
    assert.throws(() => decodeRequest(ldapMessage(1, op)), /after the attribute list/);
    assert.doesNotThrow(() => decodeRequest(ldapMessage(1, searchRequest('', 2, equalityFilter('uid', 'alice')))));
  });
});
