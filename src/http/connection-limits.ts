import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { ConnectionCaps, type ConnectionLimits } from '../util/connection-caps.js';

export interface HttpConnectionLimits extends ConnectionLimits {
  /** Called for each refused connection (rate-limited logging is the caller's). */
  onRefused?: (reason: 'total' | 'per_ip', address: string) => void;
}

const BODY = JSON.stringify({ error: 'Service Unavailable', message: 'too many connections; try again later', statusCode: 503 });
/**
 * What a refused connection is told before it is closed: a 503 with the API's JSON error shape and
 * `Connection: close`, as nginx's limit_conn does. Written before the client's request is read,
 * which HTTP/1.1 clients accept (RFC 9112 §9.6: a server may close after a response at any time).
 */
const REFUSAL = Buffer.from(
  `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\n` +
    `Retry-After: 5\r\nConnection: close\r\n\r\n${BODY}`,
);
/** How long a refused connection may take to read its 503 before it is destroyed. */
const REFUSAL_LINGER_MS = 500;

/**
 * Caps the connections of the HTTP listener, in all and per client address (security.md: every
 * listener has connection caps). The console, portal and SAML share the process with LDAP and
 * RADIUS: without a cap, a flood of idle or slow HTTP connections would take file descriptors and
 * memory from every protocol. A refused connection is answered 503 and closed without its request
 * being read or reaching a route.
 */
export function limitConnections(server: Server, o: HttpConnectionLimits): { readonly open: number } {
  const caps = new ConnectionCaps(o);
  // Node's own 'connection' listener attaches the HTTP parser, and a socket it has seen will be read
  // (its 'data' listener resumes the socket on the next tick, whatever was paused here): refused
  // connections must never reach it. So the listeners present now (Node's) are taken off the
  // event and called only for accepted sockets; a refused one gets no parser at all.
  const nodeListeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const admitted = caps.admit(socket.remoteAddress ?? '');
    if (admitted.over) {
      socket.pause();
      socket.on('error', () => socket.destroy());
      socket.end(REFUSAL);
      setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
      o.onRefused?.(admitted.over, admitted.key);
      return;
    }
    socket.once('close', admitted.release);
    for (const listener of nodeListeners) listener.call(server, socket);
  });
  return caps;
}
