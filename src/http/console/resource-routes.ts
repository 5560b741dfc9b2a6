import { X509Certificate } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NAMEID_FORMATS, offersSingleLogout, SAML_USER_ATTRIBUTES, type ApplicationFields } from '../../core/directory/applications.js';
import { radiusServerWarnings } from '../../core/directory/radius-servers.js';
import type { AcsIndex, Application, Association, GraphToType, NameValue, RadiusServer } from '../../core/directory/types.js';
import type { RadiusServerFields } from '../../core/directory/radius-servers.js';
import { generateSharedSecret } from '../../core/console/shared-secret.js';
import { isDomainError } from '../../core/errors.js';
import { html, type SafeHtml } from '../plugins/html.js';
import {
  actionForm,
  card,
  checkField,
  csrfField,
  emptyState,
  facts,
  fmtDate,
  linkButton,
  pageHeader,
  pill,
  selectField,
  textArea,
  textField,
  when,
} from './components.js';
import { actorOf, redirectWith, type ConsoleDeps } from './context.js';
import { checked, field, fieldList } from '../form-fields.js';
import { FormBody, IdParams } from './schemas.js';
import { icon } from './icons.js';
import type { Render } from './index.js';


const errorNotice = (e?: string) => (e ? html`<div class="notice notice-error" role="alert">${icon('alert')}<span>${e}</span></div>` : '');

