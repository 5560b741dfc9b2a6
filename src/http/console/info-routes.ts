import type { FastifyInstance } from 'fastify';
import { html } from '../plugins/html.js';
import { badge, card, pageHeader } from './components.js';
import { adminOf, type ConsoleDeps } from './context.js';
import { INTEGRATIONS, SUPPORT_LINKS, WHATS_NEW } from './content.js';
import { icon } from './icons.js';
import type { Render } from './index.js';

/** The pages behind the top menu: Alerts, What's New, Support, Checklist; and Directory Integrations. */
export function registerInfoRoutes(app: FastifyInstance, d: ConsoleDeps, render: Render): void {
  app.get('/alerts', async (req, reply) => {
    const alerts = await d.core.console.alerts.list();
    const body = html`${pageHeader({ title: 'Alerts', subtitle: 'Computed from the configuration as it is now.' })}
${card({
  body:
    alerts.length === 0
      ? html`<p>${icon('check', 'inline ok')} No alerts. Your configuration looks healthy.</p>`
      : html`<ul class="alert-list full">${alerts.map(
          (a) => html`<li class="sev-${a.severity}"><a href="${a.href}">${icon(a.severity === 'info' ? 'info' : 'alert')}<span><strong>${a.title}</strong><small>${a.detail}</small></span><span class="sev-label">${a.severity}</span></a></li>`,
        )}</ul>`,
})}`;
    return render(req, reply, 'Alerts', body);
  });

  app.get('/whats-new', async (req, reply) =>
    render(
      req,
      reply,
      "What's New",
      html`${pageHeader({ title: "What's New" })}
<div class="news-grid">${WHATS_NEW.map((n) => card({ body: html`<p class="muted small">${n.date}</p><h2><a href="${n.href}">${n.title}</a> ${badge(n.badge)}</h2><p>${n.text}</p>` }))}</div>`,
    ),
  );

  app.get('/support', async (req, reply) =>
    render(
      req,
      reply,
      'Support',
      html`${pageHeader({ title: 'Help & Support', subtitle: `Gatehouse ${d.version}` })}
<div class="two-col">
${card({
  title: 'Documentation',
  body: html`<ul class="plain-list spaced">${SUPPORT_LINKS.map((l) => html`<li><a href="${l.href}">${l.label}</a><br><span class="muted">${l.text}</span></li>`)}
    <li><button type="button" class="linklike" data-start-tour>Take the product tour</button><br><span class="muted">A short walk through the console.</span></li></ul>`,
})}
${card({
  title: 'Keyboard',
  body: html`<ul class="plain-list spaced"><li><kbd>Tab</kbd> moves through links, menus and forms; the first <kbd>Tab</kbd> offers “Skip to content”.</li>
    <li><kbd>Enter</kbd> or <kbd>Space</kbd> opens a menu; <kbd>↑</kbd> <kbd>↓</kbd> move in it; <kbd>Esc</kbd> closes it.</li>
    <li><kbd>/</kbd> jumps to the search box of a list.</li></ul>`,
})}
</div>`,
    ),
  );

  app.get('/checklist', async (req, reply) => {
    const items = await d.core.console.checklist.items(adminOf(req).id);
    const done = items.filter((i) => i.done).length;
    const body = html`${pageHeader({ title: 'Implementation checklist', subtitle: `${done} of ${items.length} done. Each step ticks itself when the directory shows it.` })}
${card({
  body: html`<progress class="progress" max="${items.length}" value="${done}" aria-label="Checklist progress">${done} of ${items.length}</progress>
  <ol class="check-list big">${items.map(
    (i) => html`<li class="${i.done ? 'done' : ''}"><span class="tick" aria-hidden="true">${i.done ? icon('check') : ''}</span><div><a href="${i.href}"><strong>${i.title}</strong></a><span class="visually-hidden">${i.done ? ' (done)' : ' (to do)'}</span><p class="muted">${i.detail}</p></div></li>`,
  )}</ol>`,
})}`;
    return render(req, reply, 'Checklist', body);
  });

  app.get('/integrations', async (req, reply) =>
    render(
      req,
      reply,
      'Directory Integrations',
      html`${pageHeader({ title: 'Directory Integrations', subtitle: 'Connect Gatehouse to other directories and HR systems.' })}
<div class="notice notice-info" role="status">${icon('info')}<span>These integrations are premium features of JumpCloud and are not part of this appliance. Use the REST API (or the CLI's import) to sync users from another system.</span></div>
<div class="news-grid">${INTEGRATIONS.map((i) => card({ cls: 'integration', body: html`<h2>${i.name} ${badge(i.badge)}</h2><p>${i.text}</p><p><span class="btn btn-secondary disabled" aria-disabled="true">Not available</span></p>` }))}</div>`,
    ),
  );
}
