import type { AuditEvent } from '../../core/audit/event.js';
import { USER_BULK_ACTIONS, USER_BULK_LABELS } from '../../core/console/bulk-actions.js';
import { USER_VIEW_LABELS, USER_VIEWS } from '../../core/console/list-views.js';
import type { User, UserGroup } from '../../core/directory/types.js';
import type { UserStatus } from '../../core/directory/users.js';
import { html, type SafeHtml } from '../plugins/html.js';
import {
  actionForm,
  allCheck,
  avatar,
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
  pill,
  rowCheck,
  selectField,
  sortHeader,
  tabs,
  textArea,
  textField,
  when,
  type ListState,
} from './components.js';
import { icon } from './icons.js';

export const USER_SORTS = ['username', 'email', 'lastname', 'state', 'createdAt'] as const;

export const displayName = (u: User) => u.displayname || [u.firstname, u.lastname].filter(Boolean).join(' ') || u.username;

/** The state pills of a user: its lifecycle state, and lock, expiry and MFA flags. */
export function userPills(u: User, s: UserStatus): SafeHtml {
  const state =
    u.state === 'SUSPENDED'
      ? pill('Suspended', 'bad')
      : u.state === 'STAGED'
        ? pill('Staged', 'muted')
        : u.hasPassword
          ? pill('Active', 'ok')
          : pill('Password pending', 'warn');
  return html`${state}${s.accountLocked ? html` ${pill('Locked out', 'bad')}` : ''}${s.passwordExpired ? html` ${pill('Password expired', 'bad')}` : ''}`;
}

const mfaCell = (u: User, s: UserStatus) =>
  u.totpEnrolled
    ? pill('TOTP', 'ok')
    : u.enableUserPortalMultifactor
      ? s.mfaInGracePeriod
        ? pill('Required · grace', 'warn')
        : pill('Required · not enrolled', 'bad')
      : html`<span class="muted">Not enrolled</span>`;

export function usersListView(o: {
  csrf: string;
  state: ListState;
  total: number;
  rows: { user: User; status: UserStatus }[];
  elapsedMs: number;
}): SafeHtml {
  const base = '/admin/users';
  const s = o.state;
  const back = listHref(base, s);
  const table =
    o.rows.length === 0
      ? emptyState({
          title: s.q || s.view !== 'all' ? 'No users match' : 'No users yet',
          text: s.q || s.view !== 'all' ? 'Try another search or filter.' : 'Add your first user to get started.',
          action: s.q || s.view !== 'all' ? linkButton(base, 'Show all users', 'secondary') : linkButton('/admin/users/new', 'Add user', 'primary', 'plus'),
        })
      : html`<div class="table-wrap"><table class="data-table selectable" aria-describedby="users-count">
  <caption class="visually-hidden">Users</caption>
  <thead><tr>${allCheck('users-bulk')}${sortHeader('User', 'username', base, s)}${sortHeader('Email', 'email', base, s)}${sortHeader('Name', 'lastname', base, s)}${sortHeader('Status', 'state', base, s)}<th scope="col">MFA</th>${sortHeader('Created', 'createdAt', base, s)}</tr></thead>
  <tbody>${o.rows.map(
    ({ user: u, status }) => html`<tr>
    ${rowCheck('users-bulk', u.id, u.username)}
    <td><a class="who" href="/admin/users/${u.id}">${avatar(displayName(u))}<span>${u.username}</span></a></td>
    <td>${u.email}</td>
    <td>${[u.firstname, u.lastname].filter(Boolean).join(' ') || html`<span class="muted">—</span>`}</td>
    <td>${userPills(u, status)}</td>
    <td>${mfaCell(u, status)}</td>
    <td>${fmtDate(u.createdAt, false)}</td>
  </tr>`,
  )}</tbody></table></div>`;
  return html`${pageHeader({
    title: 'Users',
    subtitle: html`<span id="users-count">${fmtCount(o.total)} user${o.total === 1 ? '' : 's'}${s.view !== 'all' ? html` · ${USER_VIEW_LABELS[s.view as keyof typeof USER_VIEW_LABELS]}` : ''}</span> <span class="muted small">(${o.elapsedMs} ms)</span>`,
    actions: linkButton('/admin/users/new', 'Add user', 'primary', 'plus'),
  })}
<div class="card list-card">
  ${listToolbar({ base, state: s, searchLabel: 'Search users by name, username or email', views: USER_VIEWS, viewLabels: USER_VIEW_LABELS })}
  <form id="users-bulk" method="post" action="/admin/users/bulk" class="bulk-bar">
    ${csrfField(o.csrf)}<input type="hidden" name="back" value="${back}">
    ${moreActions(USER_BULK_ACTIONS, USER_BULK_LABELS, 'users-bulk')}
    <span class="selection" data-selection-count="users-bulk" aria-live="polite">No users selected</span>
  </form>
  ${table}
  ${o.rows.length > 0 ? pager(base, s, o.total, 'Users') : ''}
</div>`;
}

