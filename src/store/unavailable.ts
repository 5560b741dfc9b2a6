import { ConnectionError, TimeoutError } from 'sequelize';
import { DomainError, storeUnavailable } from '../core/errors.js';

/**
 * PostgreSQL error classes that mean the database cannot be reached or is going away (appendix A:
 * 08 connection exception; 57P01–57P03 admin shutdown, crash shutdown, cannot connect now), as a
 * restart of the database server produces for a few seconds.
 */
const UNREACHABLE = /^(08|57P0[1-3])/;

/**
 * The store's "cannot reach the database" errors as one DomainError ('unavailable'), so that every
 * adapter answers as its protocol says for a subsystem that is down (HTTP 503, LDAP unavailable,
 * RADIUS no reply) instead of an internal error; anything else is returned unchanged.
 */
export function unavailableOr(err: unknown): unknown {
  if (err instanceof DomainError) return err;
  const code = (err as { parent?: { code?: unknown }; code?: unknown } | null)?.parent?.code ?? (err as { code?: unknown } | null)?.code;
  if (err instanceof ConnectionError || err instanceof TimeoutError || (typeof code === 'string' && UNREACHABLE.test(code))) {
    return storeUnavailable();
  }
  return err;
}
