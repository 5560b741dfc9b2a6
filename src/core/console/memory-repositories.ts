import type { ConsoleRepositories, PasswordTokenRecord, Repositories } from '../ports.js';

/**
 * In-memory console stores, for a core assembled without a database (unit tests, tools). The
 * appliance passes the store's own (`openStore().console`). Audit counts are read from `audit` (the
 * repository of the same core) so that the Home page works in unit tests too.
 */
export function createMemoryConsoleRepositories(audit?: Repositories['audit']): ConsoleRepositories {
  const tokens = new Map<string, PasswordTokenRecord>();
  const settings = new Map<string, Record<string, unknown>>();
  const live = (t: PasswordTokenRecord | undefined, now: Date) => (t && t.expiresAt.getTime() > now.getTime() ? { ...t } : null);
  return {
    passwordTokens: {
      async create(t) {
        tokens.set(t.idHash, { ...t });
      },
      async find(idHash, now) {
        return live(tokens.get(idHash), now);
      },
      async consume(idHash, now) {
        const t = live(tokens.get(idHash), now);
        tokens.delete(idHash);
        return t;
      },
      async deleteForUser(userId) {
        let n = 0;
        for (const [k, t] of tokens) if (t.userId === userId && tokens.delete(k)) n++;
        return n;
      },
      async purgeExpired(now) {
        let n = 0;
        for (const [k, t] of tokens) if (t.expiresAt.getTime() <= now.getTime() && tokens.delete(k)) n++;
        return n;
      },
    },
    settings: {
      async get(key) {
        const v = settings.get(key);
        return v ? structuredClone(v) : null;
      },
      async put(key, value) {
        settings.set(key, structuredClone(value));
      },
    },
    auditStats: {
      async countSince(since, eventTypes) {
        if (!audit) return [];
        const events = await audit.query({ services: 'all', startTime: since, endTime: new Date(8_640_000_000_000_000), limit: 100_000, skip: 0 });
        const counts = new Map<string, { service: string; eventType: string; success: boolean; count: number }>();
        for (const e of events) {
          if (!eventTypes.includes(e.event_type)) continue;
          const k = `${e.service}|${e.event_type}|${e.success}`;
          const c = counts.get(k) ?? { service: e.service, eventType: e.event_type, success: e.success, count: 0 };
          c.count++;
          counts.set(k, c);
        }
        return [...counts.values()];
      },
    },
  };
}
