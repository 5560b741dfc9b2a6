import { fold } from '../../util/fold.js';
import { couldBeStoredText } from './names.js';
import type { VersionWatch } from './version-watch.js';
import type { NameValue, User } from './types.js';

/**
 * Every user LDAP could show (ACTIVATED and bound to the LDAP server), by username, read from the
 * store once and kept while nothing changes: the lookup `(&(objectClass=posixAccount)(uid=x))` that
 * hosts and apps send for each login answers from memory instead of the store. Measured at 100k
 * users (4 clients, every search a different user): each lookup cost ~0.4 ms of server CPU, two
 * thirds of it the store read and its thread-pool round trip, and the kept answers
 * (search-answers.ts) cannot help where each user is asked about once. slapd holds its whole
 * database in memory (mdb) and answers such lookups at the same rate at 1k and 100k users.
 *
 * Kept on the rules of the directory's other caches (EpochCache): built under an epoch and a
 * confirmed directory version, and used only while neither has moved, so a change made here is
 * seen at once and one made through another instance within the version watch's `ttlMs`. What time
 * alone changes (a lock ending, a password reaching its age) is not decided at build time: each
 * entry keeps its lock and password dates and the caller applies the hiding rules at lookup
 * (ldap-visibility.ts), so an index can stay valid for as long as the directory does not change.
 *
 * Each user is held as the UTF-8 of one JSON array of its fields in a fixed order (`pack`), outside
 * the JS heap (Arena): ~300 bytes with its key, against ~1 KB for the objects.
 */
export interface IndexedUser {
  user: User;
  /** Names of the user's groups bound to the LDAP server. */
  groupNames: string[];
}

/** A page of the users to index, in username order after `after` ('' for the first). */
export type ReadIndexPage = (after: string, limit: number) => Promise<IndexedUser[]>;

/** Users read per store query while building: one page's unpacking blocks the event loop for a few ms. */
const PAGE = 1_000;
/** Above this many users no index is kept (~30 MB per 100k users): such a site pays a store read per lookup. */
export const MAX_INDEXED_USERS = 200_000;
/**
 * A build waits this many times the last one's duration after it (at least MIN_GAP_MS): under a
 * stream of changes (each invalidates the index) rebuilding takes at most a tenth of the time.
 */
const GAP_FACTOR = 9;
const MIN_GAP_MS = 1_000;
/** Nor above this many bytes of records (users with very many groups). */
const MAX_INDEX_BYTES = 128 * 1024 * 1024;
/** After finding more users (or bytes) than that, or usernames stored unfolded, the next attempt waits this long. */
const UNSUITED_GAP_MS = 600_000;

type Packed = [
  id: string,
  username: string,
  email: string,
  firstname: string,
  lastname: string,
  displayname: string,
  state: User['state'],
  hasPassword: boolean,
  passwordChangedAt: number | null,
  passwordExpiredFlag: boolean,
  totpEnrolled: boolean,
  enableUserPortalMultifactor: boolean,
  mfaExclusion: boolean,
  mfaExclusionUntil: number | null,
  ldapBindingUser: boolean,
  unixUid: number,
  unixGuid: number,
  jobTitle: string,
  department: string,
  company: string,
  location: string,
  employeeIdentifier: string,
  description: string,
  attributes: NameValue[],
  lockedAt: number | null,
  createdAt: number,
  updatedAt: number,
  groupNames: string[],
];

const ms = (d: Date | null) => (d === null ? null : d.getTime());
const date = (n: number | null) => (n === null ? null : new Date(n));

export function pack(e: IndexedUser): string {
  const u = e.user;
  const p: Packed = [
    u.id, u.username, u.email, u.firstname, u.lastname, u.displayname, u.state, u.hasPassword, ms(u.passwordChangedAt),
    u.passwordExpiredFlag, u.totpEnrolled, u.enableUserPortalMultifactor, u.mfaExclusion, ms(u.mfaExclusionUntil),
    u.ldapBindingUser, u.unixUid, u.unixGuid, u.jobTitle, u.department, u.company, u.location, u.employeeIdentifier,
    u.description, u.attributes, ms(u.lockedAt), u.createdAt.getTime(), u.updatedAt.getTime(), e.groupNames,
  ];
  return JSON.stringify(p);
}

