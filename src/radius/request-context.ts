import type { RadiusClient } from './clients.js';
import { Attr, attribute, attributes, type RadiusPacket } from './packet.js';

/** A request that passed the packet checks, from a known client. */
export interface RequestContext {
  packet: RadiusPacket;
  client: RadiusClient;
  /** Source address (IPv4-mapped IPv6 unmapped) and port of the datagram. */
  address: string;
  port: number;
}

/** Text attributes are UTF-8 (RFC 2865 §5); at most 253 octets, so bounded by construction. */
export function text(p: RadiusPacket, type: number): string | undefined {
  const v = attribute(p, type);
  return v === undefined ? undefined : v.toString('utf8');
}

/** RFC 5952 text form: lower-case hex, the longest run of two or more zero groups as `::`. */
export function ipv6Text(b: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((n) => n.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** NAS-IP-Address, else NAS-IPv6-Address, else the datagram's source (RFC 2865 §5.4, RFC 3162 §2.1). */
export function nasIp(ctx: RequestContext): string {
  const v4 = attribute(ctx.packet, Attr.NasIpAddress);
  if (v4 && v4.length === 4) return `${v4[0]}.${v4[1]}.${v4[2]}.${v4[3]}`;
  const v6 = attribute(ctx.packet, Attr.NasIpv6Address);
  if (v6 && v6.length === 16) return ipv6Text(v6);
  return ctx.address;
}

/** Fields of the NAS that audit events carry, when the request has them. */
export function nasAuditFields(ctx: RequestContext): Record<string, unknown> {
  const p = ctx.packet;
  const out: Record<string, unknown> = { nas_ip: nasIp(ctx) };
  const nasId = text(p, Attr.NasIdentifier);
  if (nasId !== undefined) out.nas_identifier = nasId;
  const calling = text(p, Attr.CallingStationId);
  if (calling !== undefined) out.calling_station_id = calling;
  const called = text(p, Attr.CalledStationId);
  if (called !== undefined) out.called_station_id = called;
  const port = attribute(p, Attr.NasPort);
  if (port && port.length === 4) out.nas_port = port.readUInt32BE(0);
  return out;
}

export function proxyStates(p: RadiusPacket): Buffer[] {
  return attributes(p, Attr.ProxyState);
}
