import { BerReader, BerWriter } from '@ldapjs/asn1';
import { createRequire } from 'node:module';
import type { LdapControl, LdapRequest } from '@ldapjs/messages';

// @ldapjs/messages and @ldapjs/filter build their exports in a way Node's CommonJS export
// detection does not see, so named ESM imports come out undefined; require() gets the real objects.
const requireCjs = createRequire(import.meta.url);
const messages = requireCjs('@ldapjs/messages') as typeof import('@ldapjs/messages');
const { parseBer: parseFilterBer } = requireCjs('@ldapjs/filter') as typeof import('@ldapjs/filter');

/**
 * LDAPv3 wire encoding (RFC 4511 §4). Requests are decoded by ldapjs's message classes, one whole
 * PDU at a time (the framer cut it), inside a try; responses are encoded here with its BER writer,
 * which is simpler and faster than building ldapjs response objects per entry.
 */

export const OP = {
  bindRequest: 0x60,
  unbindRequest: 0x42,
  searchRequest: 0x63,
  modifyRequest: 0x66,
  addRequest: 0x68,
  delRequest: 0x4a,
  modDnRequest: 0x6c,
  compareRequest: 0x6e,
  abandonRequest: 0x50,
  extendedRequest: 0x77,
  bindResponse: 0x61,
  searchResultEntry: 0x64,
  searchResultDone: 0x65,
  modifyResponse: 0x67,
  addResponse: 0x69,
  delResponse: 0x6b,
  modDnResponse: 0x6d,
  compareResponse: 0x6f,
  extendedResponse: 0x78,
} as const;

/** The response operation answering each request operation that has one. */
export const RESPONSE_OF: Record<number, number> = {
  [OP.bindRequest]: OP.bindResponse,
  [OP.searchRequest]: OP.searchResultDone,
  [OP.modifyRequest]: OP.modifyResponse,
  [OP.addRequest]: OP.addResponse,
  [OP.delRequest]: OP.delResponse,
  [OP.modDnRequest]: OP.modDnResponse,
  [OP.compareRequest]: OP.compareResponse,
  [OP.extendedRequest]: OP.extendedResponse,
};

export interface Envelope {
  messageId: number;
  op: number;
  /** For a BindRequest: the authentication choice tag (0x80 simple, 0xa3 SASL). */
  bindAuthTag?: number;
  /** For a SearchRequest: where its protocolOp element starts and ends in the PDU (controls follow it). */
  opStart?: number;
  opEnd?: number;
}

/**
 * Reads the message id and operation tag without decoding the rest (for a search, where its
 * protocolOp ends; for a bind, its authentication choice). Throws on a garbled envelope.
 */
export function readEnvelope(pdu: Buffer): Envelope {
  const r = new BerReader(pdu);
  r.readSequence();
  const messageId = r.readInt();
  const op = r.peek();
  // RFC 4511 §4.1.1: a client's message ids are 1..maxInt; 0 is reserved for unsolicited notifications.
  if (messageId === null || op === null || messageId < 1 || messageId > 2147483647) throw new Error('bad LDAPMessage envelope');
  if (op === OP.searchRequest) {
    const opStart = r.offset;
    // A cut or garbled element is left to the decoder, which refuses it in its turn (requests
    // queued before it are answered first).
    try {
      if (r.readSequence(OP.searchRequest) === null) return { messageId, op };
    } catch {
      return { messageId, op };
    }
    return { messageId, op, opStart, opEnd: r.offset + r.length };
  }
  if (op !== OP.bindRequest) return { messageId, op };
  // BindRequest ::= [APPLICATION 0] SEQUENCE { version INTEGER, name LDAPDN, authentication ... }
  r.readSequence(OP.bindRequest);
  r.readInt();
  r.readString();
  const bindAuthTag = r.peek() ?? undefined;
  const env: Envelope = { messageId, op };
  if (bindAuthTag !== undefined) env.bindAuthTag = bindAuthTag;
  return env;
}

/** ldapjs's decoder for each request operation (the plain-object half, without its DN parsing). */
const POJO_PARSERS: Record<number, { parseToPojo(r: BerReader): Record<string, unknown> }> = {
  [OP.bindRequest]: messages.BindRequest,
  [OP.searchRequest]: messages.SearchRequest,
  [OP.compareRequest]: messages.CompareRequest,
  [OP.extendedRequest]: messages.ExtensionRequest,
  [OP.abandonRequest]: messages.AbandonRequest,
};

