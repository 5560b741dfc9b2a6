import type { FastifyInstance } from 'fastify';
import { html } from '../plugins/html.js';
import { card, fmtCount, pageHeader } from './components.js';
import { adminOf, type ConsoleDeps } from './context.js';
import { icon } from './icons.js';
import type { Render } from './index.js';

const stat = (label: string, n: number, href: string, tone: 'plain' | 'warn' | 'bad' | 'ok' = 'plain', hint?: string) =>
  html`<li class="stat stat-${n === 0 && tone !== 'plain' ? 'zero' : tone}"><a href="${href}"><span class="stat-n">${fmtCount(n)}</span><span class="stat-label">${label}</span>${hint ? html`<span class="stat-hint">${hint}</span>` : ''}</a></li>`;

/** Home: the organisation at a glance, every number a link to the list that shows it. */
export function registerHomeRoutes(app: FastifyInstance, d: ConsoleDeps, render: Render): void {
  app.get('/', async (req, reply) => {
    const admin = adminOf(req);
    const [s, checklist, alerts] = await Promise.all([d.core.console.dashboard.summary(24), d.core.console.checklist.items(admin.id), d.core.console.alerts.list()]);
    const u = s.users;
    const done = checklist.filter((i) => i.done).length;
    const next = checklist.find((i) => !i.done);
    const insights = (eventType: string, outcome: 'failure' | 'success') => `/admin/insights?range=24h&event_type=${eventType}&outcome=${outcome}`;
    const greeting = admin.firstname || admin.email.split('@')[0];
    const body = html`${pageHeader({ title: `Welcome, ${greeting}`, subtitle: 'What needs your attention in the directory today.' })}
<div class="dash-grid">
  ${card({
    title: 'Users',
    id: 'users-card',
    actions: html`<a href="/admin/users" class="card-link">All ${fmtCount(u.total)} users ${icon('chevronRight', 'inline')}</a>`,
    body: html`<ul class="stats">
      ${stat('Active', u.active, '/admin/users?view=active', 'ok')}
      ${stat('Password pending', u.password_pending, '/admin/users?view=password_pending', 'warn')}
      ${stat('Staged', u.staged, '/admin/users?view=staged')}
      ${stat('Suspended', u.suspended, '/admin/users?view=suspended')}
    </ul>`,
  })}
  ${card({
    title: 'Needs attention',
    id: 'attention-card',
    body: html`<ul class="stats">
      ${stat('Locked out', u.locked_out, '/admin/users?view=locked_out', 'bad')}
      ${stat('Password expired', u.password_expired, '/admin/users?view=password_expired', 'bad')}
      ${s.passwordExpiryEnabled ? stat('Password expiring in 14 days', u.password_expiring, '/admin/users?view=password_expiring', 'warn') : html`<li class="stat stat-zero"><a href="/admin/security"><span class="stat-n">—</span><span class="stat-label">Passwords do not expire</span><span class="stat-hint">Set an expiry</span></a></li>`}
      ${stat('Not enrolled in MFA', u.mfa_not_enrolled, '/admin/users?view=mfa_not_enrolled', 'warn')}
      ${stat('MFA required, not enrolled', u.mfa_required_not_enrolled, '/admin/users?view=mfa_required_not_enrolled', 'warn')}
    </ul>`,
  })}
  ${card({
    title: 'Failed authentications',
    id: 'auth-card',
    description: html`Last ${s.windowHours} hours, per protocol, from Directory Insights.`,
    actions: html`<a href="/admin/insights?range=24h&outcome=failure" class="card-link">Open in Insights ${icon('chevronRight', 'inline')}</a>`,
    body: html`<table class="mini-table">
      <caption class="visually-hidden">Authentications in the last ${s.windowHours} hours</caption>
      <thead><tr><th scope="col">Protocol</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Succeeded</th></tr></thead>
      <tbody>${s.authentications.map(
        (a) => html`<tr><th scope="row">${a.label}</th><td class="num"><a class="${a.failed > 0 ? 'n-bad' : 'n-zero'}" href="${insights(a.eventType, 'failure')}">${fmtCount(a.failed)}</a></td><td class="num"><a href="${insights(a.eventType, 'success')}">${fmtCount(a.succeeded)}</a></td></tr>`,
      )}</tbody>
    </table>`,
  })}
  ${card({
    title: 'Devices',
    id: 'devices-card',
    actions: html`<a href="/admin/devices" class="card-link">All devices ${icon('chevronRight', 'inline')}</a>`,
    body: html`<ul class="stats">
      ${stat('Devices', s.devices.total, '/admin/devices')}
      ${stat('Inactive', s.devices.inactive, '/admin/devices?view=inactive', 'warn')}
      ${stat('MFA disabled', s.devices.mfaOff, '/admin/devices?view=mfa_off', 'warn')}
      ${stat('User groups', s.groups, '/admin/groups')}
    </ul>`,
  })}
  ${card({
    title: 'Get set up',
    id: 'setup-card',
    actions: html`<button type="button" class="btn btn-secondary btn-small" data-start-tour>${icon('compass')}<span>Take the tour</span></button>`,
    body: html`<p><strong>${done} of ${checklist.length}</strong> steps done.</p>
      <progress class="progress" max="${checklist.length}" value="${done}" aria-label="Checklist progress">${done} of ${checklist.length}</progress>
      ${next ? html`<p class="next-step">Next: <a href="${next.href}">${next.title}</a><br><span class="muted">${next.detail}</span></p>` : html`<p class="next-step">${icon('check', 'inline ok')} Everything on the checklist is done.</p>`}
      <p><a href="/admin/checklist">Open the checklist</a></p>`,
  })}
  ${card({
    title: 'Alerts',
    id: 'alerts-card',
    actions: html`<a href="/admin/alerts" class="card-link">All alerts ${icon('chevronRight', 'inline')}</a>`,
    body:
      alerts.length === 0
        ? html`<p class="muted">${icon('check', 'inline ok')} No alerts. Your configuration looks healthy.</p>`
        : html`<ul class="alert-list compact">${alerts.slice(0, 4).map((a) => html`<li class="sev-${a.severity}"><a href="${a.href}">${icon(a.severity === 'info' ? 'info' : 'alert')}<span>${a.title}</span></a></li>`)}</ul>`,
  })}
</div>`;
    return render(req, reply, 'Home', body);
  });
}
