// Document and Element are the DOM lib's types, which @xmldom/xmldom's typings bring in.
import { DOMParser } from '@xmldom/xmldom';

const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

/** The fields of an AuthnRequest (SAML core §3.4.1) that decide where and how Gatehouse answers. */
export interface AuthnRequestFields {
  id: string;
  issuer: string | null;
  destination: string | null;
  acsUrl: string | null;
  acsIndex: string | null;
  protocolBinding: string | null;
  forceAuthn: boolean;
  isPassive: boolean;
  /** IssueInstant as sent (xs:dateTime; the schema makes it required). */
  issueInstant: string | null;
  /** samlp:NameIDPolicy (core §3.4.1.1), if present. */
  nameIdPolicy: { format: string | null; spNameQualifier: string | null; allowCreate: boolean | null } | null;
  /** samlp:RequestedAuthnContext (core §3.3.2.2.1), if present; Comparison defaults to `exact`. */
  requestedAuthnContext: { comparison: string; classRefs: string[]; declRefs: string[] } | null;
  /** The NameID of a saml:Subject the request names (core §3.4.1), if any. */
  subjectNameId: string | null;
  /** The enveloped signature, if any (HTTP-POST). */
  signature: Element | null;
}

export type ReadResult = { ok: true; fields: AuthnRequestFields } | { ok: false; reason: 'malformed' | 'bad_signature'; message: string };

/** Parses XML that has passed the guard (no DTD) into a DOM; any parser warning or error refuses it. */
export function parseXml(xml: string): Document | null {
  let failed = false;
  const doc = new DOMParser({
    locator: {},
    errorHandler: {
      warning: () => {
        failed = true;
      },
      error: () => {
        failed = true;
      },
      fatalError: () => {
        failed = true;
      },
    },
  }).parseFromString(xml, 'text/xml');
  return failed || !doc?.documentElement ? null : doc;
}

export const children = (el: Element): Element[] => {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as Element);
  return out;
};

const attrOrNull = (el: Element, name: string) => (el.hasAttribute(name) ? el.getAttribute(name) : null);
const bool = (v: string | null) => v === 'true' || v === '1';

/** Every ds:Signature element anywhere in the document. */
function allSignatures(doc: Document): Element[] {
  const list = doc.getElementsByTagNameNS(DSIG_NS, 'Signature');
  const out: Element[] = [];
  for (let i = 0; i < list.length; i++) out.push(list.item(i)!);
  return out;
}

/**
 * Reads an AuthnRequest. An enveloped signature is accepted only where it protects the whole
 * message: exactly one ds:Signature in the document, a direct child of the root, with a single
 * Reference to `#<root ID>`, RSA-SHA256 and SHA-256 (XML signature wrapping puts a signed copy
 * elsewhere and a forged root around it; samlify does not check where the signature sits —
 * GHSA-63ch-w8pw-4mf2). The ID must be unique in the document for the same reason.
 */