/**
 * Update operations (RFC 4511 §4.6–§4.9): the directory is read-only over LDAP, so they are
 * answered from the envelope and their bodies are never decoded. ldapjs's AddRequest decoder loops
 * without end on a cut attribute list (8 octets, `30 06 02 01 01 68 39 04`, ran the process out of
 * memory before any bind); there is nothing to gain from reading them.
 */
export const UPDATE_OPERATIONS: ReadonlySet<number> = new Set([OP.modifyRequest, OP.addRequest, OP.delRequest, OP.modDnRequest]);

/**
 * SearchRequest (RFC 4511 §4.5.1), read here because ldapjs's decoder turns the filter back into
 * a string that must then be parsed again: on the search hot path that doubled the decoding work.
 */
/**
 * Enters a constructed element of `tag` and returns where it ends, which must lie within `limit`.
 * BerReader answers null, without moving, for an element cut short; every loop over elements must
 * therefore check that it got one, or a truncated message would loop forever on the event loop
 * (an 18-octet abandon request with a cut control did, before any bind).
 */
function enter(r: BerReader, tag: number, limit: number): number {
  const start = r.offset;
  if (r.readSequence(tag) === null || r.offset <= start) throw new Error('truncated element');
  const end = r.offset + r.length;
  if (end > limit) throw new Error('element overruns its container');
  return end;
}

/** Deepest nesting of constructed elements a filter may have (the translation allows 64 levels). */
const MAX_BER_DEPTH = 100;

/**
 * Checks that a BER element and everything constructed inside it is well framed: each length fits
 * its container exactly, lengths use at most 4 octets, nesting is bounded. ldapjs's decoders trust
 * lengths: a substring filter whose `initial` claimed more octets than its SEQUENCE held (`80 7f`
 * inside `30 09`) made the filter decoder loop forever on the event loop, with no bind needed (a
 * search of the Root DSE is decoded first). Requests reach a decoder only once this walk accepts
 * them. Primitive elements (OCTET STRINGs: values, passwords, control values) are not looked into.
 */
export function checkBerStructure(buf: Buffer): void {
  const walk = (start: number, end: number, depth: number): void => {
    if (depth > MAX_BER_DEPTH) throw new NestingError('element nested too deeply');
    for (const e of elements(buf, start, end)) if (e.tag & 0x20) walk(e.content, e.next, depth + 1);
  };
  walk(0, buf.length, 0);
}

/** The elements between `start` and `end`, one level deep (tag, where the content starts and ends). */
function* elements(buf: Buffer, start: number, end: number): Generator<{ tag: number; start: number; content: number; next: number }> {
  let at = start;
  while (at < end) {
    if (at + 2 > end) throw new Error('truncated element');
    const tag = buf[at]!;
    if ((tag & 0x1f) === 0x1f) throw new Error('multi-octet tags are not LDAP');
    let len = buf[at + 1]!;
    let content = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || content + n > end) throw new Error('bad length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[content + i]!;
      content += n;
    }
    const next = content + len;
    if (next > end) throw new Error('element overruns its container');
    yield { tag, start: at, content, next };
    at = next;
  }
}

/**
 * Constructed elements nested deeper than MAX_BER_DEPTH. In a search, only a filter nests so deep
 * (`(&(&(&…)))`): the message is framed by its outer length, so the search is answered
 * unwillingToPerform ("filter too complex", as for 65 to 100 levels) and the connection goes on,
 * without any decoder reading the nested part. Anywhere else it is a malformed message.
 */
export class NestingError extends Error {}

/** A well-formed filter that breaks a rule of RFC 4511 §4.5.1.7: answered with protocolError, not a disconnect. */
export class FilterRuleError extends Error {}

/**
 * The rules of RFC 4511 §4.5.1.7 that the filter's BER shape alone cannot enforce, which ldapjs's
 * parser does not check (it keeps the last `initial` it sees and matches an extensible assertion
 * with neither type nor rule against every attribute): a SubstringFilter has at least one part,
 * `initial` only first and `final` only last, each at most once; a MatchingRuleAssertion without
 * a matchingRule names its type. `buf` is one whole Filter element (already structure-checked).
 * Returns whether the filter holds an item of a CHOICE this server does not know (the same walk
 * finds them; see undefinedForUnknownChoices).
 */
