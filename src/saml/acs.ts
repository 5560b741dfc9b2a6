import type { AcsIndex } from '../core/directory/types.js';

/**
 * Where a response may go. SAML profiles §4.1.4.1: the IdP must ensure the ACS URL in a request
 * belongs to the SP; Gatehouse accepts only a URL registered for the app, compared exactly
 * (no prefix, case or normalisation match: `https://sp/acs/../evil`, `https://SP/acs` and
 * `https://sp/acs?x` are all different), or the index of one. Anything else is refused with a page,
 * never redirected.
 *
 * An index (AssertionConsumerServiceIndex, SAML core §3.4.1) is the `index` attribute the SP's
 * metadata gave that endpoint (SAML metadata §2.2.3), not a position in a list: pysaml2 numbers its
 * endpoints from 1, others from 0 or sparsely. Apps whose metadata was imported keep those indexes
 * (`acsIndexes`); an index is then looked up there, and its URL must still be registered. Apps set
 * up by hand have no metadata indexes: their URLs are numbered from 0 in the order listed.
 */
export const HTTP_POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

export type AcsChoice = { ok: true; url: string } | { ok: false; reason: 'unknown_acs' | 'unsupported_binding'; message: string };

export function selectAcs(
  registered: readonly string[],
  requested: { url?: string | null; index?: string | null; protocolBinding?: string | null },
  indexes: readonly AcsIndex[] = [],
): AcsChoice {
  if (requested.protocolBinding && requested.protocolBinding !== HTTP_POST_BINDING) {
    return { ok: false, reason: 'unsupported_binding', message: 'the service provider asked for a response binding other than HTTP-POST' };
  }
  if (requested.url !== undefined && requested.url !== null && requested.url !== '') {
    if (requested.index !== undefined && requested.index !== null && requested.index !== '') {
      // SAML core §3.4.1: the two are mutually exclusive.
      return { ok: false, reason: 'unknown_acs', message: 'the request names both an ACS URL and an ACS index' };
    }
    return registered.includes(requested.url)
      ? { ok: true, url: requested.url }
      : { ok: false, reason: 'unknown_acs', message: 'the request asks for a response to an address that is not registered for this application' };
  }
  if (requested.index !== undefined && requested.index !== null && requested.index !== '') {
    // xs:unsignedShort (XML Schema 2 §3.3.23): an optional '+', leading zeros, surrounding whitespace.
    const m = /^\s*\+?0*(\d{1,5})\s*$/.exec(requested.index);
    const i = m && Number(m[1]) <= 65535 ? Number(m[1]) : -1;
    const byMetadata = indexes.find((x) => x.index === i)?.url;
    const url = indexes.length > 0 ? (byMetadata !== undefined && registered.includes(byMetadata) ? byMetadata : undefined) : registered[i];
    return url ? { ok: true, url } : { ok: false, reason: 'unknown_acs', message: 'the request names an ACS index that is not registered for this application' };
  }
  const first = registered[0];
  return first ? { ok: true, url: first } : { ok: false, reason: 'unknown_acs', message: 'the application has no ACS URL' };
}
