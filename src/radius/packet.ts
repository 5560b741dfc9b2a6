import { timingSafeEqual } from 'node:crypto';
import { digest, hmacKeyOf } from '../util/digest.js';
import { md5Into } from '../util/md5.js';

/**
 * RADIUS packet structure, Message-Authenticator and reply encoding: the parts security depends on,
 * written here rather than taken from the `radius` package (libraries.md: it accepts short headers and
 * overrunning attributes, compares authenticators with `!=` and throws from `decode()`).
 * Nothing in this file throws on input from the network.
 */

/** Packet codes (RFC 2865 §3, RFC 2866 §3, RFC 5997). */
export const Code = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
} as const;

/** Attribute types this adapter reads or writes (RFC 2865 §5, RFC 2869 §5, RFC 3162). */
export const Attr = {
  UserName: 1,
  UserPassword: 2,
  ChapPassword: 3,
  NasIpAddress: 4,
  NasPort: 5,
  ReplyMessage: 18,
  VendorSpecific: 26,
  State: 24,
  CalledStationId: 30,
  CallingStationId: 31,
  NasIdentifier: 32,
  ProxyState: 33,
  AcctStatusType: 40,
  AcctSessionId: 44,
  EapMessage: 79,
  MessageAuthenticator: 80,
  NasIpv6Address: 95,
} as const;

export const HEADER_LENGTH = 20;
/** RFC 2865 §3: "The maximum length is 4096." */
export const MAX_PACKET_LENGTH = 4096;
const MA_LENGTH = 18;
const AUTH_OFFSET = 4;

export interface RadiusAttribute {
  type: number;
  /** A view into the datagram (no copy). */
  value: Buffer;
}

export interface RadiusPacket {
  code: number;
  identifier: number;
  /** The Request (or Response) Authenticator, a view into the datagram. */
  authenticator: Buffer;
  attributes: RadiusAttribute[];
  /** The packet without trailing octets beyond its Length field. */
  raw: Buffer;
  /** Offset of the Message-Authenticator value in `raw`, or -1. */
  messageAuthenticatorOffset: number;
}

export type ParseFailure = 'too_short' | 'bad_length' | 'bad_attribute' | 'bad_message_authenticator_attribute';

/**
 * Checks the structure of a datagram and lists its attributes (RFC 2865 §3, §5): 20 ≤ Length ≤ 4096,
 * Length ≤ the datagram (octets beyond Length are padding and ignored), every attribute at least 2
 * octets long and the attributes filling the packet exactly; at most one Message-Authenticator, of
 * length 18 (RFC 3579 §3.2). Returns the reason on failure; never throws.
 */
export function parsePacket(datagram: Buffer): RadiusPacket | ParseFailure {
  if (datagram.length < HEADER_LENGTH) return 'too_short';
  const length = datagram.readUInt16BE(2);
  if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH || length > datagram.length) return 'bad_length';
  const raw = datagram.length === length ? datagram : datagram.subarray(0, length);
  const attributes: RadiusAttribute[] = [];
  let ma = -1;
  let off = HEADER_LENGTH;
  while (off < length) {
    if (off + 2 > length) return 'bad_attribute';
    const type = raw[off]!;
    const len = raw[off + 1]!;
    if (len < 2 || off + len > length) return 'bad_attribute';
    if (type === Attr.MessageAuthenticator) {
      if (len !== MA_LENGTH || ma !== -1) return 'bad_message_authenticator_attribute';
      ma = off + 2;
    }
    attributes.push({ type, value: raw.subarray(off + 2, off + len) });
    off += len;
  }
  return {
    code: raw[0]!,
    identifier: raw[1]!,
    authenticator: raw.subarray(AUTH_OFFSET, AUTH_OFFSET + 16),
    attributes,
    raw,
    messageAuthenticatorOffset: ma,
  };
}

export function attribute(p: RadiusPacket, type: number): Buffer | undefined {
  for (const a of p.attributes) if (a.type === type) return a.value;
  return undefined;
}

export function attributes(p: RadiusPacket, type: number): Buffer[] {
  return p.attributes.filter((a) => a.type === type).map((a) => a.value);
}

/**
 * HMAC-MD5 over the packet with the Message-Authenticator value as 16 zero octets, and with the
 * authenticator field replaced when `authenticator` is given (RFC 3579 §3.2: the Request
 * Authenticator for replies; RFC 5176 §3 and FreeRADIUS: zeros for Accounting-Request).
 */
export function computeMessageAuthenticator(raw: Buffer, maOffset: number, secret: Buffer, authenticator?: Buffer): Buffer {
  const key = hmacKeyOf('md5', secret);
  if (authenticator) {
    return key.mac(raw.subarray(0, AUTH_OFFSET), authenticator, raw.subarray(HEADER_LENGTH, maOffset), ZERO16, raw.subarray(maOffset + 16));
  }
  return key.mac(raw.subarray(0, maOffset), ZERO16, raw.subarray(maOffset + 16));
}

const ZERO16 = Buffer.alloc(16);

/** Verifies a request's Message-Authenticator in constant time (RFC 3579 §3.2). False when absent. */
export function verifyMessageAuthenticator(p: RadiusPacket, secret: Buffer, zeroAuthenticator = false): boolean {
  if (p.messageAuthenticatorOffset < 0) return false;
  const expected = computeMessageAuthenticator(p.raw, p.messageAuthenticatorOffset, secret, zeroAuthenticator ? ZERO16 : undefined);
  return timingSafeEqual(expected, p.raw.subarray(p.messageAuthenticatorOffset, p.messageAuthenticatorOffset + 16));
}

