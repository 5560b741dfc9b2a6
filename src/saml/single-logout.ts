import { ServiceProvider } from 'samlify';
import type { Application, User } from '../core/directory/types.js';
import { DomainError } from '../core/errors.js';
import type { LogoutAnswer, LogoutOutcome, LogoutRequest, ParsedLogout, SignOnMessage } from '../core/sso/sign-on.js';
import { namesUser } from './attributes.js';
import { children, parseXml, RSA_SHA256 } from './authn-request.js';
import { decodeInbound, idpEntity, newSamlId, redirectSignedOctets, samlifyRefusal, staleness, validUntilOf, type SamlIdpDeps } from './idp-entity.js';
import { POST_BINDING, REDIRECT_BINDING } from './metadata.js';
import { NAMEID_TRANSIENT } from './name-id-policy.js';
import { checkRelayState } from './relay-state.js';
import { buildLogoutResponseXml, STATUS_REQUESTER, STATUS_SUCCESS, STATUS_UNKNOWN_PRINCIPAL } from './response-xml.js';

const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

/** The fields of a LogoutRequest (SAML core §3.7.1) that Gatehouse acts on. */
interface LogoutRequestFields {
  id: string;
  issuer: string | null;
  destination: string | null;
  issueInstant: string | null;
  notOnOrAfter: string | null;
  nameId: string;
  nameIdFormat: string | null;
  sessionIndexes: string[];
}

type Refused = Extract<ParsedLogout, { status: 'refused' }>;
const refuse = (reason: Refused['reason'], message: string): Refused => ({ status: 'refused', reason, message });

/**
 * Reads a schema-valid LogoutRequest. Over HTTP-Redirect the signature is in the query (bindings
 * §3.4.4.1), so an embedded one is refused; the principal must be a plain NameID (an EncryptedID
 * or BaseID names no one Gatehouse issued an assertion to).
 */
export function readLogoutRequest(xml: string): { ok: true; fields: LogoutRequestFields } | Refused {
  const doc = parseXml(xml);
  if (!doc) return refuse('malformed', 'the SAML request is not well-formed XML');
  const root = doc.documentElement!;
  if (root.namespaceURI !== PROTOCOL_NS || root.localName !== 'LogoutRequest') return refuse('malformed', 'the SAML message is not a LogoutRequest');
  if (doc.getElementsByTagNameNS(DSIG_NS, 'Signature').length > 0) return refuse('bad_signature', 'an HTTP-Redirect request must not carry an embedded signature');
  const id = root.getAttribute('ID') ?? '';
  if (!id) return refuse('malformed', 'the LogoutRequest has no ID');
  if (root.getAttribute('Version') !== '2.0') return refuse('malformed', 'the request is not SAML 2.0 (Version must be "2.0")');
  const kids = children(root);
  const issuerEl = kids.find((c) => c.localName === 'Issuer' && c.namespaceURI === ASSERTION_NS);
  const nameIdEl = kids.find((c) => c.localName === 'NameID' && c.namespaceURI === ASSERTION_NS);
  if (!nameIdEl) return refuse('malformed', 'the LogoutRequest names its principal in a way Gatehouse does not issue (only NameID)');
  const attr = (el: Element, name: string) => (el.hasAttribute(name) ? el.getAttribute(name) : null);
  return {
    ok: true,
    fields: {
      id,
      issuer: issuerEl ? (issuerEl.textContent ?? '').trim() : null,
      destination: attr(root, 'Destination'),
      issueInstant: attr(root, 'IssueInstant'),
      notOnOrAfter: attr(root, 'NotOnOrAfter'),
      nameId: (nameIdEl.textContent ?? '').trim(),
      nameIdFormat: attr(nameIdEl, 'Format'),
      sessionIndexes: kids.filter((c) => c.localName === 'SessionIndex' && c.namespaceURI === PROTOCOL_NS).map((c) => (c.textContent ?? '').trim()),
    },
  };
}

/**
 * SP-initiated single logout (SAML profiles §4.4), HTTP-Redirect binding in, the SP's registered
 * binding out. The request must be signed with the SP's registered certificate (profiles §4.4.4.1:
 * the requester MUST authenticate itself; an unsigned logout would let any site end a user's
 * session), come from the app's SP, be addressed here and be fresh. Gatehouse ends its own session
 * and answers the requesting SP; it does not propagate the logout to other SPs.
 */
