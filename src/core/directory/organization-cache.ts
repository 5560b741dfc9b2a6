import { DomainError } from '../errors.js';
import type { OrganizationRepository } from '../ports.js';
import type { Organization } from './organization.js';
import type { VersionWatch } from './version-watch.js';

/**
 * The organisation (and its password and lockout policy) is read on every authentication. It is
 * kept in memory for a short time; a change through this instance is seen at once, a change
 * through another instance within `ttlMs`.
 */
export interface OrganizationCache {
  get(): Promise<Organization>;
  /** The kept organisation if `get` would answer it without a read, else undefined (hot paths that must not wait). */
  peek(): Organization | undefined;
  invalidate(): void;
}

/**
 * With a version watch, a kept organisation is also dropped once the watch has seen the directory
 * change: hot-path caches (LDAP pages and principals) stamp what they build with the watch's
 * generation and keep it while that generation is confirmed, so the policy they are built from must
 * not be older than the generation (a page built on a 2 s old policy after the change was seen was
 * then kept for up to 30 s).
 */
export function createOrganizationCache(repo: OrganizationRepository, ttlMs = 2000, watch?: VersionWatch): OrganizationCache {
  let cached: { org: Organization; at: number; seen: number } | null = null;
  let loading: Promise<Organization> | null = null;
  let loadingSeen = -1;
  // A load that started before `invalidate()` may hold the old organisation: it answers its own
  // callers but is not kept.
  let generation = 0;
  const fresh = (seen: number) => (cached && Date.now() - cached.at < ttlMs && cached.seen === seen ? cached.org : undefined);
  return {
    peek() {
      return fresh(watch ? watch.generation() : -1);
    },
    async get() {
      const seen = watch ? watch.generation() : -1;
      const kept = fresh(seen);
      if (kept) return kept;
      if (loading && loadingSeen === seen) return loading;
      const started = generation;
      const at = Date.now();
      const load: Promise<Organization> = repo
        .get()
        .then((org) => {
          if (!org) throw new DomainError('unavailable', 'organization.missing', 'the store holds no organisation');
          if (started === generation) cached = { org, at, seen };
          return org;
        })
        .finally(() => {
          if (loading === load) loading = null;
        });
      loading = load;
      loadingSeen = seen;
      return load;
    },
    invalidate() {
      generation++;
      cached = null;
      loading = null;
    },
  };
}
