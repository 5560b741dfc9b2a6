import { normaliseLogin, type AuthOutcome, type AuthRequest } from '../core/auth/authenticate.js';
import type { User } from '../core/directory/types.js';
import { radiusServerResource } from '../core/auth/resources.js';
import type { Core } from '../core/index.js';
import type { Logger } from '../core/ports.js';
import { decodeUtf8Strict } from '../util/utf8.js';
import { encodeReplyAttributes } from './dictionary.js';
import { Attr, Code, attribute, attributes, decodeUserPassword, encodeAttribute, encodeReply, type RadiusPacket } from './packet.js';
import { nasAuditFields, proxyStates, text, type RequestContext } from './request-context.js';
import { isUnavailable, storeUnavailable } from '../core/errors.js';

/** The Access-Accept built before core audits the success; `unavailable`: send nothing at all. */
interface Prepared {
  reply?: Buffer;
  unavailable?: boolean;
}

/** Microsoft's vendor id and its MS-CHAP-Response (1), MS-CHAP-Challenge (11), MS-CHAP2-Response (25) (RFC 2548 §2.1). */
const MICROSOFT = 311;
const MS_CHAP_TYPES = new Set([1, 11, 25]);

/** Does the request carry MS-CHAP (v1 or v2) in Microsoft Vendor-Specific attributes (RFC 2865 §5.26)? */
function hasMsChap(p: RadiusPacket): boolean {
  return attributes(p, Attr.VendorSpecific).some((v) => v.length >= 6 && v.readUInt32BE(0) === MICROSOFT && MS_CHAP_TYPES.has(v[4]!));
}

export interface AccessRequestOptions {
  /** Separator of a TOTP code appended to the password (`password;123456`); empty disables it. */
  otpSeparator: string;
  /** How long an Access-Challenge's State stays valid. */
  challengeTtlSeconds: number;
  /** Reply-Message of an Access-Challenge: the prompt the NAS shows. */
  challengePrompt: string;
}

export interface AccessRequestDeps {
  core: Pick<Core, 'auth' | 'audit' | 'radiusReply'>;
  log: Logger;
  options: AccessRequestOptions;
}

/** What the handler decided, for the listener's counters. */
export type AccessResult = { reply: Buffer | null; kind: 'accept' | 'reject' | 'challenge' };

/**
 * Access-Request (RFC 2865 §4.1) with PAP: the one error funnel of the adapter. Inner steps return a
 * core outcome; this function turns it into exactly one reply. Every failure becomes the same bare
 * Access-Reject on the wire (no Reply-Message, no reason); the audit event written by core says why.
 */