export function checkFilterRules(buf: Buffer): boolean {
  const fail = (message: string): never => {
    throw new FilterRuleError(message);
  };
  let unknown = false;
  const visit = (tag: number, content: number, next: number): void => {
    switch (tag) {
      case 0xa0: // and
      case 0xa1: // or
      case 0xa2: // not
        for (const e of elements(buf, content, next)) visit(e.tag, e.content, e.next);
        return;
      case 0xa4: {
        // substrings: type, SEQUENCE OF CHOICE { initial [0], any [1], final [2] }
        const [, parts] = [...elements(buf, content, next)];
        const kinds = parts && parts.tag === 0x30 ? [...elements(buf, parts.content, parts.next)].map((e) => e.tag) : [];
        if (kinds.length === 0) fail('a substrings filter needs at least one part');
        kinds.forEach((k, i) => {
          if (k === 0x80 && i !== 0) fail('a substrings filter may have initial only first');
          if (k === 0x82 && i !== kinds.length - 1) fail('a substrings filter may have final only last');
        });
        return;
      }
      case 0xa9: {
        // extensibleMatch: matchingRule [1] OPTIONAL, type [2] OPTIONAL, matchValue [3], dnAttributes [4]
        const tags = [...elements(buf, content, next)].map((e) => e.tag);
        if (!tags.includes(0x81) && !tags.includes(0x82)) fail('an extensible match without a matching rule must name its type');
        return;
      }
      default:
        if (!FILTER_ITEMS.has(tag)) unknown = true;
        return;
    }
  };
  for (const e of elements(buf, 0, buf.length)) visit(e.tag, e.content, e.next);
  return unknown;
}

/** The Filter CHOICE items of RFC 4511 §4.5.1 other than and, or, not (equality … extensibleMatch). */
const FILTER_ITEMS: ReadonlySet<number> = new Set([0xa3, 0xa4, 0xa5, 0xa6, 0x87, 0xa8, 0xa9]);

/**
 * An equality assertion on an attribute type no schema defines, which evaluates to Undefined
 * (RFC 4511 §4.5.1.7: an unrecognised attribute type is Undefined, and so is its negation).
 */
const UNDEFINED_ITEM = ((): Buffer => {
  const w = new BerWriter({ size: 64 });
  w.startSequence(0xa3);
  w.writeString('x-unknown-filter-choice');
  w.writeString('');
  w.endSequence();
  return w.buffer;
})();

/**
 * The filter with every item of a CHOICE this server does not know replaced by one that is
 * Undefined. The Filter CHOICE is extensible (RFC 4511 §4.5.1 ends it with "..."), and slapd
 * evaluates an unknown choice as Undefined rather than refusing the search; ldapjs's decoder throws
 * on one, which closed the connection. `buf` is one whole Filter, already structure-checked.
 */
export function undefinedForUnknownChoices(buf: Buffer): Buffer {
  const w = new BerWriter({ size: buf.length + 64 });
  const write = (tag: number, start: number, content: number, next: number): void => {
    if (tag === 0xa0 || tag === 0xa1 || tag === 0xa2) {
      w.startSequence(tag);
      for (const e of elements(buf, content, next)) write(e.tag, e.start, e.content, e.next);
      w.endSequence();
    } else {
      w.appendBuffer(FILTER_ITEMS.has(tag) ? buf.subarray(start, next) : UNDEFINED_ITEM);
    }
  };
  for (const e of elements(buf, 0, buf.length)) write(e.tag, e.start, e.content, e.next);
  return w.buffer;
}

/** An OCTET STRING (or LDAPString) that must be there. */
function requiredString(r: BerReader, end: number): string {
  const start = r.offset;
  const s = r.readString();
  if (s === null || r.offset <= start || r.offset > end) throw new Error('truncated string');
  return s;
}

/**
 * BindRequest with simple authentication (RFC 4511 §4.2; SASL is refused before decoding), read
 * here so that the password stays octets: ldapjs decodes it as text, turning bytes that are not
 * UTF-8 into U+FFFD, so that different passwords would read alike (the bind handler decides).
 */
