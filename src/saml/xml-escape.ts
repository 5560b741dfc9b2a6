/**
 * Escaping for values placed in SAML XML (XML 1.0 §2.4 character data, §3.1 attribute values).
 * Every value that comes from the directory or the request goes through one of these, so that no
 * user field can add elements or attributes to an assertion (security.md item 5).
 */

// Characters XML 1.0 does not allow at all (§2.2): C0 controls other than tab, LF and CR,
// lone surrogates, U+FFFE and U+FFFF. They cannot be escaped, so they are replaced.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text content or an attribute value (both quotes escaped, so either quoting works). */
export function escapeXml(value: string): string {
  return value.replace(NOT_XML, '\uFFFD').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * In attribute values, whitespace characters other than space are normalised away by XML parsers
 * (XML 1.0 §3.3.3); keeping them as character references preserves the value exactly.
 */
export function escapeXmlAttribute(value: string): string {
  return escapeXml(value).replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}
