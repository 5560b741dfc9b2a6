import { AUDIT_SERVICES, type AuditEvent, type AuditEventType, type AuditQuery, type AuditService } from '../audit/event.js';
import type { AuditRecorder } from '../audit/recorder.js';
import type { Clock, Store } from '../ports.js';

/** Every event type Gatehouse records, for the console's event-type filter. */
export const EVENT_TYPES = [
  'admin_login_attempt',
  'user_login_attempt',
  'ldap_bind',
  'ldap_search',
  'radius_auth_attempt',
  'radius_accounting',
  'sso_auth',
  'sso_logout',
  'user_lockout',
  'user_unlocked',
  'user_create',
  'user_update',
  'user_delete',
  'user_password_change',
  'user_mfa_reset',
  'user_totp_enrolled',
  'group_create',
  'group_update',
  'group_delete',
  'association_change',
  'organization_update',
  'system_create',
  'system_update',
  'system_delete',
  'ldapserver_update',
  'radiusserver_create',
  'radiusserver_update',
  'radiusserver_delete',
  'application_create',
  'application_update',
  'application_delete',
  'admin_create',
  'admin_update',
  'admin_delete',
  'api_key_create',
  'api_key_delete',
] as const satisfies readonly AuditEventType[];

/** Time ranges offered by the console, in hours. */
export const EVENT_RANGES = { '1h': 1, '24h': 24, '7d': 168, '30d': 720, '90d': 2160 } as const;
export type EventRange = keyof typeof EVENT_RANGES;

export interface EventSearch {
  range: EventRange;
  services: AuditService[];
  eventType?: string;
  outcome?: 'success' | 'failure';
  text?: string;
  limit: number;
  skip: number;
}

/**
 * Directory Insights for the console: the audit trail filtered by time range, service, event type,
 * outcome and free text together (the REST API takes either text or field terms), newest first.
 * Protocol-supplied strings come back as they were recorded: escaping them is the renderer's job.
 */
export function createEventSearch(d: { store: Store; audit: AuditRecorder; clock: Clock }) {
  const query = async (s: EventSearch, endTime?: Date): Promise<AuditEvent[]> => {
    await d.audit.flush();
    const end = endTime ?? d.clock.now();
    const terms: NonNullable<AuditQuery['match']>['terms'] = [];
    if (s.eventType) terms.push({ path: 'event_type', value: s.eventType });
    if (s.outcome) terms.push({ path: 'success', value: s.outcome === 'success' });
    const services = s.services.filter((x) => AUDIT_SERVICES.includes(x));
    return d.store.repos.audit.query({
      services: services.length === 0 || services.length === AUDIT_SERVICES.length ? 'all' : services,
      startTime: new Date(end.getTime() - EVENT_RANGES[s.range] * 3_600_000),
      endTime: end,
      limit: s.limit,
      skip: s.skip,
      ...(s.text && s.text.trim() ? { searchText: s.text.trim().slice(0, 256) } : {}),
      ...(terms.length > 0 ? { match: { mode: 'and' as const, terms } } : {}),
    });
  };
  return {
    /** One page of events, and whether another page follows. */
    async page(s: EventSearch): Promise<{ events: AuditEvent[]; more: boolean }> {
      const events = await query({ ...s, limit: s.limit + 1 });
      return { events: events.slice(0, s.limit), more: events.length > s.limit };
    },
    /** Every matching event up to `max`, for CSV/JSON export. */
    all: (s: Omit<EventSearch, 'limit' | 'skip'>, max = 10_000) => query({ ...s, limit: max, skip: 0 }),
    /** One event by id (any time). */
    async get(id: string): Promise<AuditEvent | null> {
      if (!/^[0-9a-f]{24}$/.test(id)) return null;
      await d.audit.flush();
      const r = await d.store.repos.audit.query({
        services: 'all',
        startTime: new Date(0),
        endTime: new Date(d.clock.now().getTime() + 86_400_000),
        limit: 1,
        skip: 0,
        match: { mode: 'and', terms: [{ path: 'id', value: id }] },
      });
      return r[0] ?? null;
    },
    /** Recent events about one object (a user's detail page). */
    async about(resourceId: string, limit = 10): Promise<AuditEvent[]> {
      await d.audit.flush();
      return d.store.repos.audit.query({
        services: 'all',
        startTime: new Date(d.clock.now().getTime() - 90 * 86_400_000),
        endTime: new Date(d.clock.now().getTime() + 60_000),
        limit,
        skip: 0,
        match: { mode: 'or', terms: [{ path: 'resource.id', value: resourceId }, { path: 'initiated_by.id', value: resourceId }] },
      });
    },
  };
}

/** Flattens an event into `path → text` rows (event detail, CSV columns). */
export function flattenEvent(e: Record<string, unknown>, prefix = ''): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(e)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...flattenEvent(v as Record<string, unknown>, key));
    else out.push([key, v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v)]);
  }
  return out;
}

const CSV_COLUMNS = ['timestamp', 'event_type', 'service', 'success', 'client_ip', 'initiated_by.type', 'initiated_by.username', 'initiated_by.email', 'username', 'resource.type', 'resource.name', 'resource.username', 'error_message', 'mfa', 'id'];

/**
 * CSV (RFC 4180) of events, with formula injection neutralised: a cell that a spreadsheet would run
 * as a formula (=, +, -, @, tab, CR) is prefixed with an apostrophe (OWASP CSV injection).
 */
export function eventsToCsv(events: AuditEvent[]): string {
  const cell = (s: string) => {
    const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const lines = [CSV_COLUMNS.join(',')];
  for (const e of events) {
    const flat = new Map(flattenEvent(e));
    lines.push(CSV_COLUMNS.map((c) => cell(flat.get(c) ?? '')).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

export type EventSearchService = ReturnType<typeof createEventSearch>;
