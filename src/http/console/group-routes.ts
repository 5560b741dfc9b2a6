import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { searchFilter } from '../../core/directory/filter.js';
import type { NameValue, UserGroup } from '../../core/directory/types.js';
import type { UserGroupFields } from '../../core/directory/user-groups.js';
import { isDomainError } from '../../core/errors.js';
import { html, type SafeHtml } from '../plugins/html.js';
import { bindableResources, bindingsTable, parseTarget } from './bindings.js';
import {
  avatar,
  card,
  checkField,
  csrfField,
  emptyState,
  fmtCount,
  linkButton,
  listHref,
  pageHeader,
  pager,
  parseListState,
  sortHeader,
  tabs,
  textArea,
  textField,
  type ListState,
} from './components.js';
import { actorOf, redirectWith, type ConsoleDeps } from './context.js';
import { checked, field, fieldList } from '../form-fields.js';
import { FormBody, IdParams, LIST_QUERY_FIELDS } from './schemas.js';
import { icon } from './icons.js';
import type { Render } from './index.js';
import { displayName } from './user-views.js';

const ListQuery = Type.Object({
  ...LIST_QUERY_FIELDS,
  tab: Type.Optional(Type.String({ maxLength: 20 })),
});

interface GroupForm {
  name: string;
  description: string;
  email: string;
  posix: boolean;
  posixGid: string;
  posixName: string;
  reply: NameValue[];
}

const formOf = (g?: UserGroup): GroupForm => ({
  name: g?.name ?? '',
  description: g?.description ?? '',
  email: g?.email ?? '',
  posix: g ? g.posixGid !== null : false,
  posixGid: g?.posixGid !== null && g?.posixGid !== undefined ? String(g.posixGid) : '',
  posixName: g?.posixName ?? '',
  reply: g?.radiusReply ?? [],
});

function readForm(body: unknown): { form: GroupForm; fields: UserGroupFields } {
  const names = fieldList(body, 'replyName');
  const values = fieldList(body, 'replyValue');
  const reply = names.map((name, i) => ({ name: name.trim(), value: (values[i] ?? '').trim() })).filter((r) => r.name !== '' || r.value !== '');
  const form: GroupForm = {
    name: field(body, 'name', 256),
    description: field(body, 'description', 2048),
    email: field(body, 'email', 320),
    posix: checked(body, 'posix'),
    posixGid: field(body, 'posixGid', 12).trim(),
    posixName: field(body, 'posixName', 128).trim(),
    reply,
  };
  const fields: UserGroupFields = {
    name: form.name,
    description: form.description,
    email: form.email,
    posixGroups: form.posix ? [{ ...(form.posixGid ? { id: /^\d+$/.test(form.posixGid) ? Number(form.posixGid) : form.posixGid } : {}), ...(form.posixName ? { name: form.posixName } : {}) }] : [],
    radiusReply: reply,
  };
  return { form, fields };
}

