import type { DirectoryFilter, FilterValue, SortKey } from '../core/directory/filter.js';
import { couldBeStoredText } from '../core/directory/names.js';
import { fold } from './fold.js';
import type { Param } from './sql.js';

/**
 * How an attribute is stored and matched:
 * - `lower`: text stored folded (username, email, and the `_lc` shadow columns of free text, see
 *   migration 0002): compared with the value folded the same way, so indexes apply and non-ASCII
 *   letters match whatever their case;
 * - `upper`: enumerations stored upper-case (state);
 * - `int`, `bool`, `time` (epoch ms), `id`;
 * - `sub`: membership through a sub-select; every `?` in `expr` stands for the bound value, or,
 *   for a value `<type>:<id>` (a graph target), `?type` and `?id` stand for its two halves, so that
 *   the sub-select can use the associations' primary key.
 */
export type ColumnKind = 'lower' | 'upper' | 'int' | 'bool' | 'time' | 'id' | 'sub';

export interface ColumnSpec {
  expr: string;
  kind: ColumnKind;
  /** For `sub` columns: the condition "has any value". */
  present?: string;
  /** The unfolded column, for case-exact comparisons (LDAP caseExactMatch). */
  exact?: string;
}

export type ColumnMap<A extends string> = Record<A, ColumnSpec>;

export type Dialect = 'sqlite' | 'postgres';

const TRUE = '1 = 1';
const FALSE = '1 = 0';

/**
 * The column's spec, or undefined. An own-property check, not `columns[attr]`: an attribute name
 * such as `constructor` or `__proto__` would otherwise find Object.prototype's members.
 */
function specOf<A extends string>(columns: ColumnMap<A>, attr: A): ColumnSpec | undefined {
  return Object.hasOwn(columns, attr) ? columns[attr] : undefined;
}

/**
 * Text ordering (`>=`, `<`, ORDER BY) by code point on both databases: SQLite's BINARY collation
 * compares UTF-8 bytes, which is code point order; PostgreSQL would use the database's locale
 * (where "é" sorts before "f" and punctuation may be ignored) unless told `COLLATE "C"`. The LDAP
 * adapter's in-memory matcher orders by code point too (compareCodePoints in ldap/filter.ts), and
 * keyset paging needs the comparison and the ORDER BY to agree.
 */
function ordered(spec: ColumnSpec, dialect: Dialect): string {
  const text = spec.kind === 'lower' || spec.kind === 'upper';
  return text && dialect === 'postgres' ? `${spec.expr} COLLATE "C"` : spec.expr;
}

