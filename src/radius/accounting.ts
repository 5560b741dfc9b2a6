import { normaliseLogin } from '../core/auth/authenticate.js';
import type { Core } from '../core/index.js';
import { Code, attributes, encodeReply, type RadiusPacket } from './packet.js';
import { nasAuditFields, proxyStates, type RequestContext } from './request-context.js';
import { OldestFirst } from '../util/oldest-first.js';

export interface AccountingDeps {
  core: Pick<Core, 'audit'>;
  /**
   * Interim-Update records of one session are audited at most once per this many seconds (0: every
   * one). Start, Stop, Accounting-On and Accounting-Off are always recorded.
   */
  interimAuditSeconds: number;
  now?: () => number;
}

/** Decodes one attribute value; undefined when the value is malformed for its type. */
type Decoder = (v: Buffer) => string | number | undefined;

/** `text`/`string` (RFC 2865 §5): UTF-8, at most 253 octets by construction of the attribute. */
const text: Decoder = (v) => v.toString('utf8');

/** `ipaddr` (RFC 2865 §5): exactly 4 octets, written dotted-decimal. */
const ipaddr: Decoder = (v) => (v.length === 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : undefined);

/** `integer` (RFC 2865 §5): exactly 4 octets. */
const integer: Decoder = (v) => (v.length === 4 ? v.readUInt32BE(0) : undefined);

/**
 * An enumerated `integer`, written by its dictionary name, or as its number in text when the
 * dictionary has none: one field keeps one type, whatever the NAS sends.
 */
const named =
  (names: Readonly<Record<number, string>>): Decoder =>
  (v) => {
    const n = integer(v);
    return n === undefined ? undefined : (names[n as number] ?? String(n));
  };

/**
 * Value names, as the `radius` package's dictionaries spell them (the event format predates this
 * decoder): RFC 2866 §5.1 (and FreeRADIUS's Failed), RFC 2867 §4.1 (tunnels).
 */
const STATUS_TYPES: Readonly<Record<number, string>> = {
  1: 'Start', 2: 'Stop', 3: 'Interim-Update', 7: 'Accounting-On', 8: 'Accounting-Off',
  9: 'Tunnel-Start', 10: 'Tunnel-Stop', 11: 'Tunnel-Reject', 12: 'Tunnel-Link-Start', 13: 'Tunnel-Link-Stop',
  14: 'Tunnel-Link-Reject', 15: 'Failed',
};

/** RFC 2866 §5.10, RFC 3580 §3.32 (IEEE 802.1X causes 19–22). */
const TERMINATE_CAUSES: Readonly<Record<number, string>> = {
  1: 'User-Request', 2: 'Lost-Carrier', 3: 'Lost-Service', 4: 'Idle-Timeout', 5: 'Session-Timeout',
  6: 'Admin-Reset', 7: 'Admin-Reboot', 8: 'Port-Error', 9: 'NAS-Error', 10: 'NAS-Request', 11: 'NAS-Reboot',
  12: 'Port-Unneeded', 13: 'Port-Preempted', 14: 'Port-Suspended', 15: 'Service-Unavailable', 16: 'Callback',
  17: 'User-Error', 18: 'Host-Request', 19: 'Supplicant-Restart', 20: 'Reauthentication-Failure',
  21: 'Port-Reinit', 22: 'Port-Disabled',
};

/** Accounting fields copied into the audit event: attribute type (RFC 2866 §5, RFC 2865 §5.8) → event field. */
const FIELDS: [number, string, Decoder][] = [
  [40, 'acct_status_type', named(STATUS_TYPES)],
  [44, 'acct_session_id', text],
  [50, 'acct_multi_session_id', text],
  [46, 'acct_session_time', integer],
  [42, 'acct_input_octets', integer],
  [43, 'acct_output_octets', integer],
  [52, 'acct_input_gigawords', integer],
  [53, 'acct_output_gigawords', integer],
  [47, 'acct_input_packets', integer],
  [48, 'acct_output_packets', integer],
  [49, 'acct_terminate_cause', named(TERMINATE_CAUSES)],
  [8, 'framed_ip', ipaddr],
];

