import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { and, searchFilter, USER_ATTRS, type UserAttr, type UserFilter } from '../../core/directory/filter.js';
import { lockedOutFilter, type UserFields } from '../../core/directory/users.js';
import type { Core } from '../../core/index.js';
import { invalid } from '../../core/errors.js';
import { GRAPH_TO_TYPES, type GraphToType, type User } from '../../core/directory/types.js';
import { presentConnection, presentUser } from './presenters.js';
import { filterFromTerms, parseFilterTerms, parseSort, project, type FilterTerm } from './query.js';
import {
  errorResponses,
  GraphConnection,
  GraphOpBody,
  IdParams,
  MemberOfItem,
  ResetMfaBody,
  TotpBody,
  TotpResponse,
  UserBody,
  UserSchema,
  V1ListQuery,
} from './schemas.js';

/** API field → directory attribute, for filter and sort. */
const USER_FIELDS: Record<string, UserAttr> = {
  _id: 'id',
  id: 'id',
  username: 'username',
  email: 'email',
  firstname: 'firstname',
  lastname: 'lastname',
  displayname: 'displayname',
  state: 'state',
  unix_uid: 'unixUid',
  unix_guid: 'unixGuid',
  ldap_binding_user: 'ldapBindingUser',
  activated: 'hasPassword',
  totp_enabled: 'totpEnrolled',
  'mfa.configured': 'totpEnrolled',
  enable_user_portal_multifactor: 'enableUserPortalMultifactor',
  jobTitle: 'jobTitle',
  department: 'department',
  company: 'company',
  location: 'location',
  employeeIdentifier: 'employeeIdentifier',
  description: 'description',
  created: 'createdAt',
};

const SEARCH_ATTRS: UserAttr[] = ['username', 'email', 'firstname', 'lastname', 'displayname'];

type UserBodyT = Static<typeof UserBody>;

/** JumpCloud body → core fields; `suspended` is JumpCloud's other way of saying state SUSPENDED. */
export function userFieldsOf(b: UserBodyT): UserFields {
  const f: UserFields = {
    username: b.username,
    email: b.email,
    firstname: b.firstname,
    lastname: b.lastname,
    displayname: b.displayname,
    password: b.password,
    state: b.state,
    ldapBindingUser: b.ldap_binding_user,
    enableUserPortalMultifactor: b.enable_user_portal_multifactor,
    unixUid: b.unix_uid,
    unixGuid: b.unix_guid,
    mfaExclusion: b.mfa?.exclusion,
    mfaExclusionUntil: b.mfa?.exclusionUntil,
    jobTitle: b.jobTitle,
    department: b.department,
    company: b.company,
    location: b.location,
    employeeIdentifier: b.employeeIdentifier,
    description: b.description,
    attributes: b.attributes,
  };
  if (b.suspended !== undefined && b.state === undefined) f.state = b.suspended ? 'SUSPENDED' : 'ACTIVATED';
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as UserFields;
}

/** JumpCloud's `targets=ldap_server` (repeatable) on association listings. */
export function parseTargets(targets: string | string[] | undefined): GraphToType[] | undefined {
  if (targets === undefined) return undefined;
  return ([] as string[]).concat(targets).map((t) => {
    if (!(GRAPH_TO_TYPES as readonly string[]).includes(t)) throw invalid('targets', `must be one of ${GRAPH_TO_TYPES.join(', ')}`);
    return t as GraphToType;
  });
}

const boolOf = (t: FilterTerm) => {
  if (t.value !== 'true' && t.value !== 'false') throw invalid('filter', `${t.field} takes true or false`);
  if (t.op !== 'eq' && t.op !== 'ne') throw invalid('filter', `${t.field} supports only eq and ne`);
  return (t.value === 'true') === (t.op === 'eq');
};

