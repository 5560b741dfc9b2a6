import { auditContext, type ActorContext } from '../access/actor.js';
import { diffFields } from '../audit/event.js';
import { conflict, invalid, notFound } from '../errors.js';
import type { Repositories } from '../ports.js';
import { newId } from '../../util/ids.js';
import type { DirectoryDeps } from './deps.js';
import type { GroupAttr, Page, Query } from './filter.js';
import type { NameValue, User, UserGroup } from './types.js';
import { allocateUnixId } from './users.js';
import * as v from './validate.js';
import { fold } from '../../util/fold.js';

export interface UserGroupFields {
  name?: unknown;
  description?: unknown;
  email?: unknown;
  /** `[{ id?: gid, name? }]` (JumpCloud `attributes.posixGroups`); an empty list removes POSIX data. */
  posixGroups?: unknown;
  /** `[{ name, value }]` (JumpCloud `attributes.radius.reply`). */
  radiusReply?: unknown;
}

/**
 * Checks a RADIUS reply attribute against the RADIUS dictionary. The RADIUS adapter provides it;
 * without one, only the shape is checked.
 */
export type RadiusAttributeCheck = (attr: NameValue) => string | null;

type GroupPatch = Partial<Omit<UserGroup, 'id' | 'createdAt' | 'updatedAt'>> & { allocateGid?: boolean };

function auditView(g: UserGroup): Record<string, unknown> {
  return {
    name: g.name,
    description: g.description,
    email: g.email,
    posixGroups: g.posixGid === null ? [] : [{ id: g.posixGid, name: g.posixName }],
    radius: { reply: g.radiusReply },
  };
}

const groupResource = (g: UserGroup) => ({ id: g.id, type: 'user_group', name: g.name });

