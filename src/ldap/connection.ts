import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { LdapRequest } from '@ldapjs/messages';
import { ControlValueError, decodeRequest, FilterRuleError, NestingError, encodeExtendedResponse, encodeNoticeOfDisconnection, encodeResult, OP, readEnvelope, RESPONSE_OF, SUPPORTED_CONTROLS, UPDATE_OPERATIONS, type Envelope } from './codec.js';
import type { LdapConfig, LdapDeps, OperationContext, SessionState } from './context.js';
import { EXTENSIONS } from './entries.js';
import { FramingError, PduFramer } from './framer.js';
import { bind } from './operations/bind.js';
import { compare } from './operations/compare.js';
import { EXTENDED_HANDLERS } from './operations/extended.js';
import { answerFromKept, search, translationContext } from './operations/search.js';
import { answerPrepared, planFor, prepare, searchShape } from './operations/prepared-search.js';
import { answerKey } from './search-answers.js';
import { LdapError, RESULT } from './result-codes.js';
import { serverTlsSocket } from './tls-socket.js';
import type { Tree } from './tree.js';
import { isUnavailable } from '../core/errors.js';
import { createLogThrottle } from '../util/log-throttle.js';

interface Pending {
  env: Envelope;
  pdu: Buffer;
}

let nextConnectionId = 1;
/** Every connection's failures while the store is down make one warning per 10 s. */
const storeDown = createLogThrottle(10_000);

/** RFC 4511 §4.11: Bind and StartTLS are answered whatever follows them. */
function abandonable(op: number, requestName: () => string | undefined): boolean {
  if (op === OP.bindRequest) return false;
  return !(op === OP.extendedRequest && requestName() === EXTENSIONS.startTls);
}

/** Limits on what the server reads and holds (config `ldap.*`, described in config/schema.ts). */
export type LdapReadLimits = Pick<LdapConfig, 'maxPduBytesBeforeBind' | 'maxQueuedBytesPerConnection' | 'maxQueuedBytesTotal' | 'unboundIdleTimeoutSeconds'>;

/**
 * Bytes of received requests held in memory (queued, or being answered) by all connections of one
 * server, against one budget. A request count alone does not bound memory: 2,000 connections × 32
 * queued requests × 256 KiB is 16 GiB. Once the total reaches the budget it counts as exhausted
 * until it falls to three quarters of it, so that paused connections do not flap at the limit;
 * then the connections waiting for room are woken.
 */
export class QueuedBytesBudget {
  private used = 0;
  private peak = 0;
  private over = false;
  private readonly waiting = new Set<() => void>();

  constructor(readonly limit: number) {}

  get bytes(): number {
    return this.used;
  }

  /** The most ever held at once (for tests and health). */
  get peakBytes(): number {
    return this.peak;
  }

  get exhausted(): boolean {
    return this.over;
  }

  add(n: number): void {
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    if (this.used >= this.limit) this.over = true;
  }

  release(n: number): void {
    this.used -= n;
    if (this.over && this.used <= this.limit * 0.75) {
      this.over = false;
      const woken = [...this.waiting];
      this.waiting.clear();
      for (const wake of woken) wake();
    }
  }

  /** Calls `wake` once, when the budget stops being exhausted. */
  whenRoom(wake: () => void): void {
    this.waiting.add(wake);
  }

  cancel(wake: () => void): void {
    this.waiting.delete(wake);
  }
}

/** Resolves when the socket can take more data or is gone; leaves no listener behind. */
function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      socket.off('error', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
    socket.on('error', done);
  });
}

/**
 * One LDAP client connection. Bytes are framed here (never by ldapjs), each whole PDU is decoded
 * inside a try, requests are answered one at a time in order, and reading stops while too many
 * requests or too many bytes of them are held, so no input from an unauthenticated peer can grow
 * memory without bound or keep the event loop busy for long.
 */
export class LdapConnection {
  private socket: Socket;
  private readonly framer: PduFramer;
  private readonly queue: Pending[] = [];
  private processing = false;
  private closed = false;
  private paused = false;
  /** Bytes of the PDUs queued or being answered (counted in `budget` too). */
  private held = 0;
  private idleMs = 0;
  /** Runs while a message is partly received; see `watchPartial`. */
  private partialTimer: NodeJS.Timeout | undefined;
  private readonly limits: LdapReadLimits;
  /** The request being answered, which an Abandon may still stop (requests run one at a time). */
  private running: { messageId: number; abandonable: boolean; abandon(): void } | undefined;
  readonly session: SessionState;

