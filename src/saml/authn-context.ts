import type { SignOnMethod } from '../core/sso/sign-on.js';

/**
 * Authentication context classes (saml-authn-context-2.0-os §3.4) that Gatehouse can truthfully
 * claim, and how a RequestedAuthnContext (SAML core §3.3.2.2.1) is matched against them.
 *
 * A sign-in here is a password on the login form, optionally followed by a TOTP code:
 * - password over an https public URL: `PasswordProtectedTransport` (a password over a protected
 *   session); over a plain-http public URL: `Password` (the class for an unprotected session).
 * - password and TOTP: the REFEDS MFA profile, `https://refeds.org/profile/mfa`. Chosen over the
 *   OASIS classes because it says exactly what happened (two distinct factors, something known
 *   and something held, with no claim about registration or identity proofing), and it is the
 *   multi-factor value SPs commonly request (Shibboleth SPs, R&E federations). The OASIS
 *   `MobileTwoFactorContract` also asserts a mobile-contract registration process and
 *   `TimeSyncToken` a hardware token with a PIN, neither of which Gatehouse knows about.
 *
 * A sign-in may claim any class it satisfies, not only its strongest: a password-and-TOTP sign-in
 * also presented a password over the same transport, so it meets an `exact` request for
 * `PasswordProtectedTransport` (under-claiming is truthful; over-claiming never happens).
 */
export const AC_UNSPECIFIED = 'urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified';
export const AC_PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:Password';
export const AC_PASSWORD_PROTECTED_TRANSPORT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
export const AC_REFEDS_MFA = 'https://refeds.org/profile/mfa';

/** The requested context as read from the request; comparison as sent (`exact` when absent). */
export interface RequestedAuthnContext {
  comparison: string;
  classRefs: string[];
  /** AuthnContextDeclRef values: declarations Gatehouse publishes none of, so never satisfied. */
  declRefs?: string[];
}

/** Relative strength, for `minimum`, `better` and `maximum` (core §3.3.2.2.1: "as deemed by the responder"). */
const STRENGTH: Record<string, number> = {
  [AC_UNSPECIFIED]: 0,
  [AC_PASSWORD]: 1,
  [AC_PASSWORD_PROTECTED_TRANSPORT]: 2,
  [AC_REFEDS_MFA]: 3,
};

/** The classes a sign-in by `method` may claim, strongest first. */
export function claimableClasses(method: SignOnMethod, protectedTransport: boolean): string[] {
  return [...(method === 'mfa' ? [AC_REFEDS_MFA] : []), ...(protectedTransport ? [AC_PASSWORD_PROTECTED_TRANSPORT] : []), AC_PASSWORD, AC_UNSPECIFIED];
}

/**
 * The AuthnContextClassRef of the assertion for a sign-in by `method`, or null when nothing that
 * sign-in may claim satisfies the request (the answer is then NoAuthnContext).
 * - no request: the strongest claimable class, i.e. what actually happened;
 * - `exact`: the first requested class (the list is ordered by preference) the sign-in may claim;
 * - `minimum`: the strongest claimable class at least as strong as one requested class;
 * - `better`: the strongest claimable class stronger than every requested class;
 * - `maximum`: the strongest claimable class not stronger than some requested class.
 * Classes Gatehouse does not know have no strength: they never match, and a `better` request
 * naming one cannot be shown to be met.
 */
export function chooseClassRef(method: SignOnMethod, protectedTransport: boolean, requested: RequestedAuthnContext | null): string | null {
  const claimable = claimableClasses(method, protectedTransport);
  if (!requested) return claimable[0]!;
  if (requested.classRefs.length === 0) return null; // declaration references only
  if (requested.comparison === 'exact') return requested.classRefs.find((c) => claimable.includes(c)) ?? null;
  const known = requested.classRefs.map((c) => STRENGTH[c]).filter((n): n is number => n !== undefined);
  let meets: (strength: number) => boolean;
  switch (requested.comparison) {
    case 'minimum':
      meets = (n) => known.some((r) => n >= r);
      break;
    case 'better':
      if (known.length !== requested.classRefs.length) return null;
      meets = (n) => known.every((r) => n > r);
      break;
    case 'maximum':
      meets = (n) => known.some((r) => n <= r);
      break;
    default:
      return null; // the schema allows no other value
  }
  return claimable.find((c) => meets(STRENGTH[c]!)) ?? null;
}

/** The sign-in methods that satisfy a request (null: it asked for nothing, so all do). */
export function satisfyingMethods(requested: RequestedAuthnContext | null, protectedTransport: boolean): SignOnMethod[] | null {
  if (!requested) return null;
  return (['password', 'mfa'] as const).filter((m) => chooseClassRef(m, protectedTransport, requested) !== null);
}