/**
 * Verifies an Accounting-Request's Request Authenticator in constant time (RFC 2866 §3):
 * MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret).
 */
export function verifyAccountingAuthenticator(p: RadiusPacket, secret: Buffer): boolean {
  const expected = digest('md5', p.raw.subarray(0, AUTH_OFFSET), ZERO16, p.raw.subarray(HEADER_LENGTH), secret);
  return timingSafeEqual(expected, p.authenticator);
}

/**
 * Recovers a User-Password (RFC 2865 §5.2): 16 to 128 octets in multiples of 16, each block XORed with
 * MD5(secret + previous ciphertext block), the first with the Request Authenticator; the NUL padding
 * (and anything after a NUL, as FreeRADIUS does) is dropped. Null when the length is invalid.
 */
export function decodeUserPassword(hidden: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer | null {
  if (hidden.length < 16 || hidden.length > 128 || hidden.length % 16 !== 0) return null;
  const out = Buffer.alloc(hidden.length);
  const b = Buffer.allocUnsafe(16);
  let prev = requestAuthenticator;
  for (let i = 0; i < hidden.length; i += 16) {
    md5Into(b, 0, [secret, prev]);
    for (let j = 0; j < 16; j++) out[i + j] = hidden[i + j]! ^ b[j]!;
    prev = hidden.subarray(i, i + 16);
  }
  b.fill(0);
  const nul = out.indexOf(0);
  return nul < 0 ? out : out.subarray(0, nul);
}

/** Hides a password as a client does (RFC 2865 §5.2); for tests and the benchmark's raw client. */
export function encodeUserPassword(password: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer {
  const len = Math.max(16, Math.ceil(password.length / 16) * 16);
  if (len > 128) throw new RangeError('User-Password is at most 128 octets (RFC 2865 §5.2)');
  const padded = Buffer.alloc(len);
  password.copy(padded);
  const out = Buffer.alloc(len);
  let prev = requestAuthenticator;
  for (let i = 0; i < len; i += 16) {
    const b = digest('md5', secret, prev);
    for (let j = 0; j < 16; j++) out[i + j] = padded[i + j]! ^ b[j]!;
    prev = out.subarray(i, i + 16);
  }
  return out;
}

/** One attribute's wire bytes (type, length, value); values over 253 octets are a programming error. */
export function encodeAttribute(type: number, value: Buffer): Buffer {
  if (value.length > 253) throw new RangeError(`attribute ${type} is longer than 253 octets`);
  const b = Buffer.alloc(2 + value.length);
  b[0] = type;
  b[1] = 2 + value.length;
  value.copy(b, 2);
  return b;
}

export interface ReplyInput {
  code: number;
  identifier: number;
  requestAuthenticator: Buffer;
  /** Encoded attributes (TLVs), excluding Message-Authenticator and Proxy-State. */
  attributes: Buffer;
  /** Proxy-State values of the request, copied unmodified and in order (RFC 2865 §5.33). */
  proxyStates: Buffer[];
  secret: Buffer;
  /** Put a Message-Authenticator first (BlastRADIUS). Always true for Access-Accept/Reject/Challenge. */
  messageAuthenticator: boolean;
}

/**
 * Encodes a reply. With `messageAuthenticator`, it is the FIRST attribute (the BlastRADIUS
 * mitigation of FreeRADIUS 3.2.5+: an attacker cannot build a colliding prefix before it), computed
 * over the reply with the Request Authenticator in place (RFC 3579 §3.2); then the Response
 * Authenticator MD5(Code + Identifier + Length + Request Authenticator + Attributes + Secret)
 * (RFC 2865 §3). Returns null when the reply would exceed 4096 octets.
 */
export function encodeReply(r: ReplyInput): Buffer | null {
  const proxy = r.proxyStates.map((v) => encodeAttribute(Attr.ProxyState, v));
  const maLen = r.messageAuthenticator ? MA_LENGTH : 0;
  const length = HEADER_LENGTH + maLen + r.attributes.length + proxy.reduce((n, b) => n + b.length, 0);
  if (length > MAX_PACKET_LENGTH) return null;
  // From Node's buffer pool (every octet is written below): a reply is kept for the duplicate
  // cache's lifetime, and with a buffer of its own each (Buffer.alloc) ~125k ArrayBuffers held
  // 18 MB of the heap under radclient load; a snapshot with both this and the flat duplicate keys
  // went from 140 to 97 MB.
  const out = Buffer.allocUnsafe(length);
  out[0] = r.code;
  out[1] = r.identifier;
  out.writeUInt16BE(length, 2);
  r.requestAuthenticator.copy(out, AUTH_OFFSET);
  let off = HEADER_LENGTH;
  if (r.messageAuthenticator) {
    out[off] = Attr.MessageAuthenticator;
    out[off + 1] = MA_LENGTH;
    // RFC 3579 §3.2: computed over the packet with this value zeroed.
    out.fill(0, off + 2, off + MA_LENGTH);
    off += MA_LENGTH;
  }
  off += r.attributes.copy(out, off);
  for (const p of proxy) off += p.copy(out, off);
  // Each digest is complete before it is written into the packet it covers.
  if (r.messageAuthenticator) hmacKeyOf('md5', r.secret).macInto(out, HEADER_LENGTH + 2, out);
  md5Into(out, AUTH_OFFSET, [out, r.secret]);
  return out;
}