export function createSingleLogout(d: SamlIdpDeps) {
  const o = d.options;
  return {
    async parseLogoutRequest(app: Application, message: SignOnMessage): Promise<ParsedLogout> {
      const f = message.fields;
      if (message.binding !== 'redirect') return refuse('unsupported_binding', 'logout requests are accepted over HTTP-Redirect only');
      if (!app.config.sloUrl) return refuse('no_logout_endpoint', 'single logout is not set up for this application');
      const inbound = await decodeInbound(d, f, 'redirect');
      if (!inbound.ok) return refuse(inbound.reason, inbound.message);
      const read = readLogoutRequest(inbound.xml);
      if ('status' in read) return read;
      const r = read.fields;
      if (!f.Signature) return refuse('unsigned', 'logout requests must be signed');
      if (f.SigAlg !== RSA_SHA256) return refuse('bad_signature', 'the request signature must use RSA-SHA256');
      const settings = await d.sso.serviceProviderSettings(app.id);
      if (!settings.spCertificate) return refuse('bad_signature', "no certificate is registered to verify this application's requests");
      if (r.issuer !== app.config.spEntityId) return refuse('wrong_issuer', 'the request comes from a service provider that is not registered for this application');
      const { idp, sloUrl } = await idpEntity(d, app, settings.requireSignedRequests);
      // Signed, so it MUST name its Destination (bindings §3.4.5.2), and that must be this endpoint.
      if (r.destination !== sloUrl) return refuse('malformed', r.destination === null ? 'a signed request must name its Destination' : 'the request is addressed to another endpoint');
      try {
        const sp = ServiceProvider({ entityID: app.config.spEntityId, signingCert: settings.spCertificate });
        await idp.parseLogoutRequest(sp, 'redirect', {
          query: { SAMLRequest: f.SAMLRequest, ...(f.RelayState ? { RelayState: f.RelayState } : {}), SigAlg: f.SigAlg, Signature: f.Signature },
          octetString: redirectSignedOctets(message.rawQuery ?? ''),
        });
      } catch (err) {
        const refused = samlifyRefusal(d, app, err);
        return refuse(refused.reason, refused.message);
      }
      // IssueInstant and NotOnOrAfter (core §3.7.1): fresh, so the replay guard can forget it.
      const nowMs = d.clock.now().getTime();
      const stale = staleness(o, r.issueInstant, nowMs);
      if (stale) return refuse(stale.reason, stale.message);
      if (r.notOnOrAfter !== null && !(Date.parse(r.notOnOrAfter) > nowMs - o.clockSkewSeconds * 1000)) return refuse('stale', 'the request has expired (NotOnOrAfter)');
      const request: LogoutRequest = {
        appId: app.id,
        requestId: r.id,
        nameId: r.nameId,
        nameIdFormat: r.nameIdFormat,
        sessionIndexes: r.sessionIndexes,
        relayState: inbound.relayState,
        spEntityId: app.config.spEntityId,
        validUntil: validUntilOf(o, r.issueInstant!),
      };
      return { status: 'ok', request };
    },

    namesSession(app: Application, request: LogoutRequest, user: User, sessionIndex: string | null): boolean {
      if (request.sessionIndexes.length > 0 && (sessionIndex === null || !request.sessionIndexes.includes(sessionIndex))) return false;
      // A transient NameID was made up for one assertion and not kept: the session index alone can
      // tie such a request to this session.
      if (request.nameIdFormat === NAMEID_TRANSIENT || app.config.nameIdFormat === NAMEID_TRANSIENT) return request.sessionIndexes.length > 0;
      return namesUser(app, request.nameId, user);
    },

    async buildLogoutResponse(app: Application, request: LogoutRequest, outcome: LogoutOutcome): Promise<LogoutAnswer> {
      const destination = app.config.sloUrl;
      if (!destination) throw new DomainError('invalid', 'saml.no_slo', 'the application has no single logout endpoint');
      const binding = app.config.sloBinding === 'post' ? 'post' : 'redirect';
      const settings = await d.sso.serviceProviderSettings(app.id);
      const { idp, ssoUrl } = await idpEntity(d, app, settings.requireSignedRequests);
      const xml = buildLogoutResponseXml({
        responseId: newSamlId(),
        issueInstant: d.clock.now(),
        issuer: ssoUrl,
        destination,
        inResponseTo: request.requestId,
        ...(outcome === 'success' ? { topStatus: STATUS_SUCCESS } : { topStatus: STATUS_REQUESTER, subStatus: STATUS_UNKNOWN_PRINCIPAL }),
      });
      // samlify signs: the query (RSA-SHA256) over HTTP-Redirect, the message over HTTP-POST.
      const sp = ServiceProvider({
        entityID: app.config.spEntityId,
        wantLogoutResponseSigned: true,
        singleLogoutService: [{ Binding: binding === 'post' ? POST_BINDING : REDIRECT_BINDING, Location: destination }],
      });
      const relay = checkRelayState(request.relayState, o.maxRelayStateBytes);
      const relayState = relay.ok && relay.value !== null ? relay.value : '';
      const out = idp.createLogoutResponse(sp, { extract: { request: { id: request.requestId } } }, binding, relayState, () => ({ id: '', context: xml }));
      if (binding === 'redirect') return { kind: 'redirect', url: out.context };
      const fields = [{ name: 'SAMLResponse', value: out.context }];
      if (relayState) fields.push({ name: 'RelayState', value: relayState });
      return { kind: 'form', form: { action: destination, fields } };
    },
  };
}
