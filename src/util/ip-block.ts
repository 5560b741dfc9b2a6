import { isIP } from 'node:net';

/**
 * Addresses and CIDR blocks as numbers: one parser for the RADIUS servers' `networkSourceIp`, used
 * both where a datagram's source is matched (the RADIUS client table) and where two servers are
 * checked for naming the same network (the directory service and the store's unique index), so that
 * the two can never disagree. IPv4 sources seen on a dual-stack socket arrive as IPv4-mapped IPv6
 * (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2) and are handled as IPv4.
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
  const a = address.trim();
  const family = isIP(a.replace(/%.*$/, ''));
  if (family === 4) return { family: 4, value: v4(a) };
  if (family !== 6) return null;
  const value = v6(a);
  // ::ffff:0:0/96 (RFC 4291 §2.5.5.2), however written (::ffff:192.0.2.1, ::ffff:c000:201), is IPv4.
  return value >> 32n === 0xffffn ? { family: 4, value: value & 0xffffffffn } : { family: 6, value };
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

/** `address` or `address/prefix` with the host bits as written; null when invalid. */
function parseRaw(text: string): IpBlock | null {
  const [addr, prefixText, ...extra] = text.trim().split('/');
  if (extra.length > 0 || addr === undefined) return null;
  const a = parseAddress(addr);
  if (!a) return null;
  const bits = bitsOf(a.family);
  // A mapped IPv4 written with an IPv6 prefix (::ffff:10.0.0.0/104) keeps its IPv4 meaning.
  let prefix = prefixText === undefined ? bits : Number(prefixText);
  if (a.family === 4 && isIP(addr.trim().replace(/%.*$/, '')) === 6 && prefixText !== undefined) prefix -= 96;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits || (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))) return null;
  return { ...a, prefix };
}

function mask(family: 4 | 6, prefix: number): bigint {
  const bits = bitsOf(family);
  return prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
}

/** Parses `address` or `address/prefix`; the host bits are cleared. Null when invalid. */
export function parseBlock(text: string): IpBlock | null {
  const b = parseRaw(text);
  return b && { ...b, value: b.value & mask(b.family, b.prefix) };
}

/** True when `text` is a block written with host bits set (`10.1.2.3/16`), which is matched as its network. */
export function hasHostBits(text: string): boolean {
  const b = parseRaw(text);
  return b !== null && (b.value & mask(b.family, b.prefix)) !== b.value;
}

export function blockContains(b: IpBlock, a: IpAddress): boolean {
  if (b.family !== a.family) return false;
  const shift = BigInt(bitsOf(b.family) - b.prefix);
  return b.prefix === 0 || a.value >> shift === b.value >> shift;
}

/** RFC 5952 §4 text: lower-case hex, the first longest run of two or more zero groups as `::`. */
function ipv6Text(value: bigint): string {
  const g = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((n) => n.toString(16));
  return best < 0 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** `192.0.2.0/24`, `2001:db8::/32`: the block in canonical text, always with its prefix. */
export function formatBlock(b: IpBlock): string {
  const addr = b.family === 4 ? [24n, 16n, 8n, 0n].map((s) => String((b.value >> s) & 0xffn)).join('.') : ipv6Text(b.value);
  return `${addr}/${b.prefix}`;
}

/**
 * The network `text` names, in one canonical form: two values that are matched the same way
 * (`127.0.0.1`, `127.0.0.1/32`, `::ffff:127.0.0.1`; `127.0.1.5/24`, `127.0.1.0/24`) have the same
 * key. Null when `text` is not an address or block. Stored in a unique column: never change it.
 */
export function networkKey(text: string): string | null {
  const b = parseBlock(text);
  return b && formatBlock(b);
}
