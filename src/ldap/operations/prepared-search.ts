import type { LdapFilter } from '@ldapjs/filter';
import type { LdapRequest } from '@ldapjs/messages';
import type { DirectoryFilter, UserAttr } from '../../core/directory/filter.js';
import type { EntryParts } from '../../core/directory/ldap-directory.js';
import { OldestFirst } from '../../util/oldest-first.js';
import { encodeResult, OP, type Envelope } from '../codec.js';
import type { LdapDeps, SessionState } from '../context.js';
import { encodeEntry } from '../entry-encoder.js';
import { mayReturn, selectAttributes, toUserEntry, userAttributesWanted } from '../entries.js';
import { filterString, toGroupFilter, toUserFilter, type TranslationContext } from '../filter.js';
import { RESULT } from '../result-codes.js';
import type { Tree } from '../tree.js';
import { invalidField, recordSearch, SCOPE, searchAuditFields } from './search.js';

/**
 * Prepared uid lookups: `(&(objectClass=posixAccount)(uid=alice))` answered without decoding it.
 *
 * nslcd and sssd look a user up by uid on every login, `id`, `ls -l` and cron run; Jenkins, wikis
 * and NAS boxes search `(uid=<login>)` before each bind. Such requests come in a handful of shapes
 * (one per client configuration) that differ only in the uid's value, and at 100k users most of
 * them name a user not asked about lately, so the kept answers (search-answers.ts) cannot serve
 * them. Measured at 100k users (perf), decoding the request with ldapjs, translating its filter,
 * building the candidate sources, recording the answer to keep and the operation's timer cost over
 * a quarter of such a search's time on the event loop. As a SQL server prepares a statement once
 * and binds each call's parameters, the shape is checked once, on the general path (`prepare`), and
 * later requests of that shape are read only as far as finding the uid's value (`searchShape`),
 * then answered from the user index with what the plan holds (`answerPrepared`).
 *
 * A plan is made only where the general search would find exactly the user the uid names, if the
 * searcher may see it: the filter is `(uid=v)`, or an AND of it with items that every user entry
 * satisfies, so that users match on the uid alone and groups and the containers, which have no
 * uid, never do (checked by translating the filter, not assumed); the base is the organisation or
 * the Users OU with a scope that holds users; and the value is printable ASCII without spaces or
 * filter specials (so that its translation, its escaping in the audit trail and its case folding
 * do not depend on the value). Anything else takes the general path.
 */

/** Where a prepared request's uid value lies, and the shape it shares with others. */
export interface SearchShape {
  /** The request without the value (and without the lengths the value changes). */
  key: string;
  value: string;
}

export interface SearchPlan {
  base: string;
  scope: number;
  attributes: string[];
  typesOnly: boolean;
  parts: EntryParts;
  only: ReadonlySet<string> | null;
  /** The audit trail's filter text around the value. */
  filterBefore: string;
  filterAfter: string;
}

const TAG = { octetString: 0x04, enumerated: 0x0a, integer: 0x02, boolean: 0x01, sequence: 0x30, and: 0xa0, equality: 0xa3 } as const;
/** Longer requests are not prepared: clients' uid lookups are a few hundred bytes. */
const MAX_SHAPE_BYTES = 1024;
const MAX_VALUE_BYTES = 256;
/** Shapes remembered (prepared or not) per tree: a site has a few, a hostile client cannot grow it. */
const MAX_SHAPES = 256;

/** Where the element `element` read last lies (reused: this runs for every search). */
const el = { content: 0, next: 0 };

/** Reads the element at `at` (definite lengths of at most 4 octets): its tag, with `el` set; -1 if it does not fit in `end`. */
function element(buf: Buffer, at: number, end: number): number {
  if (at + 2 > end) return -1;
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let content = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || content + n > end) return -1;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[content + i]!;
    content += n;
  }
  if (content + len > end) return -1;
  el.content = content;
  el.next = content + len;
  return tag;
}

/** Is the element's content the attribute description `uid` (any case: RFC 4512 §2.5 descriptors are case-insensitive)? */
function isUid(buf: Buffer, content: number, next: number): boolean {
  return next - content === 3 && (buf[content]! | 0x20) === 0x75 && (buf[content + 1]! | 0x20) === 0x69 && (buf[content + 2]! | 0x20) === 0x64;
}

/** Printable ASCII without space and without the characters RFC 4515 §3 escapes (`*`, `(`, `)`, `\`). */
function plainValue(buf: Buffer, from: number, to: number): boolean {
  if (to <= from || to - from > MAX_VALUE_BYTES) return false;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c <= 0x20 || c >= 0x7f || c === 0x2a || c === 0x28 || c === 0x29 || c === 0x5c) return false;
  }
  return true;
}