/**
 * RFC 2869 §5.1–5.2: Acct-{Input,Output}-Gigawords count how often the 32-bit octet counter has
 * wrapped. The event's octet fields carry the whole count (as FreeRADIUS's SQL schema stores it),
 * so a session past 4 GiB is not under-reported; the gigawords fields stay as sent.
 */
function addGigawords(fields: Record<string, string | number>): void {
  for (const dir of ['input', 'output'] as const) {
    const giga = fields[`acct_${dir}_gigawords`];
    const octets = fields[`acct_${dir}_octets`];
    if (typeof giga === 'number' && giga > 0) fields[`acct_${dir}_octets`] = giga * 2 ** 32 + (typeof octets === 'number' ? octets : 0);
  }
}

const USER_NAME = 1;

/**
 * The first well-formed value of an attribute type. Each attribute is decoded on its own from the
 * already-checked attribute list, so a malformed one (an integer of 2 octets, a Vendor-Specific not
 * in sub-attribute form) is treated as unknown and only its own field is left out (RFC 6929 §2.8);
 * decoding the whole packet at once lost every field to one bad attribute.
 */
function firstValid(p: RadiusPacket, type: number, decode: Decoder): string | number | undefined {
  for (const v of attributes(p, type)) {
    const x = decode(v);
    if (x !== undefined) return x;
  }
  return undefined;
}

/**
 * RFC 2866 §5.1: Acct-Status-Type (40) MUST be present. A request without a well-formed one cannot
 * be recorded, and §2 says an unrecorded request gets no Accounting-Response (the NAS retries).
 */
export function hasStatusType(p: RadiusPacket): boolean {
  return firstValid(p, 40, integer) !== undefined;
}

/** The accounting fields of the audit event and the User-Name ('' when absent). */
export function accountingFields(p: RadiusPacket): { fields: Record<string, string | number>; userName: string } {
  const fields: Record<string, string | number> = {};
  for (const [type, field, decode] of FIELDS) {
    const v = firstValid(p, type, decode);
    if (v !== undefined) fields[field] = v;
  }
  addGigawords(fields);
  return { fields, userName: String(firstValid(p, USER_NAME, text) ?? '') };
}

const MAX_SESSIONS = 100_000;

/**
 * Accounting-Request (RFC 2866 §4.1), already authenticated by its Request Authenticator: recorded as
 * a `radius_accounting` audit event and answered with an Accounting-Response (RFC 2866 §4.2). A value
 * that cannot be decoded only leaves its own field out of the event, it never stops the answer.
 */
export function createAccountingHandler(d: AccountingDeps): (ctx: RequestContext) => Buffer | null {
  const now = d.now ?? Date.now;
  /** Last audited Interim-Update per session, oldest first (bounded). */
  const lastInterim = new Map<string, number>();
  const lastInterimOldest = new OldestFirst(lastInterim);

  return (ctx) => {
    const { fields, userName } = accountingFields(ctx.packet);
    const server = ctx.client.server;
    const status = String(fields.acct_status_type ?? '');
    const session = `${server.id}|${String(fields.acct_session_id ?? '')}`;
    let record = true;
    if (status === 'Interim-Update' && d.interimAuditSeconds > 0) {
      const t = now();
      const last = lastInterim.get(session);
      if (last !== undefined && t - last < d.interimAuditSeconds * 1000) record = false;
      else {
        lastInterim.delete(session);
        lastInterim.set(session, t);
        lastInterimOldest.trim(MAX_SESSIONS);
      }
    } else if (status === 'Stop') {
      lastInterim.delete(session);
    }
    if (record) {
      const username = normaliseLogin(userName);
      d.core.audit.record({
        ...nasAuditFields(ctx),
        ...fields,
        event_type: 'radius_accounting',
        service: 'radius',
        success: true,
        client_ip: ctx.address,
        initiated_by: { type: 'user', username },
        username,
        resource: { id: server.id, type: 'radius_server', name: server.name },
      });
    }
    return encodeReply({
      code: Code.AccountingResponse,
      identifier: ctx.packet.identifier,
      requestAuthenticator: ctx.packet.authenticator,
      attributes: Buffer.alloc(0),
      proxyStates: proxyStates(ctx.packet),
      secret: ctx.client.secret,
      messageAuthenticator: false,
    });
  };
}
