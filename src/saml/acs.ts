/**
 * Where a response may go. SAML profiles §4.1.4.1: the IdP must ensure the ACS URL in a request
 * belongs to the SP; Gatehouse accepts only a URL registered for the app, compared exactly
 * (no prefix, case or normalisation match: `https://sp/acs/../evil`, `https://SP/acs` and
 * `https://sp/acs?x` are all different), or the index of one. Anything else is refused with a page,
 * never redirected.
 */
export const HTTP_POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

export type AcsChoice = { ok: true; url: string } | { ok: false; reason: 'unknown_acs' | 'unsupported_binding'; message: string };

export function selectAcs(
  registered: readonly string[],
  requested: { url?: string | null; index?: string | null; protocolBinding?: string | null },
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
    const i = /^\d{1,5}$/.test(requested.index) ? Number(requested.index) : -1;
    const url = registered[i];
    return url ? { ok: true, url } : { ok: false, reason: 'unknown_acs', message: 'the request names an ACS index that is not registered for this application' };
  }
  const first = registered[0];
  return first ? { ok: true, url: first } : { ok: false, reason: 'unknown_acs', message: 'the application has no ACS URL' };
}
