import type { LdapFilter } from '@ldapjs/filter';
import type { LdapRequest } from '@ldapjs/messages';
import type { DirectoryFilter, GroupFilter, UserAttr } from '../../core/directory/filter.js';
import { memberNamedAtTop, type EntryParts } from '../../core/directory/ldap-directory.js';
import { OldestFirst } from '../../util/oldest-first.js';
import { encodeResult, OP, type Envelope } from '../codec.js';
import type { LdapDeps, SessionState } from '../context.js';
import { encodeEntry } from '../entry-encoder.js';
import { mayReturn, selectAttributes, toGroupEntry, toUserEntry, userAttributesWanted, type Entry } from '../entries.js';
import { filterString, toGroupFilter, toUserFilter, type TranslationContext } from '../filter.js';
import { RESULT } from '../result-codes.js';
import type { Tree } from '../tree.js';
import { invalidField, recordSearch, SCOPE, searchAuditFields } from './search.js';

/**
 * Prepared lookups: `(&(objectClass=posixAccount)(uid=alice))` and the group lookups of the same
 * hosts, `(&(objectClass=groupOfNames)(member=<dn>))` and `(&(objectClass=posixGroup)(memberUid=x))`,
 * answered without decoding them.
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
 * then answered from the user index with what the plan holds (`answerPrepared`). A group lookup is
 * answered from the user index too (which holds each user's group names) and the visible groups,
 * read in one query and kept (`indexedGroupsNow`); at 100k users, each user asked about once, it is
 * the same saving on the same kind of request.
 *
 * A plan is made only where the general search would find exactly the user the uid names, if the
 * searcher may see it: the filter is `(uid=v)`, or an AND of it with items that every user entry
 * satisfies, so that users match on the uid alone and groups and the containers, which have no
 * uid, never do (checked by translating the filter, not assumed); the base is the organisation or
 * the Users OU with a scope that holds users; and the value is printable ASCII without spaces or
 * filter specials (so that its translation, its escaping in the audit trail and its case folding
 * do not depend on the value). A group plan is made where the groups found are exactly those the
 * named member belongs to, all of them or only the POSIX ones: the filter is that member
 * equality, or an AND of it with items every group (or every POSIX group) satisfies, users never
 * match, and the value names a user (`member`: a DN, read on each request; `memberUid`: the uid,
 * caseExactIA5Match). Anything else takes the general path.
 */

/** The attribute a prepared request asserts: `uid` finds a user, `member` (a DN) and `memberuid` (a uid) its groups. */
export type AssertedAttr = 'uid' | 'member' | 'memberuid';

/** Where a prepared request's value lies, and the shape it shares with others. */
export interface SearchShape {
  /** The request without the value (and without the lengths the value changes). */
  key: string;
  attr: AssertedAttr;
  value: string;
}

/** How a group plan finds its groups. */
export interface GroupLookup {
  /** The value is the member's DN (member, uniqueMember), else its uid (memberUid). */
  byDn: boolean;
  /** memberUid's caseExactIA5Match (RFC 2307 §2.2) on the username. */
  exact: boolean;
  /** Only POSIX groups match (`objectClass=posixGroup`, memberUid). */
  posixOnly: boolean;
  /** The request's sizeLimit (0: none). */
  sizeLimit: number;
}