export interface UserFormValues {
  username: string;
  email: string;
  firstname: string;
  lastname: string;
  displayname: string;
  state: string;
  jobTitle: string;
  department: string;
  company: string;
  location: string;
  employeeIdentifier: string;
  description: string;
  ldapBindingUser: boolean;
  unixUid: string;
  unixGuid: string;
}

export const userFormValues = (u?: User): UserFormValues => ({
  username: u?.username ?? '',
  email: u?.email ?? '',
  firstname: u?.firstname ?? '',
  lastname: u?.lastname ?? '',
  displayname: u?.displayname ?? '',
  state: u?.state ?? 'ACTIVATED',
  jobTitle: u?.jobTitle ?? '',
  department: u?.department ?? '',
  company: u?.company ?? '',
  location: u?.location ?? '',
  employeeIdentifier: u?.employeeIdentifier ?? '',
  description: u?.description ?? '',
  ldapBindingUser: u?.ldapBindingUser ?? false,
  unixUid: u ? String(u.unixUid) : '',
  unixGuid: u ? String(u.unixGuid) : '',
});

function profileFields(v: UserFormValues, errors: Record<string, string>, isNew: boolean): SafeHtml {
  const e = (k: string) => errors[k];
  return html`<fieldset><legend>Identity</legend><div class="form-grid">
  ${textField({ label: 'Username', name: 'username', value: v.username, required: true, autocomplete: 'off', hint: 'Letters, digits, ".", "_" and "-". The LDAP uid and RADIUS User-Name.', error: e('username'), autofocus: isNew })}
  ${textField({ label: 'Email', name: 'email', type: 'email', value: v.email, required: true, autocomplete: 'off', error: e('email') })}
  ${textField({ label: 'First name', name: 'firstname', value: v.firstname, error: e('firstname') })}
  ${textField({ label: 'Last name', name: 'lastname', value: v.lastname, error: e('lastname') })}
  ${textField({ label: 'Display name', name: 'displayname', value: v.displayname, hint: 'Shown instead of the first and last name when set.', error: e('displayname') })}
  ${selectField({ label: 'State', name: 'state', value: v.state, options: [{ value: 'ACTIVATED', label: 'Activated' }, { value: 'STAGED', label: 'Staged (cannot sign in, gets no email)' }, { value: 'SUSPENDED', label: 'Suspended' }], error: e('state') })}
</div></fieldset>
<fieldset><legend>Employment</legend><div class="form-grid">
  ${textField({ label: 'Job title', name: 'jobTitle', value: v.jobTitle, error: e('jobTitle') })}
  ${textField({ label: 'Department', name: 'department', value: v.department, error: e('department') })}
  ${textField({ label: 'Company', name: 'company', value: v.company, error: e('company') })}
  ${textField({ label: 'Location', name: 'location', value: v.location, error: e('location') })}
  ${textField({ label: 'Employee ID', name: 'employeeIdentifier', value: v.employeeIdentifier, error: e('employeeIdentifier') })}
  ${textArea({ label: 'Description', name: 'description', value: v.description, rows: 2, error: e('description') })}
</div></fieldset>
<fieldset><legend>Directory</legend><div class="form-grid">
  ${textField({ label: 'UID number', name: 'unixUid', type: 'number', value: v.unixUid, hint: isNew ? 'Leave empty to allocate the next free number.' : 'The POSIX uidNumber.', error: e('unix_uid'), min: 1 })}
  ${textField({ label: 'GID number', name: 'unixGuid', type: 'number', value: v.unixGuid, hint: isNew ? 'Defaults to the UID number.' : 'The POSIX gidNumber.', error: e('unix_guid'), min: 1 })}
  ${checkField({ label: 'LDAP bind account', name: 'ldapBindingUser', checked: v.ldapBindingUser, hint: 'May search the whole LDAP directory (a service account for apps).' })}
</div></fieldset>`;
}