export function createUserGroupService(d: DirectoryDeps, checkRadiusAttribute: RadiusAttributeCheck = () => null) {
  const { store, clock } = d;

  const load = async (repos: Repositories, id: string) => {
    const g = await repos.userGroups.get(id);
    if (!g) throw notFound('user group', id);
    return g;
  };

  const patchOf = (f: UserGroupFields, current?: UserGroup): GroupPatch => {
    const p: GroupPatch = {};
    if (f.name !== undefined) p.name = v.text('name', f.name, 128, { required: true });
    if (f.description !== undefined) p.description = v.text('description', f.description, 1024);
    if (f.email !== undefined) p.email = f.email === '' || f.email === null ? '' : v.email(f.email);
    if (f.posixGroups !== undefined && f.posixGroups !== null) {
      if (!Array.isArray(f.posixGroups) || f.posixGroups.length > 1) {
        throw invalid('attributes.posixGroups', 'must be a list with at most one { id, name }');
      }
      const pg = f.posixGroups[0] as Record<string, unknown> | undefined;
      if (!pg) {
        p.posixGid = null;
        p.posixName = null;
      } else {
        if (typeof pg !== 'object') throw invalid('attributes.posixGroups[0]', 'must be { id, name }');
        if (pg.id === undefined || pg.id === null) p.allocateGid = current?.posixGid === null || current === undefined;
        else p.posixGid = v.int('attributes.posixGroups[0].id', pg.id, 1, 4_294_967_294);
        const name = pg.name === undefined ? (p.name ?? current?.name ?? '') : v.text('attributes.posixGroups[0].name', pg.name, 64);
        if (name && !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name)) {
          throw invalid('attributes.posixGroups[0].name', 'may contain only letters, digits, ".", "_" and "-"');
        }
        p.posixName = name || null;
      }
    }
    if (f.radiusReply !== undefined) {
      const reply = v.nameValues('attributes.radius.reply', f.radiusReply, 50);
      reply.forEach((a, i) => {
        if (!/^[A-Za-z][A-Za-z0-9-]*(:[0-9]+)?$/.test(a.name)) {
          throw invalid(`attributes.radius.reply[${i}].name`, 'must be a RADIUS attribute name such as Tunnel-Private-Group-Id');
        }
        if (a.value.length > 253) throw invalid(`attributes.radius.reply[${i}].value`, 'must be at most 253 characters (RFC 2865 §5)');
        const problem = checkRadiusAttribute(a);
        if (problem) throw invalid(`attributes.radius.reply[${i}]`, problem);
      });
      p.radiusReply = reply;
    }
    return p;
  };

  const apply = async (tx: Repositories, p: GroupPatch, selfId?: string, current?: UserGroup) => {
    const { allocateGid, ...rest } = p;
    if (allocateGid) rest.posixGid = await allocateUnixId(tx);
    else if (rest.posixGid !== undefined && rest.posixGid !== null) {
      // Unique among groups; it may equal a user's uidNumber or gidNumber (see users.ts, ensureUnique).
      const same = await tx.userGroups.query({ filter: { op: 'eq', attr: 'posixGid', value: rest.posixGid }, limit: 1, offset: 0 });
      const other = same.items[0];
      if (other && other.id !== selfId) {
        throw conflict('attributes.posixGroups[0].id', `gid ${rest.posixGid} is already used by group ${other.name}`);
      }
    }
    if (p.name !== undefined || p.posixName !== undefined || rest.posixGid !== undefined) {
      // A group's LDAP entry carries its name and its POSIX name as `cn`, which nslcd and sssd look
      // groups up by (`getent group NAME`): each must name this group only, as a gid must. Only a
      // name this change gives the group is checked, so that groups stored before the rule (or
      // colliding through another instance) can still be edited, and renamed apart.
      const name = rest.name ?? current?.name ?? '';
      const posix = rest.posixGid !== undefined ? rest.posixGid !== null : (current?.posixGid ?? null) !== null;
      const posixName = !posix ? null : rest.posixName !== undefined ? (rest.posixName ?? name) : (current?.posixName ?? name);
      const had = new Set([current?.name, current?.posixGid !== null ? current?.posixName : undefined].filter((x): x is string => !!x).map(fold));
      const given: [field: string, name: string][] = [];
      for (const [field, n] of [['name', name], ['attributes.posixGroups[0].name', posixName]] as const) if (n && !had.has(fold(n))) given.push([field, n]);
      // Two requests giving the same name at once (on PostgreSQL, side by side) must not both find
      // it free: each name is locked until the transaction ends, in one order (no deadlock).
      for (const n of [...new Set(given.map(([, n]) => fold(n)))].sort()) await tx.rowLocks.lockName('user_group', n);
      for (const [field, n] of given) {
        const clash = await tx.userGroups.query({
          filter: { op: 'or', filters: [{ op: 'eq', attr: 'name', value: n }, { op: 'eq', attr: 'posixName', value: n }] },
          limit: 2,
          offset: 0,
          withTotal: false,
        });
        const other = clash.items.find((g) => g.id !== selfId);
        if (other && fold(other.name) === fold(n)) throw conflict(field, `a user group named ${n} already exists`);
        if (other) throw conflict(field, `${n} is already the POSIX group name of group ${other.name}`);
      }
    }
    return rest;
  };

  const recordMembership = (tx: Repositories, op: 'add' | 'remove', user: User, group: UserGroup, ctx: ActorContext) =>
    d.audit.recordIn(tx, {
      event_type: 'association_change',
      service: 'directory',
      success: true,
      ...auditContext(ctx),
      association: {
        op,
        action_source: 'manual',
        connection: {
          from: { name: group.name, type: 'user_group', object_id: group.id },
          to: { name: user.username, type: 'user', object_id: user.id },
        },
        attributes: null,
      },
    });

  return {
    list(q: Query<GroupAttr>): Promise<Page<UserGroup>> {
      return store.repos.userGroups.query(q);
    },

    get(id: string): Promise<UserGroup> {
      return load(store.repos, id);
    },

    async create(f: UserGroupFields, ctx: ActorContext): Promise<UserGroup> {
      if (f.name === undefined) throw invalid('name', 'is required');
      const p = patchOf(f);
      const now = clock.now();
      return store.transaction(async (tx) => {
        const rest = await apply(tx, p);
        const g: UserGroup = {
          id: newId(now.getTime()),
          name: rest.name!,
          description: rest.description ?? '',
          email: rest.email ?? '',
          posixGid: rest.posixGid ?? null,
          posixName: rest.posixGid !== undefined && rest.posixGid !== null ? (rest.posixName ?? rest.name!) : null,
          radiusReply: rest.radiusReply ?? [],
          createdAt: now,
          updatedAt: now,
        };
        await tx.userGroups.create(g);
        await d.audit.recordIn(tx, { event_type: 'group_create', service: 'directory', success: true, ...auditContext(ctx), resource: groupResource(g) });
        return g;
      });
    },

    async update(id: string, f: UserGroupFields, ctx: ActorContext): Promise<UserGroup> {
      return store.transaction(async (tx) => {
        const before = await load(tx, id);
        const rest = await apply(tx, patchOf(f, before), id, before);
        await tx.userGroups.update(id, rest);
        const after = await load(tx, id);
        // The members' memberOf names the group: their entries changed too (LDAP sync by modifyTimestamp).
        if (after.name !== before.name) await tx.users.touchMembersOf(id);
        const changes = diffFields(auditView(before), auditView(after));
        if (changes.length > 0) {
          await d.audit.recordIn(tx, { event_type: 'group_update', service: 'directory', success: true, ...auditContext(ctx), resource: groupResource(after), changes });
        }
        return after;
      });
    },

    async remove(id: string, ctx: ActorContext): Promise<UserGroup> {
      return store.transaction(async (tx) => {
        // First: edges being added elsewhere land before the removal, or wait for it (RowLockRepository).
        await tx.rowLocks.lock('user_group', id, 'update');
        const g = await load(tx, id);
        await tx.associations.removeAllFor('user_group', id);
        await tx.users.touchMembersOf(id);
        await tx.userGroups.delete(id);
        await d.audit.recordIn(tx, { event_type: 'group_delete', service: 'directory', success: true, ...auditContext(ctx), resource: groupResource(g) });
        return g;
      });
    },

    async members(id: string, limit: number, offset: number): Promise<Page<string>> {
      await load(store.repos, id);
      return store.repos.userGroups.memberIds(id, limit, offset);
    },

    /** Adds or removes a user; idempotent (adding a member twice changes nothing and records nothing). */
    async changeMember(id: string, op: 'add' | 'remove', userId: string, ctx: ActorContext): Promise<void> {
      await store.transaction(async (tx) => {
        // Both stay until this commits: a removal made meanwhile elsewhere waits, or is seen.
        await tx.rowLocks.lock('user_group', id, 'share');
        await tx.rowLocks.lock('user', userId, 'share');
        const g = await load(tx, id);
        const u = await tx.users.get(userId);
        if (!u) throw notFound('user', userId);
        const changed = op === 'add' ? await tx.userGroups.addMember(id, userId) : await tx.userGroups.removeMember(id, userId);
        if (!changed) return;
        // Both directory entries changed (the group's member and memberUid, the user's memberOf):
        // LDAP clients that sync by modifyTimestamp (sssd, Keycloak, Nextcloud) must see it, as
        // slapd's memberof overlay makes them.
        await tx.userGroups.touch(id);
        await tx.users.touch(userId);
        await recordMembership(tx, op, u, g, ctx);
      });
      // Access and reply attributes follow membership; cached credentials do not depend on it.
    },
  };
}

export type UserGroupService = ReturnType<typeof createUserGroupService>;
