/**
 * The parts of the npm `radius` package (1.1.4, pinned) that Gatehouse uses: its dictionary and its
 * attribute codec. The package ships no typings. Packet checks, Message-Authenticator and reply
 * encoding are ours (see packet.ts): the package's versions of those are unsafe (libraries.md).
 */
declare module 'radius' {
  /** A value as the codec takes it: `[name, value]`, `[name, tag, value]`, or a VSA `['Vendor-Specific', vendorId, attrs]`. */
  export type RadiusAttributeTuple = [string | number, ...unknown[]];

  export interface DecodedPacket {
    code: string;
    identifier: number;
    length: number;
    authenticator: Buffer;
    // Values are strings, numbers, Dates, Buffers, `[tag, value]` pairs or arrays of those (repeated attributes).
    attributes: Record<string, unknown>;
    raw_attributes: [number, Buffer][];
  }

  interface Radius {
    add_dictionary(file: string): void;
    load_dictionaries(): void;
    /** Parses dictionary text (FreeRADIUS format) into the codec's tables; returns `$INCLUDE`d names. */
    _load_dictionary(content: string): string[];
    attr_name_to_id(name: string, vendorId?: number | string): string | undefined;
    attr_id_to_name(id: number | string, vendorId?: number | string): string | undefined;
    vendor_name_to_id(name: string): string | undefined;
    /** Writes attributes into `packet` from offset 0; returns the bytes written. Throws on bad input. */
    encode_attributes(packet: Buffer, attributes: RadiusAttributeTuple[], vendor: number): number;
    /** Decodes a whole packet without a secret (User-Password comes back null). Throws on malformed input. */
    decode_without_secret(args: { packet: Buffer }): DecodedPacket;
    /** Encodes a whole packet (used by tests as an independent implementation, never by the listener). */
    encode(args: { code: string; identifier?: number; authenticator?: Buffer; secret: string; attributes: RadiusAttributeTuple[] }): Buffer;
    /** Checks a reply against its request (tests only: its comparisons are not constant-time). */
    verify_response(args: { request: Buffer; response: Buffer; secret: string }): boolean;
  }

  const radius: Radius;
  export default radius;
}