export function newUserView(o: { csrf: string; values: UserFormValues; errors: Record<string, string>; error?: string; mailEnabled: boolean; rules: string[] }): SafeHtml {
  return html`${pageHeader({ title: 'Add user', crumbs: [{ label: 'Users', href: '/admin/users' }, { label: 'Add user' }] })}
${o.error ? html`<div class="notice notice-error" role="alert">${icon('alert')}<span>${o.error}</span></div>` : ''}
<form method="post" action="/admin/users" class="card form-card" novalidate>
  ${csrfField(o.csrf)}
  ${profileFields(o.values, o.errors, true)}
  <fieldset><legend>Password</legend><div class="form-grid">
    ${textField({ label: 'Password', name: 'password', type: 'password', autocomplete: 'new-password', hint: `Leave empty to let the user choose one through an activation email. ${o.rules.join(' · ')}`, error: o.errors.password })}
    ${checkField({ label: 'Send an activation email', name: 'sendActivation', checked: o.mailEnabled, disabled: !o.mailEnabled, hint: o.mailEnabled ? 'When no password is set, the user gets a link to choose one.' : 'Configure an SMTP server in Settings to send activation emails.' })}
  </div></fieldset>
  <div class="form-actions"><button type="submit" class="btn btn-primary">Create user</button><a class="btn btn-secondary" href="/admin/users">Cancel</a></div>
</form>`;
}

export type UserTab = 'details' | 'groups' | 'bindings' | 'security' | 'activity';

export function userDetailHeader(o: { user: User; status: UserStatus; csrf: string; tab: UserTab; groupCount: number }): SafeHtml {
  const u = o.user;
  const base = `/admin/users/${u.id}`;
  const act = (action: string, label: string, kind: 'primary' | 'secondary' | 'danger' = 'secondary', confirm?: string) =>
    actionForm({ action: `${base}/actions`, csrf: o.csrf, label, kind, hidden: { action }, ...(confirm ? { confirm } : {}) });
  return html`${pageHeader({
    title: displayName(u),
    crumbs: [{ label: 'Users', href: '/admin/users' }, { label: u.username }],
    lead: avatar(displayName(u), 'lg'),
    subtitle: html`${u.username} · ${u.email} ${userPills(u, o.status)}`,
    actions: html`<details class="menu" data-menu><summary class="btn btn-secondary">Actions${icon('chevron', 'chev')}</summary><div class="menu-panel actions-panel">
      ${o.status.accountLocked || u.lockedAt ? act('unlock', 'Unlock User Account') : ''}
      ${act('resend_email', 'Resend Email')}
      ${u.hasPassword ? act('force_password_change', 'Force Password Change', 'secondary', `Expire ${u.username}'s password now? Protocols that deny expired passwords will refuse it.`) : ''}
      ${u.enableUserPortalMultifactor ? act('remove_mfa', 'Remove User MFA Requirement') : act('require_mfa', 'Require User MFA')}
      ${u.totpEnrolled ? act('reset_totp', 'Reset TOTP MFA', 'secondary', `Remove ${u.username}'s TOTP key?`) : ''}
      <a class="btn btn-danger" href="${base}/delete">Delete user</a>
    </div></details>`,
  })}
${tabs([
  { label: 'Details', href: base, current: o.tab === 'details' },
  { label: 'User Groups', href: `${base}?tab=groups`, current: o.tab === 'groups', count: o.groupCount },
  { label: 'Bindings', href: `${base}?tab=bindings`, current: o.tab === 'bindings' },
  { label: 'Security', href: `${base}?tab=security`, current: o.tab === 'security' },
  { label: 'Activity', href: `${base}?tab=activity`, current: o.tab === 'activity' },
], 'User sections')}`;
}

