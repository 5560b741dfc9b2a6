import radius from 'radius';
import { normaliseLogin } from '../core/auth/authenticate.js';
import type { Core } from '../core/index.js';
import { Code, encodeReply } from './packet.js';
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

/** Accounting fields copied into the audit event, by dictionary name → event field. */
const FIELDS: [string, string][] = [
  ['Acct-Status-Type', 'acct_status_type'],
  ['Acct-Session-Id', 'acct_session_id'],
  ['Acct-Multi-Session-Id', 'acct_multi_session_id'],
  ['Acct-Session-Time', 'acct_session_time'],
  ['Acct-Input-Octets', 'acct_input_octets'],
  ['Acct-Output-Octets', 'acct_output_octets'],
  ['Acct-Input-Packets', 'acct_input_packets'],
  ['Acct-Output-Packets', 'acct_output_packets'],
  ['Acct-Terminate-Cause', 'acct_terminate_cause'],
  ['Framed-IP-Address', 'framed_ip'],
];

const MAX_SESSIONS = 100_000;

/**
 * Accounting-Request (RFC 2866 §4.1), already authenticated by its Request Authenticator: recorded as
 * a `radius_accounting` audit event and answered with an Accounting-Response (RFC 2866 §4.2). The
 * `radius` package decodes the attributes (values by dictionary type); a value it cannot decode only
 * leaves fields out of the event, it never stops the answer.
 */
export function createAccountingHandler(d: AccountingDeps): (ctx: RequestContext) => Buffer | null {
  const now = d.now ?? Date.now;
  /** Last audited Interim-Update per session, oldest first (bounded). */
  const lastInterim = new Map<string, number>();
  const lastInterimOldest = new OldestFirst(lastInterim);

  const decode = (raw: Buffer): Record<string, unknown> => {
    try {
      return radius.decode_without_secret({ packet: raw }).attributes;
    } catch {
      return {};
    }
  };

  const scalar = (v: unknown): string | number | undefined => {
    const x = Array.isArray(v) ? v[0] : v;
    if (typeof x === 'number') return x;
    if (typeof x === 'string') return x.slice(0, 253);
    return undefined;
  };

  return (ctx) => {
    const attrs = decode(ctx.packet.raw);
    const server = ctx.client.server;
    const fields: Record<string, unknown> = {};
    for (const [name, field] of FIELDS) {
      const v = scalar(attrs[name]);
      if (v !== undefined) fields[field] = v;
    }
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
      const username = normaliseLogin(String(scalar(attrs['User-Name']) ?? ''));
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
