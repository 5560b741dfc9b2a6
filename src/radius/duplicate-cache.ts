/**
 * Duplicate detection (RFC 5080 §2.2.2): a request with the same source address, source port,
 * Identifier and Request Authenticator as one seen within `ttlMs` is a retransmission. It is not
 * processed again: while the first is still being processed it is dropped (the client retransmits
 * later), and once the first is answered it gets the same reply bytes. Without this, a lost
 * Access-Accept after a TOTP code would become a Reject (the code is single use) and lockout would
 * count one wrong password several times.
 *
 * Memory is bounded: at most `maxEntries` answered entries, oldest evicted first; entries being
 * processed are bounded by the listener's in-flight cap and never evicted.
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

interface Entry {
  reply: Buffer | null;
  /** 0 while in progress. */
  expiresAt: number;
}

export function duplicateKey(kind: string, address: string, port: number, identifier: number, authenticator: Buffer): string {
  return `${kind}|${address}|${port}|${identifier}|${authenticator.toString('base64')}`;
}

export function createDuplicateCache(ttlMs: number, maxEntries: number, now: () => number = Date.now): DuplicateCache {
  const entries = new Map<string, Entry>();

  const sweep = (t: number) => {
    // Map order is insertion order: the head holds the oldest requests. Stop at the first live or
    // in-progress entry; a few expired entries behind it wait for the next sweep.
    for (const [k, e] of entries) {
      if (e.expiresAt === 0 || e.expiresAt > t) {
        if (entries.size <= maxEntries) break;
        if (e.expiresAt === 0) continue;
      }
      entries.delete(k);
    }
  };

  return {
    begin(key) {
      const t = now();
      const e = entries.get(key);
      if (e) {
        if (e.expiresAt === 0) return { status: 'in_progress' };
        if (e.expiresAt > t) return { status: 'answered', reply: e.reply };
        entries.delete(key);
      }
      sweep(t);
      entries.set(key, { reply: null, expiresAt: 0 });
      return { status: 'new' };
    },
    finish(key, reply) {
      const e = entries.get(key);
      if (!e) return;
      e.reply = reply;
      e.expiresAt = now() + ttlMs;
    },
    abort(key) {
      const e = entries.get(key);
      if (e && e.expiresAt === 0) entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
}
