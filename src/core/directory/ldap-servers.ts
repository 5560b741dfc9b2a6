import { auditContext, type ActorContext } from '../access/actor.js';
import { diffFields } from '../audit/event.js';
import { notFound } from '../errors.js';
import type { DirectoryDeps } from './deps.js';
import type { LdapAction, LdapServer } from './types.js';
import * as v from './validate.js';

const ACTIONS: readonly LdapAction[] = ['disable', 'remove'];

const view = (s: LdapServer) => ({
  name: s.name,
  userLockoutAction: s.userLockoutAction,
  userPasswordExpirationAction: s.userPasswordExpirationAction,
  totpOnBind: s.totpOnBind,
});

/** The organisation's LDAP server record (one per organisation, created on an empty store). */
export function createLdapServerService(d: DirectoryDeps, onChange: () => void = () => undefined) {
  const { store } = d;
  return {
    list: () => store.repos.ldapServers.list(),
    async get(id: string): Promise<LdapServer> {
      const s = await store.repos.ldapServers.get(id);
      if (!s) throw notFound('ldap server', id);
      return s;
    },
    async update(
      id: string,
      f: { name?: unknown; userLockoutAction?: unknown; userPasswordExpirationAction?: unknown; totpOnBind?: unknown },
      ctx: ActorContext,
    ) {
      const patch: Partial<LdapServer> = {};
      if (f.name !== undefined) patch.name = v.text('name', f.name, 128, { required: true });
      if (f.userLockoutAction !== undefined) patch.userLockoutAction = v.oneOf('userLockoutAction', f.userLockoutAction, ACTIONS, { caseInsensitive: true });
      if (f.userPasswordExpirationAction !== undefined) {
        patch.userPasswordExpirationAction = v.oneOf('userPasswordExpirationAction', f.userPasswordExpirationAction, ACTIONS, { caseInsensitive: true });
      }
      if (f.totpOnBind !== undefined) patch.totpOnBind = v.bool('totpOnBind', f.totpOnBind);
      return store.transaction(async (tx) => {
        const before = await tx.ldapServers.get(id);
        if (!before) throw notFound('ldap server', id);
        await tx.ldapServers.update(id, patch);
        const after = (await tx.ldapServers.get(id))!;
        const changes = diffFields(view(before), view(after));
        if (changes.length > 0) {
          await d.audit.recordIn(tx, {
            event_type: 'ldapserver_update',
            service: 'directory',
            success: true,
            ...auditContext(ctx),
            resource: { id, type: 'ldap_server', name: after.name },
            changes,
          });
        }
        return after;
      }).finally(onChange);
    },
  };
}

export type LdapServerService = ReturnType<typeof createLdapServerService>;
