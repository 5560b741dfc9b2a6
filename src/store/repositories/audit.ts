import { AUDIT_REFUSED, type AuditEvent, type AuditField, type AuditQuery } from '../../core/audit/event.js';
import type { AuditRepository } from '../../core/ports.js';
import { invalid } from '../../core/errors.js';
import { fold } from '../fold.js';
import { fromJson, inList, type Param, type Sql, limitSql } from '../sql.js';

/**
 * The rowid span of the audit table, each end from the rowid B-tree's edge. Written as one
 * aggregate query (`MAX(rowid) - MIN(rowid)`), SQLite cannot use its min/max shortcut, which takes
 * a lone MIN or MAX, and scanned every row: 243 ms at 3.1M events, on each purge (0.7 ms this way).
 */
export const SQLITE_ROWID_SPAN = 'SELECT COALESCE((SELECT MAX(rowid) FROM audit_events) - (SELECT MIN(rowid) FROM audit_events) + 1, 0) AS n';

/** Indexed columns that mirror event fields, for exact-match queries. */
const FIELD_COLUMNS: Record<AuditField, string> = {
  id: 'id',
  event_type: 'event_type',
  service: 'service',
  success: 'success',
  client_ip: 'client_ip',
  username: 'username',
  'initiated_by.id': 'initiated_by_id',
  'initiated_by.type': 'initiated_by_type',
  'initiated_by.username': 'initiated_by_username',
  'initiated_by.email': 'initiated_by_email',
  'resource.id': 'resource_id',
  'resource.type': 'resource_type',
  'resource.username': 'resource_username',
  'resource.name': 'resource_name',
};

/**
 * What an indexed copy changes besides the length: NUL, and surrogates (a lone one has no UTF-8
 * form). Text without any (nearly all) is kept as it is, without the three copies below.
 */
const NEEDS_MENDING = /[\0\ud800-\udfff]/;

/**
 * An indexed copy of a text field: at most `width` characters (the column's: PostgreSQL refuses a
 * longer value, and the whole batch with it), as valid Unicode text without NUL (PostgreSQL's text
 * refuses NUL, and a lone surrogate has no UTF-8 form), so that both stores keep the same value and
 * an exact-match query finds it. `data` keeps the event exactly, as JSON escapes.
 */
const s = (v: unknown, width: number) =>
  typeof v !== 'string' ? '' : v.length <= width && !NEEDS_MENDING.test(v) ? v : v.slice(0, width).toWellFormed().replaceAll('\0', '\ufffd');

/**
 * Errors that refuse the rows themselves, which the same rows meet again at every retry: PostgreSQL's
 * data exceptions and integrity constraint violations (SQLSTATE classes 22 and 23, appendix A),
 * SQLite's constraint, too-big and datatype-mismatch results.
 */
const REFUSED_PG = /^2[23][0-9A-Z]{3}$/;
const REFUSED_SQLITE = /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH)/;
function refusedByStore(err: unknown): boolean {
  // An event JSON.stringify cannot write (a BigInt, a cycle in protocol fields) fails the same way
  // every time, before any statement; so does JSON SQLite will not read (nested over 1,000 deep).
  if (err instanceof TypeError) return true;
  const e = err as { parent?: { code?: unknown }; code?: unknown; message?: unknown } | null;
  const code = e?.parent?.code ?? e?.code;
  if (code === 'SQLITE_ERROR' && typeof e?.message === 'string' && e.message.includes('malformed JSON')) return true;
  return typeof code === 'string' && (REFUSED_PG.test(code) || REFUSED_SQLITE.test(code));
}

