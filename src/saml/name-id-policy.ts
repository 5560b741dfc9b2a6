/**
 * NameIDPolicy (SAML core §3.4.1.1). Each application issues one NameID format, its configured
 * `nameIdFormat`; a request may leave the format open (no policy, no Format, or
 * `urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified`), name exactly that one, or ask for a
 * transient identifier (a random one-time value is then issued). Any other
 * format, including `…:nameid-format:encrypted` (Gatehouse does not encrypt identifiers), or an
 * SPNameQualifier other than the requester itself (Gatehouse has no SP affiliations), cannot be
 * honoured and is answered with InvalidNameIDPolicy rather than ignored. AllowCreate never refuses
 * anything: every user already has the identifier the app is configured with, so there is nothing
 * to create, and no request is refused for allowing or forbidding it.
 */
export const NAMEID_UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
/**
 * Transient identifiers (SAML core §8.3.8) are one-time values with no meaning: Gatehouse can issue
 * one to any SP that asks, whatever the app's configured format, so a transient policy is honoured
 * (SimpleSAMLphp SPs, for one, ask for it by default) rather than refused.
 */
export const NAMEID_TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

export interface NameIdPolicy {
  format: string | null;
  spNameQualifier: string | null;
  allowCreate: boolean | null;
}

/** Why the policy cannot be honoured for an app, for the audit trail; null when it can. */
export function nameIdPolicyProblem(policy: NameIdPolicy | null, app: { nameIdFormat: string; spEntityId: string }): string | null {
  if (!policy) return null;
  if (policy.format !== null && policy.format !== '' && policy.format !== NAMEID_UNSPECIFIED && policy.format !== NAMEID_TRANSIENT && policy.format !== app.nameIdFormat) {
    return `the service provider asked for NameID format ${policy.format}; this application issues ${app.nameIdFormat}`;
  }
  if (policy.spNameQualifier !== null && policy.spNameQualifier !== '' && policy.spNameQualifier !== app.spEntityId) {
    return `the service provider asked for identifiers in the namespace of ${policy.spNameQualifier}, which is not itself`;
  }
  return null;
}
