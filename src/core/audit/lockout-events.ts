import type { AuditInput, AuditResource } from './event.js';

/**
 * The events of the lockout policy, the same whoever is locked (a user at any protocol, an admin
 * at the console): the system acts, the account is the resource.
 */
export function lockoutEvent(resource: AuditResource, clientIp: string, failedAttempts: number): AuditInput {
  return {
    event_type: 'user_lockout',
    service: 'directory',
    success: true,
    client_ip: clientIp,
    initiated_by: { type: 'system' },
    resource,
    failed_attempts: failedAttempts,
  };
}

/** A timed lock that has run out, cleared by the next attempt. */
export function lockExpiredEvent(resource: AuditResource, clientIp: string): AuditInput {
  return {
    event_type: 'user_unlocked',
    service: 'directory',
    success: true,
    client_ip: clientIp,
    initiated_by: { type: 'system' },
    resource,
    reason: 'lockout time elapsed',
  };
}
