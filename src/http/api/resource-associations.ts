import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { GraphToType } from '../../core/directory/types.js';
import { invalid } from '../../core/errors.js';
import type { Core } from '../../core/index.js';
import { presentConnection } from './presenters.js';
import { errorResponses, GraphConnection, GraphOpBody, IdParams } from './schemas.js';

/**
 * The graph seen from a resource (JumpCloud `GET|POST /v2/{ldapservers|radiusservers|applications|
 * systems|systemgroups}/{id}/associations`): which users and user groups are bound to it.
 */
export function registerResourceAssociations(app: FastifyInstance, core: Core, path: string, toType: GraphToType, tag: string): void {
  app.get(
    `${path}/:id/associations`,
    {
      schema: {
        tags: [tag],
        summary: 'Users and user groups bound to this resource',
        params: IdParams,
        querystring: Type.Object({ targets: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])) }),
        response: { 200: Type.Array(GraphConnection), ...errorResponses },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const { targets } = req.query as { targets?: string | string[] };
      const wanted = targets === undefined ? null : new Set(([] as string[]).concat(targets));
      const edges = await core.associations.listTo(toType, id);
      return edges.filter((e) => !wanted || wanted.has(e.fromType)).map((e) => presentConnection(e.fromType, e.fromId));
    },
  );

  app.post(
    `${path}/:id/associations`,
    {
      schema: {
        tags: [tag],
        summary: 'Bind or unbind a user or user group: { op: add|remove, type: user|user_group, id }',
        params: IdParams,
        body: GraphOpBody,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const body = req.body as { op: string; type: string; id: string };
      if (body.type !== 'user' && body.type !== 'user_group') throw invalid('type', 'must be user or user_group');
      await core.associations.change({ type: body.type, id: body.id }, body.op, { type: toType, id }, req.actor);
      return reply.code(204).send();
    },
  );
}