function escapeLike(t: string): string {
  return t.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const MAX_EVENTS_PER_INSERT = 1000;
/**
 * Rows deleted per statement when purging: each statement is a short write transaction, so logins
 * and audit inserts go on between them (one DELETE of millions of rows would hold SQLite's writer
 * for seconds).
 */
const PURGE_BATCH = 5000;
const ASCII = /^[\x00-\x7f]*$/;

const COLUMNS = `id, ts, event_type, service, success, client_ip, username, initiated_by_id, initiated_by_type,
  initiated_by_username, initiated_by_email, resource_id, resource_type, resource_username, resource_name, data, search_lc`;
const COLUMN_COUNT = 17;
/** Where `data` is in a packed row: the event itself, as an object. */
const DATA_AT = 15;
/**
 * `r->>0, r->>1, …`: the columns of one packed row (JSON true comes out as 1, like a bound
 * boolean); `data` with `->`, which gives the JSON text of the event as JSON.stringify wrote it
 * (JSONB keeps each string's and number's text as it was read; a test compares them).
 */
const UNPACK = Array.from({ length: COLUMN_COUNT }, (_, i) => (i === DATA_AT ? `r->${i}` : `r->>${i}`)).join(', ');

/**
 * The indexed text fields, as JSON paths into the event: SQLite takes them out of the event itself
 * (EXTRACTED), so that the batch carries each value once.
 */
const TEXT_FIELDS = [
  { path: ['client_ip'], width: 64 },
  { path: ['username'], width: 256 },
  { path: ['initiated_by', 'id'], width: 64 },
  { path: ['initiated_by', 'type'], width: 16 },
  { path: ['initiated_by', 'username'], width: 256 },
  { path: ['initiated_by', 'email'], width: 256 },
  { path: ['resource', 'id'], width: 64 },
  { path: ['resource', 'type'], width: 32 },
  { path: ['resource', 'username'], width: 256 },
  { path: ['resource', 'name'], width: 256 },
] as const;

/** The value at `path` in the event, whatever its type. */
function fieldAt(e: AuditEvent, path: readonly string[]): unknown {
  let v: unknown = e;
  for (const k of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/**
 * The columns of a packed `[ts, search_lc, event]` row: id, event_type, service and success
 * straight from the event; the text fields as `''` where absent (the columns' form of "none").
 */
const EXTRACTED = [
  `r->>'$[2].id'`,
  'r->>0',
  `r->>'$[2].event_type'`,
  `r->>'$[2].service'`,
  `r->>'$[2].success'`,
  ...TEXT_FIELDS.map((f) => `COALESCE(r->>'$[2].${f.path.join('.')}', '')`),
  'r->2',
  'r->>1',
].join(', ');

/**
 * Whether the event's indexed copies are the event's own values: every text field absent or a
 * string that s() keeps as it is, and the fixed fields of their types. Nearly every event; the
 * others go in with their copies made here (indexedValues).
 */
function extractable(e: AuditEvent): boolean {
  if (typeof e.id !== 'string' || typeof e.event_type !== 'string' || typeof e.service !== 'string' || typeof e.success !== 'boolean') return false;
  // An actor or resource that is not an object would have its text taken as the field's.
  for (const k of ['initiated_by', 'resource'] as const) if (e[k] !== undefined && (typeof e[k] !== 'object' || e[k] === null)) return false;
  for (const f of TEXT_FIELDS) {
    const v = fieldAt(e, f.path);
    if (v !== undefined && (typeof v !== 'string' || v.length > f.width || NEEDS_MENDING.test(v))) return false;
  }
  return true;
}

/** The values of COLUMNS before `data` and `search_lc`: the indexed copies of event fields. */
function indexedValues(e: AuditEvent): Param[] {
  return [e.id, Date.parse(e.timestamp), e.event_type, e.service, e.success, ...TEXT_FIELDS.map((f) => s(fieldAt(e, f.path), f.width))];
}

/**
 * `search_lc` for an event's JSON. The folded copy is stored only where folding may differ from
 * SQL's lower(): an ASCII event (nearly all of them) is searched in `data` itself, which halves the
 * row, and with it the WAL and checkpoint bytes written for every authentication.
 */
const searchCopy = (json: string) => (ASCII.test(json) ? '' : fold(json));

export function createAuditRepository(sql: Sql): AuditRepository {
  const insertRows = async (events: AuditEvent[]) => {
    if (sql.dialect === 'sqlite') {
      // One JSON parameter for the whole batch: node-sqlite3 converts bound values on the event
      // loop, and 17 per event cost 12 µs of it per event; packed, 6.5 µs, and SQLite unpacks them on
      // the writer's thread (measured with 1,000-event batches; RADIUS at 1k users answered 5% more
      // requests per second). Each row is JSONB, taken once (the MATERIALIZED table) before its
      // columns are: `->>` on the JSON text of json_each's `value` parsed the whole row once per
      // column. jsonb_each gives each row as JSONB straight from its one parse of the batch, where
      // json_each's `value` was the row's text again, then parsed by jsonb(): under callgrind,
      // 355k → 334k instructions per LDAP uid lookup (its audit row included), and 36k fewer per
      // event in bench/audit.ts (without MATERIALIZED, 13k more than with it). The event goes in as
      // an object, not as its JSON text escaped once more, so the event loop serialises it once. Measured on 100k RADIUS events in 500-event batches,
      // against the text without JSONB: ~40 → ~31 µs of CPU per event in all, of it on the event
      // loop ~9 → ~7 µs. (Without the MATERIALIZED step, the object form had cost more in all.)
      // Each event once, with the two values that are not among its fields, where SQLite can take
      // the indexed copies out of the event (EXTRACTED); else the copies made here (UNPACK), which
      // carry every value twice.
      const extracting = events.every(extractable);
      const rows = events.map((e): unknown[] => {
        if (extracting) return [Date.parse(e.timestamp), '', e];
        const row: unknown[] = indexedValues(e);
        row.push(e, '');
        return row;
      });
      const dataAt = extracting ? 2 : DATA_AT;
      const copyAt = extracting ? 1 : DATA_AT + 1;
      let packed = JSON.stringify(rows);
      if (!ASCII.test(packed)) {
        // Some event may need its folded copy, made from its own JSON text.
        for (const row of rows) row[copyAt] = searchCopy(JSON.stringify(row[dataAt]));
        packed = JSON.stringify(rows);
      }
      await sql.exec(
        `WITH packed AS MATERIALIZED (SELECT value AS r FROM jsonb_each($1))
         INSERT INTO audit_events (${COLUMNS})
         SELECT ${extracting ? EXTRACTED : UNPACK} FROM packed WHERE true
         ON CONFLICT (id) DO NOTHING`,
        [packed],
      );
      return;
    }
    const params: Param[] = [];
    const rows = events.map((e) => {
      const json = JSON.stringify(e);
      return `(${inList(params, [...indexedValues(e), json, searchCopy(json)])})`;
    });
    await sql.exec(`INSERT INTO audit_events (${COLUMNS}) VALUES ${rows.join(', ')} ON CONFLICT (id) DO NOTHING`, params);
  };
  return {
    async append(events: AuditEvent[]) {
      // A big backlog goes in as several statements: PostgreSQL binds at most 65,535 values (17
      // per event), and SQLite's JSON text stays a few hundred kilobytes. Ids are unique per event,
      // so a batch retried after a partial write inserts only what is missing (ON CONFLICT DO NOTHING).
      try {
        for (let i = 0; i < events.length; i += MAX_EVENTS_PER_INSERT) await insertRows(events.slice(i, i + MAX_EVENTS_PER_INSERT));
      } catch (err) {
        // Told apart from a store that is down or busy, for the recorder's batches: it then finds
        // the event refused. Inside a transaction (an admin change and its event) the error stays
        // as it is, to fail the change as the store's own error, not as the caller's bad input.
        if (!sql.inTransaction && refusedByStore(err)) throw Object.assign(invalid('audit', 'the store refuses an event of this batch', AUDIT_REFUSED), { cause: err });
        throw err;
      }
    },

    async purge(o) {
      const keepGoing = o.keepGoing ?? (() => true);
      /** Deletes, batch by batch, the events before `ts` (or at it too), of `eventType` if given. */
      const deleteOlderThan = async (ts: number, inclusive: boolean, eventType?: string): Promise<number> => {
        let deleted = 0;
        const params: Param[] = [ts];
        const ofType = eventType ? ` AND event_type = $${params.push(eventType)}` : '';
        while (keepGoing()) {
          const n = await sql.changed(
            `DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE ts ${inclusive ? '<=' : '<'} CAST($1 AS BIGINT)${ofType} ORDER BY ts LIMIT ${PURGE_BATCH}) RETURNING 1 AS changed`,
            params,
          );
          deleted += n;
          if (n < PURGE_BATCH) break;
        }
        return deleted;
      };
      /**
       * At most how many events the table holds, cheaply: SQLite's rowid span (rows are appended and
       * deleted oldest first), PostgreSQL's planner estimate. Below the limit, the exact walk down
       * the index (millions of entries) is skipped.
       */
      const atMost = async (): Promise<number> => {
        const r =
          sql.dialect === 'postgres'
            ? await sql.rows("SELECT reltuples AS n FROM pg_class WHERE oid = 'audit_events'::regclass", [])
            : await sql.rows(SQLITE_ROWID_SPAN, []);
        const n = Number(r[0]?.n ?? -1);
        return n < 0 ? Infinity : sql.dialect === 'postgres' ? n * 2 : n;
      };
      const expired = o.before ? await deleteOlderThan(o.before.getTime(), false) : 0;
      let overLimit = 0;
      if (o.bulk && o.bulk.keep > 0 && (await atMost()) > o.bulk.keep) {
        for (const type of o.bulk.eventTypes) {
          if (!keepGoing()) break;
          // The newest event of the type beyond the limit, walking the (event_type, ts) index.
          const beyond = await sql.rows('SELECT ts FROM audit_events WHERE event_type = $1 ORDER BY ts DESC LIMIT 1 OFFSET $2', [type, o.bulk.keep]);
          if (beyond[0]) overLimit += await deleteOlderThan(Number(beyond[0].ts), true, type);
        }
      }
      return { expired, overLimit };
    },

    async query(q: AuditQuery) {
      const params: Param[] = [q.startTime.getTime(), q.endTime.getTime()];
      const where = ['ts >= CAST($1 AS BIGINT)', 'ts <= CAST($2 AS BIGINT)'];
      if (q.services !== 'all') where.push(`service IN (${inList(params, q.services)})`);
      if (q.searchText) {
        // SQLite's LIKE ignores ASCII case; PostgreSQL's does not, hence lower(). Either way an
        // ASCII row matches a folded term exactly as its folded copy would.
        const text = sql.dialect === 'postgres' ? 'lower(data)' : 'data';
        where.push(`(CASE WHEN search_lc = '' THEN ${text} ELSE search_lc END) LIKE $${params.push(`%${escapeLike(fold(q.searchText))}%`)} ESCAPE '\\'`);
      }
      if (q.match && q.match.terms.length > 0) {
        const terms = q.match.terms.map((t) => {
          const col = FIELD_COLUMNS[t.path];
          if (t.path === 'success') return `${col} = $${params.push(t.value === true || t.value === 'true')}`;
          return `${col} = $${params.push(String(t.value))}`;
        });
        where.push(`(${terms.join(q.match.mode === 'and' ? ' AND ' : ' OR ')})`);
      }
      const dir = q.ascending ? 'ASC' : 'DESC';
      const rows = await sql.rows(
        `SELECT data FROM audit_events WHERE ${where.join(' AND ')} ORDER BY ts ${dir}, id ${dir}
         ${limitSql(q.limit)} OFFSET $${params.push(q.skip)}`,
        params,
      );
      return rows.map((r) => fromJson<AuditEvent>(r.data, {} as AuditEvent));
    },
  };
}
