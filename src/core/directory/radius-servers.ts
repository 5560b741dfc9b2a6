import { randomBytes } from 'node:crypto';
import { auditContext, type ActorContext } from '../access/actor.js';
import { diffFields } from '../audit/event.js';
import { conflict, invalid, isDomainError, notFound } from '../errors.js';
import type { Repositories } from '../ports.js';
import { newId } from '../../util/ids.js';
import { formatBlock, hasHostBits, networkKey, parseBlock } from '../../util/ip-block.js';
import type { DirectoryDeps } from './deps.js';
import { RADIUS_MFA_MODES, type RadiusAction, type RadiusMfaMode, type RadiusServer } from './types.js';
import * as v from './validate.js';

const ACTIONS: readonly RadiusAction[] = ['maintain', 'remove'];
/** Shorter shared secrets are accepted with a warning (BlastRADIUS guidance: at least 16). */
export const MIN_RECOMMENDED_SECRET_LENGTH = 16;
const GENERATED_SECRET_LENGTH = 32;
const MAX_SECRET_LENGTH = 128;
/**
 * A networkSourceIp block wider than this (IPv4 /8: 16 million addresses; IPv6 /16) is accepted with
 * a warning: a NAS is one device or one subnet, and for every address such a block admits, the
 * shared secret is the only check left (RFC 2865 §3 has the server answer known clients only).
 */
export const MIN_RECOMMENDED_PREFIX = { 4: 8, 6: 16 } as const;

export interface RadiusServerFields {
  name?: unknown;
  networkSourceIp?: unknown;
  sharedSecret?: unknown;
  mfa?: unknown;
  userLockoutAction?: unknown;
  userPasswordExpirationAction?: unknown;
  requireMessageAuthenticator?: unknown;
}

/** Configuration warnings an admin should see (console alerts, API `warnings`). */
export function radiusServerWarnings(s: RadiusServer): string[] {
  const w: string[] = [];
  if (s.sharedSecretLength < MIN_RECOMMENDED_SECRET_LENGTH) {
    w.push(`sharedSecret is shorter than ${MIN_RECOMMENDED_SECRET_LENGTH} characters; use a longer random secret (BlastRADIUS, CVE-2024-3596)`);
  }
  if (!s.requireMessageAuthenticator) {
    w.push('Message-Authenticator is not required on Access-Request; enable it unless the NAS cannot send it (BlastRADIUS, CVE-2024-3596)');
  }
  return [...w, ...networkWarnings(s.networkSourceIp)];
}

/** A block wide enough to admit strangers, and a block whose host bits are ignored (stored as typed). */
function networkWarnings(ip: string): string[] {
  const b = parseBlock(ip);
  if (!b) return [];
  const w: string[] = [];
  const min = MIN_RECOMMENDED_PREFIX[b.family];
  if (b.prefix === 0) {
    w.push(`networkSourceIp ${ip} admits every IPv${b.family} address; the shared secret is then the only check`);
  } else if (b.prefix < min) {
    w.push(`networkSourceIp ${ip} admits every address of a /${b.prefix} block (wider than /${min}); the shared secret is then the only check for all of them`);
  }
  if (hasHostBits(ip)) w.push(`networkSourceIp ${ip} has host bits set; it is matched as ${formatBlock(b)}`);
  return w;
}

/** A random shared secret of printable characters that NAS consoles accept. */
function generateSecret(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(GENERATED_SECRET_LENGTH * 2);
  let out = '';
  for (const b of bytes) {
    if (b < 256 - (256 % alphabet.length)) out += alphabet[b % alphabet.length];
    if (out.length === GENERATED_SECRET_LENGTH) break;
  }
  return out;
}

const view = (s: RadiusServer) => ({
  name: s.name,
  networkSourceIp: s.networkSourceIp,
  mfa: s.mfa,
  userLockoutAction: s.userLockoutAction,
  userPasswordExpirationAction: s.userPasswordExpirationAction,
  requireMessageAuthenticator: s.requireMessageAuthenticator,
});