  constructor(
    socket: Socket,
    private readonly deps: LdapDeps,
    private readonly tree: () => Tree,
    /** The TLS context of the moment (the certificate may be replaced while the server runs). */
    private readonly secureContext: () => SecureContext,
    tls: boolean,
    private readonly onClose: () => void,
    private readonly budget: QueuedBytesBudget,
  ) {
    this.socket = socket;
    this.limits = deps.config;
    this.framer = new PduFramer(deps.config.maxPduBytes);
    this.session = {
      id: `ldap-${nextConnectionId++}`,
      remoteAddress: (socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      tls,
      principal: { kind: 'anonymous' },
      boundDn: '',
    };
    this.attach(socket);
  }

  /** Bytes of requests held (queued or being answered). */
  get heldBytes(): number {
    return this.held;
  }

  /** Bytes received of a PDU not yet complete. */
  get partialBytes(): number {
    return this.framer.pendingBytes;
  }

  get readingPaused(): boolean {
    return this.paused;
  }

  private get bound(): boolean {
    return this.session.principal.kind === 'user';
  }

  /**
   * Before a successful bind only small PDUs are needed (a simple bind, StartTLS, a Root DSE
   * search), so a peer with no credentials cannot make the server buffer `maxPduBytes` on each of
   * its connections; OpenLDAP likewise keeps `sockbuf_max_incoming` for anonymous sessions apart
   * from `sockbuf_max_incoming_auth`. The limit follows the session's state when a PDU's header
   * arrives: a client that pipelines a big request behind its bind, before the bind is answered,
   * is refused like an anonymous one.
   */
  private pduLimit(): number {
    return this.bound ? this.deps.config.maxPduBytes : Math.min(this.deps.config.maxPduBytes, this.limits.maxPduBytesBeforeBind);
  }

  /** An anonymous session may read only the Root DSE: no reason to stay idle for long. */
  private updateIdleTimeout(): void {
    const seconds = this.bound ? this.deps.config.idleTimeoutSeconds : Math.min(this.deps.config.idleTimeoutSeconds, this.limits.unboundIdleTimeoutSeconds);
    if (seconds * 1000 === this.idleMs) return;
    this.idleMs = seconds * 1000;
    this.socket.setTimeout(this.idleMs);
  }

  /**
   * The idle timeout restarts on every byte, so a peer trickling one byte of a message every few
   * seconds would hold its connection (and, before bind, a slot of the connection caps) for hours.
   * A message must therefore be complete within the idle timeout of its first byte.
   */
  private watchPartial(): void {
    // While reading is paused (our queue is full), the rest of a message waits on us, not the peer.
    if (this.framer.pendingBytes === 0 || this.paused) this.stopPartialTimer();
    else if (!this.partialTimer && this.idleMs > 0) {
      this.partialTimer = setTimeout(() => this.destroy(), this.idleMs);
      this.partialTimer.unref();
    }
  }

  private stopPartialTimer(): void {
    clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
  }

  private attach(socket: Socket): void {
    // Nagle would hold back each search entry for ~40 ms (libraries.md, "ldapjs").
    socket.setNoDelay(true);
    this.idleMs = 0;
    this.updateIdleTimeout();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.destroy());
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.framer.maxPduBytes = this.pduLimit();
    let pdus: Buffer[];
    try {
      pdus = this.framer.push(chunk);
    } catch (err) {
      return this.disconnect(RESULT.protocolError, err instanceof FramingError ? err.message : 'malformed message');
    }
    // A complete message is progress: the deadline restarts from the next message's first byte.
    if (pdus.length > 0) this.stopPartialTimer();
    this.watchPartial();
    for (const pdu of pdus) {
      let env: Envelope;
      try {
        env = readEnvelope(pdu);
      } catch {
        return this.disconnect(RESULT.protocolError, 'malformed LDAPMessage');
      }
      if (env.op === OP.abandonRequest) {
        this.abandon(pdu);
        continue;
      }
      // RFC 4511 §4.3: the client is done; what it queued before need not be answered (and a client
      // that pipelined big searches and unbinds would otherwise still be sent all their results).
      if (env.op === OP.unbindRequest) return this.destroy();
      this.queue.push({ env, pdu });
      this.hold(pdu.length);
    }
    this.updateReading();
    void this.drain();
  }

  private hold(n: number): void {
    this.held += n;
    this.budget.add(n);
  }

  private release(n: number): void {
    const r = Math.min(n, this.held);
    this.held -= r;
    this.budget.release(r);
  }