/**
 * The content of an EqualityMatch on uid with a plain value: where its description and value lie,
 * or null. AttributeValueAssertion ::= SEQUENCE { attributeDesc, assertionValue } (RFC 4511 §4.1.8).
 */
function uidEquality(buf: Buffer, content: number, next: number): { desc: number; from: number; to: number } | null {
  if (element(buf, content, next) !== TAG.octetString || !isUid(buf, el.content, el.next)) return null;
  const desc = el.content;
  if (element(buf, el.next, next) !== TAG.octetString || el.next !== next || !plainValue(buf, el.content, el.next)) return null;
  return { desc, from: el.content, to: el.next };
}

/**
 * The shape of a search request without controls whose filter is a uid equality or an AND with one
 * uid equality among its items, or null. Reads only the framing (the request has passed the
 * framer); a request it cannot read is simply not prepared, and the general path judges it.
 */
export function searchShape(pdu: Buffer, env: Envelope): SearchShape | null {
  const start = env.opStart;
  const end = env.opEnd;
  // Controls follow the protocolOp (RFC 4511 §4.1.1): a request with any is not prepared.
  if (start === undefined || end === undefined || end !== pdu.length || end - start > MAX_SHAPE_BYTES) return null;
  if (element(pdu, start, end) !== OP.searchRequest || el.next !== end) return null;
  // baseObject, scope, derefAliases, sizeLimit, timeLimit, typesOnly (RFC 4511 §4.5.1), as given.
  const fixedStart = el.content;
  let at = fixedStart;
  for (const tag of [TAG.octetString, TAG.enumerated, TAG.enumerated, TAG.integer, TAG.integer, TAG.boolean]) {
    if (element(pdu, at, end) !== tag) return null;
    at = el.next;
  }
  const fixed = pdu.toString('latin1', fixedStart, at);
  const filterTag = element(pdu, at, end);
  if (filterTag < 0) return null;
  const filterContent = el.content;
  const filterEnd = el.next;
  // The attribute list: the request's last element.
  if (element(pdu, filterEnd, end) !== TAG.sequence || el.next !== end) return null;
  const attributes = pdu.toString('latin1', filterEnd, end);
  let value: { desc: number; from: number; to: number } | null = null;
  let before = '';
  let after = '';
  if (filterTag === TAG.equality) {
    value = uidEquality(pdu, filterContent, filterEnd);
    if (!value) return null;
  } else if (filterTag === TAG.and) {
    // Each item as it came, but the uid equality's value: items are whole BER elements, and `\x01`
    // starts none (filter CHOICE tags are 0x80-0xa9), so the key reads back one way only.
    for (let item = filterContent; item < filterEnd; ) {
      const tag = element(pdu, item, filterEnd);
      if (tag < 0) return null;
      const next = el.next;
      const uid = tag === TAG.equality ? uidEquality(pdu, el.content, next) : null;
      if (uid) {
        if (value) return null;
        value = uid;
      } else if (value) after += pdu.toString('latin1', item, next);
      else before += pdu.toString('latin1', item, next);
      item = next;
    }
    if (!value) return null;
  } else {
    return null;
  }
  // The description as spelt (`UID` and `uid` are one type, but the audit trail shows it as sent).
  const desc = pdu.toString('latin1', value.desc, value.desc + 3);
  return { key: `${fixed}\x00${filterTag === TAG.and ? 'a' : 'e'}${before}\x01${desc}\x01${after}\x00${attributes}`, value: pdu.toString('latin1', value.from, value.to) };
}

/** The shapes seen under one tree: a plan, or null for a shape the general path answers. */
const plansByTree = new WeakMap<Tree, { plans: Map<string, SearchPlan | null>; oldest: OldestFirst<string, SearchPlan | null> }>();

function plansOf(tree: Tree) {
  let p = plansByTree.get(tree);
  if (!p) {
    const plans = new Map<string, SearchPlan | null>();
    p = { plans, oldest: new OldestFirst(plans) };
    plansByTree.set(tree, p);
  }
  return p;
}

/** The plan for a shape: a plan, null (not preparable), or undefined (not judged yet: decode and `prepare`). */
export function planFor(tree: Tree, shape: SearchShape): SearchPlan | null | undefined {
  return plansOf(tree).plans.get(shape.key);
}

const isUidAssertion = (f: DirectoryFilter<UserAttr>, value: string) => f.op === 'eq' && f.attr === 'username' && f.value === value && f.exact === undefined;

/**
 * Judges a shape from its first request, decoded by the general path, and remembers the plan (or
 * that there is none). Checks with the general path's own translation that users match exactly on
 * the uid's value and that groups never match, rather than trusting the shape.
 */
