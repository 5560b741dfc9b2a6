import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { LdapFilter } from '@ldapjs/filter';
import type { LdapRequest } from '@ldapjs/messages';
import type { GroupAttr, UserAttr, DirectoryFilter } from '../../core/directory/filter.js';
import type { AuditInput } from '../../core/audit/event.js';
import { encodePagedResultsValue, encodeResult, OP, PAGED_RESULTS_OID, type Control, type Envelope } from '../codec.js';
import { encodeEntry } from '../entry-encoder.js';
import { actorOf, refreshPrincipal, type LdapDeps, type OperationContext, type SessionState } from '../context.js';
import { AnswerRecorder, answersOf, replay, type SearchAuditFields } from '../search-answers.js';
import { OldestMark } from '../../core/directory/epoch-cache.js';
import type { EntryParts } from '../../core/directory/ldap-directory.js';
import { DnSyntaxError, foldValue } from '../dn.js';
import { attributeMap, containerEntries, matchedDn, mayReturn, rootDse, selectAttributes, toGroupEntry, toSubschemaEntry, toUserEntry, userAttributesWanted, type Entry } from '../entries.js';
import { filterString, groupNamed, matchesEntry, toGroupFilter, toUserFilter, type TranslationContext } from '../filter.js';
import { LdapError, RESULT } from '../result-codes.js';
import type { Location, Tree } from '../tree.js';

/**
 * RFC 4511 §4.5.1.2 scopes, and subordinateSubtree (draft-sermersheim-ldap-subordinate-scope, sent
 * by OpenLDAP's `-s children`): the subtree below the base, without the base entry.
 */
export const SCOPE = { base: 0, one: 1, sub: 2, children: 3 } as const;
const SCOPE_NAMES = ['base', 'one', 'sub', 'children'];
/** RFC 4511 §4.5.1: derefAliases is ENUMERATED 0..3; sizeLimit and timeLimit are INTEGER (0..maxInt). */
const MAX_DEREF_ALIASES = 3;
const MAX_INT = 2147483647;
const STORE_BATCH = 128;
/** Characters of a filter's text that its `ldap_search` event keeps. */
export const MAX_AUDIT_FILTER = 1024;

const inRange = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

/**
 * Why the request's fixed fields are malformed, or null. A value outside its ENUMERATED or INTEGER
 * range (RFC 4511 §4.5.1.2–§4.5.1.5) makes the PDU malformed: protocolError (§4.1.1), where an
 * unknown scope used to be searched as a subtree.
 */
export function invalidField(req: LdapRequest): string | null {
  if (!inRange(req.scope, SCOPE.children)) return `invalid scope ${String(req.scope)}`;
  if (!inRange(req.derefAliases, MAX_DEREF_ALIASES)) return `invalid derefAliases ${String(req.derefAliases)}`;
  if (!inRange(req.sizeLimit, MAX_INT)) return `invalid sizeLimit ${String(req.sizeLimit)}`;
  if (!inRange(req.timeLimit, MAX_INT)) return `invalid timeLimit ${String(req.timeLimit)}`;
  return null;
}

/**
 * A stream of candidate entries: the fixed ones, then users, then groups (paging walks them in
 * order). Positions are opaque keys (an index for fixed entries, the sort key for users and groups)
 * so that each page starts where the last ended without counting from the top (keyset paging).
 */
interface Source {
  /** Up to `limit` entries after `position` ('' = from the start), each with its own position. */
  fetch(position: string, limit: number): Promise<{ entry: Entry; position: string }[]>;
}

interface PagedRequest {
  size: number;
  cookie: Buffer;
}

function pagedControl(req: LdapRequest): PagedRequest | null {
  const all = req.controls.filter((x) => x.type === PAGED_RESULTS_OID);
  // One search, one paging state: two controls would name two (slapd answers protocolError too).
  if (all.length > 1) throw new LdapError(RESULT.protocolError, 'the paged results control is given more than once');
  const c = all[0];
  if (!c) return null;
  const v = c.value as { size?: number; cookie?: Buffer } | undefined;
  return { size: Math.max(0, v?.size ?? 0), cookie: v?.cookie && Buffer.isBuffer(v.cookie) ? v.cookie : Buffer.alloc(0) };
}

