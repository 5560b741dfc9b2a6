import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import type { Core } from '../core/index.js';
import type { Logger } from '../core/ports.js';
import { createAccessRequestHandler, type AccessRequestOptions } from './access-request.js';
import { createAccountingHandler, hasStatusType } from './accounting.js';
import { createClientTable } from './clients.js';
import { createDiscardLog, type DiscardReason } from './discard-log.js';
import { createDuplicateCache, duplicateKey } from './duplicate-cache.js';
import { unmapAddress } from '../util/ip-block.js';
import { Attr, Code, attribute, encodeReply, parsePacket, verifyAccountingAuthenticator, verifyMessageAuthenticator } from './packet.js';
import { proxyStates, type RequestContext } from './request-context.js';
import { OldestFirst } from '../util/oldest-first.js';
import { isUnavailable } from '../core/errors.js';
import { createLogThrottle } from '../util/log-throttle.js';

/** How many NAS addresses the listener remembers as signing (see signingClients). */
const MAX_LEARNT_SIGNING_CLIENTS = 100_000;

/** The RADIUS slice of the configuration, as the appliance hands it over. */
export interface RadiusOptions extends AccessRequestOptions {
  bindAddress: string;
  port: number;
  accountingPort: number;
  duplicateCacheSeconds: number;
  duplicateCacheMaxEntries: number;
  clientRefreshSeconds: number;
  /** Requests being processed at once; more are dropped (the NAS retransmits) rather than queued without bound. */
  maxInFlight: number;
  accountingInterimAuditSeconds: number;
}

export interface RadiusListenerDeps {
  core: Pick<Core, 'auth' | 'audit' | 'radiusReply' | 'radiusServers'>;
  log: Logger;
  options: RadiusOptions;
}

export interface RadiusStats {
  received: number;
  accept: number;
  reject: number;
  challenge: number;
  accountingResponse: number;
  statusServer: number;
  duplicatesAnswered: number;
  duplicatesDropped: number;
  errors: number;
  inFlight: number;
  discarded: Record<string, number>;
}

export interface RadiusListener {
  start(): Promise<{ port: number; accountingPort: number }>;
  stop(): Promise<void>;
  stats(): RadiusStats;
  /** Reloads the client table now (tests, and after restoring a backup). */
  refreshClients(): Promise<void>;
}

type Port = 'auth' | 'acct';

/**
 * The UDP listeners: authentication (RFC 2865) and accounting (RFC 2866). Each datagram goes through
 * the same gate before anything else: structure, known client, then Message-Authenticator (or the
 * accounting Request Authenticator) in constant time. What fails the gate is silently discarded
 * (RFC 2865 §3, RFC 3579 §3.2), counted and logged rate-limited; it touches no state. Only then is the
 * duplicate cache (RFC 5080 §2.2.2) consulted and the request processed.
 */