export function prepare(tree: Tree, tctx: TranslationContext, shape: SearchShape, req: LdapRequest): SearchPlan | null {
  const { plans, oldest } = plansOf(tree);
  let plan: SearchPlan | null;
  try {
    plan = makePlan(tree, tctx, shape, req);
  } catch {
    // Runs before the search's own error handling: a request it cannot judge is not prepared, and
    // the search answers it as it would any other.
    plan = null;
  }
  plans.set(shape.key, plan);
  oldest.trim(MAX_SHAPES);
  return plan;
}

function makePlan(tree: Tree, tctx: TranslationContext, shape: SearchShape, req: LdapRequest): SearchPlan | null {
  const filter = req.filter;
  if (!filter || req.controls.length > 0 || invalidField(req) !== null) return null;
  const base = req.baseObject ?? '';
  const scope = req.scope as number;
  let where: string;
  try {
    where = tree.locateString(base).kind;
  } catch {
    return null;
  }
  // Scopes that hold the users below this base (RFC 4511 §4.5.1.2). The base entries themselves
  // (the organisation, the Users OU) have no uid: the uid equality is FALSE for them (§4.5.1.7).
  const holdsUsers = where === 'org' ? scope === SCOPE.sub || scope === SCOPE.children : where === 'ou' && scope !== SCOPE.base;
  if (!holdsUsers) return null;
  try {
    if (!isUidAssertion(toUserFilter(filter, tctx), shape.value) || toGroupFilter(filter, tctx).op !== 'false') return null;
  } catch {
    return null;
  }
  const text = filterString(filter);
  const split = splitFilterText(filter, shape.value);
  if (!split || split.before + shape.value + split.after !== text) return null;
  const attributes = req.attributes ?? [];
  return {
    base,
    scope,
    attributes,
    typesOnly: req.typesOnly === true,
    parts: { groupNames: mayReturn(attributes, 'memberof'), members: mayReturn(attributes, 'member', 'memberuid') },
    only: userAttributesWanted(attributes),
    filterBefore: split.before,
    filterAfter: split.after,
  };
}

/** The filter's text before and after the uid's value (`(&(objectClass=x)(uid=` and `))`). */
function splitFilterText(filter: LdapFilter, value: string): { before: string; after: string } | null {
  const isUid = (f: LdapFilter) => f.type === 'EqualityFilter' && f.attribute.toLowerCase() === 'uid';
  const around = (f: LdapFilter) => {
    const s = filterString(f);
    return s.endsWith(`=${value})`) ? s.slice(0, s.length - value.length - 1) : null;
  };
  if (isUid(filter)) {
    const before = around(filter);
    return before === null ? null : { before, after: ')' };
  }
  if (filter.type !== 'AndFilter') return null;
  const at = filter.clauses.findIndex(isUid);
  const before = at < 0 ? null : around(filter.clauses[at]!);
  if (before === null) return null;
  return {
    before: `(&${filter.clauses.slice(0, at).map((c) => filterString(c)).join('')}${before}`,
    after: `)${filter.clauses.slice(at + 1).map((c) => filterString(c)).join('')})`,
  };
}

/**
 * Answers a prepared uid lookup as `search` would: the entry of the user the value names, if the
 * searcher may see it, then success, in one write. Only from what is at hand without waiting (the
 * bound identity checked lately, the user index, the server record and the policy), as kept answers
 * are: null where something must be read first, and the general path answers (with the operation's
 * time limit, its refreshed identity and the store).
 */
export function answerPrepared(
  plan: SearchPlan,
  value: string,
  messageId: number,
  deps: LdapDeps,
  session: SessionState,
  tree: Tree,
  send: (bytes: Buffer) => Promise<void>,
): Promise<void> | null {
  const p = session.principal.kind === 'user' ? deps.directory.currentKept(session.principal) : undefined;
  if (p?.kind !== 'user' || deps.config.maxSizeLimit < 1) return null;
  const found = deps.directory.indexedUsersNow(p, value, plan.parts);
  if (!found) return null;
  session.principal = p;
  const e = found[0];
  const done = encodeResult(messageId, OP.searchResultDone, { code: RESULT.success });
  let bytes = done;
  if (e) {
    const entry = toUserEntry(tree, e, deps.config, plan.only);
    bytes = Buffer.concat([encodeEntry(messageId, entry.dn, selectAttributes(entry, plan.attributes, plan.typesOnly)), done]);
  }
  const fields = searchAuditFields(plan.base, plan.scope, plan.filterBefore + value + plan.filterAfter, plan.attributes, e ? 1 : 0, RESULT.success);
  return send(bytes).then(() => recordSearch(deps, session, fields));
}