export function readAuthnRequest(xml: string): ReadResult {
  const doc = parseXml(xml);
  if (!doc) return { ok: false, reason: 'malformed', message: 'the SAML request is not well-formed XML' };
  const root = doc.documentElement!;
  if (root.namespaceURI !== PROTOCOL_NS || root.localName !== 'AuthnRequest') {
    return { ok: false, reason: 'malformed', message: 'the SAML message is not an AuthnRequest' };
  }
  const id = root.getAttribute('ID') ?? '';
  if (!id) return { ok: false, reason: 'malformed', message: 'the AuthnRequest has no ID' };
  // SAML 2.0 only (core §3.2.1: Version "2.0"; another major version is a VersionMismatch).
  if (root.getAttribute('Version') !== '2.0') return { ok: false, reason: 'malformed', message: 'the request is not SAML 2.0 (Version must be "2.0")' };
  // IDs are xs:ID: one element per value. Two elements with the request's ID are a wrapping attempt.
  let sameId = 0;
  const all = doc.getElementsByTagName('*');
  for (let i = 0; i < all.length; i++) if (all.item(i)!.getAttribute('ID') === id) sameId++;
  if (sameId !== 1) return { ok: false, reason: 'bad_signature', message: 'the AuthnRequest ID is not unique' };

  const sigs = allSignatures(doc);
  let signature: Element | null = null;
  if (sigs.length > 0) {
    const sig = sigs[0]!;
    if (sigs.length !== 1 || sig.parentNode !== root) {
      return { ok: false, reason: 'bad_signature', message: 'the request signature is not where SAML puts it' };
    }
    const signedInfo = children(sig).find((c) => c.localName === 'SignedInfo' && c.namespaceURI === DSIG_NS);
    const method = signedInfo && children(signedInfo).find((c) => c.localName === 'SignatureMethod');
    const refs = signedInfo ? children(signedInfo).filter((c) => c.localName === 'Reference') : [];
    const digest = refs[0] && children(refs[0]).find((c) => c.localName === 'DigestMethod');
    if (!signedInfo || refs.length !== 1 || refs[0]!.getAttribute('URI') !== `#${id}`) {
      return { ok: false, reason: 'bad_signature', message: 'the request signature does not cover the request' };
    }
    if (method?.getAttribute('Algorithm') !== RSA_SHA256 || digest?.getAttribute('Algorithm') !== SHA256) {
      return { ok: false, reason: 'bad_signature', message: 'the request signature must use RSA-SHA256' };
    }
    signature = sig;
  }

  const issuerEl = children(root).find((c) => c.localName === 'Issuer' && c.namespaceURI === ASSERTION_NS);
  const policyEl = children(root).find((c) => c.localName === 'NameIDPolicy' && c.namespaceURI === PROTOCOL_NS);
  const contextEl = children(root).find((c) => c.localName === 'RequestedAuthnContext' && c.namespaceURI === PROTOCOL_NS);
  const subjectEl = children(root).find((c) => c.localName === 'Subject' && c.namespaceURI === ASSERTION_NS);
  const subjectNameEl = subjectEl && children(subjectEl).find((c) => c.localName === 'NameID' && c.namespaceURI === ASSERTION_NS);
  const texts = (el: Element, name: string) =>
    children(el)
      .filter((c) => c.localName === name && c.namespaceURI === ASSERTION_NS)
      .map((c) => (c.textContent ?? '').trim());
  return {
    ok: true,
    fields: {
      id,
      issuer: issuerEl ? (issuerEl.textContent ?? '').trim() : null,
      destination: attrOrNull(root, 'Destination'),
      acsUrl: attrOrNull(root, 'AssertionConsumerServiceURL'),
      acsIndex: attrOrNull(root, 'AssertionConsumerServiceIndex'),
      protocolBinding: attrOrNull(root, 'ProtocolBinding'),
      forceAuthn: bool(attrOrNull(root, 'ForceAuthn')),
      isPassive: bool(attrOrNull(root, 'IsPassive')),
      issueInstant: attrOrNull(root, 'IssueInstant'),
      nameIdPolicy: policyEl
        ? {
            format: attrOrNull(policyEl, 'Format'),
            spNameQualifier: attrOrNull(policyEl, 'SPNameQualifier'),
            allowCreate: policyEl.hasAttribute('AllowCreate') ? bool(policyEl.getAttribute('AllowCreate')) : null,
          }
        : null,
      requestedAuthnContext: contextEl
        ? { comparison: attrOrNull(contextEl, 'Comparison') ?? 'exact', classRefs: texts(contextEl, 'AuthnContextClassRef'), declRefs: texts(contextEl, 'AuthnContextDeclRef') }
        : null,
      subjectNameId: subjectNameEl ? (subjectNameEl.textContent ?? '').trim() : null,
      signature,
    },
  };
}

