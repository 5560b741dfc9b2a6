import type { NameValue, UserGroup } from '../directory/types.js';
import type { Store } from '../ports.js';
import { createEpochCache, UNTIMED_KEPT_MS } from '../directory/epoch-cache.js';
import type { VersionWatch } from '../directory/version-watch.js';

export interface RadiusReplyDeps {
  store: Pick<Store, 'repos'> & Partial<Pick<Store, 'commits'>>;
  /** How long a read may serve repeated requests (0: read every time). */
  revalidateMs?: number;
  /** Invalidation counter of cached directory reads (default: the store's commits). */
  epoch?: () => number;
  /** Keeps reads past revalidateMs while the directory counter is unchanged (the watch's directoryOnly view). */
  versionWatch?: VersionWatch;
}

export interface RadiusReplyService {
  /**
   * The reply attributes an Access-Accept carries for a user at a RADIUS server: those of the user's
   * groups that are associated with that server (JumpCloud `attributes.radius.reply`), merged by
   * `mergeReplyAttributes`. Groups bound to other servers, and direct user bindings, add nothing.
   */
  replyAttributesFor(userId: string, radiusServerId: string): Promise<NameValue[]>;
}

/**
 * Attribute key for conflicts: the name without case and without its tag. A tag groups the
 * attributes of one tunnel (RFC 2868 §3.1), so `Tunnel-Private-Group-Id:1` from a newer group and an
 * untagged `Tunnel-Private-Group-Id` from an older one are the same setting: sending both would hand
 * the NAS two VLANs, and which one a switch applies is up to its vendor. A group that sets several
 * tagged tunnels keeps them all, as it owns the name.
 */
const keyOf = (name: string) => name.toLowerCase().replace(/:\d+$/, '');

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
 * Reply attributes: the user's groups bound to the server in one query, kept for repeated
 * Access-Requests in an epoch cache (a change through this instance applies to the next request,
 * one through another instance within the cache's lifetime).
 */
export function createRadiusReplyService(d: RadiusReplyDeps): RadiusReplyService {
  const repos = d.store.repos;
  const epoch = d.epoch ?? (() => d.store.commits ?? 0);
  // Nothing in a reply list turns with time: kept while nothing is written (UNTIMED_KEPT_MS).
  const kept = { refreshAhead: true, maxKeptMs: UNTIMED_KEPT_MS, ...(d.versionWatch ? { watch: d.versionWatch } : {}) };
  const cache = createEpochCache<NameValue[]>(d.revalidateMs ?? 0, 100_000, epoch, kept);
  // Per server: does any bound group carry reply attributes? Many servers have none, and then an
  // Accept for a user not seen within the cache's lifetime needs no read at all.
  const serverHasReplies = createEpochCache<boolean>(d.revalidateMs ?? 0, 1_000, epoch, kept);
  const anyReplies = (radiusServerId: string): Promise<boolean> =>
    serverHasReplies.load(radiusServerId, () => repos.userGroups.anyBoundWithRadiusReply(radiusServerId));
  return {
    async replyAttributesFor(userId, radiusServerId) {
      const key = `${userId}:${radiusServerId}`;
      const hit = cache.get(key);
      if (hit) return hit;
      if (!(await anyReplies(radiusServerId))) return [];
      return cache.load(key, async () => mergeReplyAttributes(await repos.userGroups.groupsOfUserBoundTo(userId, 'radius_server', radiusServerId)));
    },
  };
}
