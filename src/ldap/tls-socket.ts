import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';

/**
 * The server side of TLS over an accepted TCP connection (LDAPS, and StartTLS, RFC 4511 §4.14).
 *
 * Node reports a fatal TLS error after the handshake (a forged or corrupted record, plaintext sent
 * under TLS) on a socket wrapped by hand only through the internal `_tlsError` event: the public
 * 'error' is emitted only for sockets a tls.Server has released. OpenSSL has already sent its fatal
 * alert then, and the connection is over (RFC 8446 §6.2), so it is closed at once instead of being
 * held until the idle timeout. (test/integration/ldap/hostile.test.ts checks this still works.)
 */
export function serverTlsSocket(raw: Socket, secureContext: SecureContext): TLSSocket {
  const secure = new TLSSocket(raw, { isServer: true, secureContext });
  secure.on('_tlsError', () => secure.destroy());
  return secure;
}