/** Each index once, in index order (duplicates are invalid metadata: the first listed wins). */
function uniqueIndexes(acs: readonly { index: number; url: string }[]): { index: number; url: string }[] {
  const out: { index: number; url: string }[] = [];
  for (const a of acs) if (!out.some((x) => x.index === a.index)) out.push({ index: a.index, url: a.url });
  return out.sort((a, b) => a.index - b.index);
}

/**
 * The SP's single logout endpoint for responses (metadata §2.2.2: ResponseLocation, else Location),
 * HTTP-Redirect preferred, then HTTP-POST; null when it lists neither.
 */
function singleLogoutOf(sp: Element, md: string): { url: string; binding: 'redirect' | 'post' } | null {
  const services = children(sp).filter((c) => c.namespaceURI === md && c.localName === 'SingleLogoutService');
  for (const [uri, binding] of [
    ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', 'redirect'],
    ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', 'post'],
  ] as const) {
    const s = services.find((c) => c.getAttribute('Binding') === uri);
    const url = s ? attrOrNull(s, 'ResponseLocation') || attrOrNull(s, 'Location') : null;
    if (url) return { url, binding };
  }
  return null;
}

/** What SP metadata (SAML metadata §2.4.4) says about the SP's sign-on: entity ID, POST ACS URLs, signing certificate, single logout. */
export function readSpMetadata(xml: string):
  | {
      ok: true;
      entityId: string;
      acsUrls: string[];
      acsIndexes: { index: number; url: string }[];
      certificate: string;
      authnRequestsSigned: boolean;
      slo: { url: string; binding: 'redirect' | 'post' } | null;
    }
  | { ok: false; message: string } {
  const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
  const doc = parseXml(xml);
  if (!doc) return { ok: false, message: 'the metadata is not well-formed XML' };
  let entity: Element = doc.documentElement!;
  if (entity.namespaceURI === MD && entity.localName === 'EntitiesDescriptor') {
    const first = doc.getElementsByTagNameNS(MD, 'EntityDescriptor').item(0);
    if (!first) return { ok: false, message: 'the metadata has no EntityDescriptor' };
    entity = first;
  }
  if (entity.namespaceURI !== MD || entity.localName !== 'EntityDescriptor') return { ok: false, message: 'the metadata has no EntityDescriptor' };
  const sp = children(entity).find((c) => c.namespaceURI === MD && c.localName === 'SPSSODescriptor');
  if (!sp) return { ok: false, message: 'the metadata describes no service provider (SPSSODescriptor)' };
  const acs = children(sp)
    .filter((c) => c.namespaceURI === MD && c.localName === 'AssertionConsumerService' && c.getAttribute('Binding') === 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST')
    .map((c) => ({ url: c.getAttribute('Location') ?? '', index: Number(c.getAttribute('index') ?? '0'), isDefault: bool(attrOrNull(c, 'isDefault')) }))
    // The schema makes `index` an xs:unsignedShort; anything else cannot be asked for by a request.
    .filter((a) => Number.isInteger(a.index) && a.index >= 0 && a.index <= 65535)
    .filter((a) => a.url !== '')
    .sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || a.index - b.index);
  const keys = children(sp).filter((c) => c.namespaceURI === MD && c.localName === 'KeyDescriptor' && (c.getAttribute('use') ?? 'signing') !== 'encryption');
  let certificate = '';
  for (const k of keys) {
    const certs = k.getElementsByTagNameNS(DSIG_NS, 'X509Certificate');
    if (certs.length > 0) {
      certificate = (certs.item(0)!.textContent ?? '').replace(/\s+/g, '');
      break;
    }
  }
  return {
    ok: true,
    entityId: entity.getAttribute('entityID') ?? '',
    acsUrls: [...new Set(acs.map((a) => a.url))],
    acsIndexes: uniqueIndexes(acs),
    certificate,
    authnRequestsSigned: bool(attrOrNull(sp, 'AuthnRequestsSigned')),
    slo: singleLogoutOf(sp, MD),
  };
}
