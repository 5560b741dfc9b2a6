import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import radius from 'radius';
import { Attr, Code, encodeAttribute, encodeUserPassword, parsePacket } from '../../../src/radius/packet.js';
import { attributeDef } from '../../../src/radius/dictionary.js';
import type { RunningAppliance } from '../../helpers/appliance.js';

// Loads the codec's dictionaries (and Gatehouse's vendor entries) before the codec is used here.
attributeDef('User-Name');

/**
 * A raw RADIUS client for the tests: it builds requests byte by byte (independently of the
 * listener's reply encoder), sends them over UDP, and checks replies on their raw bytes.
 */

export interface RequestSpec {
  secret: string;
  userName?: string;
  password?: string | Buffer;
  /** Add a Message-Authenticator (default true); `'first'` puts it before the other attributes. */
  messageAuthenticator?: boolean | 'first';
  state?: Buffer | string;
  identifier?: number;
  authenticator?: Buffer;
  /** Further attributes, already encoded. */
  extra?: Buffer[];
  nasIp?: string;
}

export function buildAccessRequest(s: RequestSpec): Buffer {
  const auth = s.authenticator ?? randomBytes(16);
  const secret = Buffer.from(s.secret);
  const attrs: Buffer[] = [];
  if (s.userName !== undefined) attrs.push(encodeAttribute(Attr.UserName, Buffer.from(s.userName)));
  if (s.password !== undefined) {
    const pw = typeof s.password === 'string' ? Buffer.from(s.password) : s.password;
    attrs.push(encodeAttribute(Attr.UserPassword, encodeUserPassword(pw, secret, auth)));
  }
  if (s.state !== undefined) attrs.push(encodeAttribute(Attr.State, typeof s.state === 'string' ? Buffer.from(s.state, 'latin1') : s.state));
  const nas = (s.nasIp ?? '127.0.0.1').split('.').map(Number);
  attrs.push(encodeAttribute(Attr.NasIpAddress, Buffer.from(nas)));
  attrs.push(...(s.extra ?? []));
  const ma = s.messageAuthenticator ?? true;
  const maAttr = Buffer.concat([Buffer.from([Attr.MessageAuthenticator, 18]), Buffer.alloc(16)]);
  const body = ma === 'first' ? [maAttr, ...attrs] : ma ? [...attrs, maAttr] : attrs;
  return finishRequest(Code.AccessRequest, s.identifier ?? randomBytes(1)[0]!, auth, Buffer.concat(body), secret);
}

/** Writes the header and, when the packet has a Message-Authenticator, its HMAC-MD5 (RFC 3579 §3.2). */
export function finishRequest(code: number, identifier: number, auth: Buffer, attrs: Buffer, secret: Buffer): Buffer {
  const pkt = Buffer.concat([Buffer.from([code, identifier, 0, 0]), auth, attrs]);
  pkt.writeUInt16BE(pkt.length, 2);
  const p = parsePacket(pkt);
  assert.ok(typeof p !== 'string', `test built a malformed packet: ${String(p)}`);
  if (p.messageAuthenticatorOffset >= 0) createHmac('md5', secret).update(pkt).digest().copy(pkt, p.messageAuthenticatorOffset);
  return pkt;
}

export function buildStatusServer(secret: string): Buffer {
  const maAttr = Buffer.concat([Buffer.from([Attr.MessageAuthenticator, 18]), Buffer.alloc(16)]);
  return finishRequest(Code.StatusServer, randomBytes(1)[0]!, randomBytes(16), maAttr, Buffer.from(secret));
}

/** Accounting-Request with its Request Authenticator (RFC 2866 §3). */
export function buildAccountingRequest(secret: string, attrs: [string, string | number][]): Buffer {
  const buf = Buffer.alloc(4096);
  // The package's codec is fine for building test input.
  const n = radius.encode_attributes(buf, attrs, -1);
  const pkt = Buffer.concat([Buffer.from([Code.AccountingRequest, randomBytes(1)[0]!, 0, 0]), Buffer.alloc(16), buf.subarray(0, n)]);
  pkt.writeUInt16BE(pkt.length, 2);
  createHash('md5').update(pkt).update(secret).digest().copy(pkt, 4);
  return pkt;
}

export interface CheckedReply {
  code: number;
  raw: Buffer;
  /** Attributes in wire order. */
  attributes: { type: number; value: Buffer }[];
  /** Decoded by the `radius` package's codec (names → values). */
  decoded: Record<string, unknown>;
  messageAuthenticatorFirst: boolean;
  messageAuthenticatorValid: boolean;
  responseAuthenticatorValid: boolean;
}

