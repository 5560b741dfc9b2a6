import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Core } from '../../core/index.js';
import { errorResponses } from './schemas.js';

/** Directory Insights: `POST /insights/directory/v1/events` (JumpCloud's request and event shapes). */
export const insightsRoutes = (core: Core): FastifyPluginAsyncTypebox =>
  async function insightsRoutes(app) {
    app.post(
      '/directory/v1/events',
      {
        schema: {
          tags: ['insights'],
          summary: 'Audit events, newest first',
          body: Type.Object({
            service: Type.Array(Type.String(), { minItems: 1, maxItems: 10, description: 'all | directory | ldap | radius | sso | systems' }),
            start_time: Type.String({ description: 'RFC 3339' }),
            end_time: Type.Optional(Type.String()),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
            skip: Type.Optional(Type.Integer({ minimum: 0 })),
            sort: Type.Optional(Type.String()),
            search_term: Type.Optional(Type.Unknown({ description: 'free text, or { "and"|"or": [ { field: value } ] }' })),
            fields: Type.Optional(Type.Array(Type.String())),
          }),
          // Events are open-ended JumpCloud objects; they are built by core from known fields only.
          response: { 200: Type.Array(Type.Record(Type.String(), Type.Unknown())), ...errorResponses },
        },
      },
      async (req, reply) => {
        const events = await core.insights.query(req.body);
        reply.header('x-result-count', String(events.length));
        return events;
      },
    );
  };
