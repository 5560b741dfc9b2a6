import { auditContext, type ActorContext } from '../access/actor.js';
import { invalid, notFound } from '../errors.js';
import type { Repositories } from '../ports.js';
import type { DirectoryDeps } from './deps.js';
import { GRAPH_TO_TYPES, type Association, type GraphFromType, type GraphToType } from './types.js';
import * as v from './validate.js';

/** A node of the JumpCloud graph: its type, id and display name. */
export interface GraphNode {
  type: GraphFromType | GraphToType;
  id: string;
  name: string;
}

/** Finds any graph node by type and id; throws not_found. */
export async function loadNode(tx: Repositories, type: GraphFromType | GraphToType, id: string): Promise<GraphNode> {
  const missing = () => notFound(type.replace(/_/g, ' '), id);
  switch (type) {
    case 'user': {
      const u = await tx.users.get(id);
      if (!u) throw missing();
      return { type, id, name: u.username };
    }
    case 'user_group': {
      const g = await tx.userGroups.get(id);
      if (!g) throw missing();
      return { type, id, name: g.name };
    }
    case 'system': {
      const s = await tx.systems.get(id);
      if (!s) throw missing();
      return { type, id, name: s.displayName };
    }
    case 'system_group': {
      const g = await tx.systemGroups.get(id);
      if (!g) throw missing();
      return { type, id, name: g.name };
    }
    case 'ldap_server': {
      const s = await tx.ldapServers.get(id);
      if (!s) throw missing();
      return { type, id, name: s.name };
    }
    case 'radius_server': {
      const s = await tx.radiusServers.get(id);
      if (!s) throw missing();
      return { type, id, name: s.name };
    }
    case 'application': {
      const a = await tx.applications.get(id);
      if (!a) throw missing();
      return { type, id, name: a.name };
    }
  }
}

/**
 * Associations: which users and user groups are bound to which LDAP server, RADIUS server,
 * application, system or system group. Access checks read them (AssociationRepository.userHasAccess).
 */
export function createAssociationService(d: DirectoryDeps) {
  const { store, clock } = d;
  return {
    /** Edges from a user or user group, optionally only to some target types. */
    async list(fromType: 'user' | 'user_group', fromId: string, targets?: GraphToType[]): Promise<Association[]> {
      await loadNode(store.repos, fromType, fromId);
      const all = await store.repos.associations.listFrom(fromType, fromId);
      return targets && targets.length > 0 ? all.filter((a) => targets.includes(a.toType)) : all;
    },

    /** Edges to a resource (who is bound to this LDAP server, RADIUS server, app, …). */
    async listTo(toType: GraphToType, toId: string): Promise<Association[]> {
      await loadNode(store.repos, toType, toId);
      return store.repos.associations.listTo(toType, toId);
    },

    /** Adds or removes an edge; idempotent, and audited only when something changed. */
    async change(
      from: { type: 'user' | 'user_group'; id: string },
      op: unknown,
      to: { type: unknown; id: unknown },
      ctx: ActorContext,
    ): Promise<void> {
      const operation = v.oneOf('op', op, ['add', 'remove'] as const);
      const toType = v.oneOf('type', to.type, GRAPH_TO_TYPES);
      if (typeof to.id !== 'string' || !/^[0-9a-f]{24}$/.test(to.id)) throw invalid('id', 'must be a 24-character object id');
      const toId = to.id;
      await store.transaction(async (tx) => {
        // Both ends stay until this commits: a removal made meanwhile elsewhere waits, or is seen.
        await tx.rowLocks.lock(from.type, from.id, 'share');
        await tx.rowLocks.lock(toType, toId, 'share');
        const a = await loadNode(tx, from.type, from.id);
        const b = await loadNode(tx, toType, toId);
        const changed =
          operation === 'add'
            ? await tx.associations.add({ fromType: from.type, fromId: from.id, toType, toId, createdAt: clock.now() })
            : await tx.associations.remove({ fromType: from.type, fromId: from.id, toType, toId });
        if (!changed) return;
        // A binding to the LDAP server makes entries appear or disappear there: stamp them, so that a
        // client syncing by modifyTimestamp sees the newly visible ones.
        if (toType === 'ldap_server') {
          if (from.type === 'user') await tx.users.touch(from.id);
          else {
            await tx.userGroups.touch(from.id);
            await tx.users.touchMembersOf(from.id);
          }
        }
        await d.audit.recordIn(tx, {
          event_type: 'association_change',
          service: 'directory',
          success: true,
          ...auditContext(ctx),
          association: {
            op: operation,
            action_source: 'manual',
            connection: {
              from: { name: b.name, type: b.type, object_id: b.id },
              to: { name: a.name, type: a.type, object_id: a.id },
            },
            attributes: null,
          },
        });
      });
    },
  };
}

export type AssociationService = ReturnType<typeof createAssociationService>;
