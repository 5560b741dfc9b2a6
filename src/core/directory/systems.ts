import { auditContext, type ActorContext } from '../access/actor.js';
import { diffFields } from '../audit/event.js';
import { conflict, invalid, notFound } from '../errors.js';
import type { Repositories } from '../ports.js';
import { newId } from '../../util/ids.js';
import type { DirectoryDeps } from './deps.js';
import type { Page, Query, SystemAttr } from './filter.js';
import type { System, SystemGroup } from './types.js';
import * as v from './validate.js';

/** Device records (the agent side of devices is out of scope: admins and scripts maintain them). */
export interface SystemFields {
  displayName?: unknown;
  hostname?: unknown;
  os?: unknown;
  version?: unknown;
  arch?: unknown;
  agentVersion?: unknown;
  active?: unknown;
  lastContact?: unknown;
  allowMultiFactorAuthentication?: unknown;
  systemInsightsState?: unknown;
}

type SystemPatch = Partial<Omit<System, 'id' | 'createdAt' | 'updatedAt'>>;

function systemPatch(f: SystemFields): SystemPatch {
  const p: SystemPatch = {};
  if (f.displayName !== undefined) p.displayName = v.text('displayName', f.displayName, 256, { required: true });
  if (f.hostname !== undefined) p.hostname = v.text('hostname', f.hostname, 253);
  for (const k of ['os', 'version', 'arch', 'agentVersion'] as const) if (f[k] !== undefined) p[k] = v.text(k, f[k], 128);
  if (f.active !== undefined) p.active = v.bool('active', f.active);
  if (f.lastContact !== undefined) p.lastContact = v.date('lastContact', f.lastContact);
  if (f.allowMultiFactorAuthentication !== undefined) {
    p.allowMultiFactorAuthentication = v.bool('allowMultiFactorAuthentication', f.allowMultiFactorAuthentication);
  }
  if (f.systemInsightsState !== undefined) {
    p.systemInsightsState = v.oneOf('systemInsights.state', f.systemInsightsState, ['enabled', 'disabled'] as const);
  }
  return p;
}

const systemView = (s: System): Record<string, unknown> => ({
  displayName: s.displayName,
  hostname: s.hostname,
  os: s.os,
  version: s.version,
  arch: s.arch,
  agentVersion: s.agentVersion,
  active: s.active,
  allowMultiFactorAuthentication: s.allowMultiFactorAuthentication,
  systemInsights: { state: s.systemInsightsState },
});

const systemResource = (s: System) => ({ id: s.id, type: 'system', name: s.displayName });
const groupResource = (g: SystemGroup) => ({ id: g.id, type: 'system_group', name: g.name });

