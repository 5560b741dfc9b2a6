import type { EpochCache, OldestMark } from '../core/directory/epoch-cache.js';
import { SeenBefore } from '../util/seen-before.js';
import type { LdapDirectory } from '../core/directory/ldap-directory.js';
import type { Envelope } from './codec.js';
import type { SessionState } from './context.js';
import { messageSize, putMessageHeader } from './entry-encoder.js';

/**
 * Answers to searches, kept as the bytes that went out, to answer the same request again.
 *
 * Directory clients ask the same questions all day: nslcd and sssd look up each user and group on
 * every login, `id`, `ls -l` and cron run, Jenkins and wikis re-read the same accounts. Such a
 * request is answered from its bytes alone, without decoding it, translating its filter, building
 * and encoding its entries: the kept responses get the request's message ID and go out in one
 * write. OpenLDAP's pcache overlay keeps answers the same way (per query, for a TTL); here an
 * answer is kept on the rules of the directory pages it was built from (EpochCache, OldestMark):
 * dropped at a commit in this process, seen stale through the store's directory version otherwise,
 * and never kept longer than any page it came from.
 *
 * Only what is cheap to hold, certain to be the same and likely to be asked again is kept: a search
 * by a bound user (the key holds the user's id, since who sees what depends on it), with no controls
 * (a paged search's cookie moves), answered with success and a few small entries; once the cache
 * is getting full, only the second time it is asked (SeenBefore).
 */
export interface KeptAnswer {
  /**
   * Each response (entries, then SearchResultDone) without its envelope, as a latin1 string: text
   * on the V8 heap costs its bytes and a small header, where a Buffer of its own costs an
   * ArrayBuffer with a separately allocated store (measured: RSS at 100k users went over 300 MB
   * with Buffers). The usual SearchResultDone is one shared string.
   */
  ops: string[];
  /** What the search's audit event records of the request and its answer. */
  audit: SearchAuditFields;
}

/** The request's part of an `ldap_search` event (see search.ts). */
export interface SearchAuditFields {
  base: string;
  scope: string;
  filter: string;
  attributes: string[];
  results: number;
  code: number;
}

/** Requests longer than this (very long filters) are not kept: their keys would hold more than their answers. */
const MAX_KEY_BYTES = 512;
/** Bytes of one kept answer (one or two user entries with their groups, or a small group). */
const MAX_ANSWER_BYTES = 4096;
const MAX_RESPONSES = 8;
/** Answers kept at most: the lookups a site repeats within minutes. */
const MAX_ANSWERS = 16_384;
/**
 * Below this part of the cache's room (in answers and in weight), an answer is kept the first time
 * its request comes; above, only the second time (SeenBefore). A site whose repeated lookups fit
 * (10k users asked about in turn) then pays one store read per request instead of two (measured:
 * +8% searches/s at 10k users), while a scan of one-off requests (100k users asked about once
 * each) still cannot push the repeated ones out: one-offs fill at most this part of the cache, the
 * oldest going first. Both bounds count: with heavy answers the weight fills first.
 */
const ADMIT_AT_ONCE_BELOW = 3 / 4;
/**
 * What all kept answers may weigh together, in bytes of their strings plus an allowance for their
 * objects: typical answers (~1.1 KiB of weight: one user entry) fill MAX_ANSWERS first, and answers
 * near the limits of a request and an answer (~6 KiB) stop at ~3,400 instead of holding ~100 MB
 * (measured with 16,384 of them).
 */
const MAX_ANSWERS_WEIGHT = 20 * 1024 * 1024;
/** V8's objects around the strings of one answer (the cache entry, its arrays and audit fields). */
const ANSWER_OVERHEAD = 600;

const weigh = (key: string, a: KeptAnswer) => {
  let n = ANSWER_OVERHEAD + key.length + a.audit.filter.length;
  for (const op of a.ops) n += op.length;
  return n;
};

/** The kept answers of one directory view (one per LDAP server, shared by its connections). */
export class KeptAnswers {
  private readonly seen = new SeenBefore();

  private readonly admitAtOnce: { answers: number; weight: number };

  constructor(
    private readonly cache: EpochCache<KeptAnswer>,
    room: { answers: number; weight: number } = { answers: MAX_ANSWERS, weight: MAX_ANSWERS_WEIGHT },
  ) {
    this.admitAtOnce = { answers: room.answers * ADMIT_AT_ONCE_BELOW, weight: room.weight * ADMIT_AT_ONCE_BELOW };
  }

  get(key: string): KeptAnswer | undefined {
    return this.cache.get(key);
  }

