import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ActorContext } from '../../core/access/actor.js';
import type { ApiKeyService } from '../../core/access/api-keys.js';
import type { AdminService } from '../../core/access/admins.js';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, for the audit trail; set by the API key hook. */
    actor: ActorContext;
  }
}

/**
 * `x-api-key` authentication for the REST API (JumpCloud's header). A missing or unknown key is
 * 401 with the same message either way. The key's owner appears as `initiated_by` in audit events.
 */
export function registerApiKeyAuth(app: FastifyInstance, deps: { apiKeys: ApiKeyService; admins: AdminService }): void {
  // The key's admin as stored now (email for the audit trail, role for what the key may do): one
  // small read, like the key's own; the REST API is no hot path.
  const adminOf = async (adminId: string | null) => (adminId ? (await deps.admins.list()).find((a) => a.id === adminId) : undefined);

  app.decorateRequest('actor', undefined as unknown as ActorContext);
  app.addHook('onRequest', async (req: FastifyRequest, reply) => {
    const header = req.headers['x-api-key'];
    const key = Array.isArray(header) ? header[0] : header;
    const found = key ? await deps.apiKeys.verify(key) : null;
    if (!found) {
      await sendError(reply, 401, 'missing or invalid API key (x-api-key header)');
      return reply;
    }
    const owner = await adminOf(found.adminId);
    const email = owner?.email;
    // A read-only administrator's key reads: GET, and Directory Insights' searches (POST bodies).
    if (owner && owner.role !== 'administrator' && req.method !== 'GET' && req.method !== 'HEAD' && !req.url.startsWith('/insights/')) {
      await sendError(reply, 403, 'this API key belongs to a read-only administrator');
      return reply;
    }
    req.actor = {
      actor: { id: found.adminId ?? found.id, type: 'admin', ...(email ? { email } : { name: found.name }) },
      clientIp: req.ip,
      authMethod: 'api key',
    };
  });
}
