import type { RadiusServer } from '../core/directory/types.js';
import type { Logger } from '../core/ports.js';
import { MIN_RECOMMENDED_SECRET_LENGTH } from '../core/directory/radius-servers.js';
import { blockContains, parseAddress, parseBlock, type IpBlock } from '../util/ip-block.js';

/** A RADIUS client (NAS) as the listener sees it: the contract's RADIUS server record and its secret. */
export interface RadiusClient {
  server: RadiusServer;
  secret: Buffer;
  block: IpBlock;
}

export interface RadiusServerSource {
  list(): Promise<RadiusServer[]>;
  sharedSecret(id: string): Promise<string>;
  /** The listener's promise (a reload) is awaited by the change before it is answered. */
  onChange(listener: () => void | Promise<void>): () => void;
}

export interface ClientTable {
  /** The client for a datagram's source address, most specific block first; null for an unknown source. */
  lookup(address: string): RadiusClient | null;
  /** Reloads now; concurrent calls share one reload. Keeps the previous table when the store fails. */
  refresh(): Promise<void>;
  start(): Promise<void>;
  stop(): void;
  readonly size: number;
}

/** How many source addresses the client table remembers its answer for. */
const BY_ADDRESS_MAX = 4096;

/**
 * The client table (RFC 2865 §3: a server answers only the clients it shares a secret with), kept in
 * memory so that a datagram from an unknown source costs no store query. It is reloaded when a
 * RADIUS server changes here (the radius-servers service tells us) and every `refreshSeconds`, for
 * changes made through another instance.
 */
export function createClientTable(source: RadiusServerSource, log: Logger, refreshSeconds: number): ClientTable {
  let exact = new Map<string, RadiusClient>();
  let blocks: RadiusClient[] = [];
  /**
   * Answers by source address as the socket gives it, until the table changes: parsing the address
   * for every datagram was ~2% of the event loop under load. Bounded, and emptied when full, so a
   * flood from spoofed sources costs what it cost before (a parse each) and no memory.
   */
  let byAddress = new Map<string, RadiusClient | null>();
  let count = 0;
  let inFlight: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let unsubscribe: (() => void) | null = null;
  const warned = new Set<string>();
  /** Once per server and version: the table is reloaded every few seconds. */
  const once = (key: string) => !warned.has(key) && !!warned.add(key);
  /**
   * Opened secrets by server, with the version they were read at: a reload reads only the list
   * (one query), and a secret again only when its server changed (a new secret moves updatedAt).
   */
  const secrets = new Map<string, { version: string; secret: Buffer }>();

  /**
   * Two servers for one network (stored before the directory refused that; see store migration
   * 0008): the older one keeps it, and the admin is told once per change that the other is unused.
   */
  const shadowed = (server: RadiusServer, owner: RadiusServer) => {
    if (!once(`shadowed:${server.id}:${server.updatedAt.getTime()}`)) return;
    log.warn(
      { radiusServer: server.id, networkSourceIp: server.networkSourceIp, usedBy: owner.id },
      `RADIUS server ${server.name} names the same network as ${owner.name} (${owner.networkSourceIp}), which keeps it; ${server.name} is ignored`,
    );
  };

  const load = async () => {
    const servers = await source.list();
    const nextExact = new Map<string, RadiusClient>();
    const nextBlocks: RadiusClient[] = [];
    /** The server that has each network (`127.0.0.1` and `127.0.0.1/32` are one). */
    const owners = new Map<string, RadiusServer>();
    // Oldest first, so that of two servers claiming the same block the older one keeps it.
    servers.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
    for (const id of secrets.keys()) if (!servers.some((s) => s.id === id)) secrets.delete(id);
    for (const server of servers) {
      const version = `${server.updatedAt.getTime()}:${server.sharedSecretLength}`;
      const block = parseBlock(server.networkSourceIp);
      if (!block) {
        if (once(`block:${server.id}:${version}`)) {
          log.warn({ radiusServer: server.id, networkSourceIp: server.networkSourceIp }, 'RADIUS server has an unusable networkSourceIp; ignored');
        }
        continue;
      }
      let secret = secrets.get(server.id)?.version === version ? secrets.get(server.id)!.secret : null;
      if (!secret) {
        try {
          secret = Buffer.from(await source.sharedSecret(server.id), 'utf8');
          secrets.set(server.id, { version, secret });
        } catch (err) {
          if (once(`secret:${server.id}:${version}`)) log.error({ radiusServer: server.id, err: String(err) }, 'cannot open the shared secret of a RADIUS server; ignored');
          continue;
        }
      }
      if (secret.length < MIN_RECOMMENDED_SECRET_LENGTH && once(`short:${server.id}:${version}`)) {
        log.warn(
          { radiusServer: server.id, name: server.name },
          `RADIUS server ${server.name} has a shared secret shorter than ${MIN_RECOMMENDED_SECRET_LENGTH} characters; use a longer random secret (BlastRADIUS, CVE-2024-3596)`,
        );
      }
      const client = { server, secret, block };
      const network = `${block.family}:${block.value}/${block.prefix}`;
      const owner = owners.get(network);
      if (owner) {
        shadowed(server, owner);
        continue;
      }
      owners.set(network, server);
      if (block.prefix === (block.family === 4 ? 32 : 128)) nextExact.set(`${block.family}:${block.value}`, client);
      else nextBlocks.push(client);
    }
    // Most specific block first (longest prefix); the sort is stable, so older servers win ties.
    nextBlocks.sort((a, b) => b.block.prefix - a.block.prefix);
    exact = nextExact;
    blocks = nextBlocks;
    byAddress = new Map();
    count = nextExact.size + nextBlocks.length;
  };

  const refresh = (): Promise<void> => {
    if (inFlight) {
      // A change arrived during a reload: reload once more after it, so the change is not missed.
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      try {
        do {
          again = false;
          await load();
        } while (again);
      } catch (err) {
        log.error({ err: String(err) }, 'cannot reload the RADIUS client table; keeping the previous one');
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  };

  const find = (address: string): RadiusClient | null => {
    const a = parseAddress(address);
    if (!a) return null;
    const hit = exact.get(`${a.family}:${a.value}`);
    if (hit) return hit;
    for (const c of blocks) if (blockContains(c.block, a)) return c;
    return null;
  };

  return {
    lookup(address) {
      const known = byAddress.get(address);
      if (known !== undefined) return known;
      const found = find(address);
      if (byAddress.size >= BY_ADDRESS_MAX) byAddress.clear();
      byAddress.set(address, found);
      return found;
    },
    refresh,
    async start() {
      unsubscribe = source.onChange(() => refresh());
      await refresh();
      timer = setInterval(() => void refresh(), refreshSeconds * 1000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      unsubscribe?.();
      unsubscribe = null;
    },
    get size() {
      return count;
    },
  };
}
