import type { NameValue, UserGroup } from '../directory/types.js';
import type { Store } from '../ports.js';

export interface RadiusReplyDeps {
  store: Pick<Store, 'repos'>;
}

export interface RadiusReplyService {
  /**
   * The reply attributes an Access-Accept carries for a user at a RADIUS server: those of the user's
   * groups that are associated with that server (JumpCloud `attributes.radius.reply`), merged by
   * `mergeReplyAttributes`. Groups bound to other servers, and direct user bindings, add nothing.
   */
  replyAttributesFor(userId: string, radiusServerId: string): Promise<NameValue[]>;
}

/** Attribute key for conflicts: the name without case, tag included (`Tunnel-Type:1` ≠ `Tunnel-Type:2`). */
const keyOf = (name: string) => name.toLowerCase();

/**
 * Resolves conflicts between groups: for each attribute name, the newest group that sets it (latest
 * `createdAt`, then the larger id, which is time-ordered) supplies all of its values for that name,
 * and older groups' values for that name are dropped. Names set by only one group pass unchanged.
 * A group may repeat a name (several `Cisco-AVPair` or `Filter-Id` lines): all of them are kept.
 * Order: newest group first, each group's attributes in their saved order.
 */
export function mergeReplyAttributes(groups: readonly Pick<UserGroup, 'id' | 'createdAt' | 'radiusReply'>[]): NameValue[] {
  const newestFirst = [...groups].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const owner = new Map<string, string>();
  const out: NameValue[] = [];
  for (const g of newestFirst) {
    for (const a of g.radiusReply) {
      const k = keyOf(a.name);
      const o = owner.get(k);
      if (o === undefined) owner.set(k, g.id);
      else if (o !== g.id) continue;
      out.push({ name: a.name, value: a.value });
    }
  }
  return out;
}

/**
 * Reply attributes, read per Access-Accept so that a change of membership, association or group
 * attributes applies to the next login: the user's group ids (one indexed query on the membership
 * table), those groups (one query by primary key), and, only for groups that have reply attributes,
 * their associations (one primary-key-prefix query each; typically one or two groups).
 */
export function createRadiusReplyService(d: RadiusReplyDeps): RadiusReplyService {
  const repos = d.store.repos;
  return {
    async replyAttributesFor(userId, radiusServerId) {
      const ids = await repos.userGroups.groupIdsOf(userId);
      if (ids.length === 0) return [];
      const withReply = (await repos.userGroups.getMany(ids)).filter((g) => g.radiusReply.length > 0);
      if (withReply.length === 0) return [];
      const edges = await Promise.all(withReply.map((g) => repos.associations.listFrom('user_group', g.id)));
      const bound = withReply.filter((_, i) => edges[i]!.some((a) => a.toType === 'radius_server' && a.toId === radiusServerId));
      return mergeReplyAttributes(bound);
    },
  };
}
