import type { Association, GraphToType } from '../../core/directory/types.js';
import type { Core } from '../../core/index.js';
import { html, type SafeHtml } from '../plugins/html.js';
import { csrfField, pill } from './components.js';

/** A resource users and groups can be bound to, with where its console page is. */
export interface BindableResource {
  type: GraphToType;
  id: string;
  name: string;
  href: string;
}

export const TYPE_LABELS: Record<GraphToType, string> = {
  ldap_server: 'LDAP',
  radius_server: 'RADIUS',
  application: 'SSO application',
  system: 'Device',
  system_group: 'Device group',
};

/** Every bindable resource, by `type:id` (the few LDAP/RADIUS servers, apps and devices an organisation has). */
export async function bindableResources(core: Core): Promise<Map<string, BindableResource>> {
  const [ldap, radius, apps, systems, groups] = await Promise.all([
    core.ldapServers.list(),
    core.radiusServers.list(),
    core.applications.list(500, 0),
    core.systems.list({ limit: 500, offset: 0, sort: [{ attr: 'displayName', desc: false }], withTotal: false }),
    core.systems.groups.list(500, 0),
  ]);
  const all: BindableResource[] = [
    ...ldap.map((s) => ({ type: 'ldap_server' as const, id: s.id, name: s.name, href: '/admin/ldap' })),
    ...radius.map((s) => ({ type: 'radius_server' as const, id: s.id, name: s.name, href: `/admin/radius/${s.id}` })),
    ...apps.items.map((a) => ({ type: 'application' as const, id: a.id, name: a.displayLabel, href: `/admin/apps/${a.id}` })),
    ...systems.items.map((s) => ({ type: 'system' as const, id: s.id, name: s.displayName, href: `/admin/devices/${s.id}` })),
    ...groups.items.map((g) => ({ type: 'system_group' as const, id: g.id, name: g.name, href: `/admin/device-groups/${g.id}` })),
  ];
  return new Map(all.map((r) => [`${r.type}:${r.id}`, r]));
}

/**
 * The bindings table of a user or group: direct edges with an Unbind button, and (for users) the
 * edges inherited through groups, read-only, so an admin sees why a user can reach a resource.
 */
export function bindingsTable(o: {
  csrf: string;
  action: string;
  direct: Association[];
  inherited?: { association: Association; groupName: string; groupId: string }[];
  resources: Map<string, BindableResource>;
}): SafeHtml {
  const name = (a: Association) => o.resources.get(`${a.toType}:${a.toId}`);
  const rows = [
    ...o.direct.map((a) => {
      const r = name(a);
      return html`<tr><td>${TYPE_LABELS[a.toType]}</td><td>${r ? html`<a href="${r.href}">${r.name}</a>` : a.toId}</td><td>${pill('Direct', 'info')}</td>
        <td class="actions"><form method="post" action="${o.action}" class="inline-form">${csrfField(o.csrf)}<input type="hidden" name="op" value="remove"><input type="hidden" name="target" value="${a.toType}:${a.toId}"><button type="submit" class="btn btn-small btn-secondary" aria-label="Unbind ${r?.name ?? a.toId}">Unbind</button></form></td></tr>`;
    }),
    ...(o.inherited ?? []).map(({ association: a, groupName, groupId }) => {
      const r = name(a);
      return html`<tr><td>${TYPE_LABELS[a.toType]}</td><td>${r ? html`<a href="${r.href}">${r.name}</a>` : a.toId}</td><td>Through <a href="/admin/groups/${groupId}">${groupName}</a></td><td></td></tr>`;
    }),
  ];
  const bound = new Set(o.direct.map((a) => `${a.toType}:${a.toId}`));
  const options = [...o.resources.values()].filter((r) => !bound.has(`${r.type}:${r.id}`));
  const byType = (Object.keys(TYPE_LABELS) as GraphToType[]).map((t) => ({ t, list: options.filter((r) => r.type === t) })).filter((g) => g.list.length > 0);
  return html`${rows.length === 0
    ? html`<p class="muted">Not bound to any resource yet.</p>`
    : html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">Bindings</caption>
      <thead><tr><th scope="col">Type</th><th scope="col">Resource</th><th scope="col">How</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>${rows}</tbody></table></div>`}
  ${byType.length > 0
    ? html`<form method="post" action="${o.action}" class="add-row">${csrfField(o.csrf)}<input type="hidden" name="op" value="add">
      <label for="bind-target">Bind to</label>
      <select id="bind-target" name="target">${byType.map((g) => html`<optgroup label="${TYPE_LABELS[g.t]}">${g.list.map((r) => html`<option value="${r.type}:${r.id}">${r.name}</option>`)}</optgroup>`)}</select>
      <button type="submit" class="btn btn-primary">Bind</button></form>`
    : ''}`;
}

/** Splits the `type:id` of a bind form. */
export function parseTarget(value: string): { type: string; id: string } {
  const at = value.indexOf(':');
  return at < 0 ? { type: '', id: value } : { type: value.slice(0, at), id: value.slice(at + 1) };
}
