/**
 * Audit events, shaped like JumpCloud Directory Insights events (see shared/reference) so that SIEM
 * parsers written for JumpCloud ingest Gatehouse's unchanged.
 */

export type AuditEventType =
  | 'ldap_bind'
  | 'ldap_search'
  | 'radius_auth_attempt'
  | 'radius_accounting'
  | 'sso_auth'
  | 'sso_logout'
  | 'user_login_attempt'
  | 'admin_login_attempt'
  | 'user_lockout'
  | 'user_unlocked'
  | 'user_create'
  | 'user_update'
  | 'user_delete'
  | 'user_password_change'
  | 'user_mfa_reset'
  | 'user_totp_enrolled'
  | 'group_create'
  | 'group_update'
  | 'group_delete'
  | 'association_change'
  | 'organization_update'
  | 'system_create'
  | 'system_update'
  | 'system_delete'
  | 'ldapserver_update'
  | 'radiusserver_create'
  | 'radiusserver_update'
  | 'radiusserver_delete'
  | 'application_create'
  | 'application_update'
  | 'application_delete'
  | 'admin_create'
  | 'admin_update'
  | 'admin_delete'
  | 'api_key_create'
  | 'api_key_delete';

export type AuditService = 'directory' | 'ldap' | 'radius' | 'sso' | 'systems';
export const AUDIT_SERVICES: readonly AuditService[] = ['directory', 'ldap', 'radius', 'sso', 'systems'];

/** Who did it. Users appear by username, admins by email (JumpCloud's shape). */
export interface AuditActor {
  id?: string;
  type: 'user' | 'admin' | 'api_key' | 'system';
  username?: string;
  email?: string;
  name?: string;
}

/** What it was done to. */
export interface AuditResource {
  id: string;
  type: string;
  username?: string;
  email?: string;
  name?: string;
}

export interface AuditChange {
  field: string;
  from: unknown;
  to: unknown;
}

/** An event as the caller describes it; id, timestamp and organization are added by the recorder. */
export interface AuditInput {
  event_type: AuditEventType;
  service: AuditService;
  success: boolean;
  client_ip?: string;
  initiated_by: AuditActor;
  resource?: AuditResource;
  error_message?: string;
  mfa?: boolean;
  auth_method?: string;
  changes?: AuditChange[];
  /** Protocol fields (dn, filter, number_of_results, nas_ip, auth_type, application, …). */
  [extra: string]: unknown;
}

export interface AuditEvent extends AuditInput {
  id: string;
  timestamp: string;
  organization: string;
}

/**
 * The code of the DomainError ('invalid') with which AuditRepository.append answers rows the store
 * refuses themselves (a constraint or data error): the same rows would be refused at every retry.
 */
export const AUDIT_REFUSED = 'audit.refused';

/** Event fields that queries can match exactly; the store indexes them as columns. */
export const AUDIT_FIELDS = [
  'id',
  'event_type',
  'service',
  'success',
  'client_ip',
  'username',
  'initiated_by.id',
  'initiated_by.type',
  'initiated_by.username',
  'initiated_by.email',
  'resource.id',
  'resource.type',
  'resource.username',
  'resource.name',
] as const;
export type AuditField = (typeof AUDIT_FIELDS)[number];

export interface AuditQuery {
  services: AuditService[] | 'all';
  startTime: Date;
  endTime: Date;
  limit: number;
  skip: number;
  /** Free text, matched case-insensitively against the whole event. */
  searchText?: string;
  /** Field equality on indexed fields (AUDIT_FIELDS), all (`and`) or any (`or`) must hold. */
  match?: { mode: 'and' | 'or'; terms: { path: AuditField; value: string | number | boolean }[] };
  ascending?: boolean;
}

/** The field-level difference between two plain records, for `changes` (secrets are never passed in). */
export function diffFields(before: Record<string, unknown>, after: Record<string, unknown>): AuditChange[] {
  const changes: AuditChange[] = [];
  for (const field of Object.keys(after)) {
    const from = before[field];
    const to = after[field];
    if (JSON.stringify(from) !== JSON.stringify(to)) changes.push({ field, from: from ?? null, to: to ?? null });
  }
  return changes;
}