export function userDetailsTab(o: { user: User; csrf: string; values: UserFormValues; errors: Record<string, string>; error?: string }): SafeHtml {
  return html`${o.error ? html`<div class="notice notice-error" role="alert">${icon('alert')}<span>${o.error}</span></div>` : ''}
<form method="post" action="/admin/users/${o.user.id}" class="card form-card" novalidate>
  ${csrfField(o.csrf)}
  ${profileFields(o.values, o.errors, false)}
  <div class="form-actions"><button type="submit" class="btn btn-primary">Save changes</button></div>
</form>`;
}

export function userGroupsTab(o: { user: User; csrf: string; groups: UserGroup[]; available: UserGroup[] }): SafeHtml {
  const base = `/admin/users/${o.user.id}/groups`;
  return card({
    title: 'User Groups',
    id: 'groups',
    description: 'Groups give the user access to the resources bound to them, RADIUS reply attributes and POSIX group membership.',
    body: html`${o.groups.length === 0
      ? html`<p class="muted">Not a member of any group.</p>`
      : html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">Groups of ${o.user.username}</caption>
        <thead><tr><th scope="col">Group</th><th scope="col">Description</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${o.groups.map(
          (g) => html`<tr><td><a href="/admin/groups/${g.id}">${g.name}</a></td><td>${g.description}</td><td class="actions">
            <form method="post" action="${base}" class="inline-form">${csrfField(o.csrf)}<input type="hidden" name="op" value="remove"><input type="hidden" name="groupId" value="${g.id}"><button class="btn btn-small btn-secondary" type="submit" aria-label="Remove from ${g.name}">Remove</button></form></td></tr>`,
        )}</tbody></table></div>`}
    ${o.available.length > 0
      ? html`<form method="post" action="${base}" class="add-row">${csrfField(o.csrf)}<input type="hidden" name="op" value="add">
        <label for="add-group">Add to group</label><select id="add-group" name="groupId">${o.available.map((g) => html`<option value="${g.id}">${g.name}</option>`)}</select>
        <button type="submit" class="btn btn-primary">Add</button></form>`
      : ''}`,
  });
}

export function userSecurityTab(o: { user: User; status: UserStatus; csrf: string; rules: string[]; failedCount: number; passwordError?: string }): SafeHtml {
  const u = o.user;
  const s = o.status;
  return html`<div class="two-col">
${card({
  title: 'Password',
  id: 'password',
  body: html`${facts([
    ['Status', u.hasPassword ? (s.passwordExpired ? pill('Expired', 'bad') : pill('Set', 'ok')) : pill('Pending: not set yet', 'warn')],
    ['Last changed', when(u.passwordChangedAt)],
    ['Expires', s.passwordExpiresAt ? when(s.passwordExpiresAt) : html`<span class="muted">Never (no expiry policy)</span>`],
    ['Forced change', u.passwordExpiredFlag ? 'Yes: the user must set a new password' : 'No'],
  ])}
  <form method="post" action="/admin/users/${u.id}/password" class="stack" novalidate>${csrfField(o.csrf)}
    ${textField({ label: 'Set a new password', name: 'password', type: 'password', autocomplete: 'new-password', hint: o.rules.join(' · '), ...(o.passwordError ? { error: o.passwordError } : {}) })}
    <div class="form-actions"><button type="submit" class="btn btn-secondary">Set password</button></div>
  </form>`,
})}
${card({
  title: 'Lockout',
  id: 'lockout',
  body: html`${facts([
    ['Status', s.accountLocked ? pill('Locked out', 'bad') : pill('Not locked', 'ok')],
    ['Locked at', when(u.lockedAt)],
    ['Failed attempts', String(o.failedCount)],
  ])}${s.accountLocked || u.lockedAt ? actionForm({ action: `/admin/users/${u.id}/actions`, csrf: o.csrf, label: 'Unlock User Account', kind: 'primary', hidden: { action: 'unlock' } }) : ''}`,
})}
${card({
  title: 'Multi-factor authentication',
  id: 'mfa',
  body: html`${facts([
    ['TOTP', u.totpEnrolled ? pill('Enrolled', 'ok') : pill('Not enrolled', 'muted')],
    ['MFA required', u.enableUserPortalMultifactor ? 'Yes (Require User MFA)' : 'No'],
    ['Enrolment grace period', s.mfaInGracePeriod && u.mfaExclusionUntil ? html`Until ${when(u.mfaExclusionUntil)}` : u.mfaExclusion && !u.mfaExclusionUntil ? 'Permanently excluded' : html`<span class="muted">—</span>`],
  ])}
  <div class="button-row">
    ${u.enableUserPortalMultifactor
      ? actionForm({ action: `/admin/users/${u.id}/actions`, csrf: o.csrf, label: 'Remove User MFA Requirement', hidden: { action: 'remove_mfa' } })
      : actionForm({ action: `/admin/users/${u.id}/actions`, csrf: o.csrf, label: 'Require User MFA', kind: 'primary', hidden: { action: 'require_mfa' } })}
    ${u.totpEnrolled ? actionForm({ action: `/admin/users/${u.id}/actions`, csrf: o.csrf, label: 'Reset TOTP MFA', confirm: `Remove ${u.username}'s TOTP key?`, hidden: { action: 'reset_totp' } }) : ''}
  </div>`,
})}
</div>`;
}

/** A short list of events (a user's activity, a resource's recent events), every field escaped. */
export function eventList(events: AuditEvent[], empty = 'No events in the last 90 days.'): SafeHtml {
  if (events.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">Recent events</caption>
  <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Result</th><th scope="col">By</th><th scope="col">Details</th></tr></thead>
  <tbody>${events.map(
    (e) => html`<tr><td><a href="/admin/insights/${e.id}">${fmtDate(e.timestamp)}</a></td><td><code>${e.event_type}</code></td><td>${e.success ? pill('Success', 'ok') : pill('Failure', 'bad')}</td>
      <td>${e.initiated_by?.email ?? e.initiated_by?.username ?? e.initiated_by?.type ?? ''}</td><td>${e.error_message ?? ''}</td></tr>`,
  )}</tbody></table></div>`;
}

export function deleteUserView(o: { user: User; csrf: string }): SafeHtml {
  return html`${pageHeader({ title: `Delete ${o.user.username}?`, crumbs: [{ label: 'Users', href: '/admin/users' }, { label: o.user.username, href: `/admin/users/${o.user.id}` }, { label: 'Delete' }] })}
${card({
  body: html`<p>Deleting <strong>${o.user.username}</strong> removes the account, its group memberships and bindings. LDAP binds, RADIUS and SSO sign-ins stop working for this user at once. This cannot be undone.</p>
  <div class="form-actions">${actionForm({ action: `/admin/users/${o.user.id}/delete`, csrf: o.csrf, label: 'Delete user', kind: 'danger' })}<a class="btn btn-secondary" href="/admin/users/${o.user.id}">Cancel</a></div>`,
})}`;
}
