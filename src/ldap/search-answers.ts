import type { EpochCache, EpochMark } from '../core/directory/epoch-cache.js';
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
 * so it is never older than any page it came from could be.
 *
 * Only what is cheap to hold and certain to be the same is kept: a search by a bound user (the key
 * holds the user's id, since who sees what depends on it), with no controls (a paged search's
 * cookie moves), answered with success and a few small entries.
 */
export interface KeptAnswer {
  /** The responses (entries, then SearchResultDone) without their envelopes, back to back. */
  ops: Buffer;
  /** The length of each response in `ops`. */
  lengths: number[];
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
/** ~16k answers of at most 4 KiB (usually < 1 KiB): the number of lookups a site repeats within minutes. */
const MAX_ANSWERS = 16_384;

const kept = new WeakMap<LdapDirectory, EpochCache<KeptAnswer>>();

/** The kept answers of one directory view (one per LDAP server, shared by its connections). */
export function answersOf(directory: LdapDirectory): EpochCache<KeptAnswer> {
  let c = kept.get(directory);
  if (!c) {
    c = directory.derivedCache<KeptAnswer>(MAX_ANSWERS);
    kept.set(directory, c);
  }
  return c;
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

/** Gathers a search's responses as it sends them, while they stay small enough to keep. */
export class AnswerRecorder {
  private readonly ops: Buffer[] = [];
  private bytes = 0;
  private full = false;

  /** `message`: one whole LDAPMessage as sent. */
  add(message: Buffer): void {
    if (this.full) return;
    // LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp, controls [0] OPTIONAL }
    const idAt = 1 + lengthBytes(message[1]!);
    const op = message.subarray(idAt + 2 + message[idAt + 1]!);
    this.bytes += op.length;
    if (this.bytes > MAX_ANSWER_BYTES || this.ops.length >= MAX_RESPONSES) {
      this.full = true;
      this.ops.length = 0;
      return;
    }
    this.ops.push(op);
  }

  /** Keeps the answer under `key`, built from reads marked `mark` (null: not to be kept). */
  keep(cache: EpochCache<KeptAnswer>, key: string, mark: EpochMark | null, audit: SearchAuditFields): void {
    if (this.full || !mark || this.ops.length === 0) return;
    // A buffer of its own: a slice of Node's shared pool would keep its whole 8 KiB slab alive.
    const ops = Buffer.allocUnsafeSlow(this.bytes);
    let o = 0;
    for (const op of this.ops) o += op.copy(ops, o);
    cache.set(key, { ops, lengths: this.ops.map((x) => x.length), audit }, mark);
  }
}

/** The kept responses as LDAPMessages of `messageId`, in one buffer for one write. */
export function replay(messageId: number, answer: KeptAnswer): Buffer {
  let total = 0;
  for (const n of answer.lengths) total += messageSize(messageId, n);
  const b = Buffer.allocUnsafe(total);
  let o = 0;
  let from = 0;
  for (const n of answer.lengths) {
    o = putMessageHeader(b, o, messageId, n);
    o += answer.ops.copy(b, o, from, from + n);
    from += n;
  }
  return b;
}
