import { isIP } from 'node:net';

/**
 * Addresses as numbers, for matching a datagram's source against the RADIUS servers'
 * `networkSourceIp` (an address or a CIDR block). IPv4 sources seen on a dual-stack socket arrive as
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2) and are matched as IPv4.
 */
export interface IpAddress {
  family: 4 | 6;
  value: bigint;
}

export interface IpBlock extends IpAddress {
  prefix: number;
}

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** `::ffff:192.0.2.1` → `192.0.2.1`; anything else unchanged. */
export function unmapAddress(address: string): string {
  const m = MAPPED.exec(address);
  return m ? m[1]! : address;
}

function v4(a: string): bigint {
  return a.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
}

function v6(a: string): bigint {
  let s = a.replace(/%.*$/, '');
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const n = v4(tail[1]!);
    s = s.slice(0, tail.index) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, rest] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = rest ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

/** Parses an address (IPv4-mapped IPv6 becomes IPv4); null when it is not one. */
export function parseAddress(address: string): IpAddress | null {
  const a = unmapAddress(address.trim());
  const family = isIP(a.replace(/%.*$/, ''));
  if (family === 4) return { family: 4, value: v4(a) };
  if (family === 6) return { family: 6, value: v6(a) };
  return null;
}

/** Parses `address` or `address/prefix`; the host bits are cleared. Null when invalid. */
export function parseBlock(text: string): IpBlock | null {
  const [addr, prefixText, ...extra] = text.trim().split('/');
  if (extra.length > 0 || addr === undefined) return null;
  const a = parseAddress(addr);
  if (!a) return null;
  const bits = a.family === 4 ? 32 : 128;
  // A mapped IPv4 written with an IPv6 prefix (::ffff:10.0.0.0/104) keeps its IPv4 meaning.
  let prefix = prefixText === undefined ? bits : Number(prefixText);
  if (a.family === 4 && MAPPED.test(addr.trim()) && prefixText !== undefined) prefix -= 96;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))) return null;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { family: a.family, value: a.value & mask, prefix };
}

export function blockContains(b: IpBlock, a: IpAddress): boolean {
  if (b.family !== a.family) return false;
  const bits = b.family === 4 ? 32 : 128;
  const shift = BigInt(bits - b.prefix);
  return b.prefix === 0 || a.value >> shift === b.value >> shift;
}
