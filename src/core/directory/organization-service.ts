import { auditContext, type ActorContext } from '../access/actor.js';
import { diffFields } from '../audit/event.js';
import { invalid, notFound } from '../errors.js';
import type { DirectoryDeps } from './deps.js';
import { mergePasswordPolicy, type Organization, type OrgSettings } from './organization.js';
import * as v from './validate.js';

/** The settings given, validated and merged into the current ones (unknown keys refused). */
function mergeSettings(current: OrgSettings, s: Record<string, unknown>): OrgSettings {
  const settings = { ...current };
  for (const [key, value] of Object.entries(s)) {
    if (key === 'passwordPolicy') {
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid('settings.passwordPolicy', 'must be an object');
      settings.passwordPolicy = mergePasswordPolicy(current.passwordPolicy, value as Record<string, unknown>);
    } else if (key === 'userMfaEnrollmentDays') {
      settings.userMfaEnrollmentDays = v.int('settings.userMfaEnrollmentDays', value, 0, 365);
    } else if (key === 'requireAdminMfa') {
      settings.requireAdminMfa = v.bool('settings.requireAdminMfa', value);
    } else {
      throw invalid(`settings.${key}`, 'is not a setting Gatehouse knows');
    }
  }
  return settings;
}

export interface OrganizationFields {
  displayName?: unknown;
  settings?: unknown;
}

/** The organisation record and its security settings (password, lockout and MFA policy). */
export function createOrganizationService(d: DirectoryDeps) {
  const { store } = d;
  return {
    get: () => d.organization.get(),

    async update(id: string, f: OrganizationFields, ctx: ActorContext): Promise<Organization> {
      const displayName = f.displayName === undefined ? undefined : v.text('displayName', f.displayName, 128, { required: true });
      if (f.settings !== undefined && (!f.settings || typeof f.settings !== 'object' || Array.isArray(f.settings))) throw invalid('settings', 'must be an object');
      const updated = await store.transaction(async (tx) => {
        // The settings are merged into the stored ones as they are now, read locked in this
        // transaction: merged into the 2-second cached copy, a change made a moment before through
        // another instance was silently written back to its old value (and audited as no change).
        const current = await tx.organizations.get({ forUpdate: true });
        if (!current || id !== current.id) throw notFound('organization', id);
        const settings = f.settings === undefined ? undefined : mergeSettings(current.settings, f.settings as Record<string, unknown>);
        await tx.organizations.update(id, { ...(displayName ? { displayName } : {}), ...(settings ? { settings } : {}) });
        const after = await tx.organizations.get();
        if (!after) throw notFound('organization', id);
        const changes = diffFields(
          { displayName: current.displayName, ...current.settings },
          { displayName: after.displayName, ...after.settings },
        );
        if (changes.length > 0) {
          await d.audit.recordIn(tx, {
            event_type: 'organization_update',
            service: 'directory',
            success: true,
            ...auditContext(ctx),
            resource: { id, type: 'organization', name: after.displayName },
            changes,
          });
        }
        return after;
      });
      d.organization.invalidate();
      return updated;
    },
  };
}

export type OrganizationService = ReturnType<typeof createOrganizationService>;
