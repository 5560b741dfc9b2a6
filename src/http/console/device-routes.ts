import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEVICE_BULK_ACTIONS, DEVICE_BULK_LABELS, type DeviceBulkAction } from '../../core/console/bulk-actions.js';
import { deviceListFilter, DEVICE_VIEW_LABELS, DEVICE_VIEWS, type DeviceView } from '../../core/console/list-views.js';
import type { SystemAttr } from '../../core/directory/filter.js';
import type { System } from '../../core/directory/types.js';
import type { SystemFields } from '../../core/directory/systems.js';
import { isDomainError } from '../../core/errors.js';
import { html, type SafeHtml } from '../plugins/html.js';
import {
  allCheck,
  bulkResults,
  card,
  checkField,
  csrfField,
  emptyState,
  facts,
  fmtCount,
  fmtDate,
  linkButton,
  listHref,
  listToolbar,
  moreActions,
  pageHeader,
  pager,
  parseListState,
  pill,
  rowCheck,
  selectField,
  sortHeader,
  textField,
  when,
} from './components.js';
import { actorOf, redirectWith, safeReturn, type ConsoleDeps } from './context.js';
import { checked, field, fieldList } from '../form-fields.js';
import { FormBody, IdParams, ListQuery } from './schemas.js';
import { icon } from './icons.js';
import type { Render } from './index.js';

const SORTS = ['displayName', 'hostname', 'os', 'createdAt'] as const;

const osOptions = ['', 'Linux', 'macOS', 'Windows', 'Other'].map((v) => ({ value: v, label: v || 'Unknown' }));

function deviceForm(o: { csrf: string; action: string; s?: System; values?: Record<string, string | boolean>; errors: Record<string, string>; submit: string }): SafeHtml {
  const v = o.values ?? {
    displayName: o.s?.displayName ?? '',
    hostname: o.s?.hostname ?? '',
    os: o.s?.os ?? '',
    version: o.s?.version ?? '',
    arch: o.s?.arch ?? '',
    active: o.s?.active ?? true,
    allowMultiFactorAuthentication: o.s?.allowMultiFactorAuthentication ?? false,
    systemInsights: o.s ? o.s.systemInsightsState === 'enabled' : false,
  };
  const str = (k: string) => String(v[k] ?? '');
  return html`<form method="post" action="${o.action}" class="card form-card" novalidate>${csrfField(o.csrf)}
  <fieldset><legend>Device</legend><div class="form-grid">
    ${textField({ label: 'Display name', name: 'displayName', value: str('displayName'), required: true, error: o.errors.displayName })}
    ${textField({ label: 'Hostname', name: 'hostname', value: str('hostname'), error: o.errors.hostname })}
    ${selectField({ label: 'Operating system', name: 'os', value: str('os'), options: osOptions })}
    ${textField({ label: 'OS version', name: 'version', value: str('version'), error: o.errors.version })}
    ${textField({ label: 'Architecture', name: 'arch', value: str('arch'), placeholder: 'x86_64', error: o.errors.arch })}
  </div></fieldset>
  <fieldset><legend>Settings</legend>
    ${checkField({ label: 'Active (the device checks in)', name: 'active', checked: v.active === true })}
    ${checkField({ label: 'Allow multi-factor authentication on this device', name: 'allowMultiFactorAuthentication', checked: v.allowMultiFactorAuthentication === true })}
    ${checkField({ label: 'Collect System Insights', name: 'systemInsights', checked: v.systemInsights === true })}
  </fieldset>
  <div class="form-actions"><button type="submit" class="btn btn-primary">${o.submit}</button><a class="btn btn-secondary" href="/admin/devices">Cancel</a></div>
</form>`;
}

function readDevice(body: unknown): { fields: SystemFields; values: Record<string, string | boolean> } {
  const values = {
    displayName: field(body, 'displayName', 256),
    hostname: field(body, 'hostname', 256),
    os: field(body, 'os', 128),
    version: field(body, 'version', 128),
    arch: field(body, 'arch', 128),
    active: checked(body, 'active'),
    allowMultiFactorAuthentication: checked(body, 'allowMultiFactorAuthentication'),
    systemInsights: checked(body, 'systemInsights'),
  };
  const { systemInsights, ...rest } = values;
  return { values, fields: { ...rest, systemInsightsState: systemInsights ? 'enabled' : 'disabled' } };
}

