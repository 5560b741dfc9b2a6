// Local typings for the parts of ldapjs 3.0.7's packages Gatehouse uses. The published typings
// (@types/ldapjs) describe the old client API only and are wrong for the server-side classes.

declare module '@ldapjs/asn1' {
  export class BerReader {
    constructor(buffer: Buffer);
    readSequence(tag?: number): number | null;
    readEnumeration(): number | null;
    readBoolean(tag?: number): boolean | null;
    readRawBuffer(tag: number): Buffer;
    readString(tag?: number, asBuffer?: false): string | null;
    readString(tag: number, asBuffer: true): Buffer | null;
    readInt(tag?: number): number | null;
    readByte(peek?: boolean): number | null;
    peek(): number | null;
    get remain(): number;
    get length(): number;
    get offset(): number;
    get buffer(): Buffer;
  }
  export class BerWriter {
    constructor(options?: { size?: number; growthFactor?: number });
    get buffer(): Buffer;
    startSequence(tag?: number): void;
    endSequence(): void;
    writeString(value: string, tag?: number): void;
    writeBuffer(value: Buffer, tag: number): void;
    writeInt(value: number, tag?: number): void;
    writeEnumeration(value: number, tag?: number): void;
    writeBoolean(value: boolean, tag?: number): void;
    /** Copies already-encoded BER as it is. */
    appendBuffer(value: Buffer): void;
  }
}

declare module '@ldapjs/filter' {
  /** Every filter node; which fields are set depends on `type`. */
  export interface LdapFilter {
    readonly type:
      | 'AndFilter'
      | 'OrFilter'
      | 'NotFilter'
      | 'EqualityFilter'
      | 'SubstringFilter'
      | 'PresenceFilter'
      | 'GreaterThanEqualsFilter'
      | 'LessThanEqualsFilter'
      | 'ApproximateFilter'
      | 'ExtensibleFilter';
    readonly attribute: string;
    readonly value: string | Buffer;
    readonly clauses: LdapFilter[];
    /** NotFilter: the negated filter. */
    readonly filter: LdapFilter;
    /** SubstringFilter parts. */
    readonly initial: string;
    readonly any: string[];
    readonly final: string;
    /** ExtensibleFilter parts. */
    readonly matchingRule: string | undefined;
    readonly dnAttributes: boolean;
    toString(): string;
  }
  export function parseString(filter: string): LdapFilter;
  export function parseBer(reader: import('@ldapjs/asn1').BerReader): LdapFilter;
}

declare module '@ldapjs/messages' {
  import type { BerReader } from '@ldapjs/asn1';
  import type { LdapFilter } from '@ldapjs/filter';

  export interface LdapControl {
    readonly type: string;
    readonly criticality: boolean;
    readonly value: unknown;
  }


  export interface LdapRequest {
    readonly messageId: number;
    readonly protocolOp: number;
    readonly type: string;
    readonly controls: LdapControl[];
    /** BindRequest */
    readonly version?: number;
    readonly name?: string;
    readonly authenticationType?: string;
    readonly credentials?: string | Buffer;
    /** SearchRequest */
    readonly baseObject?: string;
    /** 0 base, 1 one level, 2 subtree. */
    readonly scope?: number;
    readonly derefAliases?: number;
    readonly sizeLimit?: number;
    readonly timeLimit?: number;
    readonly typesOnly?: boolean;
    readonly filter?: LdapFilter;
    readonly attributes?: string[];
    /** ExtensionRequest */
    readonly requestName?: string;
    readonly requestValue?: string | Buffer | undefined;
    /** AbandonRequest */
    readonly abandonId?: number;
    /** CompareRequest */
    readonly entry?: string;
    readonly attribute?: string;
    readonly value?: string;
  }

  interface PojoParser {
    parseToPojo(reader: BerReader): Record<string, unknown>;
  }
  export const BindRequest: PojoParser;
  export const SearchRequest: PojoParser;
  export const CompareRequest: PojoParser;
  export const ExtensionRequest: PojoParser;
  export const AbandonRequest: PojoParser;
  export const ModifyRequest: PojoParser;
  export const AddRequest: PojoParser;
  export const DeleteRequest: PojoParser;
  export const ModifyDnRequest: PojoParser;
}

