import type { Application, LdapServer, RadiusServer } from '../directory/types.js';
import type { AuthResource } from './authenticate.js';
import { mfaRequirementOfRadius } from './mfa-policy.js';

/**
 * The policy each kind of resource applies, derived from its record in one place so that every
 * adapter gets the same rules.
 */
/** LDAP: with TOTP-on-bind, users who have TOTP (or must have it) append the code to the password. */
export function ldapServerResource(s: LdapServer): AuthResource {
  return {
    type: 'ldap_server',
    id: s.id,
    name: s.name,
    mfa: s.totpOnBind ? 'user_policy' : 'none',
    lockedUsers: 'deny',
    expiredPasswords: 'deny',
  };
}

export function radiusServerResource(s: RadiusServer): AuthResource {
  return {
    type: 'radius_server',
    id: s.id,
    name: s.name,
    mfa: mfaRequirementOfRadius(s.mfa),
    lockedUsers: s.userLockoutAction === 'maintain' ? 'allow' : 'deny',
    expiredPasswords: s.userPasswordExpirationAction === 'maintain' ? 'allow' : 'deny',
  };
}

export function applicationResource(a: Application): AuthResource {
  return { type: 'application', id: a.id, name: a.name, mfa: 'user_policy', lockedUsers: 'deny', expiredPasswords: 'deny' };
}

/** The user portal: no association needed; MFA follows the user's own policy. */
export const userPortalResource: AuthResource = {
  type: 'user_portal',
  id: 'user_portal',
  name: 'User Portal',
  mfa: 'user_policy',
  lockedUsers: 'deny',
  expiredPasswords: 'allow',
};