export function createAccessRequestHandler(d: AccessRequestDeps): (ctx: RequestContext) => Promise<AccessResult> {
  const { core, log, options } = d;
  const prompt = Buffer.from(options.challengePrompt, 'utf8').subarray(0, 253);

  const reply = (ctx: RequestContext, code: number, attrs: Buffer): Buffer | null =>
    encodeReply({
      code,
      identifier: ctx.packet.identifier,
      requestAuthenticator: ctx.packet.authenticator,
      attributes: attrs,
      proxyStates: proxyStates(ctx.packet),
      secret: ctx.client.secret,
      // BlastRADIUS: always, and first, whether or not the request had one.
      messageAuthenticator: true,
    });

  const reject = (ctx: RequestContext): AccessResult => ({ reply: reply(ctx, Code.AccessReject, Buffer.alloc(0)), kind: 'reject' });

  /**
   * A failure core never saw (an authentication type we do not offer, a request that cannot carry a
   * valid password): audited here, no lockout, as no password was tried. Without a `user` (a
   * password proven right), nothing was checked, so these are recorded within the budget per
   * source (the NAS) of requests that prove nothing: a NAS forwarding its clients' EAP or CHAP
   * wrote ~4,000 rows a second.
   */
  const refuseHere = (ctx: RequestContext, authType: string, reason: string, user?: { id: string; username: string }): AccessResult => {
    const username = user?.username ?? normaliseLogin(text(ctx.packet, Attr.UserName) ?? '');
    const server = ctx.client.server;
    (user ? core.audit.record : core.audit.recordUnauthenticated)({
      ...nasAuditFields(ctx),
      event_type: 'radius_auth_attempt',
      service: 'radius',
      success: false,
      client_ip: ctx.address,
      initiated_by: user ? { id: user.id, type: 'user', username } : { type: 'user', username },
      username,
      auth_type: authType,
      nas_mfa_state: server.mfa,
      mfa: false,
      error_message: reason,
      resource: { id: server.id, type: 'radius_server', name: server.name },
    });
    return reject(ctx);
  };

  /**
   * Prepares the Access-Accept for an authenticated user, before core audits the success (the
   * `deliver` hook): the reply attributes of the user's groups, retried on a passing store error,
   * within 4096 octets. When it cannot be built, core audits the attempt once as a failure with the
   * reason and the NAS gets a Reject (fail closed, security.md item 10): sending a partial set (a
   * VLAN without its tunnel type, a role without its ACL) could grant the wrong network. With a
   * TOTP code the authentication is committed by then (the step burned), so the Reject is sent and
   * the duplicate cache gives it to the NAS's retransmissions: they must not run afresh on a used
   * code. Without one, a store that is unavailable gets no reply at all (see below).
   */
  const prepareAccept = async (ctx: RequestContext, user: User, prepared: Prepared, mfa: boolean): Promise<string | null> => {
    const server = ctx.client.server;
    let list: Awaited<ReturnType<typeof core.radiusReply.replyAttributesFor>> | undefined;
    let unavailable = false;
    for (let attempt = 0; attempt < 3 && !list; attempt++) {
      try {
        list = await core.radiusReply.replyAttributesFor(user.id, server.id);
      } catch (err) {
        unavailable = isUnavailable(err);
        if (!unavailable) log.error({ err: err instanceof Error ? err.message : String(err), radiusServer: server.id, userId: user.id, attempt }, 'RADIUS reply attributes could not be read');
        if (attempt < 2) await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
      }
    }
    if (!list && unavailable && !mfa) {
      // The store is down (a database restart): a Reject would be final, and tell the user the
      // password was wrong; with no reply the NAS retransmits, or fails over to another server,
      // and the retransmission is processed afresh. (With a TOTP code, burned by now, a retry
      // would be refused: that case keeps the Reject below.)
      prepared.unavailable = true;
      return 'no reply sent after a successful authentication: the directory store is unavailable';
    }
    if (!list) return 'Access-Reject sent after a successful authentication: reply attributes could not be read';
    const attrs = encodeReplyAttributes(list, (a, problem) =>
      log.warn({ radiusServer: server.id, attribute: a.name, problem }, 'RADIUS reply attribute left out: it no longer encodes'),
    );
    const out = reply(ctx, Code.AccessAccept, attrs);
    if (!out) {
      log.error({ radiusServer: server.id, userId: user.id, attributes: list.length }, 'Access-Accept would exceed 4096 octets; sent Access-Reject');
      return 'Access-Reject sent after a successful authentication: Access-Accept would exceed 4096 octets';
    }
    prepared.reply = out;
    return null;
  };

  const toWire = (ctx: RequestContext, outcome: AuthOutcome, prepared: Prepared): AccessResult => {
    // Dropped: the server sends nothing and forgets the request, so a retransmission runs afresh.
    if (prepared.unavailable) throw storeUnavailable();
    if (outcome.status === 'ok' && prepared.reply) return { reply: prepared.reply, kind: 'accept' };
    if (outcome.status === 'mfa_required' && outcome.challenge) {
      // RFC 2865 §4.4: State carries the challenge id back in the next Access-Request; Reply-Message
      // is the prompt. The challenge lives in the store, so any instance can take the next round.
      const attrs = Buffer.concat([
        encodeAttribute(Attr.State, Buffer.from(outcome.challenge.id, 'latin1')),
        // RFC 2865 §5.18: a Reply-Message has at least one octet; an empty prompt sends none.
        ...(prompt.length > 0 ? [encodeAttribute(Attr.ReplyMessage, prompt)] : []),
      ]);
      const out = reply(ctx, Code.AccessChallenge, attrs);
      if (out) return { reply: out, kind: 'challenge' };
      // Only kilobytes of Proxy-State leave no room for State and prompt: refused, and said why.
      log.error({ radiusServer: ctx.client.server.id, userId: outcome.user.id }, 'Access-Challenge would exceed 4096 octets; sent Access-Reject');
      return refuseHere(ctx, 'pap', 'Access-Challenge would exceed 4096 octets; sent Access-Reject', outcome.user);
    }
    return reject(ctx);
  };

  return async (ctx) => {
    const p = ctx.packet;
    const server = ctx.client.server;
    // RFC 3579: EAP is not offered; RFC 2865 §5.3: CHAP needs the clear password, which is not kept.
    if (attribute(p, Attr.EapMessage)) return refuseHere(ctx, 'eap', 'EAP is not supported; use PAP');
    const hidden = attribute(p, Attr.UserPassword);
    if (!hidden) {
      if (attribute(p, Attr.ChapPassword)) return refuseHere(ctx, 'chap', 'CHAP is not supported; use PAP');
      if (hasMsChap(p)) return refuseHere(ctx, 'mschap', 'MS-CHAP is not supported; use PAP');
      return refuseHere(ctx, 'pap', 'no User-Password');
    }
    // RFC 2865 §4.1: an Access-Request MUST NOT contain both.
    if (attribute(p, Attr.ChapPassword)) return refuseHere(ctx, 'pap', 'both User-Password and CHAP-Password');
    // The request has passed the gate (client, Message-Authenticator), so it is answered: a NAS that
    // got no reply would retry and then mark the server dead.
    const clear = decodeUserPassword(hidden, ctx.client.secret, p.authenticator);
    // RFC 2865 §5.2: the hidden password is 16 to 128 octets in blocks of 16.
    if (!clear) return refuseHere(ctx, 'pap', 'malformed User-Password');
    // Passwords are compared as octets (as FreeRADIUS does). Stored passwords are UTF-8 text, so
    // octets that are not UTF-8 match none; decoding them leniently would turn every invalid
    // sequence into U+FFFD and let `Tr\xffck` and `Tr\x80ck` both stand for `Tr\ufffdck`.
    const password = decodeUtf8Strict(clear);
    if (password === null) return refuseHere(ctx, 'pap', 'User-Password is not UTF-8 text');
    const userName = text(p, Attr.UserName) ?? '';
    const resource = radiusServerResource(server);
    const audit = nasAuditFields(ctx);
    audit.auth_type = 'pap';
    audit.nas_mfa_state = server.mfa;
    const state = attribute(p, Attr.State);

    if (state) {
      // Second round of a challenge: the code is in User-Password (RFC 2865 §4.4).
      // Core refuses a State answered under another User-Name than the one it was issued for.
      const prepared: Prepared = {};
      const outcome = await core.auth.completeMfa({
        protocol: 'radius',
        login: userName,
        challenge: state.toString('latin1'),
        otp: password.trim(),
        clientIp: ctx.address,
        resource,
        audit,
        deliver: (user, how) => prepareAccept(ctx, user, prepared, how.mfa),
      });
      return toWire(ctx, outcome, prepared);
    }

    const prepared: Prepared = {};
    const request: AuthRequest = {
      protocol: 'radius',
      login: userName,
      password,
      clientIp: ctx.address,
      resource,
      issueChallenge: { ttlSeconds: options.challengeTtlSeconds },
      audit,
      deliver: (user, how) => prepareAccept(ctx, user, prepared, how.mfa),
    };
    if (options.otpSeparator) request.otpInPassword = options.otpSeparator;
    const outcome = await core.auth.authenticate(request);
    return toWire(ctx, outcome, prepared);
  };
}
