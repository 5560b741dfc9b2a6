import { inflateRawSync } from 'node:zlib';

/** Size limits of inbound SAML messages. */
export interface InboundLimits {
  /** The parameter as sent (base64). */
  maxEncodedBytes: number;
  /** The XML after base64 decoding and, for HTTP-Redirect, inflating. */
  maxXmlBytes: number;
}

export type DecodeFailure = { ok: false; reason: 'too_large' | 'malformed' | 'doctype'; message: string };
export type Decoded = { ok: true; xml: string } | DecodeFailure;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Turns a SAMLRequest parameter into XML, refusing before any XML parser sees it: an oversized
 * parameter, a deflate bomb (inflation stops at the limit, since samlify inflates without one),
 * non-base64 input, and any document type declaration (no DTD, no entities: billion laughs and
 * XXE cannot start). HTTP-Redirect messages are DEFLATE-compressed (SAML bindings §3.4.4.1);
 * HTTP-POST messages are plain base64 (§3.5.4).
 */
export function decodeSamlMessage(encoded: string | undefined, binding: 'redirect' | 'post', limits: InboundLimits): Decoded {
  if (typeof encoded !== 'string' || encoded.length === 0) return { ok: false, reason: 'malformed', message: 'the request carries no SAMLRequest' };
  if (Buffer.byteLength(encoded, 'utf8') > limits.maxEncodedBytes) {
    return { ok: false, reason: 'too_large', message: 'the SAML request is too large' };
  }
  const compact = encoded.replace(/[\r\n\t ]/g, '');
  if (!BASE64.test(compact) || compact.length % 4 === 1) return { ok: false, reason: 'malformed', message: 'the SAML request is not base64' };
  const raw = Buffer.from(compact, 'base64');
  let xmlBytes: Buffer;
  if (binding === 'redirect') {
    try {
      xmlBytes = inflateRawSync(raw, { maxOutputLength: limits.maxXmlBytes });
    } catch (err) {
      const tooBig = err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      return tooBig
        ? { ok: false, reason: 'too_large', message: 'the SAML request is too large once inflated' }
        : { ok: false, reason: 'malformed', message: 'the SAML request is not DEFLATE-compressed' };
    }
  } else {
    xmlBytes = raw;
  }
  if (xmlBytes.length > limits.maxXmlBytes) return { ok: false, reason: 'too_large', message: 'the SAML request is too large' };
  return checkXmlText(xmlBytes.toString('utf8'));
}

/**
 * Refuses XML that declares a document type or entities, or that is not UTF-8 text. SAML messages
 * never need a DTD (SAML core §1.3 schemas only), so any `<!DOCTYPE` or `<!ENTITY` is hostile.
 */
export function checkXmlText(xml: string): Decoded {
  if (xml.includes('\uFFFD')) return { ok: false, reason: 'malformed', message: 'the SAML message is not UTF-8 XML' };
  if (/<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)/i.test(xml)) return { ok: false, reason: 'doctype', message: 'the SAML message declares a document type, which is not allowed' };
  if (!/^\s*(<\?xml[^>]*\?>\s*)?</.test(xml)) return { ok: false, reason: 'malformed', message: 'the SAML message is not XML' };
  return { ok: true, xml };
}