function groupForm(o: { csrf: string; action: string; form: GroupForm; errors: Record<string, string>; error?: string; submit: string; cancel: string }): SafeHtml {
  const f = o.form;
  const rows = [...f.reply, { name: '', value: '' }, { name: '', value: '' }];
  const replyError = Object.entries(o.errors).find(([k]) => k.startsWith('attributes.radius.reply'))?.[1];
  return html`${o.error ? html`<div class="notice notice-error" role="alert">${icon('alert')}<span>${o.error}</span></div>` : ''}
<form method="post" action="${o.action}" class="card form-card" novalidate>
  ${csrfField(o.csrf)}
  <fieldset><legend>Group</legend><div class="form-grid">
    ${textField({ label: 'Name', name: 'name', value: f.name, required: true, error: o.errors.name, autofocus: !f.name })}
    ${textField({ label: 'Email', name: 'email', type: 'email', value: f.email, error: o.errors.email })}
    ${textArea({ label: 'Description', name: 'description', value: f.description, rows: 2, error: o.errors.description })}
  </div></fieldset>
  <fieldset><legend>POSIX group</legend>
    ${checkField({ label: 'This group is a POSIX group (posixGroup in LDAP, with gidNumber and memberUid)', name: 'posix', checked: f.posix })}
    <div class="form-grid">
      ${textField({ label: 'GID number', name: 'posixGid', type: 'number', value: f.posixGid, hint: 'Leave empty to allocate the next free number.', error: o.errors['attributes.posixGroups[0].id'], min: 1 })}
      ${textField({ label: 'POSIX group name', name: 'posixName', value: f.posixName, hint: 'Defaults to the group name.', error: o.errors['attributes.posixGroups[0].name'] })}
    </div>
  </fieldset>
  <fieldset><legend>RADIUS reply attributes</legend>
    <p class="hint">Sent in Access-Accept to members, by the RADIUS servers this group is bound to (e.g. Tunnel-Private-Group-Id = 100 for a VLAN). Tags as Tunnel-Type:1.</p>
    ${replyError ? html`<p class="field-error" role="alert">${replyError}</p>` : ''}
    <table class="attr-table" data-repeat>
      <thead><tr><th scope="col">Attribute</th><th scope="col">Value</th></tr></thead>
      <tbody>${rows.map(
        (r, i) => html`<tr><td><label class="visually-hidden" for="rn${i}">Attribute ${i + 1}</label><input id="rn${i}" name="replyName" value="${r.name}" ${i === 0 ? html` placeholder="Tunnel-Private-Group-Id"` : ''} list="radius-attrs"></td>
          <td><label class="visually-hidden" for="rv${i}">Value ${i + 1}</label><input id="rv${i}" name="replyValue" value="${r.value}"${i === 0 ? html` placeholder="100"` : ''}></td></tr>`,
      )}</tbody>
    </table>
    <button type="button" class="btn btn-secondary btn-small" data-add-row>${icon('plus')}<span>Add attribute</span></button>
    <datalist id="radius-attrs">${['Tunnel-Type', 'Tunnel-Medium-Type', 'Tunnel-Private-Group-Id', 'Filter-Id', 'Class', 'Session-Timeout', 'Idle-Timeout', 'Reply-Message', 'Framed-IP-Address', 'Cisco-AVPair', 'Aruba-User-Role'].map((n) => html`<option value="${n}">`)}</datalist>
  </fieldset>
  <div class="form-actions"><button type="submit" class="btn btn-primary">${o.submit}</button><a class="btn btn-secondary" href="${o.cancel}">Cancel</a></div>
</form>`;
}

