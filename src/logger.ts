import pino, { type Logger } from 'pino';

/** The fields of a request (Fastify's, or as its serializer shows it) that a log line keeps. */
interface LoggedRequest {
  method?: string;
  url?: unknown;
  host?: string;
  ip?: string;
  remoteAddress?: string;
  remotePort?: number;
  socket?: { remoteAddress?: string; remotePort?: number };
}

/** JSON logs (pino). Header and field names that can carry secrets are redacted wherever they appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      redact: {
        paths: [
          'req.headers["x-api-key"]',
          'req.headers.authorization',
          'req.headers.cookie',
          'password',
          '*.password',
          'secret',
          '*.secret',
          'sharedSecret',
          '*.sharedSecret',
        ],
        censor: '[redacted]',
      },
      formatters: {
        // Request URLs are logged (Fastify's "incoming request"); their query strings can carry
        // secrets: the token of an activation or reset link (/account/set-password?token=…), a
        // key sent where it does not belong (?x-api-key=…), a SAMLRequest. Only the path is kept.
        log(object: Record<string, unknown>) {
          const req = object.req as LoggedRequest | undefined;
          if (req && typeof req.url === 'string' && req.url.includes('?')) {
            // What Fastify's request serializer shows, from the request or its serialized form.
            object.req = {
              method: req.method,
              url: `${req.url.slice(0, req.url.indexOf('?'))}?[redacted]`,
              host: req.host,
              remoteAddress: req.ip ?? req.remoteAddress ?? req.socket?.remoteAddress,
              remotePort: req.socket?.remotePort ?? req.remotePort,
            };
          }
          return object;
        },
      },
    },
    destination,
  );
}
