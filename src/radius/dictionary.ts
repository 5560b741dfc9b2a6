import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIPv4, isIPv6 } from 'node:net';
import { dirname, join } from 'node:path';
import radius from 'radius';
import type { NameValue } from '../core/directory/types.js';
import { VENDOR_DICTIONARY } from './vendor-dictionary.js';

/**
 * The RADIUS dictionary: the `radius` package's RFC dictionaries plus our vendor entries. The
 * package is the codec (it writes the attribute bytes); this module adds what the package cannot
 * tell us (an attribute's type, tag and encryption flags) so that values are checked before they
 * reach the codec, which otherwise truncates numbers, wraps IPv4 octets and ignores `encrypt=2`.
 */
export interface AttributeDef {
  name: string;
  id: number;
  /** SMI enterprise number for a vendor-specific attribute (RFC 2865 §5.26), null for the RFC space. */
  vendorId: number | null;
  type: string;
  /** RFC 2868 §3.1 tagged attribute (Tunnel-*). */
  hasTag: boolean;
  /** `encrypt=N` flag: User-Password (1), Tunnel-Password (2), …; never accepted in a reply. */
  encrypt: number;
  /** Named values of an integer attribute, by lower-case name. */
  values: Map<string, number>;
}

/** Attributes that only the protocol itself may put in a packet (RFC 2865 §5, RFC 3579 §3). */
const PROTOCOL_ONLY = new Set([2, 3, 24, 26, 33, 79, 80]);
const TYPES = new Set(['string', 'text', 'octets', 'integer', 'date', 'ipaddr', 'ipv6addr', 'short', 'byte']);
const NO_VENDOR = -1;

let defs: Map<string, AttributeDef> | null = null;

function parseDictionary(text: string, into: Map<string, AttributeDef>, vendors: Map<string, number>): void {
  let vendor: number | null = null;
  const pendingValues: [string, string, number][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const f = line.split(/\s+/);
    switch (f[0]) {
      case 'VENDOR':
        if (f[1] && f[2]) vendors.set(f[1], Number(f[2]));
        break;
      case 'BEGIN-VENDOR':
        vendor = vendors.get(f[1] ?? '') ?? null;
        break;
      case 'END-VENDOR':
        vendor = null;
        break;
      case 'ATTRIBUTE': {
        const [, name, id, type, flags = ''] = f;
        if (!name || !id || !type) break;
        const enc = /encrypt=(\d)/.exec(flags);
        const prev = into.get(name.toLowerCase());
        into.set(name.toLowerCase(), {
          name,
          id: Number(id),
          vendorId: vendor,
          type: type.toLowerCase(),
          hasTag: flags.includes('has_tag'),
          encrypt: enc ? Number(enc[1]) : 0,
          values: prev?.values ?? new Map(),
        });
        break;
      }
      case 'VALUE':
        if (f[1] && f[2] && f[3]) pendingValues.push([f[1], f[2], Number(f[3])]);
        break;
    }
  }
  // VALUE lines may come before their ATTRIBUTE (dictionary.rfc3580 adds Tunnel-Type VLAN).
  for (const [attr, name, n] of pendingValues) {
    let d = into.get(attr.toLowerCase());
    if (!d) {
      d = { name: attr, id: -1, vendorId: null, type: 'integer', hasTag: false, encrypt: 0, values: new Map() };
      into.set(attr.toLowerCase(), d);
    }
    d.values.set(name.toLowerCase(), n);
  }
}

/** Loads the package's dictionaries into its codec and into our metadata, once. */
function dictionary(): Map<string, AttributeDef> {
  if (defs) return defs;
  radius.load_dictionaries();
  radius._load_dictionary(VENDOR_DICTIONARY);
  const m = new Map<string, AttributeDef>();
  const vendors = new Map<string, number>();
  const dir = join(dirname(createRequire(import.meta.url).resolve('radius/package.json')), 'dictionaries');
  for (const f of readdirSync(dir).sort()) parseDictionary(readFileSync(join(dir, f), 'ascii'), m, vendors);
  parseDictionary(VENDOR_DICTIONARY, m, vendors);
  for (const [k, d] of m) if (d.id < 0) m.delete(k);
  defs = m;
  return m;
}

export function attributeDef(name: string): AttributeDef | undefined {
  return dictionary().get(name.toLowerCase());
}

class AttributeError extends Error {}

function integerValue(d: AttributeDef, value: string, max: number): number {
  const named = d.values.get(value.toLowerCase());
  if (named !== undefined) return named;
  if (!/^\d{1,10}$/.test(value) || Number(value) > max) {
    const names = [...d.values.keys()].length > 0 ? ` or one of ${[...new Set(d.values.keys())].slice(0, 20).join(', ')}` : '';
    throw new AttributeError(`${d.name} must be a number from 0 to ${max}${names}`);
  }
  return Number(value);
}

