import { randomBytes } from 'node:crypto';
import { IdentityProvider, ServiceProvider, setSchemaValidator } from 'samlify';
import type { Application } from '../core/directory/types.js';
import { DomainError, invalid } from '../core/errors.js';
import type { Clock, Logger } from '../core/ports.js';
import type {
  ParsedSignOn,
  ServiceProviderMetadata,
  SignOnError,
  SignOnForm,
  SignOnMessage,
  SignOnRequest,
  SignOnSubject,
  SsoProtocol,
} from '../core/sso/sign-on.js';
import type { SsoService } from '../core/sso/sso-service.js';
import { selectAcs } from './acs.js';
import { toSamlAttributes, userFieldValue } from './attributes.js';
import { chooseClassRef, satisfyingMethods } from './authn-context.js';
import { readAuthnRequest, readSpMetadata, RSA_SHA256 } from './authn-request.js';
import { buildIdpMetadata, POST_BINDING } from './metadata.js';
import { NAMEID_TRANSIENT, nameIdPolicyProblem } from './name-id-policy.js';
import { checkRelayState } from './relay-state.js';
import {
  buildErrorResponseXml,
  buildResponseXml,
  STATUS_INVALID_NAMEID_POLICY,
  STATUS_NO_AUTHN_CONTEXT,
  STATUS_NO_PASSIVE,
  STATUS_REQUEST_DENIED,
  STATUS_REQUESTER,
  STATUS_RESPONDER,
} from './response-xml.js';
import { SchemaValidationError, type SchemaValidator } from './schema-validator.js';
import { checkXmlText, decodeSamlMessage, type InboundLimits } from './xml-guard.js';

export interface SamlIdpOptions extends InboundLimits {
  assertionLifetimeSeconds: number;
  /** How long after its IssueInstant a request is accepted, and the skew allowed either way (see below). */
  requestLifetimeSeconds: number;
  clockSkewSeconds: number;
  maxRelayStateBytes: number;
}

export interface SamlIdpDeps {
  sso: SsoService;
  validator: SchemaValidator;
  clock: Clock;
  log: Logger;
  /** External base URL, read per call (port 0 is known only after listen). */
  publicUrl: () => string;
  options: SamlIdpOptions;
}

/** The IdP's endpoint and entity ID for an app: `<publicUrl>/saml2/<name>` (JumpCloud's layout). */
export const ssoUrlOf = (publicUrl: string, app: Pick<Application, 'name'>) => `${publicUrl}/saml2/${encodeURIComponent(app.name)}`;

const MAX_METADATA_BYTES = 262_144;

/*
 * `sso.requestLifetimeSeconds` and `sso.clockSkewSeconds`: how long after its IssueInstant an
 * AuthnRequest is accepted, and the clock skew allowed either way. SAML core leaves a request's
 * lifetime to the responder; a bounded one is what lets the replay guard forget an ID (a request
 * older than this is refused as stale, so it cannot come back once its ID is purged). An SP sends a
 * fresh request each time a user arrives, so a few minutes is ample (Shibboleth's IdP defaults to 3
 * minutes plus 3 minutes of skew; Gatehouse to 5 plus 3).
 */

/**
 * The status of each error answer (SAML core §3.2.2.2, §3.4.1) and the StatusMessage the SP gets:
 * a fixed text per status, so that nothing about the user leaves in it.
 */
const ERROR_STATUS: Record<SignOnError, { top: string; sub: string; message: string }> = {
  passive_impossible: { top: STATUS_RESPONDER, sub: STATUS_NO_PASSIVE, message: 'The user cannot be signed in without interaction.' },
  name_id_format_unsupported: { top: STATUS_REQUESTER, sub: STATUS_INVALID_NAMEID_POLICY, message: 'The requested NameID policy cannot be honoured for this service provider.' },
  authn_context_unsatisfied: { top: STATUS_REQUESTER, sub: STATUS_NO_AUTHN_CONTEXT, message: 'The requested authentication context cannot be satisfied.' },
  denied: { top: STATUS_RESPONDER, sub: STATUS_REQUEST_DENIED, message: 'The request was denied.' },
};