/** Substitutes a `sub` column's placeholders with bound parameters. */
function subCondition(expr: string, value: Param, bind: (v: Param) => string): string {
  if (expr.includes('?type')) {
    const text = String(value);
    const at = text.indexOf(':');
    const type = at < 0 ? '' : text.slice(0, at);
    const id = at < 0 ? text : text.slice(at + 1);
    const t = bind(type);
    const i = bind(id);
    return expr.replaceAll('?type', t).replaceAll('?id', i);
  }
  const p = bind(value);
  return expr.replaceAll('?', p);
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The bound value for a column, or undefined when it cannot match (e.g. text in a number column). */
function coerce(spec: ColumnSpec, value: FilterValue): Param | undefined {
  // Text no stored value holds matches nothing, without the store: PostgreSQL refuses a NUL in a
  // bound parameter, so an LDAP filter such as `(uid=a\00b)` would fail the search.
  if (typeof value === 'string' && !couldBeStoredText(value)) return undefined;
  switch (spec.kind) {
    case 'lower':
      return fold(String(value));
    case 'upper':
      return String(value).toUpperCase();
    case 'id':
    case 'sub':
      return String(value);
    case 'int': {
      const n = typeof value === 'number' ? value : /^-?\d+$/.test(String(value).trim()) ? Number(String(value).trim()) : NaN;
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'time': {
      const n = typeof value === 'number' ? value : Date.parse(String(value));
      return Number.isFinite(n) ? n : undefined;
    }
    case 'bool': {
      if (typeof value === 'boolean') return value;
      const s = String(value).toLowerCase();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      return undefined;
    }
  }
}

/**
 * `(a OP b OP …)` grouped as a balanced tree: SQLite parses a flat chain into an expression tree as
 * deep as it is long and refuses one deeper than 1000 (SQLITE_MAX_EXPR_DEPTH), which an LDAP
 * filter of a thousand alternatives reached; grouped, the depth grows with the logarithm.
 */
function balanced(parts: string[], op: ' AND ' | ' OR '): string {
  if (parts.length <= 16) return `(${parts.join(op)})`;
  const half = Math.ceil(parts.length / 2);
  return `(${balanced(parts.slice(0, half), op)}${op}${balanced(parts.slice(half), op)})`;
}

/**
 * Translates a DirectoryFilter into a SQL condition, appending bound values to `params`. Total:
 * every node yields SQL; an unknown attribute or an impossible value yields a false condition.
 * `dialect` decides how text is ordered (see `ordered`); pass the store's (`Sql.dialect`).
 */
export function filterToSql<A extends string>(f: DirectoryFilter<A>, columns: ColumnMap<A>, params: Param[], dialect: Dialect = 'sqlite'): string {
  const bind = (v: Param) => `$${params.push(v)}`;
  switch (f.op) {
    case 'true':
      return TRUE;
    case 'false':
      return FALSE;
    case 'and':
      return f.filters.length === 0 ? TRUE : balanced(f.filters.map((x) => filterToSql(x, columns, params, dialect)), ' AND ');
    case 'or':
      return f.filters.length === 0 ? FALSE : balanced(f.filters.map((x) => filterToSql(x, columns, params, dialect)), ' OR ');
    case 'not':
      // A comparison with a missing (NULL) value is FALSE in directory terms (RFC 4511 §4.5.1.7:
      // an absent attribute does not match), so its negation is TRUE; SQL would make it NULL and
      // drop the row.
      return `NOT COALESCE(${filterToSql(f.filter, columns, params, dialect)}, ${FALSE})`;
  }
  const spec = specOf(columns, f.attr);
  if (!spec) return FALSE;
  if (f.op === 'present') {
    if (spec.kind === 'sub') return spec.present ?? FALSE;
    if (spec.kind === 'lower' || spec.kind === 'upper') return `(${spec.expr} IS NOT NULL AND ${spec.expr} <> '')`;
    return `${spec.expr} IS NOT NULL`;
  }
  if (f.op === 'substr') {
    if (spec.kind === 'int' || spec.kind === 'bool' || spec.kind === 'time' || spec.kind === 'sub') return FALSE;
    if (![f.initial ?? '', ...f.any, f.final ?? ''].every(couldBeStoredText)) return FALSE;
    const pattern = `${escapeLike(f.initial ?? '')}%${f.any.map((a) => `${escapeLike(a)}%`).join('')}${escapeLike(f.final ?? '')}`;
    const value = spec.kind === 'upper' ? pattern.toUpperCase() : fold(pattern);
    return `${spec.expr} LIKE ${bind(value)} ESCAPE '\\'`;
  }
  if (f.op === 'in') {
    const vals = f.values.map((v) => coerce(spec, v)).filter((v): v is Param => v !== undefined);
    if (vals.length === 0) return FALSE;
    if (spec.kind === 'sub') return `(${vals.map((v) => subCondition(spec.expr, v, bind)).join(' OR ')})`;
    return `${spec.expr} IN (${vals.map(bind).join(', ')})`;
  }
  const value = coerce(spec, f.value);
  if (value === undefined) return f.op === 'ne' ? TRUE : FALSE;
  if (spec.kind === 'sub') {
    const cond = subCondition(spec.expr, value, bind);
    if (f.op === 'eq') return cond;
    if (f.op === 'ne') return `NOT ${cond}`;
    return FALSE;
  }
  if (f.op === 'eq' && f.exact && (spec.kind === 'lower' || spec.kind === 'upper')) {
    // Case-exact: against the value as entered; a column stored folded only matches its folded form.
    // The folded column is compared too, so that its index selects (the unfolded one has none).
    return spec.exact ? `(${spec.expr} = ${bind(value)} AND ${spec.exact} = ${bind(String(f.value))})` : `${spec.expr} = ${bind(String(f.value))}`;
  }
  const ops = { eq: '=', ne: '<>', gte: '>=', lte: '<=', gt: '>', lt: '<' } as const;
  const lhs = f.op === 'eq' || f.op === 'ne' ? spec.expr : ordered(spec, dialect);
  const cmp = `${lhs} ${ops[f.op]} ${bind(value)}`;
  // NULL never equals anything in SQL; "not equal" should include rows without the value.
  return f.op === 'ne' ? `(${cmp} OR ${spec.expr} IS NULL)` : cmp;
}

/** ORDER BY terms; text in code point order on both databases, as `filterToSql` compares it. */
export function sortToSql<A extends string>(sort: SortKey<A>[] | undefined, columns: ColumnMap<A>, tiebreak: string, dialect: Dialect = 'sqlite'): string {
  const parts = (sort ?? []).flatMap((s) => {
    const spec = specOf(columns, s.attr);
    return spec && spec.kind !== 'sub' ? [`${ordered(spec, dialect)} ${s.desc ? 'DESC' : 'ASC'}`] : [];
  });
  parts.push(`${tiebreak} ASC`);
  return parts.join(', ');
}
