/** LDAP result codes used by Gatehouse (RFC 4511 Appendix A). */
export const RESULT = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  authMethodNotSupported: 7,
  unavailableCriticalExtension: 12,
  confidentialityRequired: 13,
  noSuchAttribute: 16,
  constraintViolation: 19,
  noSuchObject: 32,
  invalidDnSyntax: 34,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  adminLimitExceeded: 11,
  other: 80,
  /** RFC 3909. Only in the audit trail, for a search the client abandoned (the wire gets nothing). */
  canceled: 118,
} as const;

export type ResultCode = (typeof RESULT)[keyof typeof RESULT];

/** Thrown inside an operation to end it with a result code; anything else becomes `other`. */
export class LdapError extends Error {
  constructor(
    readonly code: ResultCode,
    message = '',
    readonly matchedDn = '',
  ) {
    super(message);
    this.name = 'LdapError';
  }
}