/** User groups: list, create, and a detail page with members, bindings, RADIUS reply attributes and POSIX data. */
export function registerGroupRoutes(app: FastifyInstance, d: ConsoleDeps, render: Render): void {
  const { core } = d;
  const base = '/admin/groups';

  app.get('/groups', { schema: { querystring: ListQuery } }, async (req, reply) => {
    const s = parseListState(req.query, { views: ['all'], sorts: ['name', 'createdAt'], defaultSort: 'name', pageSize: d.pageSize });
    const filter = searchFilter(['name', 'description'], s.q);
    const page = await core.userGroups.list({ ...(filter ? { filter } : {}), sort: [{ attr: s.sort === 'createdAt' ? 'createdAt' : 'name', desc: s.desc }], limit: s.size, offset: (s.page - 1) * s.size });
    const body = html`${pageHeader({ title: 'User Groups', subtitle: `${fmtCount(page.total)} group${page.total === 1 ? '' : 's'}`, actions: linkButton('/admin/groups/new', 'Add group', 'primary', 'plus') })}
<div class="card list-card">
  <div class="list-toolbar"><form method="get" action="${base}" class="search-form" role="search">
    <label class="visually-hidden" for="list-search">Search groups</label><span class="search-box">${icon('search')}<input id="list-search" type="search" name="q" value="${s.q}" placeholder="Search groups"></span>
    <button type="submit" class="btn btn-secondary">Search</button></form></div>
  ${page.items.length === 0
    ? emptyState({ title: s.q ? 'No groups match' : 'No user groups yet', text: s.q ? 'Try another search.' : 'Groups bind users to LDAP, RADIUS and SSO apps in one step.', action: linkButton('/admin/groups/new', 'Add group', 'primary', 'plus') })
    : html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">User groups</caption>
      <thead><tr>${sortHeader('Name', 'name', base, s)}<th scope="col">Description</th><th scope="col">POSIX</th><th scope="col">RADIUS attributes</th>${sortHeader('Created', 'createdAt', base, s)}</tr></thead>
      <tbody>${page.items.map(
        (g) => html`<tr><td><a class="who" href="${base}/${g.id}"><span class="avatar avatar-sm group" aria-hidden="true">${icon('users')}</span><span>${g.name}</span></a></td><td>${g.description}</td>
          <td>${g.posixGid !== null ? html`<code>${g.posixName ?? g.name}</code> (${g.posixGid})` : html`<span class="muted">—</span>`}</td>
          <td>${g.radiusReply.length > 0 ? g.radiusReply.map((r) => html`<code class="kv">${r.name}=${r.value}</code> `) : html`<span class="muted">—</span>`}</td>
          <td>${g.createdAt.toISOString().slice(0, 10)}</td></tr>`,
      )}</tbody></table></div>${pager(base, s, page.total, 'Groups')}`}
</div>`;
    return render(req, reply, 'User Groups', body);
  });

  const showNew = (req: FastifyRequest, reply: FastifyReply, form = formOf(), errors: Record<string, string> = {}, error?: string, status = 200) =>
    render(
      req,
      reply,
      'Add group',
      html`${pageHeader({ title: 'Add user group', crumbs: [{ label: 'User Groups', href: base }, { label: 'Add group' }] })}${groupForm({ csrf: reply.generateCsrf(), action: base, form, errors, ...(error ? { error } : {}), submit: 'Create group', cancel: base })}`,
      status,
    );

  app.get('/groups/new', async (req, reply) => showNew(req, reply));

  app.post('/groups', { schema: { body: FormBody } }, async (req, reply) => {
    const { form, fields } = readForm(req.body);
    try {
      const g = await core.userGroups.create(fields, actorOf(req));
      return redirectWith(req, reply, `${base}/${g.id}?tab=members`, { kind: 'ok', text: `Group ${g.name} created. Add members and bind it to resources.` });
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      return showNew(req, reply, form, err.field ? { [err.field]: err.message } : {}, err.field ? 'Check the highlighted field.' : err.message, 400);
    }
  });

  const showGroup = async (req: FastifyRequest, reply: FastifyReply, extra: { form?: GroupForm; errors?: Record<string, string>; error?: string } = {}, status = 200) => {
    const { id } = req.params as { id: string };
    const q = req.query as { tab?: string };
    const group = await core.userGroups.get(id);
    const tab = extra.form ? 'details' : q.tab === 'members' || q.tab === 'bindings' ? q.tab : 'details';
    const csrf = reply.generateCsrf();
    const here = `${base}/${id}`;
    const ms = parseListState(req.query, { views: ['all'], sorts: ['username'], defaultSort: 'username', pageSize: d.pageSize });
    const filter = { op: 'and' as const, filters: [{ op: 'eq' as const, attr: 'memberOf' as const, value: id }, ...(ms.q ? [searchFilter(['username', 'email', 'firstname', 'lastname'], ms.q)!] : [])] };
    const members = await core.users.list({ filter, sort: [{ attr: 'username', desc: false }], limit: ms.size, offset: (ms.page - 1) * ms.size });
    let body: SafeHtml;
    if (tab === 'members') {
      const mbase = `${here}`;
      const withTab: ListState = { ...ms };
      const memberHref = (p: Partial<ListState>) => `${listHref(mbase, withTab, p)}&tab=members`;
      body = card({
        title: 'Members',
        id: 'members',
        body: html`<form method="post" action="${here}/members" class="add-row">${csrfField(csrf)}<input type="hidden" name="op" value="add">
          <label for="add-member">Add users</label><input id="add-member" name="usernames" placeholder="alice, bob" autocomplete="off" aria-describedby="add-member-hint">
          <button type="submit" class="btn btn-primary">Add</button><span class="hint" id="add-member-hint">Usernames or emails, separated by commas or spaces.</span></form>
        ${members.items.length === 0
          ? html`<p class="muted">${ms.q ? 'No members match.' : 'No members yet.'}</p>`
          : html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">Members of ${group.name}</caption>
            <thead><tr><th scope="col">User</th><th scope="col">Email</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>${members.items.map(
              (u) => html`<tr><td><a class="who" href="/admin/users/${u.id}">${avatar(displayName(u))}<span>${u.username}</span></a></td><td>${u.email}</td><td class="actions">
                <form method="post" action="${here}/members" class="inline-form">${csrfField(csrf)}<input type="hidden" name="op" value="remove"><input type="hidden" name="userId" value="${u.id}"><button type="submit" class="btn btn-small btn-secondary" aria-label="Remove ${u.username}">Remove</button></form></td></tr>`,
            )}</tbody></table></div>
            <nav class="pager" aria-label="Member pages"><span class="range">${fmtCount(members.total)} member${members.total === 1 ? '' : 's'}</span>
              <span class="pages">${ms.page > 1 ? html`<a class="btn btn-icon" href="${memberHref({ page: ms.page - 1 })}" aria-label="Previous page">${icon('chevronLeft')}</a>` : ''}
              <span>Page ${ms.page} of ${Math.max(1, Math.ceil(members.total / ms.size))}</span>
              ${ms.page * ms.size < members.total ? html`<a class="btn btn-icon" href="${memberHref({ page: ms.page + 1 })}" aria-label="Next page">${icon('chevronRight')}</a>` : ''}</span></nav>`}`,
      });
    } else if (tab === 'bindings') {
      body = card({
        title: 'Bound resources',
        description: 'Members can authenticate to every resource bound to this group. RADIUS servers send this group\'s reply attributes; LDAP shows the group and its POSIX data.',
        body: bindingsTable({ csrf, action: `${here}/bindings`, direct: await core.associations.list('user_group', id), resources: await bindableResources(core) }),
      });
    } else {
      body = groupForm({ csrf, action: here, form: extra.form ?? formOf(group), errors: extra.errors ?? {}, ...(extra.error ? { error: extra.error } : {}), submit: 'Save changes', cancel: base });
    }
    const page = html`${pageHeader({
      title: group.name,
      crumbs: [{ label: 'User Groups', href: base }, { label: group.name }],
      lead: html`<span class="avatar avatar-lg group" aria-hidden="true">${icon('users')}</span>`,
      subtitle: group.description || 'User group',
      actions: html`<a class="btn btn-danger" href="${here}/delete">Delete group</a>`,
    })}
${tabs([
  { label: 'Details', href: here, current: tab === 'details' },
  { label: 'Members', href: `${here}?tab=members`, current: tab === 'members', count: members.total },
  { label: 'Bindings', href: `${here}?tab=bindings`, current: tab === 'bindings' },
], 'Group sections')}
${body}`;
    return render(req, reply, group.name, page, status);
  };

  app.get('/groups/:id', { schema: { params: IdParams, querystring: ListQuery } }, async (req, reply) => showGroup(req, reply));

  app.post('/groups/:id', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const { form, fields } = readForm(req.body);
    try {
      await core.userGroups.update(id, fields, actorOf(req));
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      return showGroup(req, reply, { form, errors: err.field ? { [err.field]: err.message } : {}, error: err.field ? `Check the highlighted field: ${err.message}` : err.message }, 400);
    }
    return redirectWith(req, reply, `${base}/${id}`, { kind: 'ok', text: 'Changes saved.' });
  });

  app.post('/groups/:id/members', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const to = `${base}/${id}?tab=members`;
    if (field(req.body, 'op') === 'remove') {
      await core.userGroups.changeMember(id, 'remove', field(req.body, 'userId', 24), actorOf(req));
      return redirectWith(req, reply, to, { kind: 'ok', text: 'Member removed.' });
    }
    const names = field(req.body, 'usernames', 8192).split(/[\s,;]+/).filter(Boolean).slice(0, 200);
    if (names.length === 0) return redirectWith(req, reply, to, { kind: 'error', text: 'Enter at least one username or email.' });
    const added: string[] = [];
    const missing: string[] = [];
    for (const n of names) {
      const page = await core.users.list({ filter: { op: 'eq', attr: n.includes('@') ? 'email' : 'username', value: n }, limit: 1, offset: 0, withTotal: false });
      const u = page.items[0];
      if (!u) {
        missing.push(n);
        continue;
      }
      await core.userGroups.changeMember(id, 'add', u.id, actorOf(req));
      added.push(u.username);
    }
    const text = `${added.length > 0 ? `Added ${added.join(', ')}.` : ''}${missing.length > 0 ? ` Not found: ${missing.join(', ')}.` : ''}`.trim();
    return redirectWith(req, reply, to, { kind: missing.length > 0 ? (added.length > 0 ? 'info' : 'error') : 'ok', text });
  });

  app.post('/groups/:id/bindings', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const op = field(req.body, 'op') === 'remove' ? 'remove' : 'add';
    await core.associations.change({ type: 'user_group', id }, op, parseTarget(field(req.body, 'target', 80)), actorOf(req));
    return redirectWith(req, reply, `${base}/${id}?tab=bindings`, { kind: 'ok', text: op === 'add' ? 'Binding added.' : 'Binding removed.' });
  });

  app.get('/groups/:id/delete', { schema: { params: IdParams } }, async (req, reply) => {
    const g = await core.userGroups.get((req.params as { id: string }).id);
    return render(
      req,
      reply,
      `Delete ${g.name}`,
      html`${pageHeader({ title: `Delete ${g.name}?`, crumbs: [{ label: 'User Groups', href: base }, { label: g.name, href: `${base}/${g.id}` }, { label: 'Delete' }] })}
${card({ body: html`<p>Members lose the access this group gives them (its bindings and RADIUS reply attributes). The users themselves are not deleted.</p>
  <div class="form-actions"><form method="post" action="${base}/${g.id}/delete" class="inline-form">${csrfField(reply.generateCsrf())}<button class="btn btn-danger" type="submit">Delete group</button></form><a class="btn btn-secondary" href="${base}/${g.id}">Cancel</a></div>` })}`,
    );
  });

  app.post('/groups/:id/delete', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const g = await core.userGroups.remove((req.params as { id: string }).id, actorOf(req));
    return redirectWith(req, reply, base, { kind: 'ok', text: `Group ${g.name} deleted.` });
  });
}
