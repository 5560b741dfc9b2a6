import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { AUDIT_SERVICES, type AuditEvent, type AuditService } from '../../core/audit/event.js';
import { EVENT_RANGES, EVENT_TYPES, eventsToCsv, flattenEvent, type EventRange, type EventSearch } from '../../core/console/event-search.js';
import { html, type SafeHtml } from '../plugins/html.js';
import { card, emptyState, fmtDate, pageHeader, pill } from './components.js';
import { ID, type ConsoleDeps } from './context.js';
import { icon } from './icons.js';
import type { Render } from './index.js';

const PAGE = 50;
const RANGE_LABELS: Record<EventRange, string> = { '1h': 'Last hour', '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days', '90d': 'Last 90 days' };
const SERVICE_LABELS: Record<AuditService, string> = { directory: 'Directory', ldap: 'LDAP', radius: 'RADIUS', sso: 'SSO', systems: 'Systems' };

const Query = Type.Object({
  range: Type.Optional(Type.String({ maxLength: 4 })),
  service: Type.Optional(Type.Union([Type.String({ maxLength: 16 }), Type.Array(Type.String({ maxLength: 16 }), { maxItems: 8 })])),
  event_type: Type.Optional(Type.String({ maxLength: 48 })),
  outcome: Type.Optional(Type.String({ maxLength: 8 })),
  q: Type.Optional(Type.String({ maxLength: 256 })),
  page: Type.Optional(Type.String({ maxLength: 6 })),
  format: Type.Optional(Type.String({ maxLength: 4 })),
});

interface Filters {
  range: EventRange;
  services: AuditService[];
  eventType: string;
  outcome: '' | 'success' | 'failure';
  q: string;
  page: number;
}

function parse(query: unknown): Filters {
  const q = (query ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : '');
  const rawServices = Array.isArray(q.service) ? q.service : typeof q.service === 'string' ? [q.service] : [];
  const range = str('range');
  const page = Number(str('page'));
  return {
    range: Object.hasOwn(EVENT_RANGES, range) ? (range as EventRange) : '24h',
    services: AUDIT_SERVICES.filter((s) => rawServices.includes(s)),
    eventType: (EVENT_TYPES as readonly string[]).includes(str('event_type')) ? str('event_type') : '',
    outcome: str('outcome') === 'success' || str('outcome') === 'failure' ? (str('outcome') as 'success' | 'failure') : '',
    q: str('q').slice(0, 256),
    page: Number.isInteger(page) && page >= 1 && page <= 10_000 ? page : 1,
  };
}

const toSearch = (f: Filters): Omit<EventSearch, 'limit' | 'skip'> => ({
  range: f.range,
  services: f.services,
  ...(f.eventType ? { eventType: f.eventType } : {}),
  ...(f.outcome ? { outcome: f.outcome } : {}),
  ...(f.q ? { text: f.q } : {}),
});

function href(f: Filters, patch: Partial<Filters> = {}, path = '/admin/insights'): string {
  const n = { ...f, ...patch };
  const p = new URLSearchParams();
  p.set('range', n.range);
  for (const s of n.services) p.append('service', s);
  if (n.eventType) p.set('event_type', n.eventType);
  if (n.outcome) p.set('outcome', n.outcome);
  if (n.q) p.set('q', n.q);
  if (n.page > 1) p.set('page', String(n.page));
  return `${path}?${p.toString()}`;
}

/** Who did it, in one line (an admin by email, a user by username, the system). */
const who = (e: AuditEvent) => e.initiated_by?.email || e.initiated_by?.username || (typeof e.username === 'string' ? e.username : '') || e.initiated_by?.type || '';
/** What it was done to; an association change names both ends. */
function what(e: AuditEvent): string {
  const assoc = e.association as { op?: string; connection?: { from?: { name?: string }; to?: { name?: string } } } | undefined;
  if (assoc?.connection) return `${assoc.op === 'remove' ? 'unbound' : 'bound'}: ${assoc.connection.to?.name ?? ''} → ${assoc.connection.from?.name ?? ''}`;
  return e.resource?.name || e.resource?.username || e.resource?.email || '';
}

function filtersForm(f: Filters): SafeHtml {
  return html`<form method="get" action="/admin/insights" class="insights-filters" role="search">
  <div class="field"><label for="i-range">Time range</label><select id="i-range" name="range">${(Object.keys(EVENT_RANGES) as EventRange[]).map((r) => html`<option value="${r}"${r === f.range ? html` selected` : ''}>${RANGE_LABELS[r]}</option>`)}</select></div>
  <fieldset class="field services"><legend>Services</legend>${AUDIT_SERVICES.map((s) => html`<label class="check-inline"><input type="checkbox" name="service" value="${s}"${f.services.includes(s) ? html` checked` : ''}> ${SERVICE_LABELS[s]}</label>`)}</fieldset>
  <div class="field"><label for="i-type">Event type</label><select id="i-type" name="event_type"><option value="">All event types</option>${EVENT_TYPES.map((t) => html`<option value="${t}"${t === f.eventType ? html` selected` : ''}>${t}</option>`)}</select></div>
  <div class="field"><label for="i-outcome">Result</label><select id="i-outcome" name="outcome"><option value="">Success and failure</option><option value="success"${f.outcome === 'success' ? html` selected` : ''}>Success</option><option value="failure"${f.outcome === 'failure' ? html` selected` : ''}>Failure</option></select></div>
  <div class="field grow"><label for="i-q">Search</label><span class="search-box">${icon('search')}<input id="i-q" type="search" name="q" value="${f.q}" placeholder="Username, IP address, error, any text"></span></div>
  <div class="field actions"><button type="submit" class="btn btn-primary">Apply</button><a class="btn btn-secondary" href="/admin/insights">Reset</a></div>
</form>`;
}