/** Devices and device groups: lists with bulk actions (MFA, System Insights), records and membership. */
export function registerDeviceRoutes(app: FastifyInstance, d: ConsoleDeps, render: Render): void {
  const { core } = d;
  const base = '/admin/devices';

  app.get('/devices', { schema: { querystring: ListQuery } }, async (req, reply) => {
    const s = parseListState(req.query, { views: DEVICE_VIEWS, sorts: SORTS, defaultSort: 'displayName', pageSize: d.pageSize });
    const filter = deviceListFilter({ view: s.view as DeviceView, search: s.q });
    const page = await core.systems.list({ ...(filter ? { filter } : {}), sort: [{ attr: s.sort as SystemAttr, desc: s.desc }], limit: s.size, offset: (s.page - 1) * s.size });
    const body = html`${pageHeader({ title: 'Devices', subtitle: `${fmtCount(page.total)} device${page.total === 1 ? '' : 's'}`, actions: linkButton('/admin/devices/new', 'Add device', 'primary', 'plus') })}
<div class="card list-card">
  ${listToolbar({ base, state: s, searchLabel: 'Search devices by name, hostname or OS', views: DEVICE_VIEWS, viewLabels: DEVICE_VIEW_LABELS })}
  <form id="devices-bulk" method="post" action="/admin/devices/bulk" class="bulk-bar">${csrfField(reply.generateCsrf())}<input type="hidden" name="back" value="${listHref(base, s)}">
    ${moreActions(DEVICE_BULK_ACTIONS, DEVICE_BULK_LABELS, 'devices-bulk')}<span class="selection" data-selection-count="devices-bulk" aria-live="polite">No devices selected</span></form>
  ${page.items.length === 0
    ? emptyState({ title: s.q || s.view !== 'all' ? 'No devices match' : 'No devices yet', text: s.q || s.view !== 'all' ? 'Try another search or filter.' : 'Add device records to bind users and track MFA and System Insights.', action: linkButton('/admin/devices/new', 'Add device', 'primary', 'plus') })
    : html`<div class="table-wrap"><table class="data-table selectable"><caption class="visually-hidden">Devices</caption>
      <thead><tr>${allCheck('devices-bulk')}${sortHeader('Device', 'displayName', base, s)}${sortHeader('Hostname', 'hostname', base, s)}${sortHeader('OS', 'os', base, s)}<th scope="col">Status</th><th scope="col">MFA</th><th scope="col">System Insights</th><th scope="col">Last contact</th></tr></thead>
      <tbody>${page.items.map(
        (x) => html`<tr>${rowCheck('devices-bulk', x.id, x.displayName)}<td><a class="who" href="${base}/${x.id}"><span class="avatar avatar-sm device" aria-hidden="true">${icon('laptop')}</span><span>${x.displayName}</span></a></td>
          <td>${x.hostname}</td><td>${[x.os, x.version].filter(Boolean).join(' ')}</td><td>${x.active ? pill('Active', 'ok') : pill('Inactive', 'warn')}</td>
          <td>${x.allowMultiFactorAuthentication ? pill('Enabled', 'ok') : pill('Disabled', 'muted')}</td><td>${x.systemInsightsState === 'enabled' ? pill('Enabled', 'ok') : pill('Disabled', 'muted')}</td>
          <td>${x.lastContact ? fmtDate(x.lastContact) : html`<span class="muted">Never</span>`}</td></tr>`,
      )}</tbody></table></div>${pager(base, s, page.total, 'Devices')}`}
</div>`;
    return render(req, reply, 'Devices', body);
  });

  app.post('/devices/bulk', { schema: { body: FormBody } }, async (req, reply) => {
    const action = field(req.body, 'action', 40);
    const back = safeReturn(field(req.body, 'back', 1024), base, base);
    const ids = fieldList(req.body, 'ids');
    if (ids.length === 0) return redirectWith(req, reply, back, { kind: 'error', text: 'Select at least one device first.' });
    const results = await core.console.bulk.devices(action, ids, actorOf(req));
    const title = DEVICE_BULK_LABELS[action as DeviceBulkAction] ?? action;
    return render(
      req,
      reply,
      title,
      html`${pageHeader({ title, subtitle: `${results.length} device${results.length === 1 ? '' : 's'} selected`, crumbs: [{ label: 'Devices', href: back }, { label: title }] })}
${card({ body: bulkResults({ title, results, itemHref: (id) => `${base}/${id}`, back, backLabel: 'Back to devices' }) })}`,
    );
  });

  const showNew = (req: FastifyRequest, reply: FastifyReply, values?: Record<string, string | boolean>, errors: Record<string, string> = {}, status = 200) =>
    render(req, reply, 'Add device', html`${pageHeader({ title: 'Add device', crumbs: [{ label: 'Devices', href: base }, { label: 'Add device' }] })}${deviceForm({ csrf: reply.generateCsrf(), action: base, ...(values ? { values } : {}), errors, submit: 'Create device' })}`, status);

  app.get('/devices/new', async (req, reply) => showNew(req, reply));

  app.post('/devices', { schema: { body: FormBody } }, async (req, reply) => {
    const { fields, values } = readDevice(req.body);
    try {
      const s = await core.systems.create(fields, actorOf(req));
      return redirectWith(req, reply, `${base}/${s.id}`, { kind: 'ok', text: `Device ${s.displayName} created.` });
    } catch (err) {
      if (!isDomainError(err) || err.kind !== 'invalid') throw err;
      return showNew(req, reply, values, { [err.field ?? 'displayName']: err.message }, 400);
    }
  });

  const showDevice = async (req: FastifyRequest, reply: FastifyReply, values?: Record<string, string | boolean>, errors: Record<string, string> = {}, status = 200) => {
    const { id } = req.params as { id: string };
    const s = await core.systems.get(id);
    const csrf = reply.generateCsrf();
    const bound = await core.associations.listTo('system', id);
    const users = await core.users.list({ filter: { op: 'in', attr: 'id', values: bound.filter((a) => a.fromType === 'user').map((a) => a.fromId) }, limit: 200, offset: 0, withTotal: false });
    const groups = await Promise.all(bound.filter((a) => a.fromType === 'user_group').map((a) => core.userGroups.get(a.fromId)));
    const body = html`${pageHeader({
      title: s.displayName,
      crumbs: [{ label: 'Devices', href: base }, { label: s.displayName }],
      lead: html`<span class="avatar avatar-lg device" aria-hidden="true">${icon('laptop')}</span>`,
      subtitle: html`${s.hostname || 'No hostname'} ${s.active ? pill('Active', 'ok') : pill('Inactive', 'warn')}`,
      actions: html`<form method="post" action="${base}/${id}/delete" class="inline-form" data-confirm="Delete device ${s.displayName}?">${csrfField(csrf)}<button class="btn btn-danger" type="submit">Delete device</button></form>`,
    })}
<div class="two-col wide-left">
  ${deviceForm({ csrf, action: `${base}/${id}`, s, ...(values ? { values } : {}), errors, submit: 'Save changes' })}
  <div>
    ${card({ title: 'Record', body: facts([['Agent version', s.agentVersion], ['Last contact', when(s.lastContact)], ['Created', when(s.createdAt)], ['Device ID', html`<code>${s.id}</code>`]]) })}
    ${card({
      title: 'Bound users and groups',
      description: 'Bind users or groups from their own pages (Bindings tab).',
      body:
        users.items.length + groups.length === 0
          ? html`<p class="muted">Nobody is bound to this device.</p>`
          : html`<ul class="plain-list">${users.items.map((u) => html`<li><a href="/admin/users/${u.id}">${u.username}</a></li>`)}${groups.map((g) => html`<li><a href="/admin/groups/${g.id}">${g.name}</a> <span class="muted">(group)</span></li>`)}</ul>`,
    })}
  </div>
</div>`;
    return render(req, reply, s.displayName, body, status);
  };

  app.get('/devices/:id', { schema: { params: IdParams } }, async (req, reply) => showDevice(req, reply));

  app.post('/devices/:id', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const { fields, values } = readDevice(req.body);
    try {
      await core.systems.update(id, fields, actorOf(req));
    } catch (err) {
      if (!isDomainError(err) || err.kind !== 'invalid') throw err;
      return showDevice(req, reply, values, { [err.field ?? 'displayName']: err.message }, 400);
    }
    return redirectWith(req, reply, `${base}/${id}`, { kind: 'ok', text: 'Changes saved.' });
  });

  app.post('/devices/:id/delete', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const s = await core.systems.remove((req.params as { id: string }).id, actorOf(req));
    return redirectWith(req, reply, base, { kind: 'ok', text: `Device ${s.displayName} deleted.` });
  });

  // ---- device groups
  const gbase = '/admin/device-groups';
  app.get('/device-groups', async (req, reply) => {
    const page = await core.systems.groups.list(500, 0);
    const csrf = reply.generateCsrf();
    const body = html`${pageHeader({ title: 'Device Groups', subtitle: `${fmtCount(page.total)} group${page.total === 1 ? '' : 's'}` })}
<div class="two-col wide-left">
  <div class="card list-card">${page.items.length === 0
    ? emptyState({ title: 'No device groups yet', text: 'Group devices to bind them to users in one step.', icon: 'layers' })
    : html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">Device groups</caption><thead><tr><th scope="col">Name</th><th scope="col">Description</th></tr></thead>
      <tbody>${page.items.map((g) => html`<tr><td><a href="${gbase}/${g.id}">${g.name}</a></td><td>${g.description}</td></tr>`)}</tbody></table></div>`}</div>
  ${card({
    title: 'Add device group',
    body: html`<form method="post" action="${gbase}" class="stack" novalidate>${csrfField(csrf)}${textField({ label: 'Name', name: 'name', required: true })}${textField({ label: 'Description', name: 'description' })}
      <div class="form-actions"><button class="btn btn-primary" type="submit">Create group</button></div></form>`,
  })}
</div>`;
    return render(req, reply, 'Device Groups', body);
  });

  app.post('/device-groups', { schema: { body: FormBody } }, async (req, reply) => {
    try {
      const g = await core.systems.groups.create({ name: field(req.body, 'name', 256), description: field(req.body, 'description', 2048) }, actorOf(req));
      return redirectWith(req, reply, `${gbase}/${g.id}`, { kind: 'ok', text: `Device group ${g.name} created.` });
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      return redirectWith(req, reply, gbase, { kind: 'error', text: err.message });
    }
  });

  app.get('/device-groups/:id', { schema: { params: IdParams } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const g = await core.systems.groups.get(id);
    const memberIds = await core.systems.groups.members(id, 500, 0);
    const members = memberIds.items.length
      ? (await core.systems.list({ filter: { op: 'in', attr: 'id', values: memberIds.items }, limit: 500, offset: 0, withTotal: false })).items
      : [];
    const others = (await core.systems.list({ limit: 500, offset: 0, sort: [{ attr: 'displayName', desc: false }], withTotal: false })).items.filter((s) => !memberIds.items.includes(s.id));
    const csrf = reply.generateCsrf();
    const body = html`${pageHeader({
      title: g.name,
      crumbs: [{ label: 'Device Groups', href: gbase }, { label: g.name }],
      subtitle: g.description || 'Device group',
      actions: html`<form method="post" action="${gbase}/${id}/delete" class="inline-form" data-confirm="Delete device group ${g.name}?">${csrfField(csrf)}<button class="btn btn-danger" type="submit">Delete group</button></form>`,
    })}
${card({
  title: 'Devices',
  body: html`${members.length === 0
    ? html`<p class="muted">No devices in this group.</p>`
    : html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">Devices in ${g.name}</caption><thead><tr><th scope="col">Device</th><th scope="col">Hostname</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>${members.map(
        (s) => html`<tr><td><a href="${base}/${s.id}">${s.displayName}</a></td><td>${s.hostname}</td><td class="actions"><form method="post" action="${gbase}/${id}/members" class="inline-form">${csrfField(csrf)}<input type="hidden" name="op" value="remove"><input type="hidden" name="systemId" value="${s.id}"><button type="submit" class="btn btn-small btn-secondary" aria-label="Remove ${s.displayName}">Remove</button></form></td></tr>`,
      )}</tbody></table></div>`}
  ${others.length > 0
    ? html`<form method="post" action="${gbase}/${id}/members" class="add-row">${csrfField(csrf)}<input type="hidden" name="op" value="add"><label for="add-device">Add device</label>
      <select id="add-device" name="systemId">${others.map((s) => html`<option value="${s.id}">${s.displayName}</option>`)}</select><button class="btn btn-primary" type="submit">Add</button></form>`
    : ''}`,
})}`;
    return render(req, reply, g.name, body);
  });

  app.post('/device-groups/:id/members', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const op = field(req.body, 'op') === 'remove' ? 'remove' : 'add';
    await core.systems.groups.changeMember(id, op, field(req.body, 'systemId', 24), actorOf(req));
    return redirectWith(req, reply, `${gbase}/${id}`, { kind: 'ok', text: op === 'add' ? 'Device added.' : 'Device removed.' });
  });

  app.post('/device-groups/:id/delete', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const g = await core.systems.groups.remove((req.params as { id: string }).id, actorOf(req));
    return redirectWith(req, reply, gbase, { kind: 'ok', text: `Device group ${g.name} deleted.` });
  });
}