export function unpack(s: string): IndexedUser {
  // The string is pack()'s own output, never outside input.
  const p = JSON.parse(s) as Packed;
  return {
    user: {
      id: p[0], username: p[1], email: p[2], firstname: p[3], lastname: p[4], displayname: p[5], state: p[6], hasPassword: p[7],
      passwordChangedAt: date(p[8]), passwordExpiredFlag: p[9], totpEnrolled: p[10], enableUserPortalMultifactor: p[11],
      mfaExclusion: p[12], mfaExclusionUntil: date(p[13]), ldapBindingUser: p[14], unixUid: p[15], unixGuid: p[16],
      jobTitle: p[17], department: p[18], company: p[19], location: p[20], employeeIdentifier: p[21], description: p[22],
      attributes: p[23], lockedAt: date(p[24]), createdAt: new Date(p[25]), updatedAt: new Date(p[26]),
    },
    groupNames: p[27],
  };
}

/**
 * The packed users of one build as UTF-8, end to end in one array outside the JS heap: as strings
 * on the heap, 100k users (~230 characters each) held ~400 bytes each (the strings JSON.stringify
 * returns keep the room they grew into), and the heap V8 committed around them grew by twice that
 * (measured: RSS at 100k users went to ~300 MB). Here they take their bytes, and the heap holds
 * the usernames and their ordinals.
 */
class Arena {
  private static readonly CHUNK = 1 << 22;
  private readonly chunks: Uint8Array[] = [];
  private chunk = new Uint8Array(0);
  private used = 0;
  /** Where each record starts in the joined bytes; the last is where the last record ends. */
  private readonly starts: number[] = [0];

  get bytes(): number {
    return this.starts[this.starts.length - 1]!;
  }

  /** Appends a record; its ordinal. */
  add(text: string): number {
    let r = encoder.encodeInto(text, this.chunk.subarray(this.used));
    if (r.read < text.length) {
      this.close();
      // A record longer than a chunk (a user with very many groups) gets a chunk of its own size.
      this.chunk = new Uint8Array(Math.max(Arena.CHUNK, text.length * 3));
      r = encoder.encodeInto(text, this.chunk);
    }
    this.used += r.written;
    this.starts.push(this.starts[this.starts.length - 1]! + r.written);
    return this.starts.length - 2;
  }

  private close() {
    if (this.used > 0) this.chunks.push(this.chunk.subarray(0, this.used));
    this.used = 0;
  }

