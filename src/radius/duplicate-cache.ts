/**
 * Duplicate detection (RFC 5080 §2.2.2): a request with the same source address, source port,
 * Identifier and Request Authenticator as one seen within `ttlMs` is a retransmission. It is not
 * processed again: while the first is still being processed it is dropped (the client retransmits
 * later), and once the first is answered it gets the same reply bytes. Without this, a lost
 * Access-Accept after a TOTP code would become a Reject (the code is single use) and lockout would
 * count one wrong password several times.
 *
 * Memory is bounded: at most `maxEntries` answered entries, oldest evicted first; entries being
 * processed are bounded by the listener's in-flight cap and never evicted. Every operation is O(1)
 * amortised: expiry follows a queue rather than a new Map iterator per request, which in V8 rescans
 * the slots of every entry deleted before it (at 7k requests/s and a 10 s TTL, 70k entries: ~34 µs
 * per request; see util/oldest-first.ts).
 */
export type DuplicateStatus = { status: 'new' } | { status: 'in_progress' } | { status: 'answered'; reply: Buffer | null };

export interface DuplicateCache {
  /** Looks the request up; a new request is recorded as in progress. */
  begin(key: string): DuplicateStatus;
  /** Records the reply (null: processed, nothing sent) and starts the entry's time to live. */
  finish(key: string, reply: Buffer | null): void;
  /** Forgets an in-progress entry whose processing failed, so that a retransmission is processed. */
  abort(key: string): void;
  readonly size: number;
}

/** Room for the longest key: kind, an IPv6 address with zone, port, identifier, authenticator. */
const keyScratch = Buffer.allocUnsafe(256);

/**
 * One flat string, built in a scratch buffer: a template literal made a rope of ~9 string objects
 * per key, and the cache holds a key for `ttlMs` (~100k keys at 10k requests/s: 29 MB of ropes in a
 * heap snapshot under radclient load). The fields are separated by a character that the kind and
 * the address do not contain, and the rest have fixed lengths.
 */
export function duplicateKey(kind: string, address: string, port: number, identifier: number, authenticator: Buffer): string {
  let n = keyScratch.write(kind, 0, 'latin1');
  keyScratch[n++] = 0x7c; // '|'
  n += keyScratch.write(address.slice(0, 200), n, 'latin1');
  keyScratch[n++] = 0x7c;
  keyScratch.writeUInt16BE(port & 0xffff, n);
  keyScratch[n + 2] = identifier & 0xff;
  n += 3;
  n += authenticator.copy(keyScratch, n, 0, 16);
  return keyScratch.toString('latin1', 0, n);
}

interface Answered {
  key: string;
  reply: Buffer | null;
  expiresAt: number;
}

export function createDuplicateCache(ttlMs: number, maxEntries: number, now: () => number = Date.now): DuplicateCache {
  const inProgress = new Set<string>();
  const answered = new Map<string, Answered>();
  // Answered entries in the order they were answered, which with one TTL is the order they expire.
  // An entry deleted early (expired on lookup) stays here until the sweep reaches it.
  let queue: Answered[] = [];
  let head = 0;

  const sweep = (t: number) => {
    for (; head < queue.length; head++) {
      const e = queue[head]!;
      if (answered.get(e.key) !== e) continue;
      if (e.expiresAt > t && answered.size <= maxEntries) break;
      answered.delete(e.key);
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  return {
    begin(key) {
      if (inProgress.has(key)) return { status: 'in_progress' };
      const t = now();
      const e = answered.get(key);
      if (e) {
        if (e.expiresAt > t) return { status: 'answered', reply: e.reply };
        answered.delete(key);
      }
      sweep(t);
      inProgress.add(key);
      return { status: 'new' };
    },
    finish(key, reply) {
      if (!inProgress.delete(key)) return;
      const t = now();
      const e: Answered = { key, reply, expiresAt: t + ttlMs };
      answered.set(key, e);
      queue.push(e);
      if (answered.size > maxEntries) sweep(t);
    },
    abort(key) {
      inProgress.delete(key);
    },
    get size() {
      return inProgress.size + answered.size;
    },
  };
}
