import { invalid } from '../errors.js';
import type { Store } from '../ports.js';
import * as v from '../directory/validate.js';
import { AUDIT_FIELDS, AUDIT_SERVICES, type AuditEvent, type AuditField, type AuditQuery, type AuditService } from './event.js';
import type { AuditRecorder } from './recorder.js';

export const MAX_EVENTS_PER_QUERY = 10_000;

/** The body of JumpCloud's `POST /insights/directory/v1/events`. */
export interface InsightsRequest {
  service?: unknown;
  start_time?: unknown;
  end_time?: unknown;
  limit?: unknown;
  skip?: unknown;
  sort?: unknown;
  search_term?: unknown;
  fields?: unknown;
}

function parseSearch(term: unknown): Pick<AuditQuery, 'searchText' | 'match'> {
  if (term === undefined || term === null || term === '') return {};
  if (typeof term === 'string') return { searchText: v.text('search_term', term, 256) };
  if (typeof term !== 'object' || Array.isArray(term)) throw invalid('search_term', 'must be text or { and: [...] } / { or: [...] }');
  const entries = Object.entries(term as Record<string, unknown>);
  const [mode, list] = entries[0] ?? [];
  if (entries.length !== 1 || (mode !== 'and' && mode !== 'or') || !Array.isArray(list) || list.length === 0 || list.length > 20) {
    throw invalid('search_term', 'must be { "and": [ { field: value } ] } or { "or": [...] } with 1 to 20 terms');
  }
  const terms = list.map((t, i) => {
    const pairs = t && typeof t === 'object' && !Array.isArray(t) ? Object.entries(t as Record<string, unknown>) : [];
    const [path, value] = pairs[0] ?? [];
    if (pairs.length !== 1 || path === undefined) throw invalid(`search_term.${mode}[${i}]`, 'must be { field: value }');
    if (!(AUDIT_FIELDS as readonly string[]).includes(path)) {
      throw invalid(`search_term.${mode}[${i}]`, `field ${JSON.stringify(path)} cannot be searched; use one of ${AUDIT_FIELDS.join(', ')}`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw invalid(`search_term.${mode}[${i}].${path}`, 'must be a string, number or boolean');
    }
    return { path: path as AuditField, value };
  });
  return { match: { mode, terms } };
}

function project(e: AuditEvent, fields: string[] | null): Record<string, unknown> {
  if (!fields) return e;
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f in e) out[f] = e[f];
  return out;
}

/** Directory Insights: reads the audit trail, newest first by default. */
export function createInsightsService(d: { store: Store; audit: AuditRecorder; now: () => Date }) {
  return {
    async query(req: InsightsRequest): Promise<Record<string, unknown>[]> {
      if (!Array.isArray(req.service) || req.service.length === 0) throw invalid('service', 'must be a list such as ["all"]');
      const services = req.service.map((s, i) => v.oneOf(`service[${i}]`, s, ['all', ...AUDIT_SERVICES] as const));
      const startTime = v.date('start_time', req.start_time);
      if (!startTime) throw invalid('start_time', 'is required (RFC 3339)');
      const endTime = v.date('end_time', req.end_time) ?? d.now();
      if (endTime.getTime() < startTime.getTime()) throw invalid('end_time', 'must not be before start_time');
      const limit = req.limit === undefined ? MAX_EVENTS_PER_QUERY : v.int('limit', req.limit, 1, MAX_EVENTS_PER_QUERY);
      const skip = req.skip === undefined ? 0 : v.int('skip', req.skip, 0, 10_000_000);
      const sort = req.sort === undefined ? 'DESC' : v.oneOf('sort', req.sort, ['ASC', 'DESC'] as const, { caseInsensitive: true });
      let fields: string[] | null = null;
      if (req.fields !== undefined) {
        if (!Array.isArray(req.fields) || req.fields.some((f) => typeof f !== 'string')) throw invalid('fields', 'must be a list of field names');
        fields = req.fields as string[];
      }
      // Events queued by authentications a moment ago belong in the answer.
      await d.audit.flush();
      const events = await d.store.repos.audit.query({
        services: services.includes('all') ? 'all' : (services as AuditService[]),
        startTime,
        endTime,
        limit,
        skip,
        ascending: sort === 'ASC',
        ...parseSearch(req.search_term),
      });
      return events.map((e) => project(e, fields));
    },
  };
}

export type InsightsService = ReturnType<typeof createInsightsService>;
