import type { Application, NameValue, User } from '../directory/types.js';

/**
 * What the HTTP layer needs from a single sign-on protocol adapter (the SAML IdP in `saml/`),
 * described in Gatehouse's terms so that neither side imports the other: the composition root
 * hands the adapter to the HTTP layer as an `SsoProtocol`.
 */

/** How a sign-on request arrived (SAML bindings §3.4 HTTP-Redirect, §3.5 HTTP-POST). */
export type SignOnBinding = 'redirect' | 'post';

/** A sign-on request as it came over the wire, before any check. */
export interface SignOnMessage {
  binding: SignOnBinding;
  /** Query parameters (redirect) or form fields (post), as decoded by the HTTP layer. */
  fields: Record<string, string | undefined>;
  /** The raw query string of a redirect, needed to verify its detached signature (bindings §3.4.4.1). */
  rawQuery?: string;
}

/** A sign-on request the adapter accepted: every value here has been checked. */
export interface SignOnRequest {
  appId: string;
  /** The request's ID, echoed as InResponseTo. */
  requestId: string;
  /** Where the response goes: a URL registered for the app, matched exactly. */
  acsUrl: string;
  /** Opaque to Gatehouse, bounded in size; returned to the SP as it came, never followed. */
  relayState: string | null;
  /** The SP asks for a fresh sign-in, whatever session exists. */
  forceAuthn: boolean;
  /** The SP forbids any interaction with the user. */
  isPassive: boolean;
  /** When the request arrived (a login that takes longer than the request's lifetime starts over). */
  receivedAt: string;
  /** The SP that sent it (its entity ID): with `requestId`, what the replay guard remembers. */
  spEntityId: string;
  /**
   * ISO time until which the same request could still be accepted again (its issue instant plus
   * the adapter's request lifetime and clock skew): the replay guard keeps its ID at least this long.
   */
  validUntil: string;
  /**
   * The NameID format the SP's NameIDPolicy asked for when it is not the app's own and Gatehouse can
   * still give it (transient: a one-time identifier); absent otherwise (the app's format).
   */
  nameIdFormat?: string;
  /**
   * The ways of signing in that satisfy the authentication context the SP asked for; null when it
   * asked for none (any sign-in will do). Never empty: a request nothing can satisfy is answered
   * with an error as soon as it is checked.
   */
  authnMethods: SignOnMethod[] | null;
  /**
   * The SP's requested authentication context as the adapter read it, kept for choosing what the
   * assertion says (opaque to core, which reads `authnMethods`).
   */
  requestedContext: { comparison: string; classRefs: string[] } | null;
  /**
   * The subject the request names (its Subject's NameID), when it names one: the assertion must be
   * about that subject or the answer is an error (SAML core §3.4.1).
   */
  subjectNameId?: string;
}

/** How the user proved who they are for the assertion: a password, or a password and a TOTP code. */
export type SignOnMethod = 'password' | 'mfa';

/**
 * Why a checked request is answered with an error response instead of an assertion. The adapter
 * maps each to its protocol's status (SAML core §3.2.2.2: NoPassive, InvalidNameIDPolicy,
 * NoAuthnContext, RequestDenied).
 */
export type SignOnError = 'passive_impossible' | 'name_id_format_unsupported' | 'authn_context_unsatisfied' | 'denied';

export type SignOnRefusal =
  | 'too_large'
  | 'malformed'
  | 'doctype'
  | 'schema'
  | 'unsigned'
  | 'bad_signature'
  | 'wrong_issuer'
  | 'unknown_acs'
  | 'unsupported_binding'
  | 'relay_state'
  | 'stale'
  | 'busy';

export type ParsedSignOn =
  | { status: 'ok'; request: SignOnRequest }
  /**
   * A request that passed every check but asks for what the app cannot give (a NameID format,
   * an authentication context nothing here satisfies): it is answered with an error response to
   * its checked ACS URL, never with an assertion.
   */
  | { status: 'unanswerable'; request: SignOnRequest; error: SignOnError; /** For the audit trail and the SP. */ message: string }
  | { status: 'refused'; reason: SignOnRefusal; /** Safe to show the user: names no internals. */ message: string };

