import { escapeXml, escapeXmlAttribute } from './xml-escape.js';

export const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
export const POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/** The base64 body of a PEM certificate (what ds:X509Certificate carries). */
export function certificateBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/**
 * IdP metadata of one application (SAML metadata §2.4.3 IDPSSODescriptor): its entity ID, the
 * signing certificate in a KeyDescriptor, the NameID format it issues, and the SSO endpoint for the
 * HTTP-Redirect and HTTP-POST bindings, and, when the app can use it, the single logout endpoint for
 * SP-initiated logout over HTTP-Redirect (profiles §4.4; the only binding it accepts).
 */
export function buildIdpMetadata(o: { entityId: string; certPem: string; ssoUrl: string; sloUrl?: string; nameIdFormat: string; wantAuthnRequestsSigned: boolean }): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${escapeXmlAttribute(o.entityId)}">` +
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="${o.wantAuthnRequestsSigned}" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${escapeXml(certificateBody(o.certPem))}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    // Schema order (metadata §2.4.2 SSODescriptorType): SingleLogoutService before NameIDFormat.
    (o.sloUrl ? `<md:SingleLogoutService Binding="${REDIRECT_BINDING}" Location="${escapeXmlAttribute(o.sloUrl)}"/>` : '') +
    `<md:NameIDFormat>${escapeXml(o.nameIdFormat)}</md:NameIDFormat>` +
    `<md:SingleSignOnService Binding="${REDIRECT_BINDING}" Location="${escapeXmlAttribute(o.ssoUrl)}"/>` +
    `<md:SingleSignOnService Binding="${POST_BINDING}" Location="${escapeXmlAttribute(o.ssoUrl)}"/>` +
    `</md:IDPSSODescriptor>` +
    `</md:EntityDescriptor>\n`
  );
}
