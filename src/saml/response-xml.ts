import type { SamlAttribute } from './attributes.js';
import { escapeXml, escapeXmlAttribute } from './xml-escape.js';

const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
export const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
export const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
export const ATTRNAME_BASIC = 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic';
export const ATTRNAME_UNSPECIFIED = 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified';

/** Everything a login Response says; built from checked values, escaped here, signed afterwards. */
export interface ResponseParts {
  responseId: string;
  assertionId: string;
  issueInstant: Date;
  /** The IdP entity ID (Issuer of Response and Assertion). */
  issuer: string;
  /** The ACS URL: Response Destination and SubjectConfirmationData Recipient. */
  destination: string;
  /** The AuthnRequest ID, absent for IdP-initiated sign-on. */
  inResponseTo: string | null;
  /** The SP entity ID: the only Audience. */
  audience: string;
  nameId: string;
  nameIdFormat: string;
  /** Conditions NotBefore (a little before issue, for clock skew). */
  notBefore: Date;
  /** Conditions NotOnOrAfter and SubjectConfirmationData NotOnOrAfter. */
  notOnOrAfter: Date;
  authnInstant: Date;
  sessionIndex: string;
  authnContextClassRef: string;
  attributes: SamlAttribute[];
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const attr = (name: string, value: string) => ` ${name}="${escapeXmlAttribute(value)}"`;

/** An attribute name that looks like a URI is sent as `uri`, others as `basic` or `unspecified` (SAML core §8.2). */
function nameFormat(name: string): string {
  if (/^(urn:|https?:\/\/)/i.test(name)) return 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';
  return /^[A-Za-z_][\w.-]*$/.test(name) ? ATTRNAME_BASIC : ATTRNAME_UNSPECIFIED;
}

/**
 * The unsigned XML of a login Response with one Assertion (SAML core §3.3.3, §2.3.3; profiles
 * §4.1.4.2 for what a Web SSO assertion must carry: a bearer SubjectConfirmation with Recipient,
 * NotOnOrAfter and InResponseTo, an AudienceRestriction, an AuthnStatement). Elements appear in
 * schema order, so that the enveloped signatures added afterwards land after each Issuer.
 * Every value is escaped; no caller-supplied text is ever markup.
 */
export function buildResponseXml(p: ResponseParts): string {
  const inResponseTo = p.inResponseTo ? attr('InResponseTo', p.inResponseTo) : '';
  const attributes =
    p.attributes.length === 0
      ? ''
      : `<saml:AttributeStatement>${p.attributes
          .map(
            (a) =>
              `<saml:Attribute${attr('Name', a.name)}${attr('NameFormat', nameFormat(a.name))}>${a.values
                .map((v) => `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`)
                .join('')}</saml:Attribute>`,
          )
          .join('')}</saml:AttributeStatement>`;
  return (
    `<samlp:Response xmlns:samlp="${PROTOCOL_NS}" xmlns:saml="${ASSERTION_NS}"${attr('ID', p.responseId)} Version="2.0"${attr('IssueInstant', iso(p.issueInstant))}${attr('Destination', p.destination)}${inResponseTo}>` +
    `<saml:Issuer>${escapeXml(p.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${STATUS_SUCCESS}"/></samlp:Status>` +
    `<saml:Assertion${attr('ID', p.assertionId)} Version="2.0"${attr('IssueInstant', iso(p.issueInstant))}>` +
    `<saml:Issuer>${escapeXml(p.issuer)}</saml:Issuer>` +
    `<saml:Subject>` +
    `<saml:NameID${attr('Format', p.nameIdFormat)}>${escapeXml(p.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="${BEARER}">` +
    `<saml:SubjectConfirmationData${attr('NotOnOrAfter', iso(p.notOnOrAfter))}${attr('Recipient', p.destination)}${inResponseTo}/>` +
    `</saml:SubjectConfirmation>` +
    `</saml:Subject>` +
    `<saml:Conditions${attr('NotBefore', iso(p.notBefore))}${attr('NotOnOrAfter', iso(p.notOnOrAfter))}>` +
    `<saml:AudienceRestriction><saml:Audience>${escapeXml(p.audience)}</saml:Audience></saml:AudienceRestriction>` +
    `</saml:Conditions>` +
    `<saml:AuthnStatement${attr('AuthnInstant', iso(p.authnInstant))}${attr('SessionIndex', p.sessionIndex)}>` +
    `<saml:AuthnContext><saml:AuthnContextClassRef>${escapeXml(p.authnContextClassRef)}</saml:AuthnContextClassRef></saml:AuthnContext>` +
    `</saml:AuthnStatement>` +
    attributes +
    `</saml:Assertion>` +
    `</samlp:Response>`
  );
}

/** Top-level status codes (SAML core §3.2.2.2). */
export const STATUS_REQUESTER = 'urn:oasis:names:tc:SAML:2.0:status:Requester';
export const STATUS_RESPONDER = 'urn:oasis:names:tc:SAML:2.0:status:Responder';
/** Second-level status codes (SAML core §3.2.2.2). */
export const STATUS_NO_PASSIVE = 'urn:oasis:names:tc:SAML:2.0:status:NoPassive';
export const STATUS_INVALID_NAMEID_POLICY = 'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy';
export const STATUS_NO_AUTHN_CONTEXT = 'urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext';
export const STATUS_REQUEST_DENIED = 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied';

/** What an error Response says; built from checked values, escaped here, signed afterwards. */
export interface ErrorResponseParts {
  responseId: string;
  issueInstant: Date;
  issuer: string;
  /** The checked ACS URL of the request. */
  destination: string;
  /** The AuthnRequest ID. */
  inResponseTo: string;
  /** Requester or Responder. */
  topStatus: string;
  /** NoPassive, InvalidNameIDPolicy, NoAuthnContext, RequestDenied. */
  subStatus: string;
  /** StatusMessage: a fixed text per status, never anything about the user. */
  message: string;
}

/**
 * The unsigned XML of an error Response to an AuthnRequest (SAML core §3.2.2, §3.4.1): Issuer,
 * a two-level Status with a StatusMessage, and no Assertion. Schema order (Issuer, then the
 * signature added afterwards, then Status) as for a login Response.
 */
export function buildErrorResponseXml(p: ErrorResponseParts): string {
  return (
    `<samlp:Response xmlns:samlp="${PROTOCOL_NS}" xmlns:saml="${ASSERTION_NS}"${attr('ID', p.responseId)} Version="2.0"${attr('IssueInstant', iso(p.issueInstant))}${attr('Destination', p.destination)}${attr('InResponseTo', p.inResponseTo)}>` +
    `<saml:Issuer>${escapeXml(p.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode${attr('Value', p.topStatus)}><samlp:StatusCode${attr('Value', p.subStatus)}/></samlp:StatusCode>` +
    `<samlp:StatusMessage>${escapeXml(p.message)}</samlp:StatusMessage></samlp:Status>` +
    `</samlp:Response>`
  );
}

export const STATUS_UNKNOWN_PRINCIPAL = 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal';

/**
 * A LogoutResponse (SAML core §3.7.2) to an SP's LogoutRequest: the parts of an error Response,
 * addressed to the SP's single logout endpoint, answering the LogoutRequest ID, with a
 * second-level status only when not Success, and no StatusMessage.
 */
export type LogoutResponseParts = Omit<ErrorResponseParts, 'subStatus' | 'message'> & { subStatus?: string };

/** The unsigned XML of a LogoutResponse: Issuer, then (after the signature, added afterwards) Status. */
export function buildLogoutResponseXml(p: LogoutResponseParts): string {
  const status = p.subStatus
    ? `<samlp:StatusCode${attr('Value', p.topStatus)}><samlp:StatusCode${attr('Value', p.subStatus)}/></samlp:StatusCode>`
    : `<samlp:StatusCode${attr('Value', p.topStatus)}/>`;
  return (
    `<samlp:LogoutResponse xmlns:samlp="${PROTOCOL_NS}" xmlns:saml="${ASSERTION_NS}"${attr('ID', p.responseId)} Version="2.0"${attr('IssueInstant', iso(p.issueInstant))}${attr('Destination', p.destination)}${attr('InResponseTo', p.inResponseTo)}>` +
    `<saml:Issuer>${escapeXml(p.issuer)}</saml:Issuer>` +
    `<samlp:Status>${status}</samlp:Status>` +
    `</samlp:LogoutResponse>`
  );
}