function ipv6Bytes(value: string): Buffer {
  // Expand "::" and an embedded IPv4 tail into 8 groups of 16 bits.
  let v = value;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(v);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    v = v.slice(0, v4.index) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = v.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/**
 * Encodes one reply attribute (`Tunnel-Private-Group-Id = 100`, `Tunnel-Type:1 = VLAN`,
 * `Cisco-AVPair = shell:priv-lvl=15`) into its wire bytes. Throws an AttributeError naming the
 * problem for an unknown name, a protocol-only or encrypted attribute, or a value the type refuses.
 */
export function encodeReplyAttribute(a: NameValue): Buffer {
  const m = /^([A-Za-z][A-Za-z0-9-]*)(?::(\d{1,2}))?$/.exec(a.name);
  if (!m) throw new AttributeError(`${a.name} is not a RADIUS attribute name`);
  const d = attributeDef(m[1]!);
  if (!d) throw new AttributeError(`${m[1]} is not in the RADIUS dictionary`);
  if (d.vendorId === null && PROTOCOL_ONLY.has(d.id)) throw new AttributeError(`${d.name} cannot be configured as a reply attribute`);
  if (d.encrypt !== 0) throw new AttributeError(`${d.name} is an encrypted attribute, which Gatehouse does not send`);
  if (!TYPES.has(d.type)) throw new AttributeError(`${d.name} has type ${d.type}, which Gatehouse does not send`);
  let tag: number | undefined;
  if (m[2] !== undefined) {
    if (!d.hasTag) throw new AttributeError(`${d.name} takes no tag`);
    tag = Number(m[2]);
    // RFC 2868 §3.1: tags 0x01–0x1F group the attributes of one tunnel.
    if (tag < 1 || tag > 31) throw new AttributeError(`${d.name} tag must be from 1 to 31`);
  }
  const value = a.value;
  if (value === '') throw new AttributeError(`${d.name} needs a value`);
  // Room left in one attribute's value (255 octets less its type and length: 253), less the tag and,
  // in a Vendor-Specific, the Vendor-Id (4), vendor type (1) and vendor length (1) (RFC 2865 §5.26).
  const room = 253 - (d.vendorId !== null ? 6 : 0) - (d.hasTag ? 1 : 0);
  let v: string | number | Buffer;
  switch (d.type) {
    case 'string':
    case 'text':
      if (Buffer.byteLength(value) > room) throw new AttributeError(`${d.name} must be at most ${room} octets`);
      v = value;
      // RFC 2868 §3.5: a first octet ≤ 0x1F would be read as a tag; send an explicit tag 0 then.
      if (d.hasTag && tag === undefined && value.charCodeAt(0) <= 0x1f) tag = 0;
      break;
    case 'octets':
      v = /^0x([0-9a-f]{2})+$/i.test(value) ? Buffer.from(value.slice(2), 'hex') : Buffer.from(value, 'utf8');
      if (v.length > room) throw new AttributeError(`${d.name} must be at most ${room} octets`);
      break;
    case 'integer':
      v = integerValue(d, value, d.hasTag ? 0xffffff : 0xffffffff);
      break;
    case 'date': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(integerValue(d, value, 0xffffffff));
      v = b;
      break;
    }
    case 'short': {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(integerValue(d, value, 0xffff));
      v = b;
      break;
    }
    case 'byte':
      v = Buffer.from([integerValue(d, value, 0xff)]);
      break;
    case 'ipaddr':
      if (!isIPv4(value)) throw new AttributeError(`${d.name} must be an IPv4 address`);
      v = value;
      break;
    case 'ipv6addr':
      if (!isIPv6(value) || value.includes('%')) throw new AttributeError(`${d.name} must be an IPv6 address`);
      v = ipv6Bytes(value);
      break;
    default:
      throw new AttributeError(`${d.name} has type ${d.type}, which Gatehouse does not send`);
  }
  const scratch = Buffer.alloc(300);
  const tuple: [string, ...unknown[]] = tag !== undefined ? [d.name, tag, v] : [d.name, v];
  let n: number;
  try {
    n =
      d.vendorId === null
        ? radius.encode_attributes(scratch, [tuple], NO_VENDOR)
        : radius.encode_attributes(scratch, [['Vendor-Specific', d.vendorId, [tuple]]], NO_VENDOR);
  } catch (err) {
    throw new AttributeError(`${d.name}: ${err instanceof Error ? err.message : 'cannot be encoded'}`);
  }
  return Buffer.from(scratch.subarray(0, n));
}

/**
 * The `RadiusAttributeCheck` core applies to `attributes.radius.reply` (createCore's
 * `checkRadiusAttribute`): null when the attribute can be sent, else what is wrong with it.
 */
export function checkRadiusAttribute(a: NameValue): string | null {
  try {
    encodeReplyAttribute(a);
    return null;
  } catch (err) {
    if (err instanceof AttributeError) return err.message;
    return `${a.name} cannot be encoded`;
  }
}

/**
 * Encodes a reply list. An attribute that no longer encodes (a dictionary change since it was saved)
 * is left out and reported through `onSkip`, rather than failing the whole reply.
 */
export function encodeReplyAttributes(list: readonly NameValue[], onSkip: (a: NameValue, problem: string) => void): Buffer {
  const parts: Buffer[] = [];
  for (const a of list) {
    try {
      parts.push(encodeReplyAttribute(a));
    } catch (err) {
      onSkip(a, err instanceof Error ? err.message : 'cannot be encoded');
    }
  }
  return Buffer.concat(parts);
}