/** Checks a reply against its request on the raw bytes: Response Authenticator, Message-Authenticator and its place. */
export function checkReply(request: Buffer, reply: Buffer, secret: string): CheckedReply {
  const p = parsePacket(reply);
  assert.ok(typeof p !== 'string', `malformed reply: ${String(p)}`);
  const reqAuth = request.subarray(4, 20);
  const withReqAuth = Buffer.from(reply);
  reqAuth.copy(withReqAuth, 4);
  const respAuth = createHash('md5').update(withReqAuth).update(secret).digest();
  let maValid = false;
  if (p.messageAuthenticatorOffset >= 0) {
    const z = Buffer.from(withReqAuth);
    z.fill(0, p.messageAuthenticatorOffset, p.messageAuthenticatorOffset + 16);
    const mac = createHmac('md5', secret).update(z).digest();
    maValid = mac.equals(reply.subarray(p.messageAuthenticatorOffset, p.messageAuthenticatorOffset + 16));
  }
  return {
    code: p.code,
    raw: reply,
    attributes: p.attributes.map((a) => ({ type: a.type, value: Buffer.from(a.value) })),
    decoded: radius.decode_without_secret({ packet: Buffer.from(reply) }).attributes,
    messageAuthenticatorFirst: p.attributes[0]?.type === Attr.MessageAuthenticator,
    messageAuthenticatorValid: maValid,
    responseAuthenticatorValid: respAuth.equals(reply.subarray(4, 20)),
  };
}

export interface UdpClient {
  /** Sends and waits for the reply with the request's Identifier; null after `timeoutMs`. */
  exchange(packet: Buffer, timeoutMs?: number, port?: number): Promise<Buffer | null>;
  /** Sends without waiting. */
  send(packet: Buffer, port?: number): Promise<void>;
  /** Replies received that nobody waited for. */
  readonly stray: Buffer[];
  close(): Promise<void>;
}

/** A UDP client; `localAddress` another loopback address (127.0.0.2) plays an unknown NAS. */
export async function udpClient(defaultPort: number, host = '127.0.0.1', localAddress = host.includes(':') ? '::1' : '127.0.0.1'): Promise<UdpClient> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((r) => socket.bind(0, localAddress, () => r()));
  const waiting = new Map<number, (b: Buffer) => void>();
  const stray: Buffer[] = [];
  socket.on('message', (msg) => {
    const w = waiting.get(msg[1]!);
    if (w) {
      waiting.delete(msg[1]!);
      w(msg);
    } else stray.push(msg);
  });
  const send = (packet: Buffer, port = defaultPort) => new Promise<void>((r, j) => socket.send(packet, port, host, (e) => (e ? j(e) : r())));
  return {
    stray,
    send,
    async exchange(packet, timeoutMs = 1500, port = defaultPort) {
      const id = packet[1]!;
      const got = new Promise<Buffer | null>((resolve) => {
        const t = setTimeout(() => {
          waiting.delete(id);
          resolve(null);
        }, timeoutMs);
        waiting.set(id, (b) => {
          clearTimeout(t);
          resolve(b);
        });
      });
      await send(packet, port);
      return got;
    },
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

/** Creates a RADIUS server (client 127.0.0.1 by default) through the REST API; returns its id. */
export async function createRadiusServer(gh: RunningAppliance, body: Record<string, unknown>): Promise<string> {
  const r = await gh.api('POST', '/api/radiusservers', { name: `nas-${randomBytes(3).toString('hex')}`, networkSourceIp: '127.0.0.1', ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  // The listener reloads its client table on the change; wait for it to be done.
  await gh.appliance.radius.refreshClients();
  return r.body._id as string;
}

export async function createUser(gh: RunningAppliance, username: string, password: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await gh.api('POST', '/api/systemusers', { username, email: `${username}@example.com`, password, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body._id as string;
}

export async function createGroup(gh: RunningAppliance, name: string, reply: { name: string; value: string }[] = []): Promise<string> {
  const r = await gh.api('POST', '/api/v2/usergroups', { name, attributes: { radius: { reply } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id as string;
}

export async function addMember(gh: RunningAppliance, groupId: string, userId: string): Promise<void> {
  const r = await gh.api('POST', `/api/v2/usergroups/${groupId}/members`, { op: 'add', type: 'user', id: userId });
  assert.equal(r.status, 204, JSON.stringify(r.body));
}

export async function bind(gh: RunningAppliance, from: { type: 'user' | 'user_group'; id: string }, radiusServerId: string): Promise<void> {
  const path = from.type === 'user' ? `/api/v2/users/${from.id}/associations` : `/api/v2/usergroups/${from.id}/associations`;
  const r = await gh.api('POST', path, { op: 'add', type: 'radius_server', id: radiusServerId });
  assert.equal(r.status, 204, JSON.stringify(r.body));
}

/** Waits for queued audit events to reach the store (the recorder batches every few ms in tests). */
export async function settle(ms = 80): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

// `any`: events are open-ended JumpCloud objects; tests read their fields one by one.
export type Event = Record<string, any>;

export async function radiusEvents(gh: RunningAppliance, eventType = 'radius_auth_attempt'): Promise<Event[]> {
  await settle();
  const r = await gh.api('POST', '/insights/directory/v1/events', { service: ['radius'], start_time: '2000-01-01T00:00:00Z', limit: 1000 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body as Event[]).filter((e) => e.event_type === eventType);
}

export { Attr, Code };
