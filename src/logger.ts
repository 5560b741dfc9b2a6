import pino, { type Logger } from 'pino';

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
    },
    destination,
  );
}
