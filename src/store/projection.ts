import { OldestFirst } from '../util/oldest-first.js';
import type { Row } from './sql.js';

/**
 * A SELECT list for reads of many columns, and the rows it gives back as objects keyed by column
 * name, whatever the dialect.
 *
 * node-sqlite3 builds each row on the event loop with one N-API property set per column (its name
 * made into a JS string again for every row): a page of 128 user profiles cost ~0.9 ms of the
 * event loop's CPU. On SQLite the columns are therefore packed into one JSON array per row by
 * SQLite itself, on the reading thread (`json_array`), and unpacked here by JSON.parse: ~0.27 ms
 * for the same page, and a single-profile read ~5 µs less (measured on the 100k-user bench data).
 * TEXT, INTEGER and NULL come out as node-sqlite3 gives them (integers as numbers; a test compares
 * the two for any text and safe integer). Not for every column: SQLite writes a REAL in JSON with
 * 15 significant digits, json_array refuses a BLOB, and the result of a json function would be
 * embedded as JSON rather than as text; the projected columns are text and integers. PostgreSQL
 * rows come through `pg` as they are.
 */
export interface Projection {
  /** The SELECT list (one expression on SQLite). */
  readonly list: string;
  /** The rows of a SELECT of `list`, keyed by the columns' names. */
  rows(raw: Row[]): Row[];
  /** This projection and one column more (one whose text varies per query, say by parameter number). */
  and(column: string): Projection;
}

/** `t.column` is named `column`; any other expression must be given as `expr AS name` (an identifier). */
function nameOf(column: string): { expr: string; name: string } {
  const as = /^([\s\S]+?)\s+AS\s+([a-z_][a-z0-9_]*)$/i.exec(column.trim());
  if (as) return { expr: as[1]!, name: as[2]! };
  const plain = /^(?:[a-z_][a-z0-9_]*\.)?([a-z_][a-z0-9_]*)$/i.exec(column.trim());
  if (!plain) throw new Error(`projection: name the column ${column} with AS`);
  return { expr: column.trim(), name: plain[1]! };
}

/**
 * Built once per dialect and column list (repositories are created per transaction, and each
 * projection compiles a function). Column lists are the repositories' own text, never input.
 */
const built = new Map<string, Projection>();
const builtOldest = new OldestFirst(built);
const MAX_BUILT = 256;

export function projection(dialect: 'sqlite' | 'postgres', columns: readonly string[]): Projection {
  return cached(built, builtOldest, `${dialect}\0${columns.join('\0')}`, () => build(dialect, columns.map(nameOf)));
}

/** The value under `key`, built if missing; the least recently used go beyond MAX_BUILT. */
function cached(map: Map<string, Projection>, oldest: OldestFirst<string, Projection>, key: string, make: () => Projection): Projection {
  const p = map.get(key) ?? make();
  // Set again on a hit, so that the order is of use (as the driver's statement cache does).
  map.delete(key);
  map.set(key, p);
  oldest.trim(MAX_BUILT);
  return p;
}

function build(dialect: 'sqlite' | 'postgres', columns: { expr: string; name: string }[]): Projection {
  // and() is called per query with texts that vary by parameter number (with the filter's size).
  const extended = new Map<string, Projection>();
  const extendedOldest = new OldestFirst(extended);
  const and = (column: string) => cached(extended, extendedOldest, column, () => build(dialect, [...columns, nameOf(column)]));
  if (dialect === 'postgres') {
    return { list: columns.map((c) => `${c.expr} AS ${c.name}`).join(', '), rows: (raw) => raw, and };
  }
  // One object literal of the columns (names are identifiers, checked by nameOf): every row gets one
  // hidden class with fast properties. Set one by one, past 12 keyed stores V8 turns each row into a
  // dictionary, and a page of 128 profiles cost ~1.8x the CPU (measured) to build and read.
  const make = literalOf(columns.map((c) => c.name));
  return {
    list: `json_array(${columns.map((c) => c.expr).join(', ')}) AS packed_row`,
    rows(raw) {
      const out = new Array<Row>(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = make(JSON.parse(raw[i]!.packed_row as string) as unknown[]);
      return out;
    },
    and,
  };
}

/**
 * A function building `{ [names[i]]: values[i] }` as one object literal. Under
 * `--disallow-code-generation-from-strings` (a hardening some deployments use) Function() throws:
 * rows are then built property by property, slower but the same.
 */
function literalOf(names: string[]): (values: unknown[]) => Row {
  try {
    return new Function('v', `return { ${names.map((n, i) => `${JSON.stringify(n)}: v[${i}]`).join(', ')} };`) as (values: unknown[]) => Row;
  } catch {
    return (values) => {
      const row: Row = {};
      for (let j = 0; j < names.length; j++) row[names[j]!] = values[j];
      return row;
    };
  }
}