export function createSystemService(d: DirectoryDeps) {
  const { store, clock } = d;
  const load = async (tx: Repositories, id: string) => {
    const s = await tx.systems.get(id);
    if (!s) throw notFound('system', id);
    return s;
  };
  const loadGroup = async (tx: Repositories, id: string) => {
    const g = await tx.systemGroups.get(id);
    if (!g) throw notFound('system group', id);
    return g;
  };

  return {
    list: (q: Query<SystemAttr>): Promise<Page<System>> => store.repos.systems.query(q),
    get: (id: string) => load(store.repos, id),

    async create(f: SystemFields, ctx: ActorContext): Promise<System> {
      if (f.displayName === undefined && f.hostname === undefined) throw invalid('displayName', 'is required');
      const p = systemPatch(f);
      const now = clock.now();
      const s: System = {
        id: newId(now.getTime()),
        displayName: p.displayName ?? p.hostname ?? '',
        hostname: p.hostname ?? '',
        os: p.os ?? '',
        version: p.version ?? '',
        arch: p.arch ?? '',
        agentVersion: p.agentVersion ?? '',
        active: p.active ?? false,
        lastContact: p.lastContact ?? null,
        allowMultiFactorAuthentication: p.allowMultiFactorAuthentication ?? false,
        systemInsightsState: p.systemInsightsState ?? 'disabled',
        createdAt: now,
        updatedAt: now,
      };
      if (!s.displayName) throw invalid('displayName', 'must not be empty');
      return store.transaction(async (tx) => {
        await tx.systems.create(s);
        await d.audit.recordIn(tx, { event_type: 'system_create', service: 'systems', success: true, ...auditContext(ctx), resource: systemResource(s) });
        return s;
      });
    },

    async update(id: string, f: SystemFields, ctx: ActorContext): Promise<System> {
      const p = systemPatch(f);
      return store.transaction(async (tx) => {
        const before = await load(tx, id);
        await tx.systems.update(id, p);
        const after = await load(tx, id);
        const changes = diffFields(systemView(before), systemView(after));
        if (changes.length > 0) {
          await d.audit.recordIn(tx, { event_type: 'system_update', service: 'systems', success: true, ...auditContext(ctx), resource: systemResource(after), changes });
        }
        return after;
      });
    },

    async remove(id: string, ctx: ActorContext): Promise<System> {
      return store.transaction(async (tx) => {
        // First: edges being added elsewhere land before the removal, or wait for it (RowLockRepository).
        await tx.rowLocks.lock('system', id, 'update');
        const s = await load(tx, id);
        await tx.associations.removeAllFor('system', id);
        for (const g of await tx.systemGroups.groupIdsOf(id)) await tx.systemGroups.removeMember(g, id);
        await tx.systems.delete(id);
        await d.audit.recordIn(tx, { event_type: 'system_delete', service: 'systems', success: true, ...auditContext(ctx), resource: systemResource(s) });
        return s;
      });
    },

    groups: {
      list: (limit: number, offset: number) => store.repos.systemGroups.list(limit, offset),
      get: (id: string) => loadGroup(store.repos, id),

      async create(f: { name?: unknown; description?: unknown }, ctx: ActorContext): Promise<SystemGroup> {
        const name = v.text('name', f.name, 128, { required: true });
        const description = v.text('description', f.description, 1024);
        const now = clock.now();
        return store.transaction(async (tx) => {
          if (await tx.systemGroups.getByName(name)) throw conflict('name', `a device group named ${name} already exists`);
          const g: SystemGroup = { id: newId(now.getTime()), name, description, createdAt: now, updatedAt: now };
          await tx.systemGroups.create(g);
          await d.audit.recordIn(tx, { event_type: 'group_create', service: 'directory', success: true, ...auditContext(ctx), resource: groupResource(g) });
          return g;
        });
      },

      async update(id: string, f: { name?: unknown; description?: unknown }, ctx: ActorContext): Promise<SystemGroup> {
        return store.transaction(async (tx) => {
          const before = await loadGroup(tx, id);
          const patch: Partial<SystemGroup> = {};
          if (f.name !== undefined) {
            patch.name = v.text('name', f.name, 128, { required: true });
            const other = await tx.systemGroups.getByName(patch.name);
            if (other && other.id !== id) throw conflict('name', `a device group named ${patch.name} already exists`);
          }
          if (f.description !== undefined) patch.description = v.text('description', f.description, 1024);
          await tx.systemGroups.update(id, patch);
          const after = await loadGroup(tx, id);
          const changes = diffFields({ name: before.name, description: before.description }, { name: after.name, description: after.description });
          if (changes.length > 0) {
            await d.audit.recordIn(tx, { event_type: 'group_update', service: 'directory', success: true, ...auditContext(ctx), resource: groupResource(after), changes });
          }
          return after;
        });
      },

      async remove(id: string, ctx: ActorContext): Promise<SystemGroup> {
        return store.transaction(async (tx) => {
          // First: edges being added elsewhere land before the removal, or wait for it (RowLockRepository).
          await tx.rowLocks.lock('system_group', id, 'update');
          const g = await loadGroup(tx, id);
          await tx.associations.removeAllFor('system_group', id);
          await tx.systemGroups.delete(id);
          await d.audit.recordIn(tx, { event_type: 'group_delete', service: 'directory', success: true, ...auditContext(ctx), resource: groupResource(g) });
          return g;
        });
      },

      async members(id: string, limit: number, offset: number) {
        await loadGroup(store.repos, id);
        return store.repos.systemGroups.memberIds(id, limit, offset);
      },

      async changeMember(id: string, op: 'add' | 'remove', systemId: string, ctx: ActorContext): Promise<void> {
        await store.transaction(async (tx) => {
          await tx.rowLocks.lock('system_group', id, 'share');
          await tx.rowLocks.lock('system', systemId, 'share');
          const g = await loadGroup(tx, id);
          const s = await load(tx, systemId);
          const changed = op === 'add' ? await tx.systemGroups.addMember(id, systemId) : await tx.systemGroups.removeMember(id, systemId);
          if (!changed) return;
          await d.audit.recordIn(tx, {
            event_type: 'association_change',
            service: 'directory',
            success: true,
            ...auditContext(ctx),
            association: {
              op,
              action_source: 'manual',
              connection: {
                from: { name: g.name, type: 'system_group', object_id: g.id },
                to: { name: s.displayName, type: 'system', object_id: s.id },
              },
              attributes: null,
            },
          });
        });
      },
    },
  };
}

export type SystemService = ReturnType<typeof createSystemService>;
