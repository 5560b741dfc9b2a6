import type { Admin } from '../../core/directory/types.js';
import type { ConsoleAlert } from '../../core/console/alerts.js';
import type { ChecklistItem } from '../../core/console/checklist.js';
import { html, type SafeHtml } from '../plugins/html.js';
import { avatar, badge, csrfField } from './components.js';
import { TOUR_STEPS, WHATS_NEW } from './content.js';
import { icon } from './icons.js';
import { NAV, type NavState } from './nav.js';

/** What every signed-in page's frame shows besides the page itself. */
export interface ShellContext {
  admin: Admin;
  csrf: string;
  /** The request path, to mark the current nav item. */
  path: string;
  nav: NavState;
  alerts: ConsoleAlert[];
  checklist: ChecklistItem[];
  orgName: string;
}

const head = (title: string) => html`<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Gatehouse Admin</title>
<link rel="icon" href="/admin/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/admin/assets/console.css">
<script src="/admin/assets/console.js" defer></script>
</head>`;

const adminName = (a: Admin) => [a.firstname, a.lastname].filter(Boolean).join(' ') || a.email;

function sideNav(c: ShellContext): SafeHtml {
  const current = (match: string) => (match.includes('#') ? false : c.path === match || c.path.startsWith(`${match}/`));
  return html`<nav class="sidenav" id="sidenav" aria-label="Main" data-tour="nav">
  <a class="brand" href="/admin/"><span class="brand-mark" aria-hidden="true">G</span><span class="brand-text">Gatehouse</span></a>
  <ul class="nav-root">
    <li><a class="nav-home${c.path === '/admin/' || c.path === '/admin' ? ' current' : ''}" href="/admin/"${c.path === '/admin/' || c.path === '/admin' ? html` aria-current="page"` : ''} title="Home">${icon('home')}<span class="nav-label">Home</span></a></li>
    ${NAV.map((s) => {
      const open = !c.nav.closedSections.includes(s.id) || s.items.some((i) => current(i.match));
      return html`<li class="nav-section${open ? ' open' : ''}" data-section="${s.id}">
      <button type="button" class="section-toggle" aria-expanded="${open ? 'true' : 'false'}" aria-controls="nav-${s.id}" title="${s.label}">${icon(s.icon)}<span class="nav-label">${s.label}</span>${icon('chevron', 'chev')}</button>
      <ul id="nav-${s.id}" class="nav-items"${open ? '' : html` hidden`}>${s.items.map(
        (i) => html`<li><a href="${i.href}"${current(i.match) ? html` aria-current="page" class="current"` : ''}><span class="nav-label">${i.label}</span>${badge(i.badge)}</a></li>`,
      )}</ul>
    </li>`;
    })}
  </ul>
  <button type="button" class="collapse-menu" data-collapse-menu aria-pressed="${c.nav.collapsed ? 'true' : 'false'}" data-tour="collapse">${icon('sidebar')}<span class="nav-label">Collapse Menu</span></button>
</nav>`;
}