/** The search as the paged results cookie binds it (RFC 2696 §3: the same search on each page). */
function fingerprint(ctx: OperationContext, req: LdapRequest): string {
  return createHash('sha256')
    .update([ctx.session.boundDn, req.baseObject, req.scope, (req.filter ? filterString(req.filter) : ''), (req.attributes ?? []).join(','), req.typesOnly].join('\0'))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The paged results cookie: where the next page starts (source and key), how many entries earlier
 * pages returned (the client's sizeLimit covers the whole paged search, as slapd applies it), and
 * the search's fingerprint, all under an HMAC with a key of this process (RFC 2696 §3: the cookie
 * is the server's state, opaque to the client), so a client cannot move its position or reset its
 * count. A connection stays with its instance, so a per-process key is enough.
 */
interface CookieState {
  phase: number;
  position: string;
  sentBefore: number;
}

const COOKIE_KEY = randomBytes(32);
const cookieMac = (body: string) => createHmac('sha256', COOKIE_KEY).update(body).digest('base64url').slice(0, 22);

function encodeCookie(c: CookieState, fp: string): Buffer {
  const body = `${c.phase}.${Buffer.from(c.position, 'utf8').toString('base64url')}.${c.sentBefore}.${fp}`;
  return Buffer.from(`${body}.${cookieMac(body)}`, 'utf8');
}

function decodeCookie(cookie: Buffer, fp: string): CookieState {
  const m = /^((\d)\.([A-Za-z0-9_-]{0,400})\.(\d{1,10})\.([0-9a-f]{16}))\.([A-Za-z0-9_-]{22})$/.exec(cookie.toString('utf8'));
  const valid = m && m[5] === fp && timingSafeEqual(Buffer.from(m[6]!), Buffer.from(cookieMac(m[1]!)));
  if (!valid) throw new LdapError(RESULT.unwillingToPerform, 'paged results cookie is invalid or belongs to another search');
  return { phase: Number(m[2]), position: Buffer.from(m[3]!, 'base64url').toString('utf8'), sentBefore: Number(m[4]) };
}

/**
 * What a search's `ldap_search` event records of the request, cut to the trail's bounds, and of its
 * answer; `filter` is the filter's RFC 4515 text (filterString).
 */
export function searchAuditFields(base: string, scope: number, filter: string, attributes: readonly string[], results: number, code: number): SearchAuditFields {
  return {
    base: base.slice(0, 512),
    scope: SCOPE_NAMES[scope] ?? String(scope),
    filter: filter.slice(0, MAX_AUDIT_FILTER),
    attributes: attributes.slice(0, 50),
    results,
    code,
  };
}

/** How the filter of a search under `tree` is translated for the store (filter.ts). */
export const translationContext = (deps: LdapDeps, tree: Tree): TranslationContext => ({ tree, homeDirectoryPrefix: deps.config.homeDirectoryPrefix, loginShell: deps.config.loginShell });

/** The `ldap_search` audit event of a search answered with `f.code`. */
export function recordSearch(deps: LdapDeps, session: SessionState, f: SearchAuditFields, message = ''): void {
  const event: AuditInput = {
    event_type: 'ldap_search',
    service: 'ldap',
    success: f.code === RESULT.success,
    client_ip: session.remoteAddress,
    initiated_by: actorOf(session),
    username: session.principal.kind === 'user' ? session.principal.user.username : '',
    dn: session.boundDn,
    base: f.base,
    scope: f.scope,
    filter: f.filter,
    attributes: f.attributes,
    number_of_results: f.results,
    result_code: f.code,
  };
  if (message) event.error_message = message;
  // An anonymous session's searches (the Root DSE, or refused) prove nothing and cost the peer
  // nothing: recorded within a budget per address, so that a flood cannot fill the disk. An
  // ordinary user's (their own entry, the Root DSE) within a budget per user: one password must
  // not flood the trail either (~16,000 rows/s from one connection). Bind accounts, whose hosts
  // look up users and groups all day, are recorded in full.
  const p = session.principal;
  if (p.kind === 'anonymous') deps.audit.recordUnauthenticated(event);
  else if (!p.user.ldapBindingUser) deps.audit.recordPerSubject(event, `user:${p.user.id}`);
  else deps.audit.record(event);
}

/**
 * Answers a search request from the bytes kept for it (search-answers.ts), without decoding it:
 * true if it did. Only with the bound identity checked lately (no read here); else the search runs.
 */
export async function answerFromKept(env: Envelope, key: string, deps: LdapDeps, session: SessionState, send: (bytes: Buffer) => Promise<void>): Promise<boolean> {
  const p = session.principal.kind === 'user' ? deps.directory.currentKept(session.principal) : undefined;
  // Anonymous now, or not checked lately: `search` refreshes the principal and answers.
  if (p?.kind !== 'user') return false;
  session.principal = p;
  const kept = answersOf(deps.directory)?.get(key);
  if (!kept) return false;
  await send(replay(env.messageId, kept));
  recordSearch(deps, session, kept.audit);
  return true;
}

/**
 * Search (RFC 4511 §4.5): base/one/sub scopes, the full filter language translated for the store,
 * attribute selection, typesOnly, size and time limits, and Simple Paged Results (RFC 2696).
 * Anonymous sessions read the Root DSE only; bound users see what core's LDAP view allows.
 * With `keepAs` (answerKey), a successful answer built from directory pages is kept under it.
 */
export async function search(req: LdapRequest, ctx: OperationContext, keepAs: string | null = null): Promise<void> {
  const { deps, tree, session } = ctx;
  const started = Date.now();
  const base = req.baseObject ?? '';
  const scope = typeof req.scope === 'number' ? req.scope : -1;
  const filter = req.filter;
  const attrs = req.attributes ?? [];
  const typesOnly = req.typesOnly === true;
  let sent = 0;
  // The answer's responses and the marks of the pages they come from, to keep it (search-answers.ts).
  const answers = keepAs === null ? null : answersOf(deps.directory);
  const keeping = answers === null || keepAs === null || !answers.admits(keepAs) ? null : { answers, key: keepAs, recorder: new AnswerRecorder(), marks: new OldestMark() };
  const marks = keeping?.marks;
  const send = (bytes: Buffer) => {
    keeping?.recorder.add(bytes);
    return ctx.send(bytes);
  };
  const auditFields = (code: number): SearchAuditFields => searchAuditFields(base, scope, filter ? filterString(filter, MAX_AUDIT_FILTER) : '', attrs, sent, code);
  const abandoned = () => recordSearch(deps, session, auditFields(RESULT.canceled), 'abandoned by the client');
  const done = async (code: number, message = '', controls?: Control[], matchedDn = '') => {
    // Abandoned after the last entry: nothing goes out (ctx.send), and the trail says so.
    if (ctx.abandoned()) return abandoned();
    await send(encodeResult(req.messageId, OP.searchResultDone, { code, message, matchedDn }, controls));
    const fields = auditFields(code);
    recordSearch(deps, session, fields, message);
    // Only what the client was sent: not a search that timed out (it got timeLimitExceeded) and ran on.
    if (keeping && code === RESULT.success && !ctx.abandoned() && !ctx.cancelled()) keeping.answers.keep(keeping.key, keeping.recorder, keeping.marks, fields);
  };

  if (!filter) return done(RESULT.protocolError, 'missing filter');
  const invalid = invalidField(req);
  if (invalid) return done(RESULT.protocolError, invalid);

  let loc: Location;
  try {
    loc = tree.locateString(base);
  } catch (err) {
    if (err instanceof DnSyntaxError) return done(RESULT.invalidDnSyntax, 'invalid base DN');
    throw err;
  }

  // The Root DSE, readable by anyone (RFC 4512 §5.1).
  if (loc.kind === 'root') {
    if (scope !== SCOPE.base) return done(RESULT.noSuchObject, 'no entries outside the naming context');
    const dse = rootDse(tree, deps.version);
    if (matchesEntry(filter, attributeMap(dse)) === true) {
      await send(encodeEntry(req.messageId, dse.dn, selectAttributes(dse, attrs, typesOnly)));
      sent++;
    }
    return done(RESULT.success);
  }
  // The subschema subentry, readable by anyone as the Root DSE that points to it (RFC 4512 §4.2,
  // §5.1). It has no subordinates: a base or subtree search finds it (a subtree includes its base,
  // RFC 4511 §4.5.1.2), a one-level or children search nothing.
  if (loc.kind === 'subschema') {
    const subschema = toSubschemaEntry();
    if ((scope === SCOPE.base || scope === SCOPE.sub) && matchesEntry(filter, attributeMap(subschema)) === true) {
      await send(encodeEntry(req.messageId, subschema.dn, selectAttributes(subschema, attrs, typesOnly)));
      sent++;
    }
    return done(RESULT.success);
  }
  await refreshPrincipal(ctx);
  if (!deps.directory.canRead(session.principal)) return done(RESULT.insufficientAccessRights, 'anonymous access is limited to the Root DSE and cn=Subschema');
  if (loc.kind === 'outside') return done(RESULT.noSuchObject, 'base DN is outside the naming context');
  if (loc.kind === 'missing') return done(RESULT.noSuchObject, 'no such entry', undefined, await matchedDn(ctx, base));

  const tctx = translationContext(deps, tree);
  // Group names and member lists are read only for searches that may return them.
  const parts: EntryParts = { groupNames: mayReturn(attrs, 'memberof'), members: mayReturn(attrs, 'member', 'memberuid') };
  // User entries are built with only the attributes this search may return (selectAttributes).
  const sources = await buildSources(ctx, loc, scope, filter, tctx, parts, userAttributesWanted(attrs), marks);
  if (sources === 'noSuchObject') return done(RESULT.noSuchObject, 'no such entry', undefined, await matchedDn(ctx, base));

  // Limits: the client's sizeLimit (0 = none) within the server's; paged searches page instead.
  const paged = pagedControl(req);
  const clientLimit = req.sizeLimit && req.sizeLimit > 0 ? req.sizeLimit : Infinity;
  const timeLimitMs = Math.min(req.timeLimit && req.timeLimit > 0 ? req.timeLimit * 1000 : Infinity, ctx.deadline - started);
  const fp = paged ? fingerprint(ctx, req) : '';
  let phase = 0;
  let position = '';
  let sentBefore = 0;
  if (paged) {
    if (paged.cookie.length > 0) ({ phase, position, sentBefore } = decodeCookie(paged.cookie, fp));
    // RFC 2696 §3: a size of zero abandons the paged search.
    if (paged.size === 0) return done(RESULT.success, '', [{ type: PAGED_RESULTS_OID, value: encodePagedResultsValue(0, Buffer.alloc(0)) }]);
  }
  const pageSize = paged ? Math.min(paged.size, deps.config.maxPageSize) : Infinity;
  const serverLimit = paged ? Infinity : deps.config.maxSizeLimit;
  // The client's sizeLimit counts the entries of every page (RFC 2696 §3 defers to it).
  const clientRemaining = clientLimit - sentBefore;
  if (clientRemaining <= 0) return done(RESULT.sizeLimitExceeded, 'size limit exceeded');
  const limit = Math.min(clientRemaining, serverLimit, pageSize);
  // Entries are read from the store this many at a time. Each batch lives across the awaits of its
  // writes, where a scavenge promotes it: with 500, a paged search of 100k users grew the resident
  // memory by 18-26 MB, with 128 by 5-15 MB (same data, builds in turn), at the same rate
  // (30-35k entries/s either way).
  const batch = Math.min(Number.isFinite(limit) ? limit + 1 : STORE_BATCH, STORE_BATCH);

  let next: { phase: number; position: string } | null = null;
  let overLimit = false;
  outer: for (; phase < sources.length; phase++, position = '') {
    for (;;) {
      if (ctx.abandoned()) return abandoned();
      if (Date.now() - started > timeLimitMs) {
        return done(RESULT.timeLimitExceeded, 'time limit exceeded');
      }
      const want = Math.min(batch, limit - sent + 1);
      const items = await sources[phase]!.fetch(position, want);
      for (const item of items) {
        if (sent >= limit) {
          // The page ends before this entry: the next page starts after the last one sent.
          next = { phase, position };
          overLimit = true;
          break outer;
        }
        // Abandoned while waiting for the client to read (RFC 4511 §4.11): no more entries.
        if (ctx.abandoned()) return abandoned();
        await send(encodeEntry(req.messageId, item.entry.dn, selectAttributes(item.entry, attrs, typesOnly)));
        sent++;
        position = item.position;
      }
      if (items.length < want) break;
    }
  }

  if (paged) {
    const cookie = next && sent >= pageSize ? encodeCookie({ ...next, sentBefore: sentBefore + sent }, fp) : Buffer.alloc(0);
    if (overLimit && sent < pageSize) return done(RESULT.sizeLimitExceeded, 'size limit exceeded');
    return done(RESULT.success, '', [{ type: PAGED_RESULTS_OID, value: encodePagedResultsValue(0, cookie) }]);
  }
  if (overLimit) return done(RESULT.sizeLimitExceeded, sent >= serverLimit && clientLimit > serverLimit ? 'administrative size limit exceeded' : 'size limit exceeded');
  return done(RESULT.success);
}

/** Whether an entry exists needs neither its group names nor its members. */
const NO_PARTS: EntryParts = { groupNames: false, members: false };

async function buildSources(
  ctx: OperationContext,
  loc: Location,
  scope: number,
  filter: LdapFilter,
  tctx: TranslationContext,
  parts: EntryParts,
  only: ReadonlySet<string> | null,
  marks?: OldestMark,
): Promise<Source[] | 'noSuchObject'> {
  const { deps, tree, session } = ctx;
  const p = session.principal;
  const dir = deps.directory;
  const fixed: Entry[] = [];
  const seeAll = dir.canSearchDirectory(p);
  const org = await deps.organization();
  const containers = containerEntries(tree, org.displayName, org.createdAt);
  const userFilter = toUserFilter(filter, tctx);
  const groupFilter = toGroupFilter(filter, tctx);
  const none: Source = { fetch: async () => [] };
  const staticSource = (entries: Entry[]): Source => ({
    fetch: async (position, limit) => {
      const from = position === '' ? 0 : Number(position) + 1;
      const out: { entry: Entry; position: string }[] = [];
      for (let i = from; i < entries.length && out.length < limit; i++) {
        if (matchesEntry(filter, attributeMap(entries[i]!)) === true) out.push({ entry: entries[i]!, position: String(i) });
      }
      return out;
    },
  });
  const users = (extra?: DirectoryFilter<UserAttr>): Source =>
    userFilter.op === 'false'
      ? none
      : {
          fetch: async (position, limit) =>
            (await dir.users(p, extra ? { op: 'and', filters: [userFilter, extra] } : userFilter, { offset: 0, limit, after: position }, false, marks, parts)).items.map((e) => ({
              entry: toUserEntry(tree, e, deps.config, only),
              position: e.user.username,
            })),
        };
  const groups = (extra?: DirectoryFilter<GroupAttr>): Source =>
    groupFilter.op === 'false'
      ? none
      : {
          fetch: async (position, limit) =>
            (await dir.groups(p, extra ? { op: 'and', filters: [groupFilter, extra] } : groupFilter, { offset: 0, limit, after: position }, false, marks, parts)).items.map((e) => ({
              entry: toGroupEntry(tree, e),
              position: foldValue(e.group.name),
            })),
        };

  // A subtree search includes its base entry (RFC 4511 §4.5.1.2); a children search does not.
  const withBase = scope === SCOPE.base || scope === SCOPE.sub;
  switch (loc.kind) {
    case 'org':
      // Non-bind users see only their own entry, not the tree's containers.
      if (seeAll && withBase) fixed.push(containers.org);
      if (scope === SCOPE.base) return [staticSource(fixed)];
      if (seeAll) fixed.push(containers.ou);
      if (scope === SCOPE.one) return [staticSource(fixed)];
      return [staticSource(fixed), users(), groups()];
    case 'ou':
      if (scope === SCOPE.base) return [staticSource(seeAll ? [containers.ou] : [])];
      if (!withBase) return [users(), groups()];
      return [staticSource(seeAll ? [containers.ou] : []), users(), groups()];
    case 'user': {
      const self: DirectoryFilter<UserAttr> = { op: 'eq', attr: 'username', value: loc.username };
      const exists = await dir.users(p, self, { offset: 0, limit: 1 }, false, marks, NO_PARTS);
      if (exists.items.length === 0) return 'noSuchObject';
      // Leaf entries: one-level and children scopes find nothing below them.
      return withBase ? [users(self)] : [];
    }
    case 'group': {
      const self: DirectoryFilter<GroupAttr> = groupNamed(loc.name);
      const exists = await dir.groups(p, self, { offset: 0, limit: 1 }, false, marks, NO_PARTS);
      if (exists.items.length === 0) return 'noSuchObject';
      return withBase ? [groups(self)] : [];
    }
    default:
      return 'noSuchObject';
  }
}