  /**
   * Whether the answer to the request `key` is to be recorded and kept: while there is room, or
   * when the request came before (SeenBefore). Asked before the search runs, so that a request
   * asked once (at 100k users nearly every uid lookup, once the cache is getting full) is not
   * recorded for nothing (measured at 100k users: ~8% more searches/s without the recording).
   */
  admits(key: string): boolean {
    // The doorkeeper always learns the key; it decides only once the cache is getting full.
    const seenBefore = this.seen.testAndSet(key);
    return seenBefore || (this.cache.size < this.admitAtOnce.answers && this.cache.weight < this.admitAtOnce.weight);
  }

  /**
   * Keeps the recorded answer under `key` (admitted by `admits`), built from the reads `marks`
   * noted: never longer than the oldest of those reads, nor than any of them is kept.
   */
  keep(key: string, recorder: AnswerRecorder, marks: OldestMark, audit: SearchAuditFields): void {
    const mark = marks.mark;
    if (!mark) return;
    const answer = recorder.answer(audit);
    if (answer) this.cache.set(key, answer, mark, Infinity, marks.bounds);
  }
}

const kept = new WeakMap<LdapDirectory, KeptAnswers | null>();

/** The kept answers of `directory`; null when it keeps nothing (`auth.revalidateSeconds` 0). */
export function answersOf(directory: LdapDirectory): KeptAnswers | null {
  let k = kept.get(directory);
  if (k === undefined) {
    const cache = directory.derivedCache<KeptAnswer>(MAX_ANSWERS, { weigh, maxWeight: MAX_ANSWERS_WEIGHT });
    k = cache ? new KeptAnswers(cache) : null;
    kept.set(directory, k);
  }
  return k;
}

/** The key of a search request that may be answered from kept bytes, or null. */
export function answerKey(pdu: Buffer, env: Envelope, session: SessionState): string | null {
  const p = session.principal;
  if (p.kind !== 'user' || env.opStart === undefined || env.opEnd === undefined) return null;
  // Controls follow the protocolOp: none may be present (RFC 4511 §4.1.1: `controls` is the last field).
  if (env.opEnd !== pdu.length || env.opEnd - env.opStart > MAX_KEY_BYTES) return null;
  return `${p.user.id}\0${pdu.toString('latin1', env.opStart, env.opEnd)}`;
}

/** Bytes of a BER length field whose first octet is `first` (X.690 §8.1.3). */
const lengthBytes = (first: number) => (first & 0x80 ? 1 + (first & 0x7f) : 1);

/**
 * Values many answers share (the usual SearchResultDone, a base DN, an attribute list): one copy
 * each instead of one per answer, up to a bound so that varied requests cannot grow it.
 */
class Interned<T> {
  private readonly known = new Map<string, T>();
  constructor(private readonly max: number) {}
  of(key: string, value: T): T {
    const k = this.known.get(key);
    if (k !== undefined) return k;
    if (this.known.size < this.max) this.known.set(key, value);
    return value;
  }
}
const sharedOps = new Interned<string>(256);
const sharedBases = new Interned<string>(1024);
const sharedAttributeLists = new Interned<string[]>(1024);

/** Gathers a search's responses as it sends them, while they stay small enough to keep. */
export class AnswerRecorder {
  private readonly ops: string[] = [];
  private bytes = 0;
  private full = false;

  /** `message`: one whole LDAPMessage as sent. */
  add(message: Buffer): void {
    if (this.full) return;
    // LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp, controls [0] OPTIONAL }
    const idAt = 1 + lengthBytes(message[1]!);
    const opAt = idAt + 2 + message[idAt + 1]!;
    this.bytes += message.length - opAt;
    if (this.bytes > MAX_ANSWER_BYTES || this.ops.length >= MAX_RESPONSES) {
      this.full = true;
      this.ops.length = 0;
      return;
    }
    const op = message.toString('latin1', opAt);
    this.ops.push(op.length <= 32 ? sharedOps.of(op, op) : op);
  }

  /** The answer to keep, or null if it grew too big. */
  answer(audit: SearchAuditFields): KeptAnswer | null {
    if (this.full || this.ops.length === 0) return null;
    // The attribute list keyed by its JSON: no separator could be told apart from a description's own bytes.
    const attributes = sharedAttributeLists.of(JSON.stringify(audit.attributes), audit.attributes);
    return { ops: this.ops, audit: { ...audit, base: sharedBases.of(audit.base, audit.base), attributes } };
  }
}

/** The kept responses as LDAPMessages of `messageId`, in one buffer for one write. */
export function replay(messageId: number, answer: KeptAnswer): Buffer {
  let total = 0;
  for (const op of answer.ops) total += messageSize(messageId, op.length);
  const b = Buffer.allocUnsafe(total);
  let o = 0;
  for (const op of answer.ops) {
    o = putMessageHeader(b, o, messageId, op.length);
    o += b.write(op, o, 'latin1');
  }
  return b;
}