/** `_` + 160 random bits: an xs:ID (an NCName cannot start with a digit) that cannot be guessed (SAML core §1.3.4). */
const newSamlId = () => `_${randomBytes(20).toString('hex')}`;

/** SP-supplied text in an audit message, bounded (the request itself may be up to `maxXmlBytes`). */
const clip = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…` : s);

const toPem = (body: string) => `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;

/**
 * The octet string a detached HTTP-Redirect signature covers (SAML bindings §3.4.4.1):
 * `SAMLRequest=…&RelayState=…&SigAlg=…` with the values exactly as URL-encoded in the query.
 */
export function redirectSignedOctets(rawQuery: string): string {
  const raw = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (!raw.has(name)) raw.set(name, part);
  }
  return ['SAMLRequest', 'RelayState', 'SigAlg']
    .map((n) => raw.get(n))
    .filter((p): p is string => p !== undefined)
    .join('&');
}

/**
 * The SAML 2.0 IdP on samlify (≥ 2.13.1): one IdP entity per application, built on demand from its
 * record, its signing key and its SP's settings. samlify verifies signatures and signs responses;
 * everything samlify leaves to its caller is done here: size caps before and after inflating, no
 * DTD, schema validation before any other parsing, where a request signature sits and which
 * algorithm it uses, the Issuer, Destination and ACS of a request, the RelayState, and the
 * Audience, Recipient, InResponseTo and validity of the assertion (samlify's default template has
 * no AuthnStatement and no attributes, so the response XML is Gatehouse's own).
 */
