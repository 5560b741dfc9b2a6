import type { User } from './types.js';

/**
 * A user's common name as directories show it (LDAP `cn`, SAML display attributes): "First Last"
 * when a name is set, else the display name, else the username. The store keeps a folded copy for
 * matching (`cn=…` filters), computed by this same function.
 */
export function commonName(u: Pick<User, 'firstname' | 'lastname' | 'displayname' | 'username'>): string {
  return `${u.firstname} ${u.lastname}`.trim() || u.displayname || u.username;
}