/** Who is bound to a resource: users and groups, with Unbind buttons and forms to bind more. */
async function boundCard(d: ConsoleDeps, o: { csrf: string; type: GraphToType; id: string; action: string; title?: string; description: string }): Promise<SafeHtml> {
  const { core } = d;
  const edges: Association[] = await core.associations.listTo(o.type, o.id);
  const userIds = edges.filter((a) => a.fromType === 'user').map((a) => a.fromId);
  const groupIds = edges.filter((a) => a.fromType === 'user_group').map((a) => a.fromId);
  const users = userIds.length ? (await core.users.list({ filter: { op: 'in', attr: 'id', values: userIds }, limit: 500, offset: 0, withTotal: false })).items : [];
  const groups = groupIds.length ? (await core.userGroups.list({ filter: { op: 'in', attr: 'id', values: groupIds }, limit: 500, offset: 0, withTotal: false })).items : [];
  const allGroups = (await core.userGroups.list({ limit: 500, offset: 0, sort: [{ attr: 'name', desc: false }], withTotal: false })).items.filter((g) => !groupIds.includes(g.id));
  const unbind = (fromType: string, fromId: string, name: string) =>
    html`<form method="post" action="${o.action}" class="inline-form">${csrfField(o.csrf)}<input type="hidden" name="op" value="remove"><input type="hidden" name="from" value="${fromType}:${fromId}"><button type="submit" class="btn btn-small btn-secondary" aria-label="Unbind ${name}">Unbind</button></form>`;
  const rows = [
    ...groups.map((g) => html`<tr><td><a class="who" href="/admin/groups/${g.id}"><span class="avatar avatar-sm group" aria-hidden="true">${icon('users')}</span><span>${g.name}</span></a></td><td>User group</td><td class="actions">${unbind('user_group', g.id, g.name)}</td></tr>`),
    ...users.map((u) => html`<tr><td><a href="/admin/users/${u.id}">${u.username}</a></td><td>User</td><td class="actions">${unbind('user', u.id, u.username)}</td></tr>`),
  ];
  return card({
    title: o.title ?? 'Users and groups',
    id: 'bound',
    description: o.description,
    body: html`${rows.length === 0
      ? html`<p class="muted">Nobody is bound yet: no user can authenticate here.</p>`
      : html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">Bound users and groups</caption><thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead><tbody>${rows}</tbody></table></div>`}
    <div class="add-rows">
      ${allGroups.length > 0
        ? html`<form method="post" action="${o.action}" class="add-row">${csrfField(o.csrf)}<input type="hidden" name="op" value="add"><label for="bind-group-${o.type}">Bind group</label>
          <select id="bind-group-${o.type}" name="from">${allGroups.map((g) => html`<option value="user_group:${g.id}">${g.name}</option>`)}</select><button class="btn btn-primary" type="submit">Bind</button></form>`
        : ''}
      <form method="post" action="${o.action}" class="add-row">${csrfField(o.csrf)}<input type="hidden" name="op" value="add"><label for="bind-user-${o.type}">Bind user</label>
        <input id="bind-user-${o.type}" name="username" placeholder="username or email" autocomplete="off"><button class="btn btn-secondary" type="submit">Bind</button></form>
    </div>`,
  });
}

/** Handles the bind form of `boundCard`. */
async function changeBinding(d: ConsoleDeps, req: FastifyRequest, to: { type: GraphToType; id: string }): Promise<string> {
  const op = field(req.body, 'op') === 'remove' ? 'remove' : 'add';
  let from = field(req.body, 'from', 64);
  if (!from) {
    const login = field(req.body, 'username', 320).trim().toLowerCase();
    if (!login) return 'Enter a username or email.';
    const u = (await d.core.users.list({ filter: { op: 'eq', attr: login.includes('@') ? 'email' : 'username', value: login }, limit: 1, offset: 0, withTotal: false })).items[0];
    if (!u) return `No user ${login}.`;
    from = `user:${u.id}`;
  }
  const [type, id] = from.split(':');
  if ((type !== 'user' && type !== 'user_group') || !id) return 'Choose a user or group.';
  await d.core.associations.change({ type, id }, op, to, actorOf(req));
  return '';
}

// ---------------------------------------------------------------- RADIUS

const MFA_LABELS: Record<RadiusServer['mfa'], string> = {
  DISABLED: 'Disabled: password only',
  ENABLED: 'Enabled: a code from users who have TOTP',
  REQUIRED: 'Required: users who must use MFA need a code',
  ALWAYS: 'Always: every user needs a code',
};

function radiusForm(o: { csrf: string; action: string; s?: RadiusServer; values?: Record<string, string | boolean>; errors: Record<string, string>; isNew: boolean }): SafeHtml {
  const v = o.values ?? {
    name: o.s?.name ?? '',
    networkSourceIp: o.s?.networkSourceIp ?? '',
    mfa: o.s?.mfa ?? 'DISABLED',
    userLockoutAction: o.s?.userLockoutAction ?? 'remove',
    userPasswordExpirationAction: o.s?.userPasswordExpirationAction ?? 'remove',
    requireMessageAuthenticator: o.s?.requireMessageAuthenticator ?? true,
  };
  const str = (k: string) => String(v[k] ?? '');
  return html`<form method="post" action="${o.action}" class="card form-card" novalidate>${csrfField(o.csrf)}
  <fieldset><legend>RADIUS client</legend><div class="form-grid">
    ${textField({ label: 'Name', name: 'name', value: str('name'), required: true, error: o.errors.name, autofocus: o.isNew })}
    ${textField({ label: 'Network source IP', name: 'networkSourceIp', value: str('networkSourceIp'), required: true, placeholder: '10.0.0.0/24', hint: 'The address or CIDR block the NAS (Wi-Fi controller, VPN) sends from.', error: o.errors.networkSourceIp })}
    ${o.isNew ? textField({ label: 'Shared secret', name: 'sharedSecret', type: 'password', autocomplete: 'new-password', hint: 'Leave empty to generate a strong 32-character secret (recommended). It is shown once.', error: o.errors.sharedSecret }) : ''}
  </div></fieldset>
  <fieldset><legend>Policy</legend><div class="form-grid">
    ${selectField({ label: 'MFA', name: 'mfa', value: str('mfa'), options: (Object.keys(MFA_LABELS) as RadiusServer['mfa'][]).map((m) => ({ value: m, label: MFA_LABELS[m] })), hint: 'Codes are asked with an Access-Challenge, or appended to the password (password;123456).' })}
    ${selectField({ label: 'Locked-out users', name: 'userLockoutAction', value: str('userLockoutAction'), options: [{ value: 'remove', label: 'Refuse (recommended)' }, { value: 'maintain', label: 'Let them through' }] })}
    ${selectField({ label: 'Expired passwords', name: 'userPasswordExpirationAction', value: str('userPasswordExpirationAction'), options: [{ value: 'remove', label: 'Refuse (recommended)' }, { value: 'maintain', label: 'Let them through' }] })}
  </div>
  ${checkField({ label: 'Require Message-Authenticator on Access-Request (BlastRADIUS protection)', name: 'requireMessageAuthenticator', checked: v.requireMessageAuthenticator === true, hint: 'Turn off only for legacy gear that cannot send it.' })}
  </fieldset>
  <div class="form-actions"><button type="submit" class="btn btn-primary">${o.isNew ? 'Create RADIUS server' : 'Save changes'}</button><a class="btn btn-secondary" href="/admin/radius">Cancel</a></div>
</form>`;
}

function readRadius(body: unknown): { fields: RadiusServerFields; values: Record<string, string | boolean> } {
  const values = {
    name: field(body, 'name', 256),
    networkSourceIp: field(body, 'networkSourceIp', 64).trim(),
    mfa: field(body, 'mfa', 16),
    userLockoutAction: field(body, 'userLockoutAction', 16),
    userPasswordExpirationAction: field(body, 'userPasswordExpirationAction', 16),
    requireMessageAuthenticator: checked(body, 'requireMessageAuthenticator'),
  };
  const secret = field(body, 'sharedSecret', 256);
  return { values, fields: { ...values, ...(secret ? { sharedSecret: secret } : {}) } };
}

/** The one page that shows a generated secret: it is never stored in clear nor shown again. */
function secretOnce(o: { title: string; server: RadiusServer; secret: string }): SafeHtml {
  return html`${pageHeader({ title: o.title, crumbs: [{ label: 'RADIUS', href: '/admin/radius' }, { label: o.server.name, href: `/admin/radius/${o.server.id}` }, { label: 'Shared secret' }] })}
${card({
  title: 'Shared secret',
  cls: 'secret-card',
  body: html`<div class="notice notice-info" role="status">${icon('info')}<span>Copy this secret into the NAS now. Gatehouse stores it encrypted and <strong>will not show it again</strong>.</span></div>
  <div class="secret-row"><code class="secret" id="shared-secret">${o.secret}</code><button type="button" class="btn btn-secondary" data-copy="shared-secret">${icon('copy')}<span>Copy</span></button></div>
  <p class="form-actions"><a class="btn btn-primary" href="/admin/radius/${o.server.id}">Done</a></p>`,
})}`;
}

// ---------------------------------------------------------------- SSO apps

interface AppForm {
  name: string;
  displayLabel: string;
  spEntityId: string;
  acsUrls: string;
  /** The SP metadata's ACS indexes as JSON; carried in a hidden field (see readApp). */
  acsIndexes: string;
  sloUrl: string;
  sloBinding: string;
  nameIdAttribute: string;
  nameIdFormat: string;
  signAssertion: boolean;
  signResponse: boolean;
  attributes: NameValue[];
  constantAttributes: NameValue[];
  groupAttribute: string;
  spCertificate: string;
  requireSignedRequests: boolean;
}

const appFormOf = (a?: Application, creds?: { spCertificate: string; requireSignedRequests: boolean }): AppForm => ({
  name: a?.name ?? '',
  displayLabel: a?.displayLabel ?? '',
  spEntityId: a?.config.spEntityId ?? '',
  acsUrls: a?.config.acsUrls.join('\n') ?? '',
  acsIndexes: acsIndexField(a?.config.acsIndexes ?? []),
  sloUrl: a?.config.sloUrl ?? '',
  sloBinding: a?.config.sloBinding ?? 'redirect',
  nameIdAttribute: a?.config.nameIdAttribute ?? 'email',
  nameIdFormat: a?.config.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  signAssertion: a?.config.signAssertion ?? true,
  signResponse: a?.config.signResponse ?? true,
  attributes: a?.config.attributes ?? [],
  constantAttributes: a?.config.constantAttributes ?? [],
  groupAttribute: a?.config.groupAttribute ?? '',
  spCertificate: creds?.spCertificate ?? '',
  requireSignedRequests: creds?.requireSignedRequests ?? false,
});

/** The indexes as JSON for the hidden field ('' when none); the template escapes it for the attribute. */
const acsIndexField = (list: readonly AcsIndex[]) => (list.length > 0 ? JSON.stringify(list.map((x) => ({ index: x.index, url: x.url }))) : '');
/** The indexes back; anything but a list is passed on as it is, for core to refuse with a field error. */
const parseAcsIndexField = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};
const describeAcsIndexes = (text: string): string => {
  const list = parseAcsIndexField(text);
  return Array.isArray(list) ? list.map((x: { index?: unknown; url?: unknown }) => `${String(x?.index)} → ${String(x?.url)}`).join(', ') : '';
};

function readApp(body: unknown): { form: AppForm; fields: ApplicationFields } {
  const pairs = (n: string, v: string) => {
    const names = fieldList(body, n);
    const values = fieldList(body, v);
    return names.map((name, i) => ({ name: name.trim(), value: (values[i] ?? '').trim() })).filter((p) => p.name !== '');
  };
  const form: AppForm = {
    name: field(body, 'name', 128).trim(),
    displayLabel: field(body, 'displayLabel', 256),
    spEntityId: field(body, 'spEntityId', 1024).trim(),
    acsUrls: field(body, 'acsUrls', 16_384),
    acsIndexes: field(body, 'acsIndexes', 16_384),
    sloUrl: field(body, 'sloUrl', 2048).trim(),
    sloBinding: field(body, 'sloBinding', 16),
    nameIdAttribute: field(body, 'nameIdAttribute', 64),
    nameIdFormat: field(body, 'nameIdFormat', 128),
    signAssertion: checked(body, 'signAssertion'),
    signResponse: checked(body, 'signResponse'),
    attributes: pairs('attrName', 'attrValue'),
    constantAttributes: pairs('constName', 'constValue'),
    groupAttribute: field(body, 'groupAttribute', 128).trim(),
    spCertificate: field(body, 'spCertificate', 16_384).trim(),
    requireSignedRequests: checked(body, 'requireSignedRequests'),
  };
  const fields: ApplicationFields = {
    name: form.name,
    displayLabel: form.displayLabel || form.name,
    config: {
      spEntityId: form.spEntityId,
      acsUrls: form.acsUrls.split(/\s+/).filter(Boolean),
      // Only metadata fills this in (the import form passes it on); an empty field changes nothing.
      ...(form.acsIndexes.trim() ? { acsIndexes: parseAcsIndexField(form.acsIndexes) } : {}),
      sloUrl: form.sloUrl,
      ...(form.sloUrl ? { sloBinding: form.sloBinding || 'redirect' } : {}),
      nameIdAttribute: form.nameIdAttribute,
      nameIdFormat: form.nameIdFormat,
      signAssertion: form.signAssertion,
      signResponse: form.signResponse,
      attributes: form.attributes,
      constantAttributes: form.constantAttributes,
      groupAttribute: form.groupAttribute,
      spCertificate: form.spCertificate,
      requireSignedRequests: form.requireSignedRequests,
    },
  };
  return { form, fields };
}

function appForm(o: { csrf: string; action: string; form: AppForm; errors: Record<string, string>; isNew: boolean }): SafeHtml {
  const f = o.form;
  const e = (k: string) => o.errors[k] ?? Object.entries(o.errors).find(([x]) => x.startsWith(`${k}[`))?.[1];
  const attrRows = [...f.attributes, { name: '', value: '' }];
  const constRows = [...f.constantAttributes, { name: '', value: '' }];
  const userAttrs = SAML_USER_ATTRIBUTES.map((a) => ({ value: a, label: a }));
  return html`<form method="post" action="${o.action}" class="card form-card" novalidate>${csrfField(o.csrf)}
  <fieldset><legend>Application</legend><div class="form-grid">
    ${textField({ label: 'Display label', name: 'displayLabel', value: f.displayLabel, hint: 'The tile label in the User Portal.', error: e('displayLabel'), autofocus: o.isNew })}
    ${textField({ label: 'Name', name: 'name', value: f.name, required: true, hint: 'URL-safe: the IdP URL is /saml2/<name>.', error: e('name') })}
  </div></fieldset>
  <fieldset><legend>Service provider</legend><div class="form-grid">
    ${textField({ label: 'SP entity ID', name: 'spEntityId', value: f.spEntityId, required: true, wide: true, placeholder: 'https://app.example.com/saml/metadata', error: e('config.spEntityId') })}
    ${textArea({ label: 'ACS URLs', name: 'acsUrls', value: f.acsUrls, rows: 3, mono: true, hint: f.acsIndexes ? `One per line. Responses are posted only to these exact URLs; the first is used for IdP-initiated sign-in. Indexes from the SP metadata: ${describeAcsIndexes(f.acsIndexes)}.` : 'One per line. Responses are posted only to these exact URLs; the first is used for IdP-initiated sign-in. A request that names an ACS by index gets the URL at that position, counting from 0 (or the index its SP metadata gave, when imported).', error: e('config.acsUrls') ?? e('config.acsIndexes') })}
    <input type="hidden" name="acsIndexes" value="${f.acsIndexes}">
    ${textField({ label: 'Single logout URL', name: 'sloUrl', value: f.sloUrl, wide: true, placeholder: 'https://app.example.com/saml/slo', hint: "Optional: the SP's SingleLogoutService, where Gatehouse answers its signed logout requests (they need the SP certificate below). Empty: no single logout.", error: e('config.sloUrl') })}
    ${selectField({ label: 'Single logout binding', name: 'sloBinding', value: f.sloBinding, options: [{ value: 'redirect', label: 'HTTP-Redirect' }, { value: 'post', label: 'HTTP-POST' }] })}
    ${selectField({ label: 'NameID from', name: 'nameIdAttribute', value: f.nameIdAttribute, options: userAttrs })}
    ${selectField({ label: 'NameID format', name: 'nameIdFormat', value: f.nameIdFormat, options: NAMEID_FORMATS.map((x) => ({ value: x, label: x.replace(/^urn:oasis:names:tc:SAML:\d\.\d:nameid-format:/, '') })) })}
  </div>
  ${checkField({ label: 'Sign the assertion', name: 'signAssertion', checked: f.signAssertion })}
  ${checkField({ label: 'Sign the response', name: 'signResponse', checked: f.signResponse })}
  ${e('config.signAssertion') ? html`<p class="field-error">${e('config.signAssertion')}</p>` : ''}
  </fieldset>
  <fieldset><legend>Attributes</legend>
    <p class="hint">Attribute statements: the SAML attribute name, and the user field it carries.</p>
    ${e('config.attributes') ? html`<p class="field-error" role="alert">${e('config.attributes')}</p>` : ''}
    <table class="attr-table" data-repeat><thead><tr><th scope="col">SAML attribute</th><th scope="col">User field</th></tr></thead><tbody>${attrRows.map(
      (r, i) => html`<tr><td><label class="visually-hidden" for="an${i}">Attribute name ${i + 1}</label><input id="an${i}" name="attrName" value="${r.name}" placeholder="email"></td>
        <td><label class="visually-hidden" for="av${i}">User field ${i + 1}</label><select id="av${i}" name="attrValue">${userAttrs.map((a) => html`<option value="${a.value}"${a.value === r.value ? html` selected` : ''}>${a.label}</option>`)}</select></td></tr>`,
    )}</tbody></table>
    <button type="button" class="btn btn-secondary btn-small" data-add-row>${icon('plus')}<span>Add attribute</span></button>
    <p class="hint">Constant attributes: the same value for every user.</p>
    <table class="attr-table" data-repeat><thead><tr><th scope="col">SAML attribute</th><th scope="col">Value</th></tr></thead><tbody>${constRows.map(
      (r, i) => html`<tr><td><label class="visually-hidden" for="cn${i}">Constant name ${i + 1}</label><input id="cn${i}" name="constName" value="${r.name}"></td><td><label class="visually-hidden" for="cv${i}">Constant value ${i + 1}</label><input id="cv${i}" name="constValue" value="${r.value}"></td></tr>`,
    )}</tbody></table>
    <button type="button" class="btn btn-secondary btn-small" data-add-row>${icon('plus')}<span>Add constant</span></button>
    <div class="form-grid">${textField({ label: 'Group attribute', name: 'groupAttribute', value: f.groupAttribute, placeholder: 'memberOf', hint: 'Carries the names of the user\'s groups bound to this app. Empty: not sent.', error: e('config.groupAttribute') })}</div>
  </fieldset>
  <fieldset><legend>Signed requests</legend>
    ${textArea({ label: 'SP signing certificate (PEM)', name: 'spCertificate', value: f.spCertificate, rows: 4, mono: true, error: e('config.spCertificate') })}
    ${checkField({ label: 'Require signed AuthnRequests', name: 'requireSignedRequests', checked: f.requireSignedRequests })}
    ${e('config.requireSignedRequests') ? html`<p class="field-error">${e('config.requireSignedRequests')}</p>` : ''}
  </fieldset>
  <div class="form-actions"><button type="submit" class="btn btn-primary">${o.isNew ? 'Create application' : 'Save changes'}</button><a class="btn btn-secondary" href="/admin/apps">Cancel</a></div>
</form>`;
}

const metadataImport = (csrf: string, action: string) =>
  card({
    title: 'Import SP metadata',
    id: 'metadata',
    description: 'Paste the service provider\'s SAML metadata XML to fill in its entity ID, ACS URLs and signing certificate.',
    body: html`<form method="post" action="${action}" class="stack" novalidate>${csrfField(csrf)}${textArea({ label: 'SP metadata XML', name: 'metadata', rows: 6, mono: true, placeholder: '<md:EntityDescriptor …>' })}
      <div class="form-actions"><button type="submit" class="btn btn-secondary">Import metadata</button></div></form>`,
  });

/** LDAP, RADIUS and SSO application pages. */
export function registerResourceRoutes(app: FastifyInstance, d: ConsoleDeps, render: Render): void {
  const { core } = d;

  // ---------------------------------------------------------------- LDAP
  app.get('/ldap', async (req, reply) => {
    const server = (await core.ldapServers.list())[0];
    if (!server) return render(req, reply, 'LDAP', emptyState({ title: 'No LDAP server', text: 'The store holds no LDAP server record.' }), 404);
    const org = await core.organization.get();
    const ep = d.endpoints();
    const host = new URL(d.publicUrl()).hostname;
    const base = `o=${org.id},${ep.ldapSuffix}`;
    const csrf = reply.generateCsrf();
    const body = html`${pageHeader({ title: 'LDAP', subtitle: html`${server.name} ${pill('Running', 'ok')}` })}
<div class="two-col">
  ${card({
    title: 'Connection',
    body: facts([
      ['Naming context (base DN)', html`<code class="copyable" id="ldap-base">${base}</code>`],
      ['LDAP (StartTLS)', html`<code>ldap://${host}:${ep.ldapPort ?? 1389}</code>`],
      ['LDAPS', html`<code>ldaps://${host}:${ep.ldapsPort ?? 1636}</code>`],
      ['User DN', html`<code>uid=&lt;username&gt;,ou=Users,${base}</code>`],
      ['Group DN', html`<code>cn=&lt;group&gt;,ou=Users,${base}</code>`],
      ['Search accounts', 'Users with “LDAP bind account” set on their page'],
    ]),
  })}
  ${card({
    title: 'Settings',
    body: html`<form method="post" action="/admin/ldap" class="stack" novalidate>${csrfField(csrf)}
      ${textField({ label: 'Name', name: 'name', value: server.name, required: true })}
      ${selectField({ label: 'Locked-out users', name: 'userLockoutAction', value: server.userLockoutAction, options: [{ value: 'disable', label: 'Keep the entry, refuse binds' }, { value: 'remove', label: 'Hide the entry' }] })}
      ${selectField({ label: 'Expired passwords', name: 'userPasswordExpirationAction', value: server.userPasswordExpirationAction, options: [{ value: 'disable', label: 'Keep the entry, refuse binds' }, { value: 'remove', label: 'Hide the entry' }] })}
      ${checkField({ label: 'TOTP on bind: users with TOTP append their code to the password (password;123456)', name: 'totpOnBind', checked: server.totpOnBind })}
      <div class="form-actions"><button type="submit" class="btn btn-primary">Save settings</button></div></form>`,
  })}
</div>
${await boundCard(d, { csrf, type: 'ldap_server', id: server.id, action: '/admin/ldap/bindings', description: 'Only users bound here (directly or through a group) appear in the directory and can bind.' })}`;
    return render(req, reply, 'LDAP', body);
  });

  app.post('/ldap', { schema: { body: FormBody } }, async (req, reply) => {
    const server = (await core.ldapServers.list())[0];
    if (!server) return redirectWith(req, reply, '/admin/ldap');
    await core.ldapServers.update(
      server.id,
      { name: field(req.body, 'name', 256), userLockoutAction: field(req.body, 'userLockoutAction', 16), userPasswordExpirationAction: field(req.body, 'userPasswordExpirationAction', 16), totpOnBind: checked(req.body, 'totpOnBind') },
      actorOf(req),
    );
    return redirectWith(req, reply, '/admin/ldap', { kind: 'ok', text: 'LDAP settings saved.' });
  });

  app.post('/ldap/bindings', { schema: { body: FormBody } }, async (req, reply) => {
    const server = (await core.ldapServers.list())[0];
    if (!server) return redirectWith(req, reply, '/admin/ldap');
    const problem = await changeBinding(d, req, { type: 'ldap_server', id: server.id });
    return redirectWith(req, reply, '/admin/ldap#bound', problem ? { kind: 'error', text: problem } : { kind: 'ok', text: 'Bindings updated.' });
  });

  // ---------------------------------------------------------------- RADIUS
  app.get('/radius', async (req, reply) => {
    const servers = await core.radiusServers.list();
    const body = html`${pageHeader({ title: 'RADIUS', subtitle: `${servers.length} RADIUS server${servers.length === 1 ? '' : 's'} (NAS clients)`, actions: linkButton('/admin/radius/new', 'Add RADIUS server', 'primary', 'plus') })}
<div class="card list-card">${servers.length === 0
      ? emptyState({ title: 'No RADIUS servers yet', text: 'Add your Wi-Fi controller or VPN concentrator as a RADIUS client.', icon: 'wifi', action: linkButton('/admin/radius/new', 'Add RADIUS server', 'primary', 'plus') })
      : html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">RADIUS servers</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Network source</th><th scope="col">MFA</th><th scope="col">Message-Authenticator</th><th scope="col">Warnings</th></tr></thead>
        <tbody>${servers.map((s) => {
          const w = radiusServerWarnings(s);
          return html`<tr><td><a href="/admin/radius/${s.id}">${s.name}</a></td><td><code>${s.networkSourceIp}</code></td><td>${s.mfa}</td><td>${s.requireMessageAuthenticator ? pill('Required', 'ok') : pill('Not required', 'warn')}</td>
            <td>${w.length === 0 ? html`<span class="muted">None</span>` : pill(`${w.length} warning${w.length === 1 ? '' : 's'}`, 'bad')}</td></tr>`;
        })}</tbody></table></div>`}</div>`;
    return render(req, reply, 'RADIUS', body);
  });

  const newRadius = (req: FastifyRequest, reply: FastifyReply, values?: Record<string, string | boolean>, errors: Record<string, string> = {}, status = 200) =>
    render(req, reply, 'Add RADIUS server', html`${pageHeader({ title: 'Add RADIUS server', crumbs: [{ label: 'RADIUS', href: '/admin/radius' }, { label: 'Add' }] })}${radiusForm({ csrf: reply.generateCsrf(), action: '/admin/radius', ...(values ? { values } : {}), errors, isNew: true })}`, status);

  app.get('/radius/new', async (req, reply) => newRadius(req, reply));

  app.post('/radius', { schema: { body: FormBody } }, async (req, reply) => {
    const { fields, values } = readRadius(req.body);
    try {
      const { server, generatedSecret } = await core.radiusServers.create(fields, actorOf(req));
      if (generatedSecret) return render(req, reply, 'RADIUS server created', secretOnce({ title: `${server.name} created`, server, secret: generatedSecret }), 201);
      return redirectWith(req, reply, `/admin/radius/${server.id}`, { kind: 'ok', text: `RADIUS server ${server.name} created.` });
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      return newRadius(req, reply, values, { [err.field ?? 'name']: err.message }, 400);
    }
  });

  const showRadius = async (req: FastifyRequest, reply: FastifyReply, values?: Record<string, string | boolean>, errors: Record<string, string> = {}, status = 200) => {
    const { id } = req.params as { id: string };
    const s = await core.radiusServers.get(id);
    const csrf = reply.generateCsrf();
    const warnings = radiusServerWarnings(s);
    const ep = d.endpoints();
    const host = new URL(d.publicUrl()).hostname;
    const body = html`${pageHeader({
      title: s.name,
      crumbs: [{ label: 'RADIUS', href: '/admin/radius' }, { label: s.name }],
      lead: html`<span class="avatar avatar-lg device" aria-hidden="true">${icon('wifi')}</span>`,
      subtitle: html`RADIUS client <code>${s.networkSourceIp}</code>`,
      actions: html`<form method="post" action="/admin/radius/${id}/delete" class="inline-form" data-confirm="Delete RADIUS server ${s.name}? The NAS will be refused at once.">${csrfField(csrf)}<button class="btn btn-danger" type="submit">Delete</button></form>`,
    })}
${warnings.map((w) => html`<div class="notice notice-error" role="alert">${icon('alert')}<span>${w}</span></div>`)}
<div class="two-col wide-left">
  ${radiusForm({ csrf, action: `/admin/radius/${id}`, s, ...(values ? { values } : {}), errors, isNew: false })}
  <div>
  ${card({
    title: 'Shared secret',
    id: 'secret',
    body: html`${facts([['Stored', html`${pill('Encrypted', 'ok')} ${s.sharedSecretLength} characters`], ['Shown', 'Only once, when generated']])}
      ${actionForm({ action: `/admin/radius/${id}/secret`, csrf, label: 'Generate a new secret', kind: 'primary', icon: 'refresh', confirm: 'Replace the shared secret? The NAS must be given the new one.' })}
      <form method="post" action="/admin/radius/${id}/secret" class="stack" novalidate>${csrfField(csrf)}
        ${textField({ label: 'Or set your own secret', name: 'sharedSecret', type: 'password', autocomplete: 'new-password', hint: 'At least 16 random characters.', error: errors.sharedSecret })}
        <div class="form-actions"><button type="submit" class="btn btn-secondary">Set secret</button></div></form>`,
  })}
  ${card({
    title: 'NAS configuration',
    body: facts([
      ['Server', html`<code>${host}</code>`],
      ['Authentication port', html`<code>${ep.radiusPort ?? 1812}/udp</code>`],
      ['Protocol', 'PAP (TOTP via Access-Challenge or password;code)'],
      ['Message-Authenticator', s.requireMessageAuthenticator ? 'Required: enable it on the NAS' : 'Optional'],
    ]),
  })}
  </div>
</div>
${await boundCard(d, { csrf, type: 'radius_server', id, action: `/admin/radius/${id}/bindings`, description: 'Users bound here (directly or through a group) can authenticate; group reply attributes are sent in Access-Accept.' })}`;
    return render(req, reply, s.name, body, status);
  };

  app.get('/radius/:id', { schema: { params: IdParams } }, async (req, reply) => showRadius(req, reply));

  app.post('/radius/:id', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const { fields, values } = readRadius(req.body);
    try {
      await core.radiusServers.update(id, fields, actorOf(req));
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      return showRadius(req, reply, values, { [err.field ?? 'name']: err.message }, 400);
    }
    return redirectWith(req, reply, `/admin/radius/${id}`, { kind: 'ok', text: 'Changes saved.' });
  });

  app.post('/radius/:id/secret', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const given = field(req.body, 'sharedSecret', 256);
    if (given) {
      try {
        await core.radiusServers.update(id, { sharedSecret: given }, actorOf(req));
      } catch (err) {
        if (!isDomainError(err) || err.kind !== 'invalid') throw err;
        return showRadius(req, reply, undefined, { sharedSecret: err.message }, 400);
      }
      return redirectWith(req, reply, `/admin/radius/${id}`, { kind: 'ok', text: 'Shared secret replaced.' });
    }
    // A new random secret, shown once; core seals it and the RADIUS adapter reloads its clients.
    const secret = generateSharedSecret();
    const server = await core.radiusServers.update(id, { sharedSecret: secret }, actorOf(req));
    return render(req, reply, 'New shared secret', secretOnce({ title: `New secret for ${server.name}`, server, secret }));
  });

  app.post('/radius/:id/bindings', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const problem = await changeBinding(d, req, { type: 'radius_server', id });
    return redirectWith(req, reply, `/admin/radius/${id}#bound`, problem ? { kind: 'error', text: problem } : { kind: 'ok', text: 'Bindings updated.' });
  });

  app.post('/radius/:id/delete', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const s = await core.radiusServers.remove((req.params as { id: string }).id, actorOf(req));
    return redirectWith(req, reply, '/admin/radius', { kind: 'ok', text: `RADIUS server ${s.name} deleted.` });
  });

  // ---------------------------------------------------------------- SSO applications
  app.get('/apps', async (req, reply) => {
    const apps = await core.applications.list(500, 0);
    const body = html`${pageHeader({ title: 'SSO Applications', subtitle: `${apps.total} application${apps.total === 1 ? '' : 's'} (SAML 2.0)`, actions: linkButton('/admin/apps/new', 'Add application', 'primary', 'plus') })}
<div class="card list-card">${apps.items.length === 0
      ? emptyState({ title: 'No SSO applications yet', text: 'Add a SAML 2.0 service provider so your users sign in with their Gatehouse account.', icon: 'apps', action: linkButton('/admin/apps/new', 'Add application', 'primary', 'plus') })
      : html`<div class="table-wrap"><table class="data-table"><caption class="visually-hidden">SSO applications</caption>
        <thead><tr><th scope="col">Application</th><th scope="col">SP entity ID</th><th scope="col">ACS URL</th><th scope="col">Created</th></tr></thead>
        <tbody>${apps.items.map(
          (a) => html`<tr><td><a class="who" href="/admin/apps/${a.id}"><span class="avatar avatar-sm avatar-app" aria-hidden="true">${(a.displayLabel.trim()[0] ?? '?').toUpperCase()}</span><span>${a.displayLabel}</span></a></td>
            <td><code>${a.config.spEntityId}</code></td><td><code>${a.config.acsUrls[0] ?? ''}</code>${a.config.acsUrls.length > 1 ? html` <span class="muted">+${a.config.acsUrls.length - 1}</span>` : ''}</td><td>${fmtDate(a.createdAt, false)}</td></tr>`,
        )}</tbody></table></div>`}</div>`;
    return render(req, reply, 'SSO Applications', body);
  });

  const newApp = (req: FastifyRequest, reply: FastifyReply, form = appFormOf(), errors: Record<string, string> = {}, error?: string, status = 200) => {
    const csrf = reply.generateCsrf();
    return render(
      req,
      reply,
      'Add application',
      html`${pageHeader({ title: 'Add SSO application', crumbs: [{ label: 'SSO Applications', href: '/admin/apps' }, { label: 'Add' }] })}${errorNotice(error)}
<div class="two-col wide-left">${appForm({ csrf, action: '/admin/apps', form, errors, isNew: true })}<div>${d.spMetadata ? metadataImport(csrf, '/admin/apps/new/metadata') : ''}</div></div>`,
      status,
    );
  };

  app.get('/apps/new', async (req, reply) => newApp(req, reply));

  app.post('/apps/new/metadata', { schema: { body: FormBody } }, async (req, reply) => {
    if (!d.spMetadata) return redirectWith(req, reply, '/admin/apps/new');
    try {
      const md = await d.spMetadata(field(req.body, 'metadata', 262_144));
      const host = (() => {
        try {
          return new URL(md.entityId).hostname.split('.')[0] ?? '';
        } catch {
          return '';
        }
      })();
      return newApp(req, reply, { ...appFormOf(), name: host.replace(/[^A-Za-z0-9._-]/g, ''), displayLabel: host, spEntityId: md.entityId, acsUrls: md.acsUrls.join('\n'), acsIndexes: acsIndexField(md.acsIndexes), sloUrl: md.sloUrl, sloBinding: md.sloBinding, spCertificate: md.certificate, requireSignedRequests: md.authnRequestsSigned });
    } catch (err) {
      if (!isDomainError(err)) throw err;
      return newApp(req, reply, appFormOf(), {}, `The metadata could not be read: ${err.message}`, 400);
    }
  });

  app.post('/apps', { schema: { body: FormBody } }, async (req, reply) => {
    const { form, fields } = readApp(req.body);
    try {
      const a = await core.applications.create(fields, actorOf(req));
      return redirectWith(req, reply, `/admin/apps/${a.id}`, { kind: 'ok', text: `Application ${a.displayLabel} created. Bind users or groups, then give the SP the IdP metadata.` });
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      return newApp(req, reply, form, { [err.field ?? 'name']: err.message }, err.message, 400);
    }
  });

  const showApp = async (req: FastifyRequest, reply: FastifyReply, form?: AppForm, errors: Record<string, string> = {}, error?: string, status = 200) => {
    const { id } = req.params as { id: string };
    const a = await core.applications.get(id);
    const creds = await core.applications.credentials(id);
    const csrf = reply.generateCsrf();
    const ssoUrl = `${d.publicUrl()}/saml2/${encodeURIComponent(a.name)}`;
    let certFacts: [string, SafeHtml | string][] = [['Certificate', html`<span class="muted">Generated at first sign-on</span>`]];
    if (creds.idpCertificate) {
      try {
        const c = new X509Certificate(creds.idpCertificate);
        const days = Math.floor((new Date(c.validTo).getTime() - Date.now()) / 86_400_000);
        certFacts = [
          ['Subject', c.subject.replace(/\n/g, ', ')],
          ['Valid until', html`${when(new Date(c.validTo))} ${days < 30 ? pill(days < 0 ? 'Expired' : `${days} days left`, 'bad') : ''}`],
          ['SHA-256 fingerprint', html`<code class="wrap">${c.fingerprint256}</code>`],
        ];
      } catch {
        /* an unreadable certificate is shown as missing */
      }
    }
    const body = html`${pageHeader({
      title: a.displayLabel,
      crumbs: [{ label: 'SSO Applications', href: '/admin/apps' }, { label: a.displayLabel }],
      lead: html`<span class="avatar avatar-lg avatar-app" aria-hidden="true">${(a.displayLabel.trim()[0] ?? '?').toUpperCase()}</span>`,
      subtitle: html`SAML 2.0 · <code>${a.name}</code>`,
      actions: html`<a class="btn btn-secondary" href="${ssoUrl}?launch=1" target="_blank" rel="noopener">${icon('external')}<span>Test launch</span></a>
        <form method="post" action="/admin/apps/${id}/delete" class="inline-form" data-confirm="Delete application ${a.displayLabel}?">${csrfField(csrf)}<button class="btn btn-danger" type="submit">Delete</button></form>`,
    })}
${errorNotice(error)}
<div class="two-col">
  ${card({
    title: 'Identity provider',
    id: 'idp',
    body: html`${facts([
      ['IdP entity ID', html`<code class="wrap">${ssoUrl}</code>`],
      ['SSO URL (Redirect and POST)', html`<code class="wrap">${ssoUrl}</code>`],
      [
        'Single logout URL (Redirect)',
        offersSingleLogout(a, creds.spCertificate)
          ? html`<code class="wrap">${ssoUrl}/slo</code>`
          : html`<span class="muted">${a.config.sloUrl ? "Register the SP's signing certificate to use it" : "Set the SP's single logout URL to use it"}</span>`,
      ],
      ['Metadata', html`<a href="/saml2/${encodeURIComponent(a.name)}/metadata">${icon('download', 'inline')} Download IdP metadata</a>`],
      ...certFacts,
    ])}
    <div class="button-row">${creds.idpCertificate ? html`<a class="btn btn-secondary" href="/admin/apps/${id}/certificate.pem">${icon('download')}<span>Certificate (PEM)</span></a>` : ''}
      ${actionForm({ action: `/admin/apps/${id}/signing-key`, csrf, label: 'Generate a new signing key', icon: 'refresh', confirm: 'Replace the signing key and certificate? The SP must be given the new metadata.' })}</div>`,
  })}
  ${d.spMetadata ? metadataImport(csrf, `/admin/apps/${id}/metadata`) : ''}
</div>
${appForm({ csrf, action: `/admin/apps/${id}`, form: form ?? appFormOf(a, creds), errors, isNew: false })}
${await boundCard(d, { csrf, type: 'application', id, action: `/admin/apps/${id}/bindings`, description: 'Bound users (directly or through a group) see the app in the User Portal and can sign in to it.' })}`;
    return render(req, reply, a.displayLabel, body, status);
  };

  app.get('/apps/:id', { schema: { params: IdParams } }, async (req, reply) => showApp(req, reply));

  app.get('/apps/:id/certificate.pem', { schema: { params: IdParams } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const a = await core.applications.get(id);
    const pem = (await core.applications.credentials(id)).idpCertificate;
    if (!pem) return redirectWith(req, reply, `/admin/apps/${id}`, { kind: 'error', text: 'No certificate yet.' });
    return reply
      .type('application/x-pem-file')
      .header('content-disposition', `attachment; filename="${a.name.replace(/[^A-Za-z0-9._-]/g, '_')}-idp.pem"`)
      .send(pem);
  });

  app.post('/apps/:id', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const { form, fields } = readApp(req.body);
    try {
      await core.applications.update(id, fields, actorOf(req));
    } catch (err) {
      if (!isDomainError(err) || (err.kind !== 'invalid' && err.kind !== 'conflict')) throw err;
      return showApp(req, reply, form, { [err.field ?? 'name']: err.message }, err.message, 400);
    }
    return redirectWith(req, reply, `/admin/apps/${id}`, { kind: 'ok', text: 'Changes saved.' });
  });

  app.post('/apps/:id/metadata', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!d.spMetadata) return redirectWith(req, reply, `/admin/apps/${id}`);
    try {
      const md = await d.spMetadata(field(req.body, 'metadata', 262_144));
      await core.applications.update(
        id,
        { config: { spEntityId: md.entityId, acsUrls: md.acsUrls, acsIndexes: md.acsIndexes, ...(md.sloUrl ? { sloUrl: md.sloUrl, sloBinding: md.sloBinding } : {}), ...(md.certificate ? { spCertificate: md.certificate } : {}), requireSignedRequests: md.authnRequestsSigned && !!md.certificate } },
        actorOf(req),
      );
    } catch (err) {
      if (!isDomainError(err)) throw err;
      return redirectWith(req, reply, `/admin/apps/${id}`, { kind: 'error', text: `The metadata could not be used: ${err.message}` });
    }
    return redirectWith(req, reply, `/admin/apps/${id}`, { kind: 'ok', text: 'SP metadata imported.' });
  });

  app.post('/apps/:id/signing-key', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    await core.applications.replaceSigningKey(id, {}, actorOf(req));
    return redirectWith(req, reply, `/admin/apps/${id}`, { kind: 'ok', text: 'New signing key generated. Give the SP the new IdP metadata.' });
  });

  app.post('/apps/:id/bindings', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const problem = await changeBinding(d, req, { type: 'application', id });
    return redirectWith(req, reply, `/admin/apps/${id}#bound`, problem ? { kind: 'error', text: problem } : { kind: 'ok', text: 'Bindings updated.' });
  });

  app.post('/apps/:id/delete', { schema: { params: IdParams, body: FormBody } }, async (req, reply) => {
    const a = await core.applications.remove((req.params as { id: string }).id, actorOf(req));
    return redirectWith(req, reply, '/admin/apps', { kind: 'ok', text: `Application ${a.displayLabel} deleted.` });
  });
}