  /**
   * Back-pressure on the read side: stop reading while this connection holds too many requests or
   * too many bytes of them, or while all connections together exceed their budget; read again
   * below half the connection's limits once the budget has room. A connection holding nothing may
   * always read its next request: pausing it would free no memory, and pausing everyone would let
   * a few clients that never read their answers (so never finish a request) stall the server for
   * all. That costs at most one socket read per connection beyond the budget (one PDU, however
   * big, or the small ones one read carries), and before a bind PDUs are small.
   */
  private updateReading(): void {
    if (this.closed) return;
    const maxCount = this.deps.config.maxOutstandingPerConnection;
    const maxBytes = this.limits.maxQueuedBytesPerConnection;
    if (!this.paused) {
      if (this.held === 0 || (this.queue.length < maxCount && this.held < maxBytes && !this.budget.exhausted)) return;
      this.paused = true;
      this.socket.pause();
      this.stopPartialTimer();
    } else if (this.held === 0 || (this.queue.length <= maxCount / 2 && this.held <= maxBytes / 2 && !this.budget.exhausted)) {
      this.paused = false;
      this.budget.cancel(this.wake);
      this.socket.resume();
      this.watchPartial();
      return;
    }
    // Paused: its own requests finishing call this again; room in the budget must wake it too.
    if (this.budget.exhausted) this.budget.whenRoom(this.wake);
  }

  private readonly wake = () => this.updateReading();

  /**
   * Abandon (RFC 4511 §4.11): drop a request still waiting in the queue, or stop the one being
   * answered (a long search sends no more entries and no SearchResultDone); no response either way.
   * Bind and StartTLS cannot be abandoned (§4.11): they are answered whatever follows them.
   */
  private abandon(pdu: Buffer): void {
    try {
      const id = decodeRequest(pdu).abandonId;
      const running = this.running;
      if (running && running.messageId === id) {
        if (running.abandonable) running.abandon();
        return;
      }
      const at = this.queue.findIndex((p) => p.env.messageId === id);
      if (at < 0) return;
      const { env, pdu: queued } = this.queue[at]!;
      if (!abandonable(env.op, () => decodeRequest(queued).requestName)) return;
      this.release(this.queue.splice(at, 1)[0]!.pdu.length);
    } catch {
      /* an unreadable abandon is ignored, as abandon itself has no response */
    }
  }