/** What an assertion says about the sign-in it reports. */
export interface SignOnSubject {
  user: User;
  /** Names of the user's groups bound to the app (the group attribute). */
  groupNames: string[];
  /** The SSO session's index (AuthnStatement SessionIndex); not the session token. */
  sessionIndex: string;
  authnInstant: Date;
  mfa: boolean;
}

/** The auto-submitting form that carries a response to the SP's ACS URL. */
export interface SignOnForm {
  action: string;
  fields: NameValue[];
}

/** What SP metadata says, for filling in an application record. */
export interface ServiceProviderMetadata {
  entityId: string;
  acsUrls: string[];
  /** The metadata `index` of each POST endpoint (AssertionConsumerServiceIndex names these). */
  acsIndexes: { index: number; url: string }[];
  /** PEM, '' when the metadata has no signing certificate. */
  certificate: string;
  /** AuthnRequestsSigned="true" (SAML metadata §2.4.4). */
  authnRequestsSigned: boolean;
  /** The SP's single logout endpoint for responses, '' when it has none Gatehouse can answer on. */
  sloUrl: string;
  sloBinding: SignOnBinding;
}

/**
 * An SP-initiated logout request the adapter accepted (SAML profiles §4.4.4.1): signed by the
 * app's SP, addressed here, fresh. Whose session it ends is decided against the browser's session
 * (`namesSession`).
 */
export interface LogoutRequest {
  appId: string;
  requestId: string;
  /** The NameID as sent, for the audit trail and the match, and its Format attribute. */
  nameId: string;
  nameIdFormat: string | null;
  /** SessionIndex values (core §3.7.1); empty: every session of the principal. */
  sessionIndexes: string[];
  relayState: string | null;
  spEntityId: string;
  /** As SignOnRequest.validUntil: how long the replay guard keeps its ID. */
  validUntil: string;
}

export type ParsedLogout = { status: 'ok'; request: LogoutRequest } | { status: 'refused'; reason: SignOnRefusal | 'no_logout_endpoint'; message: string };

/**
 * How a logout request went (core §3.7.3.2): the session was ended, or there was none to end
 * (`success`); the browser's session is someone else's, so nothing was ended (`unknown_principal`).
 */
export type LogoutOutcome = 'success' | 'unknown_principal';

/** The LogoutResponse on its way to the SP: a signed redirect, or an auto-submitting form. */
export type LogoutAnswer = { kind: 'redirect'; url: string } | { kind: 'form'; form: SignOnForm };

export interface SsoProtocol {
  /** The IdP metadata of one application. */
  metadata(app: Application): Promise<string>;
  /** Checks an inbound request: size, XML hygiene, schema, signature, issuer, ACS, RelayState. */
  parseRequest(app: Application, message: SignOnMessage): Promise<ParsedSignOn>;
  /**
   * A signed response for `subject`, to `request.acsUrl`, or, for IdP-initiated sign-on
   * (`request` null), to the app's first registered ACS URL.
   */
  buildResponse(app: Application, subject: SignOnSubject, request: SignOnRequest | null, relayState: string | null): Promise<SignOnForm>;
  /**
   * A signed error response to `request.acsUrl` (with its RelayState), carrying no assertion: the
   * answer to a request that cannot be honoured (SAML core §3.4.1: the IdP answers, it does not
   * just show a page the SP never learns about). What it tells the SP depends on `error` alone,
   * never on the user.
   */
  buildErrorResponse(app: Application, request: SignOnRequest, error: SignOnError): Promise<SignOnForm>;
  /** Reads SP metadata (hostile input: size-capped, no DOCTYPE, schema-validated). */
  parseServiceProviderMetadata(xml: string): Promise<ServiceProviderMetadata>;
  /** Whether an assertion for `user` would be about the subject `request` names (true when it names none). */
  subjectMatches(app: Application, request: SignOnRequest, user: User): boolean;
  /** Checks an inbound LogoutRequest as `parseRequest` checks a sign-on request; a signature is required. */
  parseLogoutRequest(app: Application, message: SignOnMessage): Promise<ParsedLogout>;
  /** Whether the request names this user (its NameID for the app) and, when it lists any, this session's index. */
  namesSession(app: Application, request: LogoutRequest, user: User, sessionIndex: string | null): boolean;
  /** The signed LogoutResponse to the app's single logout endpoint, with the request's RelayState. */
  buildLogoutResponse(app: Application, request: LogoutRequest, outcome: LogoutOutcome): Promise<LogoutAnswer>;
}
