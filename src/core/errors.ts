/**
 * The kinds of broken precondition that core reports. Adapters map them to their wire
 * (HTTP status, LDAP result code); core never picks one.
 */
export type DomainErrorKind = 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'unavailable';

/** A broken precondition with a stable `code` (e.g. `directory.user_not_found`) and, for bad input, the field. */
export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalid = (field: string, message: string, code = 'validation.invalid_field') =>
  new DomainError('invalid', code, message, field);

export const notFound = (what: string, id: string) =>
  new DomainError('not_found', `directory.${what.replace(/ /g, '_')}_not_found`, `${what} ${id} not found`);

export const conflict = (field: string, message: string) =>
  new DomainError('conflict', 'directory.conflict', message, field);

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}

/** The store cannot be reached (a database restart): every adapter answers as its protocol says a subsystem is down. */
export const storeUnavailable = () => new DomainError('unavailable', 'store.unavailable', 'the directory store is unavailable');

export function isUnavailable(e: unknown): e is DomainError {
  return e instanceof DomainError && e.kind === 'unavailable';
}
