import type { ApplicationCredentialsRecord, SignOnRequestRecord, SsoRepositories, WebSessionRecord } from '../ports.js';

/**
 * In-memory single sign-on stores, for a core assembled without a database (unit tests, tools).
 * The appliance always passes the store's own (`openStore().sso`), which every instance shares.
 */
export function createMemorySsoRepositories(): SsoRepositories {
  const sessions = new Map<string, WebSessionRecord>();
  const credentials = new Map<string, ApplicationCredentialsRecord>();
  const requests = new Map<string, SignOnRequestRecord & { answeredAt: Date | null }>();
  const copy = (s: WebSessionRecord): WebSessionRecord => ({ ...s, data: structuredClone(s.data) });
  return {
    webSessions: {
      async create(s) {
        sessions.set(s.idHash, copy(s));
      },
      async get(idHash) {
        const s = sessions.get(idHash);
        return s ? copy(s) : null;
      },
      async update(idHash, patch) {
        const s = sessions.get(idHash);
        if (!s) return false;
        sessions.set(idHash, { ...s, lastSeenAt: patch.lastSeenAt, ...(patch.data ? { data: structuredClone(patch.data) } : {}) });
        return true;
      },
      async delete(idHash) {
        return sessions.delete(idHash);
      },
      async trimForSubject(kind, subjectId, keep) {
        const mine = [...sessions.values()]
          .filter((s) => s.kind === kind && s.subjectId === subjectId)
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.idHash < b.idHash ? 1 : -1));
        for (const s of mine.slice(keep)) sessions.delete(s.idHash);
        return Math.max(0, mine.length - keep);
      },
      async deleteForSubject(kind, subjectId, exceptIdHash) {
        let n = 0;
        for (const [k, s] of sessions) {
          if (s.kind === kind && s.subjectId === subjectId && k !== exceptIdHash) {
            sessions.delete(k);
            n++;
          }
        }
        return n;
      },
      async purgeExpired(now) {
        let n = 0;
        for (const [k, s] of sessions) {
          if (s.expiresAt.getTime() <= now.getTime()) {
            sessions.delete(k);
            n++;
          }
        }
        return n;
      },
    },
    applicationCredentials: {
      async get(appId) {
        const c = credentials.get(appId);
        return c ? { ...c } : null;
      },
      async setSigningKeyIfAbsent(appId, k) {
        const c = credentials.get(appId);
        if (c?.sealedSigningKey && c.signingCertificate) return;
        credentials.set(appId, { spCertificate: '', requireSignedRequests: false, ...c, ...k, appId });
      },
      async upsert(appId, patch) {
        const current = credentials.get(appId) ?? {
          appId,
          sealedSigningKey: null,
          signingCertificate: null,
          spCertificate: '',
          requireSignedRequests: false,
          updatedAt: patch.updatedAt,
        };
        const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
        credentials.set(appId, { ...current, ...defined, appId });
      },
      async delete(appId) {
        credentials.delete(appId);
      },
    },
    signOnRequests: {
      async remember(r, now) {
        const seen = requests.get(r.idHash);
        if (seen && seen.expiresAt.getTime() > now.getTime()) return false;
        requests.set(r.idHash, { ...r, answeredAt: null });
        return true;
      },
      async markAnswered(idHash, now) {
        const r = requests.get(idHash);
        if (!r || r.answeredAt || r.expiresAt.getTime() <= now.getTime()) return false;
        r.answeredAt = now;
        return true;
      },
      async isAnswered(idHash, now) {
        const r = requests.get(idHash);
        return !!r && r.answeredAt !== null && r.expiresAt.getTime() > now.getTime();
      },
      async purgeExpired(now) {
        let n = 0;
        for (const [k, r] of requests) {
          if (r.expiresAt.getTime() <= now.getTime()) {
            requests.delete(k);
            n++;
          }
        }
        return n;
      },
    },
  };
}
