import { DomainError } from '../errors.js';
import type { OrganizationRepository } from '../ports.js';
import type { Organization } from './organization.js';

/**
 * The organisation (and its password and lockout policy) is read on every authentication. It is
 * kept in memory for a short time; a change through this instance is seen at once, a change
 * through another instance within `ttlMs`.
 */
export interface OrganizationCache {
  get(): Promise<Organization>;
  invalidate(): void;
}

export function createOrganizationCache(repo: OrganizationRepository, ttlMs = 2000): OrganizationCache {
  let cached: { org: Organization; at: number } | null = null;
  let loading: Promise<Organization> | null = null;
  // A load that started before `invalidate()` may hold the old organisation: it answers its own
  // callers but is not kept.
  let generation = 0;
  return {
    async get() {
      if (cached && Date.now() - cached.at < ttlMs) return cached.org;
      if (loading) return loading;
      const started = generation;
      const at = Date.now();
      const load: Promise<Organization> = repo
        .get()
        .then((org) => {
          if (!org) throw new DomainError('unavailable', 'organization.missing', 'the store holds no organisation');
          if (started === generation) cached = { org, at };
          return org;
        })
        .finally(() => {
          if (loading === load) loading = null;
        });
      loading = load;
      return load;
    },
    invalidate() {
      generation++;
      cached = null;
      loading = null;
    },
  };
}