  /** The records, joined into one exactly sized array. */
  seal(): { bytes: Uint8Array; starts: Uint32Array } {
    this.close();
    const bytes = new Uint8Array(this.starts[this.starts.length - 1]!);
    let at = 0;
    for (const c of this.chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    this.chunks.length = 0;
    return { bytes, starts: Uint32Array.from(this.starts) };
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How a build ended: kept, to be tried again (a commit or an unconfirmed version), or given up (too big, or unfolded usernames). */
type Outcome = 'built' | 'retry' | 'unsuited';

interface Built {
  /** Username → ordinal of its record in `bytes` (from starts[i] to starts[i + 1]). */
  byName: Map<string, number>;
  bytes: Uint8Array;
  starts: Uint32Array;
  /** What it was built for (the LDAP server's id), under which epoch and confirmed version. */
  scope: string;
  epoch: number;
  generation: number;
}

export interface UserIndex {
  /**
   * The user a username equality names (`exact`: case-sensitive, LDAP caseExactMatch), null if
   * none is indexed, and how long ago (ms) the store was last seen to hold what the index holds
   * (the start of the confirmation that vouches for it: a value derived from the lookup is as old
   * as that, not as the lookup). Undefined when the index cannot answer for `scope` now (not built,
   * or the directory changed since): the caller reads the store, and a build starts if one may.
   */
  lookup(scope: string, name: string, exact: boolean): { entry: IndexedUser | null; age: number } | undefined;
  /** Starts a build for `scope` unless the index is valid, one is running, or the rebuild budget says wait. */
  refresh(scope: string): void;
  /** Builds the index for `scope` now unless it is valid; whether it is valid afterwards (tests). */
  build(scope: string): Promise<boolean>;
  /** Users indexed (0 when none is held). */
  readonly size: number;
}

export function createUserIndex(read: (scope: string) => ReadIndexPage, epoch: () => number, watch: VersionWatch, now: () => number = () => performance.now()): UserIndex {
  let built: Built | null = null;
  let building: Promise<Outcome> | null = null;
  /** No build starts before this (performance.now() ms): the rebuild budget. */
  let notBefore = 0;

  const valid = (scope: string): Built | null => {
    const b = built;
    if (!b) return null;
    if (b.epoch !== epoch() || !watch.vouches(b.generation) || b.scope !== scope) {
      // Dropped at once once it cannot come back (a commit, another server, a newer version seen):
      // its memory is not held while the next one is read.
      if (b.epoch !== epoch() || b.scope !== scope || watch.generation() !== b.generation) built = null;
      return null;
    }
    return b;
  };

  /**
   * Not valid only because its version is being confirmed again (after a quiet spell the watch
   * stops confirming): no rebuild, the confirmation on its way (started by `vouches`) will do.
   */
  const awaitingConfirmation = (scope: string) => {
    const b = built;
    return b !== null && b.epoch === epoch() && b.scope === scope && watch.generation() === b.generation;
  };

  const run = async (scope: string): Promise<Outcome> => {
    const started = now();
    const e = epoch();
    const generation = watch.generation();
    try {
      // Nothing confirmed yet: nothing to keep the index under (the confirmation has been started).
      if (generation < 0) return 'retry';
      const byName = new Map<string, number>();
      const arena = new Arena();
      const readPage = read(scope);
      let after = '';
      for (;;) {
        const page = await readPage(after, PAGE);
        // A commit here while reading: the pages may straddle it.
        if (epoch() !== e) return 'retry';
        for (const u of page) {
          const name = u.user.username;
          // Pages follow the folded username (`gt` folds its value): a name stored unfolded (written
          // around the service, by psql or a restore) or out of order would make pages skip users.
          if (name <= after || fold(name) !== name) {
            notBefore = now() + UNSUITED_GAP_MS;
            return 'unsuited';
          }
          byName.set(name, arena.add(pack(u)));
          after = name;
        }
        if (byName.size > MAX_INDEXED_USERS || arena.bytes > MAX_INDEX_BYTES) {
          notBefore = now() + UNSUITED_GAP_MS;
          return 'unsuited';
        }
        if (page.length < PAGE) break;
      }
      if (epoch() !== e || !watch.vouches(generation)) return 'retry';
      built = { byName, ...arena.seal(), scope, epoch: e, generation };
      return 'built';
    } finally {
      notBefore = Math.max(notBefore, now() + Math.max(MIN_GAP_MS, GAP_FACTOR * (now() - started)));
    }
  };

  const start = (scope: string): Promise<Outcome> => {
    if (!building) {
      building = run(scope).finally(() => {
        building = null;
      });
    }
    return building;
  };

  const refresh = (scope: string) => {
    if (!building && now() >= notBefore && !valid(scope) && !awaitingConfirmation(scope)) start(scope).catch(() => undefined);
  };

  return {
    lookup(scope, name, exact) {
      const b = valid(scope);
      if (!b) {
        refresh(scope);
        return undefined;
      }
      const age = watch.confirmedAgo(b.generation) ?? 0;
      // Text no stored username holds (a NUL, say) names no one, as in the store (filter-sql.ts).
      if (!couldBeStoredText(name)) return { entry: null, age };
      // Usernames are stored folded (NFC, lower case): an equality compares the folded value, a
      // case-exact one the value as given (filter-sql.ts, `lower` columns).
      const i = b.byName.get(exact ? name : fold(name));
      return { entry: i === undefined ? null : unpack(decoder.decode(b.bytes.subarray(b.starts[i]!, b.starts[i + 1]!))), age };
    },
    refresh,
    async build(scope) {
      // A few attempts: the first may find the version not yet confirmed, or a commit in its way.
      for (let attempt = 0; attempt < 5; attempt++) {
        if (valid(scope)) return true;
        const outcome = await (building ?? start(scope));
        if (outcome === 'unsuited') return false;
        if (outcome === 'retry') await new Promise((r) => setTimeout(r, 20));
      }
      return valid(scope) !== null;
    },
    get size() {
      return built?.byName.size ?? 0;
    },
  };
}