  private async drain(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const item = this.queue.shift()!;
        // The request keeps its bytes held until answered; a shorter queue may let reading go on.
        this.updateReading();
        try {
          await this.handle(item);
        } finally {
          this.release(item.pdu.length);
        }
        // A bind or a StartTLS changes the session's limits.
        if (!this.closed) this.updateIdleTimeout();
        this.updateReading();
        // Let other connections and protocols run between requests of a busy client (with nothing
        // more queued the loop ends here anyway: a client waiting for each answer costs no turn).
        if (this.queue.length > 0) await yieldToLoop();
      }
    } finally {
      this.processing = false;
    }
  }

  private async handle({ env, pdu }: Pending): Promise<void> {
    if (env.op === OP.bindRequest && env.bindAuthTag !== 0x80) {
      // SASL (0xa3) and anything else: not offered (RFC 4513 §5.2), and the session is anonymous.
      this.session.principal = { kind: 'anonymous' };
      this.session.boundDn = '';
      this.deps.audit.recordUnauthenticated({
        event_type: 'ldap_bind',
        service: 'ldap',
        success: false,
        client_ip: this.session.remoteAddress,
        initiated_by: { type: 'user', username: '' },
        username: '',
        tls: this.session.tls,
        mfa: false,
        error_message: 'authentication method not supported (SASL)',
      });
      return this.send(encodeResult(env.messageId, OP.bindResponse, { code: RESULT.authMethodNotSupported, message: 'only simple binds are supported' }));
    }
    const responseOp = RESPONSE_OF[env.op];
    if (responseOp === undefined) return this.disconnect(RESULT.protocolError, `unexpected operation 0x${env.op.toString(16)}`);
    if (UPDATE_OPERATIONS.has(env.op)) {
      // The directory is managed through Gatehouse (REST API, console), not LDAP writes.
      return this.send(encodeResult(env.messageId, responseOp, { code: RESULT.unwillingToPerform, message: 'the directory is read-only over LDAP' }));
    }

    // A uid or group lookup of a shape prepared before is answered from the user index, and a
    // search asked before with the bytes kept for it, both without decoding it. Prepared answers are
    // not kept: built from the index they cost ~25 µs more than kept bytes, and recording them (and
    // turning over the kept answers at a site too big to keep them all) cost more than it saved at
    // 100k users.
    const tree = this.tree();
    const shape = env.op === OP.searchRequest && this.session.principal.kind === 'user' ? searchShape(pdu, env) : null;
    const plan = shape ? planFor(tree, shape) : undefined;
    if (plan && shape) {
      try {
        const answering = answerPrepared(plan, shape.value, env.messageId, this.deps, this.session, tree, (b) => this.sendWhole(b));
        if (answering) return answering;
      } catch (err) {
        // Thrown before anything was sent (the answer is built before its one write): the search
        // runs the general way, as for a kept answer that failed.
        this.deps.log.error({ err: String(err), connection: this.session.id }, 'LDAP prepared answer failed');
      }
    }
    const keepAs = env.op === OP.searchRequest ? answerKey(pdu, env, this.session) : null;
    if (keepAs !== null) {
      try {
        if (await answerFromKept(env, keepAs, this.deps, this.session, (b) => this.sendWhole(b))) return;
      } catch (err) {
        // Thrown before the kept bytes were sent (after them, only the audit recorder runs, which
        // never throws): the search runs as if nothing had been kept.
        this.deps.log.error({ err: String(err), connection: this.session.id }, 'LDAP kept answer failed');
      }
    }

    let req: LdapRequest;
    try {
      req = decodeRequest(pdu);
    } catch (err) {
      if (err instanceof ControlValueError || err instanceof FilterRuleError) return this.send(encodeResult(env.messageId, responseOp, { code: RESULT.protocolError, message: err.message }));
      if (err instanceof NestingError && env.op === OP.searchRequest) {
        return this.send(encodeResult(env.messageId, responseOp, { code: RESULT.unwillingToPerform, message: 'filter too complex' }));
      }
      return this.disconnect(RESULT.protocolError, 'malformed request');
    }
    // RFC 4511 §4.1.11: a critical control the server does not apply to this operation means the
    // operation is not performed. (Non-critical ones are ignored, like slapd without that overlay.)
    const unsupported = req.controls.find((c) => c.criticality && !(SUPPORTED_CONTROLS[env.op] ?? []).includes(c.type));
    if (unsupported) {
      return this.send(encodeResult(env.messageId, responseOp, { code: RESULT.unavailableCriticalExtension, message: `unsupported critical control ${unsupported.type.slice(0, 64)}` }));
    }
    if (shape && plan === undefined) prepare(tree, translationContext(this.deps, tree), shape, req);

    let cancelled = false;
    let abandoned = false;
    const ctx: OperationContext = {
      deps: this.deps,
      tree,
      session: this.session,
      deadline: Date.now() + this.deps.config.operationTimeoutSeconds * 1000,
      send: (bytes) => (cancelled || abandoned ? Promise.resolve() : this.send(bytes)),
      abandoned: () => abandoned,
      cancelled: () => cancelled,
    };
    this.running = {
      messageId: env.messageId,
      abandonable: abandonable(env.op, () => req.requestName),
      abandon: () => {
        abandoned = true;
      },
    };
    const run = async () => {
      switch (env.op) {
        case OP.bindRequest:
          return bind(req, ctx);
        case OP.searchRequest:
          return search(req, ctx, keepAs);
        case OP.compareRequest:
          return compare(req, ctx);
        case OP.extendedRequest:
          return this.extended(req, ctx);
        default:
          // Update operations never get here (UPDATE_OPERATIONS, answered before decoding).
          return ctx.send(encodeResult(env.messageId, responseOp, { code: RESULT.unwillingToPerform, message: 'unsupported operation' }));
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.deps.config.operationTimeoutSeconds * 1000);
    });
    try {
      const r = await Promise.race([run(), timeout]);
      if (r === 'timeout' && !abandoned) {
        cancelled = true;
        const code = env.op === OP.searchRequest ? RESULT.timeLimitExceeded : RESULT.busy;
        await this.send(encodeResult(env.messageId, responseOp, { code, message: 'operation timed out' }));
      }
    } catch (err) {
      cancelled = true;
      if (err instanceof LdapError) {
        // An abandoned operation is not answered (RFC 4511 §4.11), whatever stopped it.
        if (!abandoned) await this.send(encodeResult(env.messageId, responseOp, { code: err.code, message: err.message, matchedDn: err.matchedDn }));
      } else if (isUnavailable(err)) {
        // RFC 4511 §4.1.9 unavailable: a subsystem the operation needs is offline (the store during a
        // database restart); clients such as sssd then try another server. Logged once a while.
        storeDown.hit((suppressed) => this.deps.log.warn({ err: err.message, suppressed }, 'LDAP operations fail: the directory store is unavailable'));
        if (!abandoned) await this.send(encodeResult(env.messageId, responseOp, { code: RESULT.unavailable, message: 'the directory is temporarily unavailable' }));
      } else {
        // One funnel for the unexpected: a generic answer on the wire, the cause in the log.
        this.deps.log.error({ err: String(err), stack: (err as Error)?.stack, connection: this.session.id, op: env.op }, 'LDAP operation failed');
        if (!abandoned) await this.send(encodeResult(env.messageId, responseOp, { code: RESULT.other, message: 'internal error' }));
      }
    } finally {
      clearTimeout(timer);
      this.running = undefined;
    }
  }

  private async extended(req: LdapRequest, ctx: OperationContext): Promise<void> {
    const name = req.requestName ?? '';
    if (name === EXTENSIONS.startTls) return this.startTls(req);
    const handler = EXTENDED_HANDLERS[name];
    // RFC 4511 §4.12: an unrecognised request name is a protocolError.
    if (!handler) return ctx.send(encodeExtendedResponse(req.messageId, { code: RESULT.protocolError, message: `unsupported extended operation ${name.slice(0, 64)}` }));
    return handler(req, ctx);
  }

  /** StartTLS (RFC 4511 §4.14): answer in the clear, then run TLS over the same socket. */
  private async startTls(req: LdapRequest): Promise<void> {
    const reply = (code: number, message = '') =>
      this.send(encodeExtendedResponse(req.messageId, { code, message, ...(code === RESULT.success ? { name: EXTENSIONS.startTls } : {}) }));
    // RFC 4511 §4.14.1: the StartTLS request has no requestValue.
    if (req.requestValue !== undefined && req.requestValue !== null) return reply(RESULT.protocolError, 'the StartTLS request takes no value');
    if (this.session.tls) return reply(RESULT.operationsError, 'TLS is already established');
    if (this.queue.length > 0 || this.framer.pendingBytes > 0) return reply(RESULT.operationsError, 'outstanding operations');
    // Nothing the peer sends in the clear from here on is an LDAP request (RFC 4511 §4.14.1; the
    // CVE-2011-0411 class): stop reading *before* the answer is written. Writing it may wait for a
    // peer that does not read; requests read meanwhile would run inside the TLS session, as if
    // sent over it (a man in the middle's plaintext bind, in spite of requireTls). What arrives now
    // stays unread and reaches the TLS layer as the start of its handshake, which then fails.
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.pause();
    await reply(RESULT.success);
    raw.removeAllListeners('timeout');
    raw.removeAllListeners('error');
    raw.removeAllListeners('close');
    raw.setTimeout(0);
    const secure = serverTlsSocket(raw, this.secureContext());
    raw.on('error', () => this.destroy());
    this.socket = secure;
    // The TLS socket reads the connection from now on, paused or not before (and StartTLS only
    // runs with nothing else queued).
    this.paused = false;
    this.budget.cancel(this.wake);
    this.session.tls = true;
    // A TLS session starts anonymous (RFC 4513 §3.1.1 lets the server keep it; keeping nothing is safest).
    this.session.principal = { kind: 'anonymous' };
    this.session.boundDn = '';
    this.attach(secure);
  }

  private corked = false;

  private async send(bytes: Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return;
    // Responses written in the same turn (a search's entries and its done message) leave in one
    // TCP write instead of one system call each.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      const s = this.socket;
      setImmediate(() => {
        this.corked = false;
        s.uncork();
      });
    }
    if (this.socket.write(bytes)) return;
    // Back-pressure: a slow reader does not make us buffer a whole result set in memory.
    await waitForDrain(this.socket);
  }

  /**
   * A whole answer in one buffer (kept or prepared): written at once, as there is nothing of it to
   * gather (written while corked, it joins what was gathered, in order).
   */
  private async sendWhole(bytes: Buffer): Promise<void> {
    if (this.closed || this.socket.destroyed) return;
    if (this.socket.write(bytes)) return;
    await waitForDrain(this.socket);
  }

  /** Notice of Disconnection (RFC 4511 §4.4.1), then close. */
  disconnect(code: number, message: string): void {
    if (this.closed) return;
    try {
      this.socket.end(encodeNoticeOfDisconnection(code, message));
    } catch {
      /* the socket may already be gone */
    }
    this.closed = true;
    this.forget();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.onClose();
  }

  /** Drops what a closed connection holds, returning its bytes to the budget. */
  private forget(): void {
    clearTimeout(this.partialTimer);
    this.queue.length = 0;
    this.release(this.held);
    this.budget.cancel(this.wake);
  }

  destroy(): void {
    if (!this.closed) {
      this.closed = true;
      this.forget();
      this.onClose();
    }
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