export const userRoutes = (core: Core): FastifyPluginAsyncTypebox =>
  async function userRoutes(app) {
    const present = async (u: User) => presentUser(u, await core.users.status(u));

    /** Filters on derived fields (lock and expiry follow the organisation's policy). */
    const special = (org: Awaited<ReturnType<typeof core.organization.get>>, now: Date) => (t: FilterTerm): UserFilter | undefined => {
      if (t.field === 'suspended') return { op: boolOf(t) ? 'eq' : 'ne', attr: 'state', value: 'SUSPENDED' };
      if (t.field === 'account_locked') {
        const locked = lockedOutFilter(org, now);
        return boolOf(t) ? locked : { op: 'not', filter: locked };
      }
      if (t.field === 'password_expired') {
        const policy = org.settings.passwordPolicy;
        const byAge: UserFilter | undefined = policy.enablePasswordExpirationInDays
          ? { op: 'lte', attr: 'passwordChangedAt', value: now.getTime() - policy.passwordExpirationInDays * 86_400_000 }
          : undefined;
        const expired: UserFilter = byAge
          ? { op: 'or', filters: [{ op: 'eq', attr: 'passwordExpiredFlag', value: true }, { op: 'and', filters: [{ op: 'eq', attr: 'hasPassword', value: true }, byAge] }] }
          : { op: 'eq', attr: 'passwordExpiredFlag', value: true };
        return boolOf(t) ? expired : { op: 'not', filter: expired };
      }
      return undefined;
    };

    app.get(
      '/systemusers',
      {
        schema: {
          tags: ['users'],
          summary: 'List users',
          querystring: V1ListQuery,
          response: { 200: Type.Object({ totalCount: Type.Integer(), results: Type.Array(Type.Partial(UserSchema)) }), ...errorResponses },
        },
      },
      async (req) => {
        const q = req.query;
        const org = await core.organization.get();
        const filter = and(filterFromTerms(parseFilterTerms(q.filter), USER_FIELDS, USER_ATTRS, special(org, new Date())), q.search ? searchFilter(SEARCH_ATTRS, q.search) : undefined);
        const page = await core.users.list({ filter, sort: parseSort(q.sort, USER_FIELDS), limit: q.limit ?? 10, offset: q.skip ?? 0 });
        const results = await Promise.all(page.items.map(async (u) => project(await present(u), q.fields)));
        return { totalCount: page.total, results };
      },
    );

    app.post(
      '/systemusers',
      { schema: { tags: ['users'], summary: 'Create a user', body: UserBody, response: { 201: UserSchema, ...errorResponses } } },
      async (req, reply) => {
        const u = await core.users.create(userFieldsOf(req.body), req.actor);
        return reply.code(201).send(await present(u));
      },
    );

    app.get('/systemusers/:id', { schema: { tags: ['users'], params: IdParams, response: { 200: UserSchema, ...errorResponses } } }, async (req) =>
      present(await core.users.get(req.params.id)),
    );

    app.put(
      '/systemusers/:id',
      { schema: { tags: ['users'], summary: 'Update a user (only the fields given)', params: IdParams, body: UserBody, response: { 200: UserSchema, ...errorResponses } } },
      async (req) => present(await core.users.update(req.params.id, userFieldsOf(req.body), req.actor)),
    );

    app.delete('/systemusers/:id', { schema: { tags: ['users'], params: IdParams, response: { 200: UserSchema, ...errorResponses } } }, async (req) => {
      const u = await core.users.remove(req.params.id, req.actor);
      return presentUser({ ...u, lockedAt: null }, { accountLocked: false, passwordExpired: false, passwordExpiresAt: null, mfaInGracePeriod: false });
    });

    app.post('/systemusers/:id/unlock', { schema: { tags: ['users'], summary: 'Clear a lockout', params: IdParams, response: { 200: UserSchema, ...errorResponses } } }, async (req) =>
      present(await core.users.unlock(req.params.id, req.actor)),
    );

    app.post(
      '/systemusers/:id/expire',
      { schema: { tags: ['users'], summary: 'Expire the password (Force Password Change)', params: IdParams, response: { 200: UserSchema, ...errorResponses } } },
      async (req) => present(await core.users.expirePassword(req.params.id, req.actor)),
    );

    app.post(
      '/systemusers/:id/resetmfa',
      {
        schema: {
          tags: ['users'],
          summary: 'Remove the TOTP enrolment; with exclusionUntil the user gets a grace period to enrol again',
          params: IdParams,
          body: ResetMfaBody,
          response: { 200: UserSchema, ...errorResponses },
        },
      },
      async (req) => present(await core.users.resetMfa(req.params.id, req.body, req.actor)),
    );

    app.post(
      '/systemusers/:id/totp',
      {
        schema: {
          tags: ['users'],
          summary: 'Provision a TOTP seed (given or generated) and enrol the user; the seed is shown only in this reply',
          params: IdParams,
          body: TotpBody,
          response: { 201: TotpResponse, ...errorResponses },
        },
      },
      async (req, reply) => {
        const r = await core.users.provisionTotp(req.params.id, req.body.secret, req.actor);
        return reply.code(201).header('cache-control', 'no-store').send({ secret: r.secret, otpauth_uri: r.uri });
      },
    );

    // ---- v2 graph views of a user ----

    app.get(
      '/v2/users/:id/memberof',
      { schema: { tags: ['users'], summary: 'User groups the user belongs to', params: IdParams, response: { 200: Type.Array(MemberOfItem), ...errorResponses } } },
      async (req) => {
        const groups = await core.users.memberOf(req.params.id);
        return groups.map((g) => ({
          id: g.id,
          type: 'user_group',
          compiledAttributes: null,
          paths: [[presentConnection('user_group', g.id)]],
        }));
      },
    );

    app.get(
      '/v2/users/:id/associations',
      {
        schema: {
          tags: ['users'],
          summary: 'Resources bound directly to the user',
          params: IdParams,
          querystring: Type.Object({ targets: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])) }),
          response: { 200: Type.Array(GraphConnection), ...errorResponses },
        },
      },
      async (req) => {
        const edges = await core.associations.list('user', req.params.id, parseTargets(req.query.targets));
        return edges.map((e) => presentConnection(e.toType, e.toId));
      },
    );

    app.post(
      '/v2/users/:id/associations',
      { schema: { tags: ['users'], summary: 'Bind or unbind a resource', params: IdParams, body: GraphOpBody, response: { 204: Type.Null(), ...errorResponses } } },
      async (req, reply) => {
        await core.associations.change({ type: 'user', id: req.params.id }, req.body.op, { type: req.body.type, id: req.body.id }, req.actor);
        return reply.code(204).send(null);
      },
    );
  };