export interface SearchPlan {
  /** Null for a uid lookup. */
  group: GroupLookup | null;
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

/** Descriptions a plan takes, lower-case (RFC 4512 §2.5: descriptors are case-insensitive). */
const ASSERTED = new Map<string, AssertedAttr>([
  ['uid', 'uid'],
  ['member', 'member'],
  ['uniquemember', 'member'],
  ['memberuid', 'memberuid'],
]);
const LONGEST_ASSERTED = 12;

/** The attribute a description (as text) names, if a plan takes it. */
const assertedAttr = (desc: string): AssertedAttr | undefined => (desc.length <= LONGEST_ASSERTED ? ASSERTED.get(desc.toLowerCase()) : undefined);

/** Printable ASCII without space and without the characters RFC 4515 §3 escapes (`*`, `(`, `)`, `\`). */
function plainValue(buf: Buffer, from: number, to: number): boolean {
  if (to <= from || to - from > MAX_VALUE_BYTES) return false;
  for (let i = from; i < to; i++) {
    const c = buf[i]!;
    if (c <= 0x20 || c >= 0x7f || c === 0x2a || c === 0x28 || c === 0x29 || c === 0x5c) return false;
  }
  return true;
}

interface Asserted {
  attr: AssertedAttr;
  /** The description as spelt (`UID` and `uid` are one type, but the audit trail shows it as sent). */
  desc: string;
  from: number;
  to: number;
}

/**
 * The content of an EqualityMatch on an attribute a plan takes, with a plain value: the attribute,
 * and where the value lies; or null. AttributeValueAssertion ::= SEQUENCE { attributeDesc,
 * assertionValue } (RFC 4511 §4.1.8).
 */
function assertedEquality(buf: Buffer, content: number, next: number): Asserted | null {
  if (element(buf, content, next) !== TAG.octetString || el.next - el.content > LONGEST_ASSERTED) return null;
  const desc = buf.toString('latin1', el.content, el.next);
  const attr = assertedAttr(desc);
  if (!attr) return null;
  if (element(buf, el.next, next) !== TAG.octetString || el.next !== next || !plainValue(buf, el.content, el.next)) return null;
  return { attr, desc, from: el.content, to: el.next };
}

/**
 * The shape of a search request without controls whose filter is an equality a plan takes (uid,
 * member, uniqueMember, memberUid) or an AND with one such equality among its items, or null.
 * Reads only the framing (the request has passed the framer); a request it cannot read is simply
 * not prepared, and the general path judges it.
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
  let value: Asserted | null = null;
  let before = '';
  let after = '';
  if (filterTag === TAG.equality) {
    value = assertedEquality(pdu, filterContent, filterEnd);
    if (!value) return null;
  } else if (filterTag === TAG.and) {
    // Each item as it came, but the equality's value: items are whole BER elements, and `\x01`
    // starts none (filter CHOICE tags are 0x80-0xa9), so the key reads back one way only.
    for (let item = filterContent; item < filterEnd; ) {
      const tag = element(pdu, item, filterEnd);
      if (tag < 0) return null;
      const next = el.next;
      const asserted = tag === TAG.equality ? assertedEquality(pdu, el.content, next) : null;
      if (asserted) {
        if (value) return null;
        value = asserted;
      } else if (value) after += pdu.toString('latin1', item, next);
      else before += pdu.toString('latin1', item, next);
      item = next;
    }
    if (!value) return null;
  } else {
    return null;
  }
  return {
    key: `${fixed}\x00${filterTag === TAG.and ? 'a' : 'e'}${before}\x01${value.desc}\x01${after}\x00${attributes}`,
    attr: value.attr,
    value: pdu.toString('latin1', value.from, value.to),
  };
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
 * that there is none). Checks with the general path's own translation that the entries found are
 * exactly the user the uid names (or the groups the member belongs to), rather than trusting the
 * shape.
 */
export function prepare(tree: Tree, tctx: TranslationContext, shape: SearchShape, req: LdapRequest): SearchPlan | null {
  const { plans, oldest } = plansOf(tree);
  // A member DN that names no user (a group's, say) says nothing of the shape: judged again on a
  // later request, rather than leaving the shape to the general path for good.
  if (shape.attr === 'member' && memberOfDn(tree, shape.value) === null) return null;
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
  // Scopes that hold the users and groups below this base (RFC 4511 §4.5.1.2); both live in the
  // Users OU. The base entries themselves (the organisation, the Users OU) have none of the
  // asserted attributes: the equality is FALSE for them (§4.5.1.7).
  const holdsEntries = where === 'org' ? scope === SCOPE.sub || scope === SCOPE.children : where === 'ou' && scope !== SCOPE.base;
  if (!holdsEntries) return null;
  let group: GroupLookup | null = null;
  try {
    if (shape.attr === 'uid') {
      if (!isUidAssertion(toUserFilter(filter, tctx), shape.value) || toGroupFilter(filter, tctx).op !== 'false') return null;
    } else {
      group = groupLookup(tree, toGroupFilter(filter, tctx), shape, req.sizeLimit ?? 0);
      if (!group || toUserFilter(filter, tctx).op !== 'false') return null;
    }
  } catch {
    return null;
  }
  const text = filterString(filter);
  const split = splitFilterText(filter, shape);
  if (!split || split.before + shape.value + split.after !== text) return null;
  const attributes = req.attributes ?? [];
  return {
    group,
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

/**
 * How groups are found for a member equality's shape, judged on its translation: the groups the
 * member named by the value belongs to, all of them or only the POSIX ones; null when the filter
 * asks anything else of them.
 */
function groupLookup(tree: Tree, f: GroupFilter, shape: SearchShape, sizeLimit: number): GroupLookup | null {
  const split = memberNamedAtTop(f);
  if (!split) return null;
  const byDn = shape.attr === 'member';
  const named = byDn ? memberOfDn(tree, shape.value) : shape.value;
  const exact = split.member.exact === true;
  // member is distinguishedNameMatch (the uid in it caseIgnore), memberUid caseExactIA5Match.
  if (named === null || split.member.value !== named || exact !== !byDn) return null;
  const rest = restOf(split.rest);
  return rest === null ? null : { byDn, exact, posixOnly: rest === 'posix', sizeLimit };
}

/** What the rest of a group filter asks: nothing ('all'), to be a POSIX group ('posix'), or more (null). */
function restOf(f: GroupFilter | undefined): 'all' | 'posix' | null {
  if (f === undefined || f.op === 'true') return 'all';
  if (f.op === 'present' && f.attr === 'posixGid') return 'posix';
  if (f.op !== 'and') return null;
  let kind: 'all' | 'posix' = 'all';
  for (const x of f.filters) {
    const k = restOf(x);
    if (k === null) return null;
    if (k === 'posix') kind = 'posix';
  }
  return kind;
}

/** The username a member DN names (as the filter's translation reads it), or null: not a user's DN. */
function memberOfDn(tree: Tree, dn: string): string | null {
  let loc;
  try {
    loc = tree.locateString(dn);
  } catch {
    return null;
  }
  return loc.kind === 'user' ? loc.username : null;
}

/** The filter's text before and after the value (`(&(objectClass=x)(uid=` and `))`). */
function splitFilterText(filter: LdapFilter, shape: SearchShape): { before: string; after: string } | null {
  const value = shape.value;
  const isAsserted = (f: LdapFilter) => f.type === 'EqualityFilter' && assertedAttr(f.attribute) === shape.attr;
  const around = (f: LdapFilter) => {
    const s = filterString(f);
    return s.endsWith(`=${value})`) ? s.slice(0, s.length - value.length - 1) : null;
  };
  if (isAsserted(filter)) {
    const before = around(filter);
    return before === null ? null : { before, after: ')' };
  }
  if (filter.type !== 'AndFilter') return null;
  const at = filter.clauses.findIndex(isAsserted);
  const before = at < 0 ? null : around(filter.clauses[at]!);
  if (before === null) return null;
  return {
    before: `(&${filter.clauses.slice(0, at).map((c) => filterString(c)).join('')}${before}`,
    after: `)${filter.clauses.slice(at + 1).map((c) => filterString(c)).join('')})`,
  };
}

/**
 * Answers a prepared lookup as `search` would: the entry of the user the value names (or the
 * entries of its groups), if the searcher may see them, then success, in one write. Only from what
 * is at hand without waiting (the bound identity checked lately, the user index, the groups met
 * lately, the server record and the policy), as kept answers are: null where something must be
 * read first, or where the answer is not plain success (more entries than the size limits allow),
 * and the general path answers (with the operation's time limit, its refreshed identity and the
 * store).
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
  const entries = plan.group ? groupEntries(plan.group, plan, value, p, deps, tree) : userEntries(plan, value, p, deps, tree);
  if (!entries) return null;
  session.principal = p;
  const done = encodeResult(messageId, OP.searchResultDone, { code: RESULT.success });
  const bytes = entries.length === 0 ? done : Buffer.concat([...entries.map((entry) => encodeEntry(messageId, entry.dn, selectAttributes(entry, plan.attributes, plan.typesOnly))), done]);
  const fields = searchAuditFields(plan.base, plan.scope, plan.filterBefore + value + plan.filterAfter, plan.attributes, entries.length, RESULT.success);
  return send(bytes).then(() => recordSearch(deps, session, fields));
}

type Principal = Extract<SessionState['principal'], { kind: 'user' }>;

/** The uid's user, if visible to `p`; undefined: not at hand. */
function userEntries(plan: SearchPlan, value: string, p: Principal, deps: LdapDeps, tree: Tree): Entry[] | undefined {
  const found = deps.directory.indexedUsersNow(p, value, plan.parts);
  return found?.map((e) => toUserEntry(tree, e, deps.config, plan.only));
}

/** The member's groups, if visible to `p`; undefined: not at hand, or more than the limits allow. */
function groupEntries(g: GroupLookup, plan: SearchPlan, value: string, p: Principal, deps: LdapDeps, tree: Tree): Entry[] | undefined {
  const name = g.byDn ? memberOfDn(tree, value) : value;
  if (name === null) return undefined;
  const found = deps.directory.indexedGroupsNow(p, { name, exact: g.exact }, g.posixOnly, plan.parts);
  // Over a limit the general search answers sizeLimitExceeded after as many entries as allowed.
  if (!found || found.length > Math.min(g.sizeLimit > 0 ? g.sizeLimit : Infinity, deps.config.maxSizeLimit)) return undefined;
  return found.map((e) => toGroupEntry(tree, e));
}
