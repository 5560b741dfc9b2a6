import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { USER_BULK_LABELS, type UserBulkAction } from '../../core/console/bulk-actions.js';
import { userListFilter, USER_VIEWS, type UserView } from '../../core/console/list-views.js';
import type { SortKey, UserAttr } from '../../core/directory/filter.js';
import type { UserFields } from '../../core/directory/users.js';
import { isDomainError, type DomainError } from '../../core/errors.js';
import type { Core } from '../../core/index.js';
import { html } from '../plugins/html.js';
import { bindableResources, bindingsTable, parseTarget } from './bindings.js';
import { bulkResults, card, pageHeader, parseListState } from './components.js';
import { actorOf, redirectWith, safeReturn, type ConsoleDeps } from './context.js';
import { checked, field, fieldList } from '../form-fields.js';
import { FormBody, IdParams, ListQuery } from './schemas.js';
import type { Render } from './index.js';
import {
  deleteUserView,
  eventList,
  newUserView,
  userDetailHeader,
  userDetailsTab,
  userFormValues,
  userGroupsTab,
  usersListView,
  userSecurityTab,
  USER_SORTS,
  type UserFormValues,
  type UserTab,
} from './user-views.js';


const SORT_ATTRS: Record<(typeof USER_SORTS)[number], UserAttr> = { username: 'username', email: 'email', lastname: 'lastname', state: 'state', createdAt: 'createdAt' };

/** The password rules in words, for hints beside password fields. */
export async function policyRules(core: Core): Promise<string[]> {
  const p = (await core.organization.get()).settings.passwordPolicy;
  return [
    ...(p.enableMinLength ? [`at least ${p.minLength} characters`] : []),
    ...(p.needsUppercase ? ['an uppercase letter'] : []),
    ...(p.needsLowercase ? ['a lowercase letter'] : []),
    ...(p.needsNumeric ? ['a digit'] : []),
    ...(p.needsSymbolic ? ['a symbol'] : []),
    ...(!p.allowUsernameSubstring ? ['not containing the username'] : []),
    ...(p.enableMaxHistory && p.maxHistory > 0 ? [`not one of the last ${p.maxHistory}`] : []),
  ].map((r, i) => (i === 0 ? `Password: ${r}` : r));
}

/** Form fields → core's user fields. */
function userFieldsOf(body: unknown): { fields: UserFields; values: UserFormValues } {
  const s = (k: string) => field(body, k, 2048);
  const values: UserFormValues = {
    username: s('username'),
    email: s('email'),
    firstname: s('firstname'),
    lastname: s('lastname'),
    displayname: s('displayname'),
    state: s('state') || 'ACTIVATED',
    jobTitle: s('jobTitle'),
    department: s('department'),
    company: s('company'),
    location: s('location'),
    employeeIdentifier: s('employeeIdentifier'),
    description: s('description'),
    ldapBindingUser: checked(body, 'ldapBindingUser'),
    unixUid: s('unixUid').trim(),
    unixGuid: s('unixGuid').trim(),
  };
  const num = (v: string) => (/^\d+$/.test(v) ? Number(v) : v);
  const fields: UserFields = {
    username: values.username,
    email: values.email,
    firstname: values.firstname,
    lastname: values.lastname,
    displayname: values.displayname,
    state: values.state,
    jobTitle: values.jobTitle,
    department: values.department,
    company: values.company,
    location: values.location,
    employeeIdentifier: values.employeeIdentifier,
    description: values.description,
    ldapBindingUser: values.ldapBindingUser,
    ...(values.unixUid ? { unixUid: num(values.unixUid) } : {}),
    ...(values.unixGuid ? { unixGuid: num(values.unixGuid) } : {}),
  };
  return { fields, values };
}

/** A form error: which field, and a sentence. */
const formError = (err: DomainError) => ({ errors: err.field ? { [err.field]: err.message } : {}, error: err.field ? 'Check the highlighted field.' : err.message });

