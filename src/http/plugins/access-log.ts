import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** Longest URL path and Host header a log line keeps (both are the client's, unbounded otherwise). */
const MAX_LOGGED = 256;
const cut = (v: unknown): string | undefined => (typeof v === 'string' ? (v.length > MAX_LOGGED ? `${v.slice(0, MAX_LOGGED)}…[${v.length} chars]` : v) : undefined);

/**
 * Fastify's request log lines, as the appliance writes them: one line per request, when it ends,
 * at debug level (`GATEHOUSE_LOG_LEVEL=debug` turns it into an access log), with the path and the
 * Host header cut to 256 characters and the query string never shown. Fastify's own wrote two info lines per request with whatever Host and path the client
 * sent: a black-box probe wrote 40–56 MB of log per second with 16 KB Host headers on /health, and
 * 1–3 MB/s with ordinary requests, with no sign-in needed.
 */
export class AccessLog extends LogController {
  constructor() {
    super({});
  }

  override incomingRequest(): void {
    // One line per request, at its end (requestCompleted).
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Nothing is built for a line that will not be written (every request of an SSO round trip).
    if (!error && reply.log.level !== 'debug' && reply.log.level !== 'trace') return;
    const line = {
      req: { method: request.method, url: cut(request.url.split('?')[0]), host: cut(request.host), remoteAddress: request.ip },
      res: { statusCode: reply.statusCode },
      responseTime: reply.elapsedTime,
    };
    // A 5xx is logged where it arises, with its cause (and store outages once a while, see
    // logUnavailable); a line per response here would undo that throttle.
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.debug(line, 'request completed');
  }

  override routeNotFound(): void {
    // The 404 handler answers; requestCompleted logs it at debug.
  }
}
