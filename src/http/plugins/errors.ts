import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError, isUnavailable, type DomainErrorKind } from '../../core/errors.js';
import { createLogThrottle } from '../../util/log-throttle.js';

/** JumpCloud-style error statuses (google.rpc codes), by HTTP status. */
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'ALREADY_EXISTS',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const KIND_STATUS: Record<DomainErrorKind, number> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  forbidden: 403,
  unavailable: 503,
};

export interface ErrorBody {
  code: number;
  message: string;
  status: string;
  field?: string;
}

export function errorBody(code: number, message: string, field?: string): ErrorBody {
  return { code, message, status: STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT'), ...(field ? { field } : {}) };
}

export function sendError(reply: FastifyReply, code: number, message: string, field?: string) {
  return reply.code(code).type('application/json; charset=utf-8').send(errorBody(code, message, field));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** One per HTTP endpoint, shared by its API, console, portal and set-password pages (see logUnavailable). */
    storeDownLog: ReturnType<typeof createLogThrottle>;
  }
}

/**
 * Logs a request that failed because a subsystem is unavailable (the store, mostly): the first at
 * once, then one line per 10 s with the number of requests it stands for. While the store is down
 * (a database restart) every request fails alike, and each logged its own error: ~1,200 lines in
 * seconds.
 */
export function logUnavailable(req: FastifyRequest, err: Error): void {
  req.server.storeDownLog.hit((suppressed) => req.log.warn({ err: err.message, suppressed }, 'HTTP requests fail: the directory store is unavailable'));
}

/** `body/mfa/exclusion` or `/mfa/exclusion` → `mfa.exclusion`. */
function fieldOf(err: FastifyError): string | undefined {
  const v = err.validation?.[0];
  if (!v) return undefined;
  const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
  const path = v.instancePath.replace(/^\//, '').split('/').filter(Boolean);
  if (missing) path.push(missing);
  return path.join('.') || undefined;
}

/**
 * The HTTP adapter's one error funnel: domain errors and request validation become 4xx JSON
 * naming the field; anything unexpected becomes a generic 500 whose cause goes to the log only.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.decorate('storeDownLog', createLogThrottle(10_000));
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (isDomainError(err)) {
      const code = KIND_STATUS[err.kind];
      if (isUnavailable(err)) logUnavailable(req, err);
      const message = err.field && !err.message.startsWith(err.field) ? `${err.field}: ${err.message}` : err.message;
      return sendError(reply, code, message, err.field);
    }
    if (err.validation) {
      const field = fieldOf(err);
      const detail = err.validation[0]?.message ?? 'is invalid';
      const where = err.validationContext === 'querystring' ? 'query parameter ' : err.validationContext === 'params' ? 'path parameter ' : '';
      return sendError(reply, 400, field ? `${where}${field}: ${detail}` : `request ${err.validationContext ?? ''}: ${detail}`.trim(), field);
    }
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, body too large, unsupported media type) name no secrets.
      return sendError(reply, status, err.message.replace(/^Body cannot be empty.*$/, 'request body is required'));
    }
    req.log.error({ err }, 'unhandled error');
    return sendError(reply, 500, 'internal error');
  });

  app.setNotFoundHandler((req, reply) => sendError(reply, 404, `no route ${req.method} ${req.url.split('?')[0]}`));
}