/** RADIUS clients (NAS): source address, shared secret (sealed at rest) and MFA mode. */
export function createRadiusServerService(d: DirectoryDeps) {
  const { store, clock, secretBox } = d;
  const load = async (tx: Repositories, id: string) => {
    const s = await tx.radiusServers.get(id);
    if (!s) throw notFound('radius server', id);
    return s;
  };

  const patchOf = (f: RadiusServerFields) => {
    const p: Partial<RadiusServer> = {};
    if (f.name !== undefined) p.name = v.text('name', f.name, 128, { required: true });
    if (f.networkSourceIp !== undefined) p.networkSourceIp = v.ipOrCidr('networkSourceIp', f.networkSourceIp);
    if (f.mfa !== undefined) p.mfa = v.oneOf<RadiusMfaMode>('mfa', f.mfa, RADIUS_MFA_MODES, { caseInsensitive: true });
    if (f.userLockoutAction !== undefined) p.userLockoutAction = v.oneOf('userLockoutAction', f.userLockoutAction, ACTIONS, { caseInsensitive: true });
    if (f.userPasswordExpirationAction !== undefined) {
      p.userPasswordExpirationAction = v.oneOf('userPasswordExpirationAction', f.userPasswordExpirationAction, ACTIONS, { caseInsensitive: true });
    }
    if (f.requireMessageAuthenticator !== undefined) p.requireMessageAuthenticator = v.bool('requireMessageAuthenticator', f.requireMessageAuthenticator);
    let secret: string | undefined;
    if (f.sharedSecret !== undefined && f.sharedSecret !== null && f.sharedSecret !== '') {
      if (typeof f.sharedSecret !== 'string') throw invalid('sharedSecret', 'must be a string');
      // RFC 2865 §3: the secret is any octet string; printable ASCII is what NAS consoles take.
      if (!/^[\x20-\x7e]+$/.test(f.sharedSecret)) throw invalid('sharedSecret', 'must be printable ASCII characters');
      if (f.sharedSecret.length > MAX_SECRET_LENGTH) throw invalid('sharedSecret', `must be at most ${MAX_SECRET_LENGTH} characters`);
      secret = f.sharedSecret;
      p.sharedSecretLength = secret.length;
    }
    return { p, secret };
  };

  /**
   * One RADIUS server per network: the client table matches the parsed network (`127.0.0.1`,
   * `127.0.0.1/32` and `::ffff:127.0.0.1` are one client), so that is what is compared; a second
   * server for it would never be used. The store's unique index on the same canonical form covers
   * concurrent changes this check cannot see (PostgreSQL READ COMMITTED); see storeConflict.
   */
  const ensureUnique = async (tx: Repositories, p: Partial<RadiusServer>, selfId?: string) => {
    const ip = p.networkSourceIp;
    if (ip === undefined) return;
    const key = networkKey(ip);
    const same = (other: string) => other === ip || (key !== null && networkKey(other) === key);
    const clash = (await tx.radiusServers.list()).find((s) => s.id !== selfId && same(s.networkSourceIp));
    if (!clash) return;
    if (clash.networkSourceIp === ip) throw conflict('networkSourceIp', `networkSourceIp ${ip} is already used by RADIUS server ${clash.name}`);
    throw conflict('networkSourceIp', `networkSourceIp ${ip} is the same network as ${clash.networkSourceIp}, already used by RADIUS server ${clash.name}`);
  };

  /** A unique-index conflict on the network columns is reported on the field the client sent. */
  const storeConflict = (err: unknown, ip: string | undefined): unknown =>
    isDomainError(err) && err.kind === 'conflict' && (err.field === 'network_source_ip' || err.field === 'network_source_block')
      ? conflict('networkSourceIp', `networkSourceIp ${ip ?? ''} is already used by another RADIUS server`)
      : err;

  const resource = (s: RadiusServer) => ({ id: s.id, type: 'radius_server', name: s.name });

  /**
   * Told after a server was created, changed or deleted (the RADIUS adapter reloads its client
   * table). The change is answered once they are done, up to 2 s, so that the next request through
   * this instance already sees it (an MFA mode turned on applies to the very next Access-Request).
   */
  const changeListeners = new Set<() => void | Promise<void>>();
  const changed = async <T>(result: T): Promise<T> => {
    const done = Promise.all(
      [...changeListeners].map((l) =>
        Promise.resolve()
          .then(l)
          // A listener's failure must not fail the admin's change.
          .catch(() => undefined),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    return result;
  };

  return {
    list: () => store.repos.radiusServers.list(),
    get: (id: string) => load(store.repos, id),

    /** The shared secret in clear, for the RADIUS adapter only. */
    async sharedSecret(id: string): Promise<string> {
      const sealed = await store.repos.radiusServers.getSealedSecret(id);
      if (!sealed) throw notFound('radius server', id);
      return secretBox.open(sealed, `radius:${id}`);
    },

    /** Creates a server; without a sharedSecret one is generated and returned once in `generatedSecret`. */
    async create(f: RadiusServerFields, ctx: ActorContext): Promise<{ server: RadiusServer; generatedSecret?: string }> {
      if (f.name === undefined) throw invalid('name', 'is required');
      if (f.networkSourceIp === undefined) throw invalid('networkSourceIp', 'is required');
      const { p, secret: given } = patchOf(f);
      const secret = given ?? generateSecret();
      const now = clock.now();
      const s: RadiusServer = {
        id: newId(now.getTime()),
        name: p.name!,
        networkSourceIp: p.networkSourceIp!,
        mfa: p.mfa ?? 'DISABLED',
        userLockoutAction: p.userLockoutAction ?? 'remove',
        userPasswordExpirationAction: p.userPasswordExpirationAction ?? 'remove',
        requireMessageAuthenticator: p.requireMessageAuthenticator ?? true,
        sharedSecretLength: secret.length,
        createdAt: now,
        updatedAt: now,
      };
      await store
        .transaction(async (tx) => {
          await ensureUnique(tx, s);
          await tx.radiusServers.create(s, secretBox.seal(secret, `radius:${s.id}`));
          await d.audit.recordIn(tx, { event_type: 'radiusserver_create', service: 'directory', success: true, ...auditContext(ctx), resource: resource(s) });
        })
        .catch((err: unknown) => {
          throw storeConflict(err, s.networkSourceIp);
        });
      return changed({ server: s, ...(given ? {} : { generatedSecret: secret }) });
    },

    async update(id: string, f: RadiusServerFields, ctx: ActorContext): Promise<RadiusServer> {
      const { p, secret } = patchOf(f);
      const updated = store.transaction(async (tx) => {
        const before = await load(tx, id);
        await ensureUnique(tx, p, id);
        await tx.radiusServers.update(id, p, secret ? secretBox.seal(secret, `radius:${id}`) : undefined);
        const after = await load(tx, id);
        const changes = diffFields(view(before), view(after));
        // The secret never appears in the trail, only the fact that it changed.
        if (secret) changes.push({ field: 'sharedSecret', from: '[redacted]', to: '[redacted]' });
        if (changes.length > 0) {
          await d.audit.recordIn(tx, { event_type: 'radiusserver_update', service: 'directory', success: true, ...auditContext(ctx), resource: resource(after), changes });
        }
        return after;
      });
      return changed(
        await updated.catch((err: unknown) => {
          throw storeConflict(err, p.networkSourceIp);
        }),
      );
    },

    async remove(id: string, ctx: ActorContext): Promise<RadiusServer> {
      return changed(await store.transaction(async (tx) => {
        // First: edges being added elsewhere land before the removal, or wait for it (RowLockRepository).
        await tx.rowLocks.lock('radius_server', id, 'update');
        const s = await load(tx, id);
        await tx.associations.removeAllFor('radius_server', id);
        await tx.radiusServers.delete(id);
        await d.audit.recordIn(tx, { event_type: 'radiusserver_delete', service: 'directory', success: true, ...auditContext(ctx), resource: resource(s) });
        return s;
      }));
    },

    /** Registers a listener told after every committed change; returns the function that removes it. */
    onChange(listener: () => void | Promise<void>): () => void {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
  };
}

export type RadiusServerService = ReturnType<typeof createRadiusServerService>;
