import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Core } from '../../core/index.js';
import { presentOrganization } from './presenters.js';
import { errorResponses, IdParams, OrganizationBody, OrganizationSchema } from './schemas.js';

/** The organisation and its security settings (`settings.passwordPolicy` with JumpCloud's keys). */
export const organizationRoutes = (core: Core): FastifyPluginAsyncTypebox =>
  async function organizationRoutes(app) {
    app.get(
      '/organizations',
      { schema: { tags: ['organization'], response: { 200: Type.Object({ totalCount: Type.Integer(), results: Type.Array(OrganizationSchema) }), ...errorResponses } } },
      async () => ({ totalCount: 1, results: [presentOrganization(await core.organization.get())] }),
    );
    app.get('/organizations/:id', { schema: { tags: ['organization'], params: IdParams, response: { 200: OrganizationSchema, ...errorResponses } } }, async (req, reply) => {
      const org = await core.organization.get();
      if (org.id !== req.params.id) return reply.code(404).send({ code: 404, message: `organization ${req.params.id} not found`, status: 'NOT_FOUND' });
      return presentOrganization(org);
    });
    app.put(
      '/organizations/:id',
      {
        schema: {
          tags: ['organization'],
          summary: 'Update the display name or settings; settings.passwordPolicy takes JumpCloud keys and merges with the current policy',
          params: IdParams,
          body: OrganizationBody,
          response: { 200: OrganizationSchema, ...errorResponses },
        },
      },
      async (req) => presentOrganization(await core.organization.update(req.params.id, req.body, req.actor)),
    );
  };
