import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateXML } from 'xmllint-wasm';

/**
 * XML Schema validation of SAML messages, offline: libxml2 compiled to WebAssembly (xmllint-wasm)
 * runs each validation in a worker thread, so the event loop never parses or validates a hostile
 * document itself. The OASIS SAML 2.0 and W3C XML-DSig/XML-Enc schemas ship in `schemas/` (their
 * imports point at the local copies, so nothing is fetched). samlify refuses every message until a
 * validator is set; schema validation is also what blocks the signature-wrapping advisory
 * GHSA-63ch-w8pw-4mf2 (libraries.md).
 */
export interface SchemaValidator {
  /** Resolves when `xml` is valid against the protocol schema; rejects with a short reason otherwise. */
  validateProtocol(xml: string): Promise<void>;
  /** The same against the metadata schema (SP metadata import). */
  validateMetadata(xml: string): Promise<void>;
  /** A validation that already passed for exactly this text (samlify validates again; no need to pay twice). */
  recentlyValid(xml: string): boolean;
}

export class SchemaValidationError extends Error {
  constructor(
    message: string,
    readonly busy = false,
  ) {
    super(message);
  }
}

/** Where the XSDs live: `src/saml/schemas` (also found from `dist/saml/`, which has no copy). */
function schemaDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'src', 'saml', 'schemas');
}

const PROTOCOL = ['saml-schema-protocol-2.0.xsd', 'saml-schema-assertion-2.0.xsd', 'xmldsig-core-schema.xsd', 'xenc-schema.xsd'];
const METADATA = ['saml-schema-metadata-2.0.xsd', 'saml-schema-assertion-2.0.xsd', 'xmldsig-core-schema.xsd', 'xenc-schema.xsd', 'xml.xsd'];

export function createSchemaValidator(o: { maxConcurrent: number; dir?: string }): SchemaValidator {
  const dir = o.dir ?? schemaDir();
  const load = (names: string[]) => names.map((fileName) => ({ fileName, contents: readFileSync(join(dir, fileName), 'utf8') }));
  const protocol = load(PROTOCOL);
  const metadata = load(METADATA);
  let running = 0;
  const waiting: (() => void)[] = [];
  // Hashes of texts validated in the last minute (bounded), so samlify's own call is free.
  const valid = new Map<string, number>();
  const hash = (xml: string) => createHash('sha256').update(xml).digest('base64');

  const slot = async () => {
    if (running >= o.maxConcurrent) {
      // A bounded queue: a flood of requests is refused as busy rather than queued without end.
      if (waiting.length >= o.maxConcurrent * 2) throw new SchemaValidationError('too many SAML messages are being checked; try again', true);
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    running++;
  };
  const release = () => {
    running--;
    waiting.shift()?.();
  };

  const run = async (xml: string, schemas: { fileName: string; contents: string }[]) => {
    await slot();
    try {
      const r = await validateXML({ xml: [{ fileName: 'message.xml', contents: xml }], schema: [schemas[0]!], preload: schemas.slice(1) });
      if (!r.valid) throw new SchemaValidationError(r.errors[0]?.message.replace(/^.*?validity error : /, '').slice(0, 300) ?? 'not valid against the SAML schema');
      const now = Date.now();
      for (const [k, t] of valid) if (now - t > 60_000 || valid.size > 1000) valid.delete(k);
      valid.set(hash(xml), now);
    } finally {
      release();
    }
  };

  return {
    validateProtocol: (xml) => run(xml, protocol),
    validateMetadata: (xml) => run(xml, metadata),
    recentlyValid(xml) {
      const t = valid.get(hash(xml));
      return t !== undefined && Date.now() - t <= 60_000;
    },
  };
}