function topBar(c: ShellContext): SafeHtml {
  const name = adminName(c.admin);
  const done = c.checklist.filter((i) => i.done).length;
  const critical = c.alerts.filter((a) => a.severity !== 'info').length;
  return html`<header class="topbar">
  <button type="button" class="btn btn-icon nav-mobile" data-mobile-nav aria-controls="sidenav" aria-expanded="false" aria-label="Menu">${icon('menu')}</button>
  <span class="org-name">${c.orgName}</span>
  <div class="top-menus">
    <details class="menu top-menu" data-menu data-tour="alerts">
      <summary class="top-button" aria-label="Alerts: ${c.alerts.length}">${icon('bell')}<span class="top-label">Alerts</span>${c.alerts.length > 0 ? html`<span class="dot${critical > 0 ? ' dot-bad' : ''}">${c.alerts.length}</span>` : ''}</summary>
      <div class="menu-panel wide" role="region" aria-label="Alerts">
        <h2>Alerts</h2>
        ${c.alerts.length === 0
          ? html`<p class="muted">No alerts. Your configuration looks healthy.</p>`
          : html`<ul class="alert-list">${c.alerts.slice(0, 6).map(
              (a) => html`<li class="sev-${a.severity}"><a href="${a.href}">${icon(a.severity === 'info' ? 'info' : 'alert')}<span><strong>${a.title}</strong><small>${a.detail}</small></span></a></li>`,
            )}</ul>`}
        <p class="menu-foot"><a href="/admin/alerts">All alerts</a></p>
      </div>
    </details>
    <details class="menu top-menu" data-menu>
      <summary class="top-button" aria-label="What's New">${icon('gift')}<span class="top-label">What's New</span></summary>
      <div class="menu-panel wide" role="region" aria-label="What's New">
        <h2>What's New</h2>
        <ul class="news-list">${WHATS_NEW.slice(0, 4).map((n) => html`<li><a href="${n.href}"><strong>${n.title}</strong> ${badge(n.badge)}<small>${n.text}</small></a></li>`)}</ul>
        <p class="menu-foot"><a href="/admin/whats-new">Everything new</a></p>
      </div>
    </details>
    <details class="menu top-menu" data-menu>
      <summary class="top-button" aria-label="Support">${icon('help')}<span class="top-label">Support</span></summary>
      <div class="menu-panel" role="region" aria-label="Support">
        <ul class="plain-list">
          <li><a href="/admin/support">Help &amp; documentation</a></li>
          <li><button type="button" class="linklike" data-start-tour>Take the product tour</button></li>
          <li><a href="/openapi.json">REST API reference</a></li>
          <li><a href="/admin/whats-new">What's New</a></li>
        </ul>
      </div>
    </details>
    <details class="menu top-menu" data-menu data-tour="checklist">
      <summary class="top-button" aria-label="Checklist: ${done} of ${c.checklist.length} done">${icon('checklist')}<span class="top-label">Checklist</span><span class="progress-mini" aria-hidden="true">${done}/${c.checklist.length}</span></summary>
      <div class="menu-panel wide" role="region" aria-label="Implementation checklist">
        <h2>Get set up <span class="muted">${done} of ${c.checklist.length}</span></h2>
        <progress class="progress" max="${c.checklist.length}" value="${done}" aria-label="Checklist progress">${done} of ${c.checklist.length}</progress>
        <ul class="check-list">${c.checklist.map(
          (i) => html`<li class="${i.done ? 'done' : ''}"><a href="${i.href}"><span class="tick" aria-hidden="true">${i.done ? icon('check') : ''}</span><span>${i.title}<span class="visually-hidden">${i.done ? ' (done)' : ' (to do)'}</span></span></a></li>`,
        )}</ul>
        <p class="menu-foot"><a href="/admin/checklist">Open the checklist</a></p>
      </div>
    </details>
    <details class="menu top-menu account-menu" data-menu data-tour="account">
      <summary class="top-button" aria-label="Account: ${name}">${avatar(name)}<span class="top-label account-name">${name}</span>${icon('chevron', 'chev')}</summary>
      <div class="menu-panel" role="region" aria-label="Account">
        <div class="account-head">${avatar(name, 'lg')}<div><strong>${name}</strong><small>${c.admin.email}</small></div></div>
        <ul class="plain-list">
          <li><a href="/admin/account#password">Change password</a></li>
          <li><a href="/admin/account#totp">Manage admin TOTP</a></li>
          <li><a href="/admin/account#api-keys">API key</a></li>
          <li><a href="/" target="_blank" rel="noopener">Launch User Portal ${icon('external', 'inline')}</a></li>
        </ul>
        <form method="post" action="/admin/logout">${csrfField(c.csrf)}<button type="submit" class="btn btn-secondary btn-block">${icon('logout')}<span>Log out</span></button></form>
      </div>
    </details>
  </div>
</header>`;
}

/** A signed-in page: left nav, top menu, the page, and the tour's data. */
export function shell(c: ShellContext, title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
${head(title)}
<body class="console${c.nav.collapsed ? ' nav-collapsed' : ''}">
<a class="skip" href="#main">Skip to content</a>
<div class="app">
${sideNav(c)}
<div class="main-col">
${topBar(c)}
<main id="main" tabindex="-1" data-tour="main">
${body}
</main>
</div>
</div>
<div id="tour" class="tour" hidden role="dialog" aria-modal="false" aria-labelledby="tour-title">
  <div class="tour-card"><p class="tour-step" id="tour-count"></p><h2 id="tour-title"></h2><p id="tour-text"></p>
  <div class="tour-actions"><button type="button" class="btn btn-secondary" data-tour-skip>Skip tour</button><button type="button" class="btn btn-secondary" data-tour-prev>Back</button><button type="button" class="btn btn-primary" data-tour-next>Next</button></div></div>
</div>
<ol id="tour-steps" hidden>${TOUR_STEPS.map((s) => html`<li data-target="${s.target}" data-title="${s.title}">${s.text}</li>`)}</ol>
</body>
</html>
`.value;
}

/** A page without the frame: sign-in, TOTP, enrolment, and the set-password page of emailed links. */
export function bare(title: string, body: SafeHtml, o: { subtitle?: string } = {}): string {
  return html`<!doctype html>
<html lang="en">
${head(title)}
<body class="bare">
<a class="skip" href="#main">Skip to content</a>
<main id="main" class="bare-main">
  <div class="bare-brand"><span class="brand-mark" aria-hidden="true">G</span><span>Gatehouse</span>${o.subtitle ? html`<span class="bare-sub">${o.subtitle}</span>` : ''}</div>
  ${body}
</main>
<footer class="bare-foot">Gatehouse identity appliance</footer>
</body>
</html>
`.value;
}
