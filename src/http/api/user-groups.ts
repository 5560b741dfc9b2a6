import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { GROUP_ATTRS, type GroupAttr } from '../../core/directory/filter.js';
import type { UserGroupFields } from '../../core/directory/user-groups.js';
import { invalid } from '../../core/errors.js';
import type { Core } from '../../core/index.js';
import { presentConnection, presentUserGroup } from './presenters.js';
import { filterFromTerms, parseFilterTerms, parseSort } from './query.js';
import { errorResponses, GraphConnection, GraphOpBody, IdParams, UserGroupBody, UserGroupSchema, V2ListQuery } from './schemas.js';
import { parseTargets } from './users.js';

const GROUP_FIELDS: Record<string, GroupAttr> = {
  id: 'id',
  name: 'name',
  description: 'description',
  email: 'email',
  'attributes.posixGroups.id': 'posixGid',
};

function groupFieldsOf(b: Static<typeof UserGroupBody>): UserGroupFields {
  const f: UserGroupFields = {};
  if (b.name !== undefined) f.name = b.name;
  if (b.description !== undefined) f.description = b.description;
  if (b.email !== undefined) f.email = b.email;
  if (b.attributes?.posixGroups !== undefined) f.posixGroups = b.attributes.posixGroups;
  if (b.attributes?.radius?.reply !== undefined) f.radiusReply = b.attributes.radius.reply;
  return f;
}

export const userGroupRoutes = (core: Core): FastifyPluginAsyncTypebox =>
  async function userGroupRoutes(app) {
    app.get(
      '/v2/usergroups',
      { schema: { tags: ['user groups'], querystring: V2ListQuery, response: { 200: Type.Array(UserGroupSchema), ...errorResponses } } },
      async (req, reply) => {
        const q = req.query;
        const page = await core.userGroups.list({
          filter: filterFromTerms(parseFilterTerms(q.filter), GROUP_FIELDS, GROUP_ATTRS),
          sort: parseSort(q.sort, GROUP_FIELDS),
          limit: q.limit ?? 10,
          offset: q.skip ?? 0,
        });
        reply.header('x-total-count', String(page.total));
        return page.items.map(presentUserGroup);
      },
    );

    app.post(
      '/v2/usergroups',
      { schema: { tags: ['user groups'], body: UserGroupBody, response: { 201: UserGroupSchema, ...errorResponses } } },
      async (req, reply) => reply.code(201).send(presentUserGroup(await core.userGroups.create(groupFieldsOf(req.body), req.actor))),
    );

    app.get('/v2/usergroups/:id', { schema: { tags: ['user groups'], params: IdParams, response: { 200: UserGroupSchema, ...errorResponses } } }, async (req) =>
      presentUserGroup(await core.userGroups.get(req.params.id)),
    );

    for (const method of ['PUT', 'PATCH'] as const) {
      app.route({
        method,
        url: '/v2/usergroups/:id',
        schema: { tags: ['user groups'], summary: 'Update a user group (only the fields given)', params: IdParams, body: UserGroupBody, response: { 200: UserGroupSchema, ...errorResponses } },
        handler: async (req) => presentUserGroup(await core.userGroups.update(req.params.id, groupFieldsOf(req.body), req.actor)),
      });
    }

    app.delete('/v2/usergroups/:id', { schema: { tags: ['user groups'], params: IdParams, response: { 200: UserGroupSchema, ...errorResponses } } }, async (req) =>
      presentUserGroup(await core.userGroups.remove(req.params.id, req.actor)),
    );

    app.get(
      '/v2/usergroups/:id/members',
      { schema: { tags: ['user groups'], params: IdParams, querystring: V2ListQuery, response: { 200: Type.Array(GraphConnection), ...errorResponses } } },
      async (req, reply) => {
        const page = await core.userGroups.members(req.params.id, req.query.limit ?? 100, req.query.skip ?? 0);
        reply.header('x-total-count', String(page.total));
        return page.items.map((id) => presentConnection('user', id));
      },
    );

    app.post(
      '/v2/usergroups/:id/members',
      { schema: { tags: ['user groups'], summary: 'Add or remove a member: { op: add|remove, type: user, id }', params: IdParams, body: GraphOpBody, response: { 204: Type.Null(), ...errorResponses } } },
      async (req, reply) => {
        const { op, type, id } = req.body;
        if (op !== 'add' && op !== 'remove') throw invalid('op', 'must be add or remove');
        if (type !== 'user') throw invalid('type', 'must be user');
        await core.userGroups.changeMember(req.params.id, op, id, req.actor);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v2/usergroups/:id/associations',
      {
        schema: {
          tags: ['user groups'],
          params: IdParams,
          querystring: Type.Object({ targets: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])) }),
          response: { 200: Type.Array(GraphConnection), ...errorResponses },
        },
      },
      async (req) => {
        const edges = await core.associations.list('user_group', req.params.id, parseTargets(req.query.targets));
        return edges.map((e) => presentConnection(e.toType, e.toId));
      },
    );

    app.post(
      '/v2/usergroups/:id/associations',
      {
        schema: {
          tags: ['user groups'],
          summary: 'Bind or unbind: { op: add|remove, type: ldap_server|radius_server|application|system|system_group, id }',
          params: IdParams,
          body: GraphOpBody,
          response: { 204: Type.Null(), ...errorResponses },
        },
      },
      async (req, reply) => {
        await core.associations.change({ type: 'user_group', id: req.params.id }, req.body.op, { type: req.body.type, id: req.body.id }, req.actor);
        return reply.code(204).send(null);
      },
    );
  };
