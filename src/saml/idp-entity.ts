import { randomBytes } from 'node:crypto';
import { IdentityProvider } from 'samlify';
import type { Application } from '../core/directory/types.js';
import type { Clock, Logger } from '../core/ports.js';
import type { SignOnBinding, SignOnRefusal } from '../core/sso/sign-on.js';
import type { SsoService } from '../core/sso/sso-service.js';
import { RSA_SHA256 } from './authn-request.js';
import { buildIdpMetadata } from './metadata.js';
import { checkRelayState } from './relay-state.js';
import { SchemaValidationError, type SchemaValidator } from './schema-validator.js';
import { decodeSamlMessage, type InboundLimits } from './xml-guard.js';

// What the SAML IdP is made of and configured with, and what every message it handles shares:
// its endpoints, its samlify entity per application, IDs, the redirect binding's signed octets.

export interface SamlIdpOptions extends InboundLimits {
  assertionLifetimeSeconds: number;
  /** How long after its IssueInstant a request is accepted, and the skew allowed either way (identity-provider.ts says why). */
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

/** The IdP's single logout endpoint for an app (HTTP-Redirect). */
export const sloUrlOf = (publicUrl: string, app: Pick<Application, 'name'>) => `${ssoUrlOf(publicUrl, app)}/slo`;

/**
 * The samlify IdP entity of one application, with its metadata. Logout requests are verified
 * against the SP's certificate (`wantLogoutRequestSigned`); requests and logout responses sent over
 * HTTP-Redirect are signed with RSA-SHA256.
 */
export async function idpEntity(d: Pick<SamlIdpDeps, 'sso' | 'publicUrl'>, app: Application, wantAuthnRequestsSigned: boolean, withLogout = false) {
  const keys = await d.sso.signingCredentials(app);
  const ssoUrl = ssoUrlOf(d.publicUrl(), app);
  const sloUrl = sloUrlOf(d.publicUrl(), app);
  const metadata = buildIdpMetadata({
    entityId: ssoUrl,
    certPem: keys.certPem,
    ssoUrl,
    ...(withLogout ? { sloUrl } : {}),
    nameIdFormat: app.config.nameIdFormat,
    wantAuthnRequestsSigned,
  });
  const idp = IdentityProvider({ metadata, privateKey: keys.keyPem, requestSignatureAlgorithm: RSA_SHA256, wantLogoutRequestSigned: true });
  return { idp, ssoUrl, sloUrl, metadata };
}

/** `_` + 160 random bits: an xs:ID (an NCName cannot start with a digit) that cannot be guessed (SAML core §1.3.4). */
export const newSamlId = () => `_${randomBytes(20).toString('hex')}`;

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

/** Why an inbound message is refused, and what the user may be told. */
export interface InboundRefusal {
  ok: false;
  reason: SignOnRefusal;
  message: string;
}

/**
 * The first checks of every inbound SAML request, before anything reads it: the SAMLRequest
 * decoded under the size caps with no DOCTYPE (xml-guard.ts), the RelayState bounded, and the
 * document valid against the SAML 2.0 protocol schema.
 */
export async function decodeInbound(
  d: Pick<SamlIdpDeps, 'validator' | 'options'>,
  fields: Record<string, string | undefined>,
  binding: SignOnBinding,
): Promise<{ ok: true; xml: string; relayState: string | null } | InboundRefusal> {
  const decoded = decodeSamlMessage(fields.SAMLRequest, binding, d.options);
  if (!decoded.ok) return decoded;
  const relay = checkRelayState(fields.RelayState, d.options.maxRelayStateBytes);
  if (!relay.ok) return { ok: false, reason: 'relay_state', message: relay.message };
  try {
    await d.validator.validateProtocol(decoded.xml);
  } catch (err) {
    if (err instanceof SchemaValidationError) {
      return err.busy ? { ok: false, reason: 'busy', message: err.message } : { ok: false, reason: 'schema', message: 'the SAML request is not valid against the SAML 2.0 schema' };
    }
    throw err;
  }
  return { ok: true, xml: decoded.xml, relayState: relay.value };
}

/** samlify's refusal of a request (its error codes name signature problems), logged and mapped. */
export function samlifyRefusal(d: Pick<SamlIdpDeps, 'log'>, app: Application, err: unknown): InboundRefusal {
  const code = err instanceof Error ? err.message : String(err);
  d.log.info({ app: app.name, samlify: code.slice(0, 120) }, 'SAML request refused by samlify');
  if (/SIGNATURE|SIG_ALG|CERT/i.test(code)) return { ok: false, reason: 'bad_signature', message: 'the request signature does not verify' };
  return { ok: false, reason: 'malformed', message: 'the SAML request could not be read' };
}

/**
 * IssueInstant (core §3.2.1) within the request lifetime, with the clock skew either way: a
 * bounded lifetime is what lets the replay guard forget a request ID afterwards. Null when fresh.
 */
export function staleness(o: SamlIdpOptions, issueInstant: string | null, nowMs: number): InboundRefusal | null {
  const issued = Date.parse(issueInstant ?? '');
  if (!Number.isFinite(issued)) return { ok: false, reason: 'malformed', message: 'the request has no valid IssueInstant' };
  if (issued > nowMs + o.clockSkewSeconds * 1000) return { ok: false, reason: 'stale', message: 'the request was issued in the future; check the clocks of the application and Gatehouse' };
  if (issued < nowMs - (o.requestLifetimeSeconds + o.clockSkewSeconds) * 1000) return { ok: false, reason: 'stale', message: 'the request is too old; open the application again to start over' };
  return null;
}

/** Until when a request issued at `issueInstant` could be accepted (the replay guard keeps its ID that long). */
export const validUntilOf = (o: SamlIdpOptions, issueInstant: string): string => new Date(Date.parse(issueInstant) + (o.requestLifetimeSeconds + o.clockSkewSeconds) * 1000).toISOString();
