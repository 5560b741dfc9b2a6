import { invalid } from '../../core/errors.js';
import type { AttrType, DirectoryFilter, FilterValue, SortKey } from '../../core/directory/filter.js';

/**
 * JumpCloud list parameters. v1: `filter=field:$op:value`; v2: `filter=field:op:value`; either may
 * repeat (all must hold). `sort=field,-other`. Values may contain ":".
 */
export type FilterOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'search';

export interface FilterTerm {
  field: string;
  op: FilterOp;
  value: string;
}

const OPS: Record<string, FilterOp> = {
  eq: 'eq',
  ne: 'ne',
  gt: 'gt',
  gte: 'gte',
  ge: 'gte',
  lt: 'lt',
  lte: 'lte',
  le: 'lte',
  in: 'in',
  search: 'search',
};

export function parseFilterTerms(filter: string | string[] | undefined): FilterTerm[] {
  if (filter === undefined) return [];
  // Repeat the parameter for several terms; a value may contain ":" and ",".
  const list = Array.isArray(filter) ? filter : [filter];
  return list
    .filter((f) => f.trim() !== '')
    .map((raw) => {
      const m = /^([A-Za-z_][A-Za-z0-9_.]*):\$?([a-z]+):(.*)$/s.exec(raw.trim());
      if (!m) throw invalid('filter', `must look like field:$eq:value, got ${JSON.stringify(raw.slice(0, 100))}`);
      const op = OPS[m[2]!];
      if (!op) throw invalid('filter', `unknown operator ${m[2]}; use one of eq, ne, gt, gte, lt, lte, in, search`);
      return { field: m[1]!, op, value: m[3]! };
    });
}

/** Builds a DirectoryFilter node for an attribute from a parsed term. */
export function termToFilter<A extends string>(attr: A, op: FilterOp, value: FilterValue): DirectoryFilter<A> {
  switch (op) {
    case 'in':
      return { op: 'in', attr, values: String(value).split('|') };
    case 'search':
      return { op: 'substr', attr, any: [String(value)] };
    default:
      return { op, attr, value };
  }
}

/** Maps terms through a field table (API name → attribute); unknown fields are a 400 naming them. */
const VALUE_CHECKS: Partial<Record<AttrType, { test: (v: string) => boolean; takes: string }>> = {
  int: { test: (v) => /^-?\d+$/.test(v.trim()), takes: 'an integer' },
  bool: { test: (v) => v === 'true' || v === 'false', takes: 'true or false' },
  date: { test: (v) => !Number.isNaN(Date.parse(v)), takes: 'an ISO 8601 date' },
};

export function filterFromTerms<A extends string>(
  terms: FilterTerm[],
  fields: Record<string, A>,
  types: Record<A, AttrType>,
  special: (t: FilterTerm) => DirectoryFilter<A> | undefined = () => undefined,
): DirectoryFilter<A> | undefined {
  if (terms.length === 0) return undefined;
  const nodes = terms.map((t) => {
    const s = special(t);
    if (s) return s;
    const attr = Object.hasOwn(fields, t.field) ? fields[t.field] : undefined;
    if (!attr) throw invalid('filter', `cannot filter on ${JSON.stringify(t.field)}; filterable fields: ${Object.keys(fields).join(', ')}`);
    // A REST caller gets told about a value that cannot match its field (LDAP filters just match nothing).
    const check = VALUE_CHECKS[types[attr]];
    const values = t.op === 'in' ? t.value.split('|') : [t.value];
    if (check && t.op !== 'search' && !values.every(check.test)) throw invalid('filter', `${t.field} takes ${check.takes}`);
    return termToFilter(attr, t.op, t.value);
  });
  return nodes.length === 1 ? nodes[0] : { op: 'and', filters: nodes };
}

export function parseSort<A extends string>(sort: string | undefined, fields: Record<string, A>): SortKey<A>[] {
  if (!sort) return [];
  return sort
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((s) => {
      const desc = s.startsWith('-');
      const name = s.replace(/^[-+]/, '');
      const attr = Object.hasOwn(fields, name) ? fields[name] : undefined;
      if (!attr) throw invalid('sort', `cannot sort on ${JSON.stringify(name)}; sortable fields: ${Object.keys(fields).join(', ')}`);
      return { attr, desc };
    });
}

/** JumpCloud's `fields=a b c` projection (space or comma separated); `_id` is always kept. */
export function project<T extends Record<string, unknown>>(item: T, fields: string | undefined): Partial<T> {
  if (!fields) return item;
  const keep = new Set(['_id', ...fields.split(/[\s,]+/).filter(Boolean)]);
  return Object.fromEntries(Object.entries(item).filter(([k]) => keep.has(k))) as Partial<T>;
}
