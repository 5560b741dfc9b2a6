import { createHash, randomBytes } from 'node:crypto';
import type { ApiKey } from '../directory/types.js';
import { invalid, notFound } from '../errors.js';
import type { Clock, Repositories, Store } from '../ports.js';
import type { AuditRecorder } from '../audit/recorder.js';
import type { AuditActor } from '../audit/event.js';
import { newId } from '../../util/ids.js';
import { auditContext, type ActorContext } from './actor.js';

const KEY_PREFIX = 'gh_';
/** Keys are looked up by their SHA-256: they carry 238 bits of randomness, so no slow hash is needed. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function generateKey(): string {
  return KEY_PREFIX + randomBytes(30).toString('base64url');
}

/** Deletes a key and records `api_key_delete`, in the caller's transaction (a key revoked, or an admin removed). */
export async function revokeApiKeyIn(tx: Repositories, audit: AuditRecorder, key: ApiKey, ctx: ActorContext): Promise<void> {
  const owner = await keyOwner(tx, key.adminId);
  await tx.apiKeys.delete(key.id);
  await audit.recordIn(tx, {
    event_type: 'api_key_delete',
    service: 'directory',
    success: true,
    ...auditContext(ctx),
    resource: { id: key.id, type: 'api_key', name: key.name },
    ...(owner ? { owner } : {}),
  });
}

/**
 * Whose key it is, for the key's events: the actor is whoever created or revoked it, which for an
 * administrator's key is often someone else (a key revoked on the Administrators page, or with its
 * owner's removal), so the trail names the owner too. Operator keys (CLI, bootstrap) have none.
 */
async function keyOwner(tx: Repositories, adminId: string | null): Promise<AuditActor | null> {
  if (!adminId) return null;
  const admin = await tx.admins.get(adminId);
  return { id: adminId, type: 'admin', ...(admin ? { email: admin.email } : {}) };
}

/** How often `lastUsedAt` is written at most; a key used on every request must not cost a write each time. */
const TOUCH_INTERVAL_MS = 60_000;

/** API keys for the REST API (`x-api-key`). The key is shown once; only its hash is stored. */
export function createApiKeyService(d: { store: Store; clock: Clock; audit: AuditRecorder }) {
  const lastTouched = new Map<string, number>();
  return {
    /** Creates a key; `given` lets the bootstrap use the operator's key from the environment. */
    async create(name: string, adminId: string | null, ctx: ActorContext, given?: string, tx?: Repositories): Promise<{ key: string; apiKey: ApiKey }> {
      if (given !== undefined && given.length < 24) throw invalid('key', 'must be at least 24 characters');
      const key = given ?? generateKey();
      const now = d.clock.now();
      const apiKey: ApiKey = { id: newId(now.getTime()), name: name || 'API key', adminId, prefix: key.slice(0, 8), createdAt: now, lastUsedAt: null };
      const run = async (repos: Repositories) => {
        // A key for an admin removed a moment ago would work on with no one to list or revoke it.
        if (adminId) {
          await repos.admins.lockAll();
          if (!(await repos.admins.get(adminId))) throw notFound('admin', adminId);
        }
        await repos.apiKeys.create(apiKey, hashApiKey(key));
        const owner = await keyOwner(repos, adminId);
        await d.audit.recordIn(repos, {
          event_type: 'api_key_create',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          resource: { id: apiKey.id, type: 'api_key', name: apiKey.name },
          ...(owner ? { owner } : {}),
        });
      };
      if (tx) await run(tx);
      else await d.store.transaction(run);
      return { key, apiKey };
    },

    /** The key's record, or null for an unknown key. */
    async verify(key: string): Promise<ApiKey | null> {
      if (!key || key.length > 256) return null;
      const found = await d.store.repos.apiKeys.findByHash(hashApiKey(key));
      if (!found) return null;
      const now = d.clock.now().getTime();
      if ((lastTouched.get(found.id) ?? 0) + TOUCH_INTERVAL_MS < now) {
        lastTouched.set(found.id, now);
        void d.store.repos.apiKeys.touch(found.id, new Date(now)).catch(() => undefined);
      }
      return found;
    },

    list: () => d.store.repos.apiKeys.list(),

    async remove(id: string, ctx: ActorContext): Promise<void> {
      await d.store.transaction(async (tx) => {
        const all = await tx.apiKeys.list();
        const k = all.find((x) => x.id === id);
        if (!k) throw notFound('api key', id);
        await revokeApiKeyIn(tx, d.audit, k, ctx);
      });
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
