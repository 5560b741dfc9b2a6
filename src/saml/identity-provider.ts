import { ServiceProvider, setSchemaValidator } from 'samlify';
import { offersSingleLogout } from '../core/directory/applications.js';
import type { Application } from '../core/directory/types.js';
import { DomainError, invalid } from '../core/errors.js';
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
import { selectAcs } from './acs.js';
import { createSingleLogout } from './single-logout.js';
import { decodeInbound, idpEntity, newSamlId, redirectSignedOctets, samlifyRefusal, ssoUrlOf, staleness, validUntilOf, type SamlIdpDeps } from './idp-entity.js';
import { nameIdOf, namesUser, toSamlAttributes } from './attributes.js';
import { chooseClassRef, satisfyingMethods } from './authn-context.js';
import { readAuthnRequest, readSpMetadata, RSA_SHA256 } from './authn-request.js';
import { POST_BINDING } from './metadata.js';
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
import { SchemaValidationError } from './schema-validator.js';
import { checkXmlText } from './xml-guard.js';

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


/** SP-supplied text in an audit message, bounded (the request itself may be up to `maxXmlBytes`). */
const clip = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…` : s);

const toPem = (body: string) => `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;


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

  const entityOf = (app: Application, wantAuthnRequestsSigned: boolean) => idpEntity(d, app, wantAuthnRequestsSigned);

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
    ...createSingleLogout(d),

    async metadata(app) {
      const { requireSignedRequests, spCertificate } = await d.sso.serviceProviderSettings(app.id);
      return (await idpEntity(d, app, requireSignedRequests, offersSingleLogout(app, spCertificate))).metadata;
    },

    async parseRequest(app, message: SignOnMessage): Promise<ParsedSignOn> {
      const f = message.fields;
      // Size, DOCTYPE, RelayState, then the schema: nothing else reads the document before.
      const inbound = await decodeInbound(d, f, message.binding);
      if (!inbound.ok) return refuse(inbound.reason, inbound.message);
      const read = readAuthnRequest(inbound.xml);
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
        const refused = samlifyRefusal(d, app, err);
        return refuse(refused.reason, refused.message);
      }

      // A signed request MUST name its Destination (bindings §3.4.5.2, §3.5.5.2), or one signed for
      // another IdP could be replayed here. Checked once the signature is known to be the SP's.
      if (verify && r.destination === null) return refuse('malformed', 'a signed request must name its Destination');

      // IssueInstant: checked after the signature, so that a stale refusal (which the audit trail
      // records) is never one of a forged request to an app that requires signed requests.
      const stale = staleness(o, r.issueInstant, d.clock.now().getTime());
      if (stale) return refuse(stale.reason, stale.message);

      const requested = r.requestedAuthnContext;
      const authnMethods = satisfyingMethods(requested, ssoUrl.startsWith('https:'));
      const request: SignOnRequest = {
        appId: app.id,
        requestId: r.id,
        acsUrl: acs.url,
        relayState: inbound.relayState,
        forceAuthn: r.forceAuthn,
        isPassive: r.isPassive,
        receivedAt: d.clock.now().toISOString(),
        spEntityId: app.config.spEntityId,
        validUntil: validUntilOf(o, r.issueInstant!),
        authnMethods,
        requestedContext: requested ? { comparison: requested.comparison, classRefs: requested.classRefs } : null,
        ...(r.nameIdPolicy?.format === NAMEID_TRANSIENT && app.config.nameIdFormat !== NAMEID_TRANSIENT ? { nameIdFormat: NAMEID_TRANSIENT } : {}),
        ...(r.subjectNameId !== null ? { subjectNameId: r.subjectNameId } : {}),
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

    subjectMatches(app, request, user) {
      if (request.subjectNameId === undefined) return true;
      // A transient identifier is made up per assertion: no request can name one in advance.
      if (request.nameIdFormat === NAMEID_TRANSIENT || app.config.nameIdFormat === NAMEID_TRANSIENT) return false;
      return namesUser(app, request.subjectNameId, user);
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
      const nameId = transient ? newSamlId() : nameIdOf(app, subject.user);
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
      return {
        entityId: m.entityId,
        acsUrls: m.acsUrls,
        acsIndexes: m.acsIndexes,
        certificate: m.certificate ? toPem(m.certificate) : '',
        authnRequestsSigned: m.authnRequestsSigned,
        sloUrl: m.slo?.url ?? '',
        sloBinding: m.slo?.binding ?? 'redirect',
      };
    },
  };
}