/**
 * Directory Insights: the audit trail with time range, service, event type, result and free-text
 * filters, event detail with every field, and CSV/JSON export. Protocol-supplied strings (a RADIUS
 * User-Name, an LDAP filter, a client's error text) are rendered through `html`, so they are always
 * text, never markup (security.md item 9).
 */
export function registerInsightsRoutes(app: FastifyInstance, d: ConsoleDeps, render: Render): void {
  const events = d.core.console.events;

  app.get('/insights', { schema: { querystring: Query } }, async (req, reply) => {
    const f = parse(req.query);
    const { events: rows, more } = await events.page({ ...toSearch(f), limit: PAGE, skip: (f.page - 1) * PAGE });
    const table =
      rows.length === 0
        ? emptyState({ title: 'No events match', text: 'Widen the time range or remove a filter.', icon: 'chart' })
        : html`<div class="table-wrap"><table class="data-table events"><caption class="visually-hidden">Events, newest first</caption>
  <thead><tr><th scope="col">Time (UTC)</th><th scope="col">Event</th><th scope="col">Service</th><th scope="col">Result</th><th scope="col">Initiated by</th><th scope="col">Resource</th><th scope="col">Client IP</th><th scope="col">Details</th></tr></thead>
  <tbody>${rows.map(
    (e) => html`<tr><td class="nowrap"><a href="/admin/insights/${e.id}">${fmtDate(e.timestamp, true, true)}</a></td><td><code>${e.event_type}</code></td><td>${SERVICE_LABELS[e.service as AuditService] ?? e.service}</td>
      <td>${e.success ? pill('Success', 'ok') : pill('Failure', 'bad')}</td><td class="clip">${who(e)}</td><td class="clip">${what(e)}</td><td><code>${e.client_ip ?? ''}</code></td><td class="clip">${e.error_message ?? ''}</td></tr>`,
  )}</tbody></table></div>
<nav class="pager" aria-label="Event pages"><span class="range">Events ${(f.page - 1) * PAGE + 1}–${(f.page - 1) * PAGE + rows.length}</span><span class="pages">
  ${f.page > 1 ? html`<a class="btn btn-icon" href="${href(f, { page: f.page - 1 })}" aria-label="Newer events">${icon('chevronLeft')}</a>` : ''}
  <span>Page ${f.page}</span>
  ${more ? html`<a class="btn btn-icon" href="${href(f, { page: f.page + 1 })}" aria-label="Older events">${icon('chevronRight')}</a>` : ''}</span></nav>`;
    const body = html`${pageHeader({
      title: 'Directory Insights',
      subtitle: 'Every authentication and every change, newest first.',
      actions: html`<a class="btn btn-secondary" href="${href({ ...f, page: 1 }, {}, '/admin/insights/export.csv')}">${icon('download')}<span>Export CSV</span></a><a class="btn btn-secondary" href="${href({ ...f, page: 1 }, {}, '/admin/insights/export.json')}">${icon('download')}<span>Export JSON</span></a>`,
    })}
<div class="card list-card">${filtersForm(f)}${table}</div>`;
    return render(req, reply, 'Directory Insights', body);
  });

  const exportEvents = async (query: unknown) => events.all(toSearch(parse(query)), 10_000);
  const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

  app.get('/insights/export.csv', { schema: { querystring: Query } }, async (req, reply) =>
    reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="directory-insights-${stamp()}.csv"`)
      .send(eventsToCsv(await exportEvents(req.query))),
  );

  app.get('/insights/export.json', { schema: { querystring: Query } }, async (req, reply) =>
    reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="directory-insights-${stamp()}.json"`)
      .send(JSON.stringify(await exportEvents(req.query), null, 2)),
  );

  app.get('/insights/:id', { schema: { params: Type.Object({ id: Type.String({ pattern: ID }) }) } }, async (req, reply) => {
    const e = await events.get((req.params as { id: string }).id);
    if (!e) return render(req, reply, 'Event not found', emptyState({ title: 'Event not found', text: 'No event has this id.', icon: 'chart' }), 404);
    const rows = flattenEvent(e);
    const body = html`${pageHeader({
      title: e.event_type,
      crumbs: [{ label: 'Directory Insights', href: '/admin/insights' }, { label: 'Event' }],
      subtitle: html`${fmtDate(e.timestamp)} ${e.success ? pill('Success', 'ok') : pill('Failure', 'bad')}`,
    })}
<div class="two-col wide-left">
${card({
  title: 'All fields',
  body: html`<div class="table-wrap"><table class="data-table kv-table"><caption class="visually-hidden">Event fields</caption><thead><tr><th scope="col">Field</th><th scope="col">Value</th></tr></thead>
    <tbody>${rows.map(([k, v]) => html`<tr><th scope="row"><code>${k}</code></th><td><code class="wrap">${v}</code></td></tr>`)}</tbody></table></div>`,
})}
${card({ title: 'JSON', body: html`<pre class="json" tabindex="0">${JSON.stringify(e, null, 2)}</pre>` })}
</div>`;
    return render(req, reply, 'Event', body);
  });
}