function readBindRequest(r: BerReader, limit: number): Record<string, unknown> {
  const end = enter(r, OP.bindRequest, limit);
  const version = r.readInt();
  const name = requiredString(r, end);
  const start = r.offset;
  const credentials = r.peek() === 0x80 ? r.readString(0x80, true) : null;
  if (!credentials || r.offset <= start || r.offset !== end) throw new Error('malformed simple bind');
  return { version, name, authenticationType: 'simple', credentials };
}

function readSearchRequest(r: BerReader, limit: number): Record<string, unknown> {
  const requestEnd = enter(r, OP.searchRequest, limit);
  const baseObject = r.readString() ?? '';
  const scope = r.readEnumeration();
  const derefAliases = r.readEnumeration();
  const sizeLimit = r.readInt();
  const timeLimit = r.readInt();
  const typesOnly = r.readBoolean();
  const filterTag = r.peek();
  if (filterTag === null) throw new Error('search request without a filter');
  const rawFilter: Buffer | null = r.readRawBuffer(filterTag);
  if (!rawFilter) throw new Error('truncated filter');
  const filter = parseFilterBer(new BerReader(checkFilterRules(rawFilter) ? undefinedForUnknownChoices(rawFilter) : rawFilter));
  const attributes: string[] = [];
  const end = enter(r, 0x30, requestEnd);
  while (r.offset < end) attributes.push(requiredString(r, end));
  // RFC 4511 §4.5.1: the attribute list is the request's last field. Anything after it inside the
  // request (controls, say) would be read as the message's controls, though not sent as such.
  if (end !== requestEnd) throw new Error('data after the attribute list of a search request');
  return { baseObject, scope, derefAliases, sizeLimit, timeLimit, typesOnly, filter, attributes };
}

/**
 * Decodes one whole request PDU. This mirrors ldapjs's `LdapMessage.parse` but keeps DNs as the
 * strings the client sent: ldapjs turns them into objects with its own DN parser, which loses
 * escaped characters and throws on syntax errors that deserve invalidDNSyntax, not a disconnect.
 * Throws on malformed input (the caller answers protocolError).
 */
export function decodeRequest(pdu: Buffer): LdapRequest {
  // Before any decoder (ours or ldapjs's) reads it, the whole message must be well framed.
  checkBerStructure(pdu);
  const r = new BerReader(pdu);
  r.readSequence();
  const messageId = r.readInt() ?? 0;
  const op = r.peek() ?? -1;
  const parser = POJO_PARSERS[op];
  if (!parser) throw new Error(`unsupported operation 0x${op.toString(16)}`);
  const body = op === OP.searchRequest ? readSearchRequest(r, pdu.length) : op === OP.bindRequest ? readBindRequest(r, pdu.length) : parser.parseToPojo(r);
  const controls: LdapControl[] = [];
  if (r.remain > 0 && r.peek() === 0xa0) {
    const end = enter(r, 0xa0, pdu.length);
    while (r.offset < end) controls.push(readControl(r, end));
  }
  // Added to the decoded body rather than spread into a new object: cheaper on every request.
  body.messageId = messageId;
  body.protocolOp = op;
  body.type = String(op);
  body.controls = controls;
  return body as unknown as LdapRequest;
}

/**
 * A control whose value Gatehouse reads (the paged results control) is malformed. The operation is
 * answered with protocolError; the connection stays open, since the message itself was well framed.
 */
export class ControlValueError extends Error {}

/**
 * Control ::= SEQUENCE { controlType LDAPOID, criticality BOOLEAN DEFAULT FALSE,
 * controlValue OCTET STRING OPTIONAL } (RFC 4511 §4.1.11), read here rather than by ldapjs's
 * `getControl`, which decodes the value of every control it knows and throws when one has none:
 * the password policy request control (sssd and nslcd send it on every bind) has no value by
 * definition, and that throw disconnected the client. Values stay raw, except the one we act on.
 */
function readControl(r: BerReader, limit: number): LdapControl {
  const end = enter(r, 0x30, limit);
  const type = requiredString(r, end);
  let criticality = false;
  if (r.offset < end && r.peek() === 0x01) criticality = r.readBoolean() ?? false;
  let raw: Buffer | null = null;
  if (r.offset < end) raw = r.readString(0x04, true) ?? null;
  // Anything else inside the control's SEQUENCE is not LDAP.
  if (r.offset !== end) throw new Error('malformed control');
  return { type, criticality, value: type === PAGED_RESULTS_OID ? pagedResultsValue(raw) : raw };
}

