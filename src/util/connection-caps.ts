import { clientKey } from './client-key.js';

export interface ConnectionLimits {
  /** Most open connections in all. */
  maxConnections: number;
  /** Most open connections from one client address (an IPv6 client by its /64, see clientKey); 0: no limit. */
  maxConnectionsPerIp: number;
}

export type Admission = { over: 'total' | 'per_ip'; key: string } | { over: null; key: string; release: () => void };

/**
 * The connection caps of a listener (security.md: every listener has them), counted before any
 * byte of a connection is read: in all and per client address. Shared by the LDAP and HTTP
 * listeners; each decides how a refused connection is told.
 */
export class ConnectionCaps {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  /** The limits are read at each admission (a config object may be changed in place by tests). */
  constructor(private readonly limits: ConnectionLimits) {}

  /** Counts a new connection from `address`, or says which cap it is over (counting nothing). */
  admit(address: string): Admission {
    const key = clientKey(address);
    const count = this.perIp.get(key) ?? 0;
    const { maxConnections, maxConnectionsPerIp } = this.limits;
    if (this.total >= maxConnections) return { over: 'total', key };
    if (maxConnectionsPerIp > 0 && count >= maxConnectionsPerIp) return { over: 'per_ip', key };
    this.total++;
    this.perIp.set(key, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.total--;
      const n = (this.perIp.get(key) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(key);
      else this.perIp.set(key, n);
    };
    return { over: null, key, release };
  }

  get open(): number {
    return this.total;
  }
}
