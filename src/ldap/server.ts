import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ConnectionCaps } from '../util/connection-caps.js';
import { encodeNoticeOfDisconnection } from './codec.js';
import { LdapConnection, QueuedBytesBudget } from './connection.js';
import type { LdapDeps } from './context.js';
import { RESULT } from './result-codes.js';
import { serverTlsSocket } from './tls-socket.js';
import { createTree, type Tree } from './tree.js';

const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface LdapListenOptions {
  host: string;
  port: number;
  ldapsPort: number;
  tls: { keyPem: string; certPem: string };
}

/** What the LDAP server holds in memory from its clients (for tests and health). */
export interface LdapServerStats {
  connections: number;
  /** Bytes of received requests queued or being answered, all connections together. */
  queuedBytes: number;
  /** The most `queuedBytes` has ever been. */
  peakQueuedBytes: number;
  /** Bytes received of PDUs not yet complete. */
  partialBytes: number;
  /** Connections not being read from (back-pressure). */
  pausedConnections: number;
}

export interface LdapServer {
  start(): Promise<{ port: number; ldapsPort: number }>;
  stop(): Promise<void>;
  /** Open connections (for tests and health). */
  readonly connections: number;
  stats(): LdapServerStats;
  /**
   * Serves a new key and certificate to connections that start TLS from now on (LDAPS handshakes
   * and StartTLS); sessions already in TLS keep theirs. Throws, keeping the old pair, when Node
   * refuses the pair.
   */
  setCertificate(tls: { keyPem: string; certPem: string }): void;
}

/**
 * The LDAP endpoint: plain LDAP with StartTLS and LDAPS, both served by LdapConnection. Connection
 * caps (total and per client address) are enforced before any byte is read.
 */
export function createLdapServer(deps: LdapDeps, o: LdapListenOptions): LdapServer {
  const contextOf = (tls: { keyPem: string; certPem: string }) => createSecureContext({ key: tls.keyPem, cert: tls.certPem, minVersion: 'TLSv1.2' });
  let secureContext: SecureContext = contextOf(o.tls);
  const currentContext = () => secureContext;
  const open = new Set<LdapConnection>();
  /** LDAPS connections still in their handshake; they count against the caps too. */
  const pendingTls = new Set<Socket>();
  const caps = new ConnectionCaps(deps.config);
  const budget = new QueuedBytesBudget(deps.config.maxQueuedBytesTotal);
  let tree: Tree | null = null;
  const currentTree = () => {
    if (!tree) throw new Error('LDAP tree not initialised');
    return tree;
  };

  const accept = (socket: Socket, tls: boolean) => {
    const admitted = caps.admit(socket.remoteAddress ?? '');
    if (admitted.over) {
      socket.on('error', () => undefined);
      socket.end(encodeNoticeOfDisconnection(RESULT.unavailable, 'too many connections'));
      setTimeout(() => socket.destroy(), 500).unref();
      return;
    }
    const release = () => {
      admitted.release();
      if (conn) open.delete(conn);
      pendingTls.delete(socket);
    };
    let conn: LdapConnection | null = null;
    if (!tls) {
      conn = new LdapConnection(socket, deps, currentTree, currentContext, false, release, budget);
      open.add(conn);
      return;
    }
    pendingTls.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', release);
    const secureSocket = serverTlsSocket(socket, secureContext);
    const timer = setTimeout(() => secureSocket.destroy(), HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    secureSocket.on('error', () => secureSocket.destroy());
    secureSocket.once('secure', () => {
      clearTimeout(timer);
      pendingTls.delete(socket);
      conn = new LdapConnection(secureSocket, deps, currentTree, currentContext, true, release, budget);
      open.add(conn);
    });
  };

  const plain: Server = createServer({ noDelay: true }, (s) => accept(s, false));
  // LDAPS: the connection caps apply to the TCP connection, before any TLS work is spent on it, and
  // a handshake that does not complete in time is dropped.
  const secure: Server = createServer({ noDelay: true }, (raw) => accept(raw, true));
  for (const srv of [plain, secure]) srv.on('error', (err) => deps.log.error({ err: String(err) }, 'LDAP listener error'));

  const listen = (srv: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ port, host: o.host }, () => {
        srv.off('error', reject);
        resolve((srv.address() as AddressInfo).port);
      });
    });

  return {
    async start() {
      const org = await deps.organization();
      tree = createTree(org.id, deps.config.suffix);
      const port = await listen(plain, o.port);
      const ldapsPort = await listen(secure, o.ldapsPort);
      deps.log.info({ endpoint: 'ldap', port, ldapsPort, namingContext: tree.namingContext }, `LDAP listening on ${o.host}:${port} (StartTLS), LDAPS on ${o.host}:${ldapsPort}`);
      return { port, ldapsPort };
    },
    async stop() {
      const closing = [plain, secure].map((srv) => new Promise<void>((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve())));
      for (const c of open) c.destroy();
      for (const s of pendingTls) s.destroy();
      await Promise.all(closing);
    },
    get connections() {
      return open.size;
    },
    setCertificate(tls) {
      secureContext = contextOf(tls);
    },
    stats() {
      let partialBytes = 0;
      let pausedConnections = 0;
      for (const c of open) {
        partialBytes += c.partialBytes;
        if (c.readingPaused) pausedConnections++;
      }
      return { connections: open.size, queuedBytes: budget.bytes, peakQueuedBytes: budget.peakBytes, partialBytes, pausedConnections };
    },
  };
}