export function createRadiusListener(d: RadiusListenerDeps): RadiusListener {
  const { core, log, options } = d;
  const clients = createClientTable(core.radiusServers, log, options.clientRefreshSeconds);
  const discards = createDiscardLog(log);
  const dup = createDuplicateCache(options.duplicateCacheSeconds * 1000, options.duplicateCacheMaxEntries);
  const handleAccess = createAccessRequestHandler({ core, log, options });
  const handleAccounting = createAccountingHandler({ core, interimAuditSeconds: options.accountingInterimAuditSeconds });
  const sockets: dgram.Socket[] = [];
  const storeDown = createLogThrottle(10_000);
  const counters = { received: 0, accept: 0, reject: 0, challenge: 0, accountingResponse: 0, statusServer: 0, duplicatesAnswered: 0, duplicatesDropped: 0, errors: 0 };
  let inFlight = 0;
  let idle: (() => void) | null = null;
  /**
   * Addresses of NASes not required to sign (legacy gear) that have sent a valid
   * Message-Authenticator on a non-EAP Access-Request since this process started. Learning is per
   * process: another instance learns on its own, and a restart forgets (a NAS that signs once will
   * sign again). Bounded, oldest forgotten first, as only known clients' packets get here.
   */
  const signingClients = new Map<string, true>();
  const signingClientsOldest = new OldestFirst(signingClients);

  const send = (socket: dgram.Socket, reply: Buffer, port: number, address: string) => {
    socket.send(reply, port, address, (err) => {
      if (err) log.debug({ err: String(err), address }, 'RADIUS reply not sent');
    });
  };

  /** Status-Server (RFC 5997 §3): needs a valid Message-Authenticator; answered without any state. */
  const statusReply = (ctx: RequestContext, kind: Port): Buffer | null =>
    encodeReply({
      code: kind === 'auth' ? Code.AccessAccept : Code.AccountingResponse,
      identifier: ctx.packet.identifier,
      requestAuthenticator: ctx.packet.authenticator,
      attributes: Buffer.alloc(0),
      proxyStates: proxyStates(ctx.packet),
      secret: ctx.client.secret,
      messageAuthenticator: true,
    });

  /** The gate: returns a request context, or the reason to discard. Never throws on input. */
  const admit = (kind: Port, msg: Buffer, address: string, port: number): RequestContext | DiscardReason => {
    const packet = parsePacket(msg);
    if (typeof packet === 'string') return packet;
    const client = clients.lookup(address);
    if (!client) return 'unknown_client';
    const ctx: RequestContext = { packet, client, address, port };
    const hasMa = packet.messageAuthenticatorOffset >= 0;
    switch (packet.code) {
      case Code.AccessRequest:
        if (kind !== 'auth') return 'unexpected_code';
        if (!hasMa) {
          // RFC 3579 §3.2: an EAP-Message without Message-Authenticator is always discarded.
          if (client.server.requireMessageAuthenticator || attribute(packet, Attr.EapMessage)) return 'missing_message_authenticator';
          // Legacy gear, as FreeRADIUS 3.2.5+ treats it (require_message_authenticator = auto): once
          // a NAS has signed an Access-Request it can, so unsigned ones from it are forgeries.
          if (signingClients.has(address)) return 'missing_message_authenticator';
          // limit_proxy_state: the BlastRADIUS forgery (CVE-2024-3596) hides its MD5 collision in a
          // Proxy-State, which a NAS never sends; only a proxy does, and a proxy signs.
          if (attribute(packet, Attr.ProxyState)) return 'proxy_state_without_message_authenticator';
          return ctx;
        }
        if (!verifyMessageAuthenticator(packet, client.secret)) return 'bad_message_authenticator';
        // Learnt per NAS address (a client record may cover a whole network of NASes), and not from
        // EAP, which must be signed anyway (RFC 3579 §3.2): a NAS that signs only its 802.1X
        // traffic must keep its PAP logins.
        if (!client.server.requireMessageAuthenticator && !signingClients.has(address) && !attribute(packet, Attr.EapMessage)) {
          signingClients.set(address, true);
          signingClientsOldest.trim(MAX_LEARNT_SIGNING_CLIENTS);
          log.warn({ radiusServer: client.server.id, address }, 'RADIUS client signs its Access-Requests: unsigned ones from it are now discarded');
        }
        return ctx;
      case Code.StatusServer:
        if (!hasMa) return 'missing_message_authenticator';
        return verifyMessageAuthenticator(packet, client.secret) ? ctx : 'bad_message_authenticator';
      case Code.AccountingRequest:
        if (kind !== 'acct') return 'unexpected_code';
        if (!verifyAccountingAuthenticator(packet, client.secret)) return 'bad_request_authenticator';
        if (hasMa && !verifyMessageAuthenticator(packet, client.secret, true)) return 'bad_message_authenticator';
        return hasStatusType(packet) ? ctx : 'no_acct_status_type';
      default:
        return 'unexpected_code';
    }
  };

  const onMessage = (kind: Port, socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo) => {
    counters.received++;
    const address = unmapAddress(rinfo.address);
    const ctx = admit(kind, msg, address, rinfo.port);
    if (typeof ctx === 'string') {
      discards.discard(address, ctx);
      return;
    }
    if (ctx.packet.code === Code.StatusServer) {
      const r = statusReply(ctx, kind);
      if (r) {
        counters.statusServer++;
        send(socket, r, rinfo.port, rinfo.address);
      }
      return;
    }
    const key = duplicateKey(kind, address, rinfo.port, ctx.packet.identifier, ctx.packet.authenticator);
    const seen = dup.begin(key);
    if (seen.status === 'in_progress') {
      counters.duplicatesDropped++;
      return;
    }
    if (seen.status === 'answered') {
      counters.duplicatesAnswered++;
      if (seen.reply) send(socket, seen.reply, rinfo.port, rinfo.address);
      return;
    }
    if (inFlight >= options.maxInFlight) {
      dup.abort(key);
      discards.discard(address, 'overloaded');
      return;
    }
    inFlight++;
    const work =
      kind === 'acct'
        ? Promise.resolve().then(() => {
            const r = handleAccounting(ctx);
            if (r) counters.accountingResponse++;
            return r;
          })
        : handleAccess(ctx).then((r) => {
            counters[r.kind]++;
            return r.reply;
          });
    work
      .then((reply) => {
        dup.finish(key, reply);
        if (reply) send(socket, reply, rinfo.port, rinfo.address);
      })
      .catch((err: unknown) => {
        // Nothing is sent: the NAS retransmits and the request is processed afresh.
        counters.errors++;
        dup.abort(key);
        if (isUnavailable(err)) {
          // The store is down (a database restart): every request fails alike; one line a while.
          storeDown.hit((suppressed) => log.warn({ err: err.message, suppressed }, 'RADIUS requests dropped: the directory store is unavailable'));
        } else {
          log.error({ err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err), source: address }, 'RADIUS request failed');
        }
      })
      .finally(() => {
        inFlight--;
        if (inFlight === 0 && idle) idle();
      });
  };

  /**
   * The sockets' address lookup. A reply always goes to its request's source, an IP literal, which
   * dns.lookup hands back only on the next tick: a nextTick and a callback per reply, ~3% of the
   * event loop under radclient load. A literal is answered at once.
   */
  const lookup: NonNullable<dgram.SocketOptions['lookup']> = (hostname, family, callback) => {
    const literal = isIP(hostname);
    if (literal) callback(null, hostname, literal);
    else dns.lookup(hostname, family, callback);
  };

  const open = (kind: Port, port: number): Promise<dgram.Socket> => {
    const host = options.bindAddress;
    // 0.0.0.0 or ::: one dual-stack IPv6 socket serves IPv4 (as mapped addresses) and IPv6.
    const dual = host === '0.0.0.0' || host === '::';
    const attempt = (type: 'udp4' | 'udp6', address: string) =>
      new Promise<dgram.Socket>((resolve, reject) => {
        const s = dgram.createSocket({ type, ipv6Only: false, reuseAddr: false, lookup });
        const onError = (err: Error) => {
          s.close();
          reject(err);
        };
        s.once('error', onError);
        s.bind({ port, address, exclusive: true }, () => {
          s.off('error', onError);
          s.on('error', (err) => log.error({ err: String(err), endpoint: `radius-${kind}` }, 'RADIUS socket error'));
          s.on('message', (msg, rinfo) => {
            try {
              onMessage(kind, s, msg, rinfo);
            } catch (err) {
              // Nothing from the network may stop the listener (security.md, 1).
              counters.errors++;
              log.error({ err: String(err) }, 'RADIUS datagram handler failed');
            }
          });
          try {
            // Room for bursts; the kernel caps it at net.core.rmem_max.
            s.setRecvBufferSize(4 * 1024 * 1024);
          } catch {
            /* keep the default */
          }
          resolve(s);
        });
      });
    if (dual) {
      return attempt('udp6', '::').catch((err: NodeJS.ErrnoException) => {
        if (host !== '0.0.0.0' || (err.code !== 'EAFNOSUPPORT' && err.code !== 'EADDRNOTAVAIL')) throw err;
        log.warn({ endpoint: `radius-${kind}` }, 'IPv6 unavailable; RADIUS listens on IPv4 only');
        return attempt('udp4', '0.0.0.0');
      });
    }
    return attempt(isIPv6(host) ? 'udp6' : 'udp4', host);
  };

  return {
    async start() {
      await clients.start();
      const auth = await open('auth', options.port);
      sockets.push(auth);
      const acct = await open('acct', options.accountingPort);
      sockets.push(acct);
      const port = auth.address().port;
      const accountingPort = acct.address().port;
      log.info(
        { endpoint: 'radius', address: options.bindAddress, port, accountingPort, clients: clients.size },
        `RADIUS listening on ${options.bindAddress} UDP ${port} (authentication) and ${accountingPort} (accounting)`,
      );
      return { port, accountingPort };
    },
    async stop() {
      for (const s of sockets.splice(0)) await new Promise<void>((r) => s.close(() => r()));
      clients.stop();
      discards.stop();
      if (inFlight > 0) {
        // Let answers in progress reach the store before core closes; bounded.
        await Promise.race([new Promise<void>((r) => (idle = r)), new Promise<void>((r) => setTimeout(r, 5000).unref())]);
      }
    },
    stats() {
      return { ...counters, inFlight, discarded: discards.counts() };
    },
    refreshClients: () => clients.refresh(),
  };
}