export function createSamlIdp(d: SamlIdpDeps): SsoProtocol {
  const o = d.options;
  // samlify validates every message it parses; it gets the same validator, and a message checked a
  // moment ago is not checked twice.
  setSchemaValidator({
    validate: async (xml: string) => {
      if (!d.validator.recentlyValid(xml)) await d.validator.validateProtocol(xml);
      return true;
    },
  });

  const entityOf = async (app: Application, wantAuthnRequestsSigned: boolean) => {
    const keys = await d.sso.signingCredentials(app);
    const ssoUrl = ssoUrlOf(d.publicUrl(), app);
    const metadata = buildIdpMetadata({ entityId: ssoUrl, certPem: keys.certPem, ssoUrl, nameIdFormat: app.config.nameIdFormat, wantAuthnRequestsSigned });
    return { idp: IdentityProvider({ metadata, privateKey: keys.keyPem, requestSignatureAlgorithm: RSA_SHA256 }), ssoUrl, metadata };
  };

  const spOf = (app: Application, acsUrls: string[], spCertificate: string) =>
    ServiceProvider({
      entityID: app.config.spEntityId,
      ...(spCertificate ? { signingCert: spCertificate } : {}),
      wantAssertionsSigned: app.config.signAssertion,
      wantMessageSigned: app.config.signResponse,
      assertionConsumerService: acsUrls.map((Location) => ({ Binding: POST_BINDING, Location })),
    });

  const refuse = (reason: Extract<ParsedSignOn, { status: 'refused' }>['reason'], message: string): ParsedSignOn => ({ status: 'refused', reason, message });

  return {
    async metadata(app) {
      const { requireSignedRequests } = await d.sso.serviceProviderSettings(app.id);
      return (await entityOf(app, requireSignedRequests)).metadata;
    },

    async parseRequest(app, message: SignOnMessage): Promise<ParsedSignOn> {
      const f = message.fields;
      const decoded = decodeSamlMessage(f.SAMLRequest, message.binding, o);
      if (!decoded.ok) return refuse(decoded.reason, decoded.message);
      const relay = checkRelayState(f.RelayState, o.maxRelayStateBytes);
      if (!relay.ok) return refuse('relay_state', relay.message);
      // Schema first: nothing else reads the document until it is a valid SAML protocol message.
      try {
        await d.validator.validateProtocol(decoded.xml);
      } catch (err) {
        if (err instanceof SchemaValidationError) return refuse(err.busy ? 'busy' : 'schema', err.busy ? err.message : 'the SAML request is not valid against the SAML 2.0 schema');
        throw err;
      }
      const read = readAuthnRequest(decoded.xml);
      if (!read.ok) return refuse(read.reason, read.message);
      const r = read.fields;
      const settings = await d.sso.serviceProviderSettings(app.id);
      const ssoUrl = ssoUrlOf(d.publicUrl(), app);

      // Signatures: HTTP-Redirect signs the query (bindings §3.4.4.1; an embedded signature must
      // not be there), HTTP-POST signs the message (bindings §3.5.4). RSA-SHA256 only.
      let signed: boolean;
      if (message.binding === 'redirect') {
        if (r.signature) return refuse('bad_signature', 'an HTTP-Redirect request must not carry an embedded signature');
        signed = !!f.Signature;
        if (signed && f.SigAlg !== RSA_SHA256) return refuse('bad_signature', 'the request signature must use RSA-SHA256');
        if (!signed && f.SigAlg) return refuse('bad_signature', 'the request names a signature algorithm but carries no signature');
      } else {
        signed = r.signature !== null;
      }
      if (settings.requireSignedRequests && !signed) return refuse('unsigned', 'this application accepts signed requests only');
      if (settings.requireSignedRequests && !settings.spCertificate) return refuse('bad_signature', 'no certificate is registered to verify this application\'s requests');

      // Issuer (profiles §4.1.4.1): the SP registered for this app, exactly.
      if (r.issuer !== app.config.spEntityId) return refuse('wrong_issuer', 'the request comes from a service provider that is not registered for this application');
      // Destination (core §3.2.1, bindings §3.4.5.2/§3.5.5.2): when present, this endpoint.
      if (r.destination !== null && r.destination !== ssoUrl) return refuse('malformed', 'the request is addressed to another endpoint');
      const acs = selectAcs(app.config.acsUrls, { url: r.acsUrl, index: r.acsIndex, protocolBinding: r.protocolBinding }, app.config.acsIndexes);
      if (!acs.ok) return refuse(acs.reason, acs.message);

      // samlify: signature verification (when signed and a certificate is registered) and its own parse.
      const verify = signed && settings.spCertificate !== '';
      try {
        const { idp } = await entityOf(app, verify);
        const sp = spOf(app, app.config.acsUrls, settings.spCertificate);
        if (message.binding === 'redirect') {
          await idp.parseLoginRequest(sp, 'redirect', {
            query: { SAMLRequest: f.SAMLRequest, ...(f.RelayState ? { RelayState: f.RelayState } : {}), ...(f.SigAlg ? { SigAlg: f.SigAlg } : {}), ...(f.Signature ? { Signature: f.Signature } : {}) },
            octetString: redirectSignedOctets(message.rawQuery ?? ''),
          });
        } else {
          await idp.parseLoginRequest(sp, 'post', { body: { SAMLRequest: f.SAMLRequest } });
        }
      } catch (err) {
        const code = err instanceof Error ? err.message : String(err);
        d.log.info({ app: app.name, samlify: code.slice(0, 120) }, 'SAML request refused by samlify');
        if (/SIGNATURE|SIG_ALG|CERT/i.test(code)) return refuse('bad_signature', 'the request signature does not verify');
        return refuse('malformed', 'the SAML request could not be read');
      }

      // IssueInstant (core §3.2.1): within the request lifetime, so the replay guard can forget it
      // afterwards. Checked after the signature, so that a stale refusal (which the audit trail
      // records) is never one of a forged request to an app that requires signed requests.
      const issued = Date.parse(r.issueInstant ?? '');
      const nowMs = d.clock.now().getTime();
      if (!Number.isFinite(issued)) return refuse('malformed', 'the request has no valid IssueInstant');
      if (issued > nowMs + o.clockSkewSeconds * 1000) return refuse('stale', 'the request was issued in the future; check the clocks of the application and Gatehouse');
      if (issued < nowMs - (o.requestLifetimeSeconds + o.clockSkewSeconds) * 1000) return refuse('stale', 'the request is too old; open the application again to start over');

      const requested = r.requestedAuthnContext;
      const authnMethods = satisfyingMethods(requested, ssoUrl.startsWith('https:'));
      const request: SignOnRequest = {
        appId: app.id,
        requestId: r.id,
        acsUrl: acs.url,
        relayState: relay.value,
        forceAuthn: r.forceAuthn,
        isPassive: r.isPassive,
        receivedAt: d.clock.now().toISOString(),
        spEntityId: app.config.spEntityId,
        validUntil: new Date(issued + (o.requestLifetimeSeconds + o.clockSkewSeconds) * 1000).toISOString(),
        authnMethods,
        requestedContext: requested ? { comparison: requested.comparison, classRefs: requested.classRefs } : null,
        ...(r.nameIdPolicy?.format === NAMEID_TRANSIENT && app.config.nameIdFormat !== NAMEID_TRANSIENT ? { nameIdFormat: NAMEID_TRANSIENT } : {}),
      };
      // Checked and from the registered SP: what it asks for that the app cannot give is answered
      // with an error status to its ACS URL (core §3.4.1), not ignored and not a page.
      const policyProblem = nameIdPolicyProblem(r.nameIdPolicy, app.config);
      if (policyProblem) return { status: 'unanswerable', request, error: 'name_id_format_unsupported', message: clip(policyProblem) };
      if (authnMethods !== null && authnMethods.length === 0) {
        const asked = [...(requested?.classRefs ?? []), ...(requested?.declRefs ?? [])].join(', ');
        return { status: 'unanswerable', request, error: 'authn_context_unsatisfied', message: clip(`the service provider asked for an authentication context (${requested?.comparison}: ${asked}) that no sign-in here satisfies`) };
      }
      return { status: 'ok', request };
    },

    async buildResponse(app, subject: SignOnSubject, request, relayState): Promise<SignOnForm> {
      const acsUrl = request ? request.acsUrl : app.config.acsUrls[0];
      // Only registered ACS URLs ever get here; checked again so that no caller can pass another one.
      if (!acsUrl || !app.config.acsUrls.includes(acsUrl)) throw new DomainError('invalid', 'saml.unknown_acs', 'no registered ACS URL for this application');
      const relay = checkRelayState(relayState, o.maxRelayStateBytes);
      const settings = await d.sso.serviceProviderSettings(app.id);
      const { idp, ssoUrl } = await entityOf(app, settings.requireSignedRequests);
      const now = d.clock.now();
      const notOnOrAfter = new Date(now.getTime() + o.assertionLifetimeSeconds * 1000);
      // A transient identifier asked for by the SP (name-id-policy.ts): random and used once, so it
      // tells the SP nothing about the user across sign-ins; otherwise the app's configured NameID.
      const transient = request?.nameIdFormat === NAMEID_TRANSIENT;
      const nameId = transient ? newSamlId() : userFieldValue(subject.user, app.config.nameIdAttribute) || subject.user.username;
      // What the sign-in actually was (authn-context.ts); a request it cannot satisfy never gets an assertion.
      const authnContextClassRef = chooseClassRef(subject.mfa ? 'mfa' : 'password', ssoUrl.startsWith('https:'), request?.requestedContext ?? null);
      if (!authnContextClassRef) throw new DomainError('invalid', 'saml.authn_context_unsatisfied', 'the sign-in does not satisfy the requested authentication context');
      const xml = buildResponseXml({
        responseId: newSamlId(),
        assertionId: newSamlId(),
        issueInstant: now,
        issuer: ssoUrl,
        destination: acsUrl,
        inResponseTo: request?.requestId ?? null,
        audience: app.config.spEntityId,
        nameId,
        nameIdFormat: transient ? NAMEID_TRANSIENT : app.config.nameIdFormat,
        notBefore: new Date(now.getTime() - 30_000),
        notOnOrAfter,
        authnInstant: subject.authnInstant,
        sessionIndex: subject.sessionIndex,
        authnContextClassRef,
        attributes: toSamlAttributes(subject.user, app, subject.groupNames),
      });
      const sp = spOf(app, [acsUrl], settings.spCertificate);
      // samlify signs: the Assertion when signAssertion, the Response when signResponse (RSA-SHA256,
      // SHA-256 digests, exclusive C14N), each signature placed after its Issuer.
      const out = await idp.createLoginResponse(sp, { extract: {} }, 'post', {}, { customTagReplacement: () => ({ id: '', context: xml }) });
      const fields = [{ name: 'SAMLResponse', value: out.context }];
      if (relay.ok && relay.value !== null) fields.push({ name: 'RelayState', value: relay.value });
      return { action: acsUrl, fields };
    },

    async buildErrorResponse(app, request, error): Promise<SignOnForm> {
      const acsUrl = request.acsUrl;
      if (!app.config.acsUrls.includes(acsUrl)) throw new DomainError('invalid', 'saml.unknown_acs', 'no registered ACS URL for this application');
      const relay = checkRelayState(request.relayState, o.maxRelayStateBytes);
      const settings = await d.sso.serviceProviderSettings(app.id);
      const { idp, ssoUrl } = await entityOf(app, settings.requireSignedRequests);
      const status = ERROR_STATUS[error];
      const xml = buildErrorResponseXml({
        responseId: newSamlId(),
        issueInstant: d.clock.now(),
        issuer: ssoUrl,
        destination: acsUrl,
        inResponseTo: request.requestId,
        topStatus: status.top,
        subStatus: status.sub,
        message: status.message,
      });
      // There is no assertion to sign, so the Response itself is always signed, whatever the app's
      // signResponse says: samlify signs the message when the SP "wants" it and not the assertion
      // (RSA-SHA256, SHA-256 digest, exclusive C14N, after the Issuer), as for a login Response.
      const sp = ServiceProvider({
        entityID: app.config.spEntityId,
        wantAssertionsSigned: false,
        wantMessageSigned: true,
        assertionConsumerService: [{ Binding: POST_BINDING, Location: acsUrl }],
      });
      const out = await idp.createLoginResponse(sp, { extract: {} }, 'post', {}, { customTagReplacement: () => ({ id: '', context: xml }) });
      const fields = [{ name: 'SAMLResponse', value: out.context }];
      if (relay.ok && relay.value !== null) fields.push({ name: 'RelayState', value: relay.value });
      return { action: acsUrl, fields };
    },

    async parseServiceProviderMetadata(xml): Promise<ServiceProviderMetadata> {
      if (typeof xml !== 'string' || xml.trim() === '') throw invalid('spMetadata', 'must be SAML metadata XML');
      if (Buffer.byteLength(xml, 'utf8') > MAX_METADATA_BYTES) throw invalid('spMetadata', `is larger than ${MAX_METADATA_BYTES} bytes`);
      const text = checkXmlText(xml.replace(/^\uFEFF/, ''));
      if (!text.ok) throw invalid('spMetadata', text.message.replace('SAML message', 'metadata'));
      try {
        await d.validator.validateMetadata(text.xml);
      } catch (err) {
        if (err instanceof SchemaValidationError) throw invalid('spMetadata', `is not valid SAML 2.0 metadata: ${err.message}`);
        throw err;
      }
      const m = readSpMetadata(text.xml);
      if (!m.ok) throw invalid('spMetadata', m.message);
      if (!m.entityId) throw invalid('spMetadata', 'has no entityID');
      if (m.acsUrls.length === 0) throw invalid('spMetadata', 'has no AssertionConsumerService with the HTTP-POST binding');
      return { entityId: m.entityId, acsUrls: m.acsUrls, acsIndexes: m.acsIndexes, certificate: m.certificate ? toPem(m.certificate) : '', authnRequestsSigned: m.authnRequestsSigned };
    },
  };
}