/** Users: the list (search, filter, sort, server-side paging, bulk actions), create, detail tabs, delete. */
export function registerUserRoutes(app: FastifyInstance, d: ConsoleDeps, render: Render): void {
  const { core } = d;

  app.get('/users', { schema: { querystring: ListQuery } }, async (req, reply) => {
    const state = parseListState(req.query, { views: USER_VIEWS, sorts: USER_SORTS, defaultSort: 'username', pageSize: d.pageSize });
    const org = await core.organization.get();
    const started = performance.now();
    const filter = userListFilter({ view: state.view as UserView, search: state.q }, org, new Date());
    const sort: SortKey<UserAttr>[] = [{ attr: SORT_ATTRS[state.sort as (typeof USER_SORTS)[number]], desc: state.desc }];
    let page = await core.users.list({ ...(filter ? { filter } : {}), sort, limit: state.size, offset: (state.page - 1) * state.size });
    // A page past the end (after a bulk change shrank the list) shows the last page instead.
    if (page.items.length === 0 && page.total > 0 && state.page > 1) {
      state.page = Math.ceil(page.total / state.size);
      page = await core.users.list({ ...(filter ? { filter } : {}), sort, limit: state.size, offset: (state.page - 1) * state.size });
    }
    const rows = await Promise.all(page.items.map(async (user) => ({ user, status: await core.users.status(user) })));
    const elapsedMs = Math.round(performance.now() - started);
    return render(req, reply, 'Users', usersListView({ csrf: reply.generateCsrf(), state, total: page.total, rows, elapsedMs }));
  });

  app.post('/users/bulk', { schema: { body: FormBody } }, async (req, reply) => {
    const action = field(req.body, 'action', 40);
    const back = safeReturn(field(req.body, 'back', 1024), '/admin/users', '/admin/users');
    const ids = fieldList(req.body, 'ids');
    if (ids.length === 0) return redirectWith(req, reply, back, { kind: 'error', text: 'Select at least one user first.' });
    const results = await core.console.bulk.users(action, ids, actorOf(req));
    const title = USER_BULK_LABELS[action as UserBulkAction] ?? action;
    return render(
      req,
      reply,
      title,
      html`${pageHeader({ title, subtitle: `${results.length} user${results.length === 1 ? '' : 's'} selected`, crumbs: [{ label: 'Users', href: back }, { label: title }] })}
${card({ body: bulkResults({ title, results, itemHref: (id) => `/admin/users/${id}`, back, backLabel: 'Back to users' }) })}`,
    );
  });

  const showNew = async (req: FastifyRequest, reply: FastifyReply, values = userFormValues(), errors: Record<string, string> = {}, error?: string, status = 200) =>
    render(req, reply, 'Add user', newUserView({ csrf: reply.generateCsrf(), values, errors, ...(error ? { error } : {}), mailEnabled: await core.console.mail.enabled(), rules: await policyRules(core) }), status);

  app.get('/users/new', async (req, reply) => showNew(req, reply));

  app.post('/users', { schema: { body: FormBody } }, async (req, reply) => {
    const { fields, values } = userFieldsOf(req.body);
    const password = field(req.body, 'password');
    let user;
    try {
      user = await core.users.create({ ...fields, ...(password ? { password } : {}) }, actorOf(req));
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      const f = formError(err);
      return showNew(req, reply, values, f.errors, f.error, err.kind === 'conflict' ? 409 : 400);
    }
    let note = '';
    if (!password && user.state === 'ACTIVATED' && checked(req.body, 'sendActivation')) {
      try {
        await core.console.mail.sendActivation(user);
        note = ` An activation email was sent to ${user.email}.`;
      } catch (err) {
        if (!isDomainError(err)) throw err;
        note = ` The activation email could not be sent: ${err.message}.`;
      }
    }
    return redirectWith(req, reply, `/admin/users/${user.id}`, { kind: note.includes('could not') ? 'error' : 'ok', text: `User ${user.username} created.${note}` });
  });

  const showUser = async (req: FastifyRequest, reply: FastifyReply, tab: UserTab, extra: { values?: UserFormValues; errors?: Record<string, string>; error?: string; passwordError?: string } = {}, status = 200) => {
    const { id } = req.params as { id: string };
    const user = await core.users.get(id);
    const status_ = await core.users.status(user);
    const groups = await core.users.memberOf(id);
    const csrf = reply.generateCsrf();
    let body;
    switch (tab) {
      case 'groups': {
        const all = await core.userGroups.list({ limit: 500, offset: 0, sort: [{ attr: 'name', desc: false }], withTotal: false });
        const mine = new Set(groups.map((g) => g.id));
        body = userGroupsTab({ user, csrf, groups, available: all.items.filter((g) => !mine.has(g.id)) });
        break;
      }
      case 'bindings': {
        const resources = await bindableResources(core);
        const direct = await core.associations.list('user', id);
        const inherited = (
          await Promise.all(groups.map(async (g) => (await core.associations.list('user_group', g.id)).map((association) => ({ association, groupName: g.name, groupId: g.id }))))
        ).flat();
        body = card({
          title: 'Bound resources',
          description: 'The user can authenticate to a resource bound to the user or to one of the user\'s groups.',
          body: bindingsTable({ csrf, action: `/admin/users/${id}/bindings`, direct, inherited, resources }),
        });
        break;
      }
      case 'security': {
        const failed = (await core.console.authState(id)).failedCount;
        body = userSecurityTab({ user, status: status_, csrf, rules: await policyRules(core), failedCount: failed, ...(extra.passwordError ? { passwordError: extra.passwordError } : {}) });
        break;
      }
      case 'activity':
        body = card({ title: 'Recent activity', body: eventList(await core.console.events.about(id, 25)), actions: html`<a class="card-link" href="/admin/insights?range=90d&q=${encodeURIComponent(user.username)}">Search in Insights</a>` });
        break;
      default:
        body = userDetailsTab({ user, csrf, values: extra.values ?? userFormValues(user), errors: extra.errors ?? {}, ...(extra.error ? { error: extra.error } : {}) });
    }
    return render(req, reply, user.username, html`${userDetailHeader({ user, status: status_, csrf, tab, groupCount: groups.length })}${body}`, status);
  };

  app.get(
    '/users/:id',
    { schema: { params: IdParams, querystring: Type.Object({ tab: Type.Optional(Type.String({ maxLength: 20 })) }) } },
    async (req, reply) => {
      const tab = (req.query as { tab?: string }).tab;
      const t: UserTab = tab === 'groups' || tab === 'bindings' || tab === 'security' || tab === 'activity' ? tab : 'details';
      return showUser(req, reply, t);
    },
  );

  app.post('/users/:id', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const { fields, values } = userFieldsOf(req.body);
    try {
      await core.users.update(id, fields, actorOf(req));
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      const f = formError(err);
      return showUser(req, reply, 'details', { values, errors: f.errors, error: f.error }, 400);
    }
    return redirectWith(req, reply, `/admin/users/${id}`, { kind: 'ok', text: 'Changes saved.' });
  });

  app.post('/users/:id/actions', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const action = field(req.body, 'action', 40);
    const [r] = await core.console.bulk.users(action, [id], actorOf(req));
    const label = USER_BULK_LABELS[action as UserBulkAction] ?? action;
    const text = r ? `${label}: ${r.message}.` : `${label}: done.`;
    return redirectWith(req, reply, `/admin/users/${id}${action === 'unlock' || action.includes('mfa') || action.includes('totp') ? '?tab=security' : ''}`, {
      kind: r?.status === 'failed' ? 'error' : r?.status === 'skipped' ? 'info' : 'ok',
      text,
    });
  });

  app.post('/users/:id/password', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const password = field(req.body, 'password');
    if (!password) return showUser(req, reply, 'security', { passwordError: 'Enter a password.' }, 400);
    try {
      await core.users.setPassword(id, password, actorOf(req));
    } catch (err) {
      if (!isDomainError(err) || err.kind !== 'invalid') throw err;
      return showUser(req, reply, 'security', { passwordError: err.message }, 400);
    }
    return redirectWith(req, reply, `/admin/users/${id}?tab=security`, { kind: 'ok', text: 'Password set.' });
  });

  app.post('/users/:id/groups', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const op = field(req.body, 'op') === 'remove' ? 'remove' : 'add';
    const groupId = field(req.body, 'groupId', 24);
    const group = await core.userGroups.get(groupId);
    await core.userGroups.changeMember(groupId, op, id, actorOf(req));
    return redirectWith(req, reply, `/admin/users/${id}?tab=groups`, { kind: 'ok', text: op === 'add' ? `Added to ${group.name}.` : `Removed from ${group.name}.` });
  });

  app.post('/users/:id/bindings', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const target = parseTarget(field(req.body, 'target', 80));
    const op = field(req.body, 'op') === 'remove' ? 'remove' : 'add';
    await core.associations.change({ type: 'user', id }, op, target, actorOf(req));
    return redirectWith(req, reply, `/admin/users/${id}?tab=bindings`, { kind: 'ok', text: op === 'add' ? 'Binding added.' : 'Binding removed.' });
  });

  app.get('/users/:id/delete', { schema: { params: IdParams } }, async (req, reply) => {
    const user = await core.users.get((req.params as { id: string }).id);
    return render(req, reply, `Delete ${user.username}`, deleteUserView({ user, csrf: reply.generateCsrf() }));
  });

  app.post('/users/:id/delete', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const user = await core.users.remove((req.params as { id: string }).id, actorOf(req));
    return redirectWith(req, reply, '/admin/users', { kind: 'ok', text: `User ${user.username} deleted.` });
  });
}