/** RFC 2696 §2: realSearchControlValue ::= SEQUENCE { size INTEGER (0..maxInt), cookie OCTET STRING }. */
function pagedResultsValue(raw: Buffer | null): { size: number; cookie: Buffer } {
  if (!raw) throw new ControlValueError('the paged results control needs a value (RFC 2696)');
  try {
    const r = new BerReader(raw);
    r.readSequence();
    const size = r.readInt();
    const cookie = r.readString(0x04, true);
    if (size === null || size < 0 || !cookie || r.offset !== raw.length) throw new Error('bad value');
    return { size, cookie };
  } catch {
    throw new ControlValueError('the paged results control value is malformed (RFC 2696)');
  }
}

export interface Control {
  type: string;
  critical?: boolean;
  value?: Buffer;
}

export interface ResultFields {
  code: number;
  matchedDn?: string;
  message?: string;
}

function writeResult(w: BerWriter, r: ResultFields): void {
  w.writeEnumeration(r.code);
  w.writeString(r.matchedDn ?? '');
  w.writeString(r.message ?? '');
}

function writeControls(w: BerWriter, controls: Control[] | undefined): void {
  if (!controls || controls.length === 0) return;
  w.startSequence(0xa0);
  for (const c of controls) {
    w.startSequence();
    w.writeString(c.type);
    if (c.critical) w.writeBoolean(true);
    if (c.value) w.writeBuffer(c.value, 0x04);
    w.endSequence();
  }
  w.endSequence();
}

function envelope(messageId: number, body: (w: BerWriter) => void, controls?: Control[]): Buffer {
  const w = new BerWriter({ size: 256 });
  w.startSequence();
  w.writeInt(messageId);
  body(w);
  writeControls(w, controls);
  w.endSequence();
  return w.buffer;
}

/** An LDAPResult-shaped response (bind, search done, modify, add, delete, modDN, compare). */
export function encodeResult(messageId: number, op: number, r: ResultFields, controls?: Control[]): Buffer {
  return envelope(
    messageId,
    (w) => {
      w.startSequence(op);
      writeResult(w, r);
      w.endSequence();
    },
    controls,
  );
}

export function encodeExtendedResponse(messageId: number, r: ResultFields & { name?: string; value?: Buffer }): Buffer {
  return envelope(messageId, (w) => {
    w.startSequence(OP.extendedResponse);
    writeResult(w, r);
    if (r.name) w.writeString(r.name, 0x8a);
    if (r.value) w.writeBuffer(r.value, 0x8b);
    w.endSequence();
  });
}

/** RFC 4511 §4.4.1: the Notice of Disconnection, sent with message id 0 before closing. */
export function encodeNoticeOfDisconnection(code: number, message: string): Buffer {
  return encodeExtendedResponse(0, { code, message, name: '1.3.6.1.4.1.1466.20036' });
}

export const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';

/** The controls each operation applies (the Root DSE's supportedControl): only paged searches. */
export const SUPPORTED_CONTROLS: Readonly<Partial<Record<number, readonly string[]>>> = {
  [OP.searchRequest]: [PAGED_RESULTS_OID],
};

/** RFC 2696 §2: realSearchControlValue ::= SEQUENCE { size INTEGER, cookie OCTET STRING }. */
export function encodePagedResultsValue(size: number, cookie: Buffer): Buffer {
  const w = new BerWriter({ size: 64 });
  w.startSequence();
  w.writeInt(size);
  w.writeBuffer(cookie, 0x04);
  w.endSequence();
  return w.buffer;
}

/**
 * RFC 3062 §3: PasswdModifyResponseValue ::= SEQUENCE { genPasswd [0] OCTET STRING OPTIONAL },
 * sent only when a password was generated (otherwise the response has no value).
 */
export function encodePasswordModifyResponse(generated: string): Buffer {
  const w = new BerWriter({ size: 64 });
  w.startSequence();
  w.writeString(generated, 0x80);
  w.endSequence();
  return w.buffer;
}
